"""Text normalisation shared by indexing and querying: case and diacritics never matter
(Greek included), words are stemmed per language."""
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


@lru_cache(maxsize=16)
def _stemmer(language: str) -> Stemmer.Stemmer | None:
    name = _STEMMER_FOR.get((language or "en")[:2])
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=100_000)
def stem(word: str, language: str = "en") -> str:
    stemmer = _stemmer(language)
    if stemmer is None:
        return word
    out = stemmer.stemWord(word)
    # Greek Snowball expects upper-case unaccented input and returns it that way.
    return fold(out) if language.startswith("el") else out


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


def rewrite(text: str, language: str = "en") -> str:
    """Fold, then replace multi-word expressions by their canonical word (knowledge_base.synonyms)."""
    from knowledge_base.synonyms import PHRASES

    out = fold(text).replace("\u2019", "'")
    for pattern, repl in PHRASES.get((language or "en")[:2], ()):
        out = pattern.sub(repl, out)
    return out


@lru_cache(maxsize=16)
def _group_map(language: str) -> dict[str, str]:
    from knowledge_base.synonyms import GROUPS

    out: dict[str, str] = {}
    for group in GROUPS.get(language, ()):
        for w in group:
            out.setdefault(stem(w, language), "=" + stem(group[0], language))
    return out


@lru_cache(maxsize=200_000)
def term(word: str, language: str = "en") -> str:
    """The index term of a folded word: its stem."""
    return stem(word, (language or "en")[:2])


def synonym(t: str, language: str = "en") -> str | None:
    """The synonym group of a term, as a term of its own: 'packag' -> '=parcel'."""
    return _group_map((language or "en")[:2]).get(t)


def is_stopword(word: str, language: str = "en") -> bool:
    return word in STOPWORDS.get((language or "en")[:2], ())


@lru_cache(maxsize=16)
def _hypernym_map(language: str) -> dict[str, tuple[str, ...]]:
    from knowledge_base.synonyms import HYPERNYMS

    out: dict[str, tuple[str, ...]] = {}
    for line in HYPERNYMS.get(language, ()):
        head, _, members = line.partition(":")
        for w in members.split():
            out[term(w, language)] = (*out.get(term(w, language), ()), term(head.strip(), language))
    # one level of chaining: "coat" -> clothes -> item
    return {t: tuple(dict.fromkeys(h + tuple(x for b in h for x in out.get(b, ())))) for t, h in out.items()}


def broader(t: str, language: str = "en") -> tuple[str, ...]:
    """The broader terms of an index term: 'maestro' -> ('card',), 'france' -> ('eu', 'country')."""
    return _hypernym_map((language or "en")[:2]).get(t, ())
