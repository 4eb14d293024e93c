"""Greek in the knowledge base (issue 16): folding, stemming, Greeklish, search per language,
translations, and an honest "only in English" offer."""
from app.settings import ROOT
from knowledge_base.importer import load_file, parse_articles
from knowledge_base.search import Doc, SearchIndex
from knowledge_base.service import LiveIndex
from knowledge_base.text import fold, greeklish_to_greek, is_stopword, rewrite, sound, term, words
from knowledge_base.transfer import export, import_articles


def terms_of(text: str) -> list[str]:
    return [term(w, "el") for w in words(rewrite(text, "el")) if not is_stopword(w, "el")]


def test_case_accents_and_final_sigma_fold():
    assert fold("ΠΑΡΑΓΓΕΛΊΑ") == fold("παραγγελία") == "παραγγελια"
    assert fold("Επιστροφές") == "επιστροφεσ"  # final sigma is the plain sigma
    assert fold("ΆΈΉΊΌΎΏ ϊΐϋΰ") == "αεηιουω ιιυυ"
    assert words("Πού είναι; ΔΈΜΑΤΑ!") == ["που", "ειναι", "δεματα"]


def test_greek_terms_are_stems_spelt_by_sound():
    # every inflection of a word meets on one term
    assert term("παραγγελια", "el") == term("παραγγελιες", "el") == term("παραγγελιας", "el")
    assert term("επιστροφη", "el") == term("επιστροφησ", "el") == term("επιστροφεσ", "el")
    assert term("δεμα", "el") == term("δεματα", "el") == term("δεματοσ", "el")
    # misspelt vowels (ι/η/υ, ο/ω, ε/αι) and single for double letters: the same term
    assert sound("χρηματα") == sound("χριματα") and sound("αλλαγη") == "αλαγι"
    assert term("εγγυηση", "el") == term("εγγυησησ", "el")  # over-stemmed words keep more than two letters
    assert len(term("εξωτερικο", "el")) > 3
    # English is untouched
    assert term("deliveries", "en") == term("delivery", "en")


def test_greeklish_is_transliterated():
    assert greeklish_to_greek("pou einai i paraggelia mou") == "που ειναι ι παραγγελια μου"
    assert greeklish_to_greek("8elw na milisw") == "θελω να μιλισω"
    assert greeklish_to_greek("order 10234") == "ορδερ 10234"  # numbers stay
    assert terms_of("pou einai h paraggelia mou") == terms_of("Πού είναι η παραγγελία μου;")
    assert terms_of("thelo ta xrimata mou pisw") == terms_of("Θέλω τα χρήματά μου πίσω")
    assert terms_of("h epistrofh einai dwrean?") == terms_of("Η επιστροφή είναι δωρεάν;")


def test_greek_stop_words_whatever_the_spelling():
    for w in ("που", "πού", "ειναι", "einai", "μου", "mou", "θελω", "thelw"):
        assert is_stopword(words(rewrite(w, "el"))[0], "el"), w
    assert not is_stopword("δεμα", "el")


DOCS = [
    Doc(1, "Delivery times", "Standard delivery takes 1-2 working days.", "Shipping", ("How long does delivery take?",),
        (), "en", "delivery"),
    Doc(2, "Χρόνοι παράδοσης", "Η κανονική παράδοση διαρκεί 1-2 εργάσιμες.", "Αποστολή",
        ("Πόσο χρόνο παίρνει η παράδοση;",), (), "el", "delivery"),
    Doc(3, "Returns policy", "You can return items within 30 days.", "Returns", ("Can I return something?",),
        (), "en", "returns"),
    Doc(4, "Επιστροφή χρημάτων", "Τα χρήματα επιστρέφονται σε 5 εργάσιμες στον αρχικό τρόπο πληρωμής.", "Επιστροφές",
        ("Πότε θα πάρω πίσω τα χρήματά μου;",), (), "el", None),
]


def test_search_answers_from_the_conversations_language_only():
    index = SearchIndex(DOCS, model=None)
    assert [h.article_id for h in index.search("σε ποσες μερες θα ερθει;", k=1, language="el")] == [2]
    assert index.search("poso kairo kanei h paradosi", k=1, language="el")[0].article_id == 2
    assert index.search("pote tha parw ta lefta mou pisw", k=1, language="el")[0].article_id == 4
    hits = index.search("how long does delivery take", k=3, language="en")
    assert hits and all(h.language == "en" for h in hits) and hits[0].article_id == 1
    assert all(h.language == "el" for h in index.search("παράδοση", k=3, language="el"))


def test_a_greek_question_finds_an_english_article_without_a_greek_translation():
    index = SearchIndex(DOCS, model=None)
    offers = index.across_languages("Μπορώ να επιστρέψω κάτι;", "el")
    assert [h.article_id for h in offers][:1] == [3] and offers[0].language == "en"
    assert index.across_languages("asdf qwerty", "el") == []


async def test_live_index_offers_only_untranslated_articles_and_finds_translations(sessionmaker):
    articles = parse_articles([
        {"title": "Delivery times", "body": "Standard delivery takes 1-2 working days.", "category": "Shipping",
         "questions": ["How long does delivery take?"], "tags": [], "translation_group": "delivery"},
        {"title": "Χρόνοι παράδοσης", "body": "Η κανονική παράδοση διαρκεί 1-2 εργάσιμες.", "category": "Αποστολή",
         "questions": ["Πόσο χρόνο παίρνει η παράδοση;"], "tags": [], "language": "el", "translation_group": "delivery"},
        {"title": "Returns policy", "body": "You can return items within 30 days of delivery.", "category": "Returns",
         "questions": ["Can I return something?", "How many days do I have to send it back?"], "tags": []},
    ])
    async with sessionmaker() as db:
        await import_articles(db, articles, replace=False)
    live = LiveIndex(sessionmaker, check_every_s=0)
    await live.refresh()
    assert await live.has_language("el") and not await live.has_language("de")
    returns = await live.untranslated("μπορω να επιστρεψω ενα ρουχο;", "el")
    assert [h.title for h in returns] == ["Returns policy"]
    # the delivery article has a Greek translation: never offered in English to a Greek visitor
    assert "Delivery times" not in [h.title for h in await live.untranslated("παράδοση επιστροφή", "el", k=5)]
    english = (await live.search("how long does delivery take", language="en"))[0]
    greek = await live.translation(english.article_id, "el")
    assert greek is not None and greek.title == "Χρόνοι παράδοσης" and greek.group == "delivery"
    assert await live.translation(returns[0].article_id, "el") is None
    async with sessionmaker() as db:  # the link survives an export and comes back in an import
        dumped = await export(db, "yaml")
    assert dumped.count("translation_group: delivery") == 2


def test_the_demo_shop_is_in_both_languages_article_for_article():
    english, greek = (load_file(ROOT / "knowledge_base" / "demo" / name) for name in ("articles.yaml", "articles_el.yaml"))
    assert len(english) == len(greek) == 30
    assert {a.language for a in greek} == {"el"}
    assert sorted(a.translation_group for a in english) == sorted(a.translation_group for a in greek)
    assert None not in {a.translation_group for a in english}
