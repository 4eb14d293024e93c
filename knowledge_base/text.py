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
