"""The English gloss of a Greek question (knowledge_base.gloss, docs/answer-quality.md "Greek"): the
glossary, the word alignments learned from translated articles, and the English engine searching
the gloss for the Greek articles."""
import numpy as np
import pytest

from knowledge_base.gloss import Glosser, align, glossary
from knowledge_base.search import Doc, SearchIndex
from knowledge_base.text import fold, greeklish_to_greek, term

PAIRS = [
    ("Χαμένα δέματα", "Lost parcels", ("Το δέμα μου χάθηκε", "Το κουριέρ έχασε το δέμα"), ("My parcel is lost", "The courier lost my parcel"),
     "Αν χαθεί ένα δέμα, στέλνουμε καινούριο.\n\nΤο κουριέρ ψάχνει το δέμα.",
     "If a parcel is lost, we send a new one.\n\nThe courier searches for the parcel."),
    ("Ζημιά στο ζαχαροπλαστείο", "Damage at the bakery", ("Το ζαχαροπλαστείο έκλεισε;", "Πού είναι το ζαχαροπλαστείο;"),
     ("Is the bakery closed?", "Where is the bakery?"), "Το ζαχαροπλαστείο είναι κλειστό.\n\nΤο ζαχαροπλαστείο ανοίγει αύριο.",
     "The bakery is closed.\n\nThe bakery opens tomorrow."),
    ("Πληρωμή με κάρτα", "Paying by card", ("Δέχεστε κάρτα;", "Πληρώνω με κάρτα"), ("Do you accept a card?", "I pay by card"),
     "Δεχόμαστε κάρτα Visa.\n\nΗ κάρτα χρεώνεται στο ταμείο.", "We accept a Visa card.\n\nThe card is charged at checkout."),
]


def docs():
    out = []
    for i, (el_title, en_title, el_qs, en_qs, el_body, en_body) in enumerate(PAIRS):
        out.append(Doc(2 * i + 1, en_title, en_body, "", en_qs, (), "en", f"g{i}"))
        out.append(Doc(2 * i + 2, el_title, el_body, "", el_qs, (), "el", f"g{i}"))
    return out


def test_glossary_maps_every_spelling_of_a_word_to_english():
    words = glossary("el")
    for spelling in ("επιστροφή", "επιστροφες", "epistrofi"):
        assert "return" in words[term(greeklish_to_greek(fold(spelling)), "el")], spelling
    assert "parcel" in words[term("πακετο", "el")] and "cancel" in words[term("ακυρωση", "el")]


def test_alignment_learns_a_shop_word_from_its_translated_articles():
    # "ζαχαροπλαστείο" is in no glossary: it is learned from the article pair that uses it.
    learned = align(docs(), "el")
    assert learned[term("ζαχαροπλαστειο", "el")] == ("bakery",)
    assert learned[term("δεμα", "el")] == ("parcel",)
    assert term("δεμα", "el") in learned and not any(w == ("bakery",) for t, w in learned.items() if t != term("ζαχαροπλαστειο", "el"))


def test_gloss_translates_the_whole_question_and_says_how_much():
    glosser = Glosser(docs(), "el")
    g = glosser.gloss("το ζαχαροπλαστειο ειναι ανοιχτο αυριο")
    assert g.text.split()[:1] == ["bakery"] and "tomorrow" in g.text and g.share == 1.0
    partial = glosser.gloss("ζαχαροπλαστειο ξυλοκοπτης")
    assert partial.text == "bakery" and partial.share == 0.5
    assert glosser.gloss("").text == "" and glosser.gloss("").share == 0.0


class WordModel:
    """A stand-in sentence model: one dimension per English word (so the gloss is what matters)."""

    vocabulary = "lost parcel courier bakery closed card pay accept checkout charged".split()

    def encode(self, texts):
        out = np.zeros((len(texts), 384), np.float32)
        for i, text in enumerate(texts):
            for w in text.lower().replace("?", " ").replace(".", " ").split():
                for j, v in enumerate(self.vocabulary):
                    if w.startswith(v):
                        out[i, j] += 1
            out[i] /= max(float(np.linalg.norm(out[i])), 1e-9)
        return out


def test_the_english_engine_ranks_greek_articles_through_the_gloss():
    index = SearchIndex(docs(), model=WordModel())
    assert "el" in index._glosser
    # "κλειστό" and "ζαχαροπλαστείο" share no stem with "lost" or "card": only the gloss can say
    # which English article (and so which Greek one) the question is about.
    # "διανομέας" (courier) is in no Greek article: the glossary's "courier" finds the English
    # "Lost parcels", so its Greek translation comes first.
    assert index.search("ο διανομέας;", k=1, language="el")[0].article_id == 2
    saved = SearchIndex.GLOSS_WEIGHT
    try:
        SearchIndex.GLOSS_WEIGHT = 1.0  # the gloss alone ranks
        hits = index.search("zaxaroplasteio", k=3, language="el")
        assert hits and hits[0].article_id == 4 and all(h.language == "el" for h in hits)
        assert index.search("το κουριέρ έχασε το πακέτο", k=1, language="el")[0].article_id == 2
    finally:
        SearchIndex.GLOSS_WEIGHT = saved


def test_question_phrases_are_glossed_whole_before_the_words():
    # "πόσες μέρες" is "how many days" (a word-by-word gloss made it "time"), "πότε θα φτάσει"
    # is "when will it be delivered"; the phrase's words are not glossed a second time.
    glosser = Glosser(docs(), "el")
    g = glosser.gloss(greeklish_to_greek(fold("πόσες μέρες κάνει να έρθει το δέμα;")))
    assert g.text.startswith("how many days") and "parcel" in g.text and g.share == 1.0
    g = glosser.gloss(greeklish_to_greek(fold("pote tha ftasei to dema mou?")))
    assert g.text.startswith("when will it be delivered") and "parcel" in g.text
    assert "days" not in glosser.gloss(greeklish_to_greek(fold("το δέμα χάθηκε"))).text


def test_the_disagreement_penalty_grows_with_how_far_apart_the_views_are():
    index = SearchIndex(docs(), model=WordModel())
    saved = (SearchIndex.DISAGREE_PENALTY, SearchIndex.DISAGREE_SPAN, SearchIndex.DISAGREE_ALWAYS)
    try:
        SearchIndex.DISAGREE_PENALTY, SearchIndex.DISAGREE_SPAN, SearchIndex.DISAGREE_ALWAYS = 0.3, 0.1, False
        lex = np.array([0.5, 0.3, 0.1])
        # The gloss view puts the lexical winner a hair behind its own favourite: almost no doubt;
        # the gloss favourite, far behind lexically, pays it all.
        doubt = index._doubt(lex, np.array([0.50, 0.505, 0.2]))
        assert doubt[0] < 0.03 and doubt[1] == 0.3 and doubt[2] == 0.3
        # The gloss view ranks the lexical winner far down: the full penalty, as before.
        assert index._doubt(lex, np.array([0.2, 0.5, 0.1]))[0] == 0.3
        # Both views pick the same article: no doubt at all.
        assert not index._doubt(lex, np.array([0.5, 0.4, 0.1])).any()
        SearchIndex.DISAGREE_SPAN = 0.0  # flat: any disagreement costs the full penalty
        assert (index._doubt(lex, np.array([0.50, 0.505, 0.2])) == 0.3).all()
    finally:
        SearchIndex.DISAGREE_PENALTY, SearchIndex.DISAGREE_SPAN, SearchIndex.DISAGREE_ALWAYS = saved


@pytest.mark.parametrize("question", ["πόσες μέρες κάνει να έρθει το δέμα;", "pote tha ftasei to dema mou?"])
def test_greek_delivery_time_questions_are_answered(demo_index, question):
    # The known regression of the second pass: ranked right, answered "I'm not sure" (confidence
    # ~0.03), because the gloss's English view preferred "My parcel is late" and the flat penalty
    # took 0.3 off every article.
    from bot.answers import is_confident

    hits = demo_index.search(question, k=3, language="el")
    assert hits[0].title == "Χρόνοι παράδοσης"
    assert is_confident(hits), [(h.title, h.score) for h in hits]


@pytest.mark.parametrize("question, right", [
    ("το δέμα μου έπρεπε να είχε έρθει πριν μια εβδομάδα", "Το δέμα μου αργεί"),
    ("πόσες μέρες έχω για να το δώσω πίσω;", "Πολιτική επιστροφών"),
    ("σε πόσες μέρες γυρίζουν τα λεφτά μου;", "Πότε θα πάρετε τα χρήματά σας πίσω"),
])
def test_neighbouring_questions_are_not_answered_with_delivery_times(demo_index, question, right):
    # Questions about days and arriving whose right answer is another article: answered with that
    # one, or not answered; never confidently with the wrong article.
    from bot.answers import is_confident

    hits = demo_index.search(question, k=3, language="el")
    assert not is_confident(hits) or hits[0].title == right, [(h.title, h.score) for h in hits]
