"""Text normalisation shared by indexing and querying: case and diacritics never matter
(Greek included, final sigma too), words are stemmed per language.

Greek (docs/answer-quality.md, "Greek"): Latin-letter words in Greek text are read as Greeklish and
transliterated ("paraggelia" -> παραγγελια); a Greek index term is the Snowball stem without its
trailing vowels, spelt by sound (η, υ, ει, οι -> ι; ω -> ο; αι -> ε; double letters single), so
"epistrofi", "επιστροφή" and "επιστροφες" meet on one term, whichever vowel a visitor typed."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER_FOR = {"en": "english", "el": "greek", "nl": "dutch", "de": "german", "fr": "french", "es": "spanish", "it": "italian"}


def fold(text: str) -> str:
    """Lower-case and strip diacritics: 'Ταχυδρομείο' -> 'ταχυδρομειο', 'Café' -> 'cafe'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


# Greeklish: digraphs first, then single letters. "b" is μπ and "d" δ, as Greeks type them; the
# vowel ambiguities (i = ι/η/υ, o = ο/ω, e = ε/αι) do not matter: terms are spelt by sound.
_GREEKLISH_PAIRS = {"th": "θ", "ch": "χ", "kh": "χ", "ps": "ψ", "ks": "ξ", "ou": "ου", "mp": "μπ", "nt": "ντ",
                    "gk": "γκ", "tz": "τζ", "ai": "αι", "ei": "ει", "oi": "οι", "au": "αυ", "eu": "ευ"}
_GREEKLISH = dict(zip("abcdefghijklmnopqrstuvwxyz", "α μπ κ δ ε φ γ η ι τζ κ λ μ ν ο π κ ρ σ τ ου β ω χ υ ζ".split()))
_GREEKLISH_DIGITS = {"8": "θ", "3": "ξ"}  # "8elw" = θελω, in words that also have letters
_LATIN_WORD = re.compile(r"\b[a-z0-9]*[a-z][a-z0-9]*\b")


def _greeklish_word(m: re.Match) -> str:
    w, out, i = m.group(0), [], 0
    if w.isdigit():
        return w
    while i < len(w):
        pair = _GREEKLISH_PAIRS.get(w[i:i + 2])
        if pair:
            out.append(pair)
            i += 2
            continue
        c = w[i]
        out.append(_GREEKLISH.get(c) or _GREEKLISH_DIGITS.get(c) or c)
        i += 1
    return "".join(out)


def greeklish_to_greek(text: str) -> str:
    """Every Latin-letter word of a folded text in Greek letters: 'pou einai i paraggelia mou' ->
    'που ειναι ι παραγγελια μου'. Brand names (PayPal) change too, identically in articles and
    questions, so they still meet."""
    return _LATIN_WORD.sub(_greeklish_word, text)


_SOUND = [(re.compile(p), r) for p, r in (
    (r"ου", "§"),            # kept apart from the υ -> ι below
    (r"[ε]ι|οι|υι", "ι"),
    (r"αι", "ε"),
    (r"([αε])[υφ]", r"\1β"),  # αυ/αφ/αβ, ευ/εφ/εβ: afto, avrio, efxaristo
    (r"[ηυ]", "ι"),
    (r"ω", "ο"),
    (r"§", "ου"),
    (r"(.)\1", r"\1"),       # παραγγελια / paragelia, αλλαγη / alagi
)]


def sound(word: str) -> str:
    """A folded Greek word spelt by sound: 'χρηματα' and 'xrimata' (χριματα) -> 'χριματα'."""
    for pattern, repl in _SOUND:
        word = pattern.sub(repl, word)
    return word


def surface(text: str, language: str = "en") -> list[str]:
    """The words of a text as the index sees them before stemming (Greeklish in Greek letters)."""
    if (language or "en")[:2] == "el":
        return _WORD.findall(greeklish_to_greek(fold(text)))
    return words(text)


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Stemmer.Stemmer | None:
    name = _STEMMER_FOR.get((language or "en")[:2])
    return Stemmer.Stemmer(name) if name else None


_GREEK_ENDING = re.compile(r"[αεηιουω]+σ?$")


@lru_cache(maxsize=100_000)
def stem(word: str, language: str = "en") -> str:
    stemmer = _stemmer(language)
    if stemmer is None:
        return word
    out = stemmer.stemWord(word)
    if language.startswith("el"):
        # Snowball keeps some endings' vowels (παραγγελι-ες against παραγγελ-ια): dropped, so that
        # every form of a word, and its Greeklish spelling, meet on one term.
        out = fold(out)
        stripped = out[:-1] if len(out) > 4 and out[-1] == "σ" and out[-2] in "αεηιουω" else out
        stripped = stripped.rstrip("αεηιουω")
        result = sound(stripped if len(stripped) >= 3 else out)
        if len(result) < 3 and len(word) >= 6:
            # overstemmed (εξωτερικό -> εξ, εγγύηση -> εγ): the word less its ending instead
            result = sound(_GREEK_ENDING.sub("", fold(word)))
        return result
    return out


# Words that carry no topic in a support question (after folding; contractions without the
# apostrophe too, since visitors often drop it).
STOPWORDS = {
    "en": frozenset(
        "a an the i me my mine myself we us our ours you your yours u ur it its itself he she him her they them their "
        "is are was were be been being am do does did doing done to of in on at for from by with about into onto over "
        "and or but if so as than then too very really just also still yet already again ever even only quite "
        "can could would should will shall may might must need needs how what where which who whom whose why "
        "this that these those there here have has had having please pls plz hi hello hey thanks thank thx ty "
        "get got gets getting go goes going went know let lets want wanted like s t d ll re ve m "
        "dont doesnt didnt isnt wasnt werent wont cant couldnt shouldnt wouldnt havent hasnt hadnt arent aint "
        "don doesn didn isn wasn weren won couldn shouldn wouldn haven hasn hadn aren "
        "im ive id youre whats wheres hows thats theres any some all no not nor yes ok okay "
        "one much many more most other such own same few each both out up down off now "
        "something anything nothing someone anyone thing things stuff lot bit whether through via instead again against "
        "because while during until within between under above below onto off upon across along around "
        "actually basically maybe perhaps probably kind sort bit well oh ah hmm yeah yep nope guys guy "
        "tell say said says told ask asked asking wondering wonder help hope trying try tried "
        "able ok alright fine sure right ago".split()
    ),
}


STOPWORDS["el"] = frozenset(
    "ο η το οι τα του της των τον την τη στο στη στην στον στα στους στις στων σε με για απο προς κατα μετα "
    "χωρις μεχρι ως σαν οπως και κι ή η αλλα ομως ουτε να θα δεν δε μη μην ναι οχι αν εαν οτι πως που πω "
    "ειμαι εισαι ειναι ειμαστε ειστε ηταν ημουν εχω εχεις εχει εχουμε εχετε εχουν ειχα ειχε "
    "εγω εσυ αυτος αυτη αυτο αυτοι αυτες αυτα αυτου αυτης αυτων αυτον αυτην μου σου μας σας τους τις μ σ τ "
    "εμενα εσενα εσας εμας τι ποιος ποια ποιο ποιοι ποιες ποιου ποιας ποιον ποιων ποτε γιατι πως που ποσο ποσα "
    "ενα ενας μια μιας ενος καποιο καποια καποιος καθε ολα ολοι ολες ολο ολη ιδιο αλλο αλλη αλλος πολυ λιγο "
    "εδω εκει τωρα ηδη ακομα ακομη παλι επισης μονο ισως μαλλον ετσι τοτε πια λοιπον δηλαδη βασικα "
    "μπορω μπορεις μπορει μπορουμε μπορειτε μπορουν θελω θελεις θελει θελουμε θελετε θα ηθελα "
    "γεια γειασας καλημερα καλησπερα χαιρετε παρακαλω ευχαριστω ευχαριστουμε ευχαριστω πολυ ρε "
    "εσεις εμεις κανετε κανω λετε λεω ξερω ξερετε ξερεις πειτε πες πειτε μου γινεται γινεται κατι τιποτα "
    "οκ οκει εντασει ενταξει λοιπον απλα μηπως αραγε τελικα κανει κανουν ποσες ποσοι ποση ποσους ποσων "
    "δωσω δωσετε δινω δινετε παιρνω παρω παιρνετε μπορουσα μπορουσατε γινεται γινονται υπαρχει υπαρχουν "
    "εχεις εσυ εχετε ενα πρεπει χρειαζεται".split()
)
_GREEK_STOPWORDS = frozenset(sound(fold(w)) for w in STOPWORDS["el"])


def rewrite(text: str, language: str = "en") -> str:
    """Fold, then replace multi-word expressions by their canonical word (knowledge_base.synonyms).
    Greek: Greeklish transliterated first; the expressions are written to match any spelling by
    sound (synonyms.loose)."""
    from knowledge_base.synonyms import PHRASES

    out = fold(text).replace("\u2019", "'")
    if (language or "en")[:2] == "el":
        out = greeklish_to_greek(out)
    for pattern, repl in PHRASES.get((language or "en")[:2], ()):
        out = pattern.sub(repl, out)
    return out


def _vocabulary_term(word: str, language: str) -> str:
    """A word of the vocabulary lists as an index term (Greeklish brand names in Greek letters)."""
    word = fold(word)
    return term(greeklish_to_greek(word) if language == "el" else word, language)


@lru_cache(maxsize=16)
def _group_map(language: str) -> dict[str, str]:
    from knowledge_base.synonyms import GROUPS

    out: dict[str, str] = {}
    for group in GROUPS.get(language, ()):
        # A group starting "en:parcel" is named after the English group's head: one term in both
        # languages, so a Greek question can find an English article that has no translation.
        if group[0].startswith("en:"):
            concept, group = "=" + stem(group[0][3:], "en"), group[1:]
        else:
            concept = "=" + _vocabulary_term(group[0], language)
        for w in group:
            out.setdefault(_vocabulary_term(w, language), concept)
    return out


@lru_cache(maxsize=200_000)
def term(word: str, language: str = "en") -> str:
    """The index term of a folded word: its stem."""
    return stem(word, (language or "en")[:2])


def synonym(t: str, language: str = "en") -> str | None:
    """The synonym group of a term, as a term of its own: 'packag' -> '=parcel'."""
    return _group_map((language or "en")[:2]).get(t)


def is_stopword(word: str, language: str = "en") -> bool:
    language = (language or "en")[:2]
    if language == "el":
        return sound(word) in _GREEK_STOPWORDS
    return word in STOPWORDS.get(language, ())


@lru_cache(maxsize=16)
def _hypernym_map(language: str) -> dict[str, tuple[str, ...]]:
    from knowledge_base.synonyms import HYPERNYMS

    out: dict[str, tuple[str, ...]] = {}
    for line in HYPERNYMS.get(language, ()):
        head, _, members = line.partition(":")
        for w in members.split():
            t = _vocabulary_term(w, language)
            out[t] = (*out.get(t, ()), _vocabulary_term(head.strip(), language))
    # one level of chaining: "coat" -> clothes -> item
    return {t: tuple(dict.fromkeys(h + tuple(x for b in h for x in out.get(b, ())))) for t, h in out.items()}


def broader(t: str, language: str = "en") -> tuple[str, ...]:
    """The broader terms of an index term: 'maestro' -> ('card',), 'france' -> ('eu', 'country')."""
    return _hypernym_map((language or "en")[:2]).get(t, ())
