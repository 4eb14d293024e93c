"""A Greek question in English words, for the English engine (docs/answer-quality.md, "Greek").

No sentence-embedding model covering Greek can be installed here, so a Greek question is also
translated word by word into a rough English "gloss" ("το πακετο μου αργει πολυ" -> "parcel package
late delayed") and searched by the English engine (lexical + MiniLM) against the English translations
of the Greek articles. The word-by-word lexicon has two sources:

1. knowledge_base.lexicon_el.GLOSSARY: general everyday shop-support Greek, written as data;
2. word alignments learned from the shop's own translated articles: the title, each alternative
   question and each body paragraph of a Greek article and its English translation (same
   translation_group, same order) are segment pairs; a Greek term and an English word that keep
   appearing in the same pairs (Dice coefficient) translate each other. This works for any shop that
   links translations, and it learns its product and brand words.

The glossary wins where both have a word; the synonym groups named "en:<word>" (synonyms_el) are a
third, last source. Before the words, a few question phrases are glossed whole
(lexicon_el.PHRASES: "πόσες μέρες" -> "how many days", "πότε θα έρθει" -> "when will it be delivered"),
which a word-by-word gloss would flatten into "time". Words with no translation are left out; `Gloss.share` says how much of the
question was translated."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from knowledge_base.text import fold, greeklish_to_greek, is_stopword, rewrite, term, words

# The alignment is rebuilt with the index: bounded, so a large translated knowledge base costs a
# second at most (the frequent words it is for are learned from the first articles already).
MAX_ARTICLES = 300
MAX_SEGMENT_WORDS = 80
_PARAGRAPHS = re.compile(r"\n\s*\n")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|https?://\S+")


@dataclass(frozen=True)
class Gloss:
    text: str  # English words, in the question's order, each once
    share: float  # the share of the question's content words that were translated


@lru_cache(maxsize=4)
def glossary(language: str = "el") -> dict[str, tuple[str, ...]]:
    """Index term of a Greek word -> its English words (all lines that list it)."""
    from knowledge_base import lexicon_el

    out: dict[str, list[str]] = defaultdict(list)
    for english, greek in lexicon_el.entries():
        for g in greek:
            t = term(greeklish_to_greek(fold(g.replace("-", " "))).replace(" ", ""), language)
            out[t] += [w for w in english.split() if w not in out[t]]
    return {t: tuple(ws) for t, ws in out.items()}


@lru_cache(maxsize=4)
def phrase_glosses(language: str = "el") -> tuple[tuple[re.Pattern, str], ...]:
    """Multi-word Greek expressions glossed as a whole (lexicon_el.PHRASES), matched in any spelling
    by sound, longest alternatives first within a line."""
    from knowledge_base import lexicon_el
    from knowledge_base.synonyms_el import any_ending, loose

    out = []
    for english, greek in lexicon_el.phrases():
        alternatives = "|".join(loose(any_ending(g)) for g in sorted(greek, key=len, reverse=True))
        out.append((re.compile(rf"\b(?:{alternatives})\b"), english))
    return tuple(out)


@lru_cache(maxsize=4)
def concept_words(language: str = "el") -> dict[str, str]:
    """The synonym groups' concept terms ("=refund") -> the English head word ("refund")."""
    from knowledge_base import synonyms

    out = {}
    for group in synonyms.GROUPS.get(language, ()):
        if group[0].startswith("en:"):
            out["=" + term(group[0][3:], "en")] = group[0][3:]
    return out


def _content(text: str, language: str) -> list[str]:
    """Content words of a text, after the language's multi-word expressions (Greeklish in Greek letters)."""
    return [w for w in words(rewrite(text, language)) if not is_stopword(w, language) and not w.isdigit()]


def _segments(doc, english) -> list[tuple[str, str]]:
    """Pairs of texts that translate each other: titles, alternative questions in order, body
    paragraphs in order (when both bodies have as many)."""
    pairs = [(doc.title, english.title)]
    if len(doc.questions) == len(english.questions):
        pairs += list(zip(doc.questions, english.questions))
    ours = [p for p in _PARAGRAPHS.split(_LINK.sub(lambda m: m.group(1) or " ", doc.body)) if p.strip()]
    theirs = [p for p in _PARAGRAPHS.split(_LINK.sub(lambda m: m.group(1) or " ", english.body)) if p.strip()]
    if len(ours) == len(theirs):
        pairs += list(zip(ours, theirs))
    return pairs


def align(docs: Sequence, language: str, min_count: int = 2, min_dice: float = 0.3, strong: float = 0.6) -> dict[str, tuple[str, ...]]:
    """Greek term -> the English word it is aligned with in the shop's translated articles."""
    english = {d.group: d for d in docs if d.language == "en" and d.group}
    pairs = [d for d in docs if d.language == language and d.group in english][:MAX_ARTICLES]
    seen_el: Counter = Counter()
    seen_en: Counter = Counter()
    together: Counter = Counter()
    surface: dict[str, Counter] = defaultdict(Counter)
    for doc in pairs:
        for ours, theirs in _segments(doc, english[doc.group]):
            el_terms = {term(w, language) for w in _content(ours, language)}
            if len(el_terms) > MAX_SEGMENT_WORDS:  # long paragraphs: many pairs, little signal
                continue
            en_terms = set()
            for w in _content(theirs, "en"):
                t = term(w, "en")
                en_terms.add(t)
                surface[t][w] += 1
            seen_el.update(el_terms)
            seen_en.update(en_terms)
            together.update((g, e) for g in el_terms for e in en_terms)
    best: dict[str, tuple[float, int, str]] = {}
    best_for_en: dict[str, tuple[float, int, str]] = {}
    for (g, e), c in together.items():
        if c < min_count or len(g) < 3:
            continue
        dice = 2 * c / (seen_el[g] + seen_en[e])
        if g not in best or (dice, c) > best[g][:2]:
            best[g] = (dice, c, e)
        if e not in best_for_en or (dice, c) > best_for_en[e][:2]:
            best_for_en[e] = (dice, c, g)
    # Kept: pairs that are each other's best match (competitive linking, one round), or very
    # strongly associated; a word seen in a few segments only otherwise picks up noise.
    return {g: (surface[e].most_common(1)[0][0],) for g, (dice, _, e) in best.items()
            if dice >= min_dice and (best_for_en[e][2] == g or dice >= strong)}


class Glosser:
    """Builds the gloss of a question in `language` from the glossary and the learned alignments."""

    SOURCES = ("phrases", "glossary", "aligned", "concepts")  # which sources are used (eval.tune --language el --ablate)

    def __init__(self, docs: Sequence, language: str = "el"):
        self.language = language
        self.learned = align(docs, language) if "aligned" in self.SOURCES else {}
        self.fixed = glossary(language) if "glossary" in self.SOURCES else {}
        self.concepts = concept_words(language) if "concepts" in self.SOURCES else {}
        self.phrases = phrase_glosses(language) if "phrases" in self.SOURCES and language == "el" else ()

    def english(self, t: str) -> tuple[str, ...]:
        from knowledge_base.text import synonym

        if t in self.fixed:
            return self.fixed[t]
        if t in self.learned:
            return self.learned[t]
        concept = synonym(t, self.language)
        return (self.concepts[concept],) if concept in self.concepts else ()

    def gloss(self, text: str) -> Gloss:
        """`text`: the question folded, Greeklish transliterated and typos fixed
        (_LanguageIndex.corrected)."""
        out: list[str] = []
        translated = found_phrases = 0
        for pattern, english in self.phrases:  # whole phrases first; their words are not glossed again
            text, n = pattern.subn(" ", text)
            if n:
                found_phrases += 1
                out += [x for x in english.split() if x not in out]
        content = _content(text, self.language)
        translated, n_content = found_phrases, len(content) + found_phrases
        for w in content:
            found = self.english(term(w, self.language))
            translated += bool(found)
            out += [x for x in found if x not in out]
        return Gloss(" ".join(out), translated / n_content if n_content else 0.0)
