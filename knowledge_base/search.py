"""Ranking published articles for a visitor's question, with a confidence in [0, 1].

Baseline: BM25 over stemmed words of title, phrasings, tags and body (field-weighted), blended with
rapidfuzz similarity to the title and phrasings (typos, short questions)."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from rapidfuzz import fuzz

from knowledge_base.text import stem, words

STOPWORDS = frozenset(
    "a an the i me my we our you your it its is are was were be been am do does did to of in on at for "
    "with and or but if so can could would should will shall may might how what when where which who why "
    "this that these those there here have has had please pls hi hello thanks thank just get got".split()
)

# The score above which the bot answers with the top article instead of saying "I'm not sure".
ANSWER_THRESHOLD = 0.35


@dataclass(frozen=True)
class Doc:
    id: int
    title: str
    body: str
    category: str = ""
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str = "en"


@dataclass(frozen=True)
class Hit:
    article_id: int
    title: str
    score: float


def terms(text: str, language: str = "en") -> list[str]:
    return [stem(w, language) for w in words(text) if w not in STOPWORDS]


@dataclass
class _Indexed:
    doc: Doc
    tf: Counter
    length: int
    phrases: list[str] = field(default_factory=list)


class SearchIndex:
    K1, B = 1.2, 0.75
    FIELD_WEIGHTS = {"title": 3, "questions": 2, "tags": 2, "body": 1}

    def __init__(self, docs: Sequence[Doc]):
        self._docs: list[_Indexed] = []
        df: Counter = Counter()
        for doc in docs:
            tf: Counter = Counter()
            for name, weight in self.FIELD_WEIGHTS.items():
                value = getattr(doc, name)
                text = " ".join(value) if isinstance(value, tuple) else value
                for t in terms(text, doc.language):
                    tf[t] += weight
            phrases = [" ".join(terms(p, doc.language)) for p in (doc.title, *doc.questions)]
            self._docs.append(_Indexed(doc, tf, sum(tf.values()), phrases))
            df.update(tf.keys())
        n = max(len(self._docs), 1)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._avg_len = sum(d.length for d in self._docs) / n if self._docs else 1.0

    def __len__(self) -> int:
        return len(self._docs)

    def search(self, query: str, k: int = 3, language: str | None = None) -> list[Hit]:
        scored = []
        for d in self._docs:
            if language and d.doc.language != language:
                continue
            q_terms = terms(query, d.doc.language)
            if not q_terms:
                continue
            lexical = self._bm25(q_terms, d) / self._bm25_ceiling(q_terms)
            q_phrase = " ".join(q_terms)
            fuzzy = max(fuzz.token_sort_ratio(q_phrase, p) for p in d.phrases) / 100.0
            score = 0.6 * min(lexical, 1.0) + 0.4 * fuzzy
            scored.append((score, d.doc))
        scored.sort(key=lambda s: s[0], reverse=True)
        return [Hit(doc.id, doc.title, round(score, 4)) for score, doc in scored[:k]]

    def _bm25(self, q_terms: list[str], d: _Indexed) -> float:
        score = 0.0
        norm = self.K1 * (1 - self.B + self.B * d.length / self._avg_len)
        for t in q_terms:
            f = d.tf.get(t)
            if f:
                score += self._idf[t] * f * (self.K1 + 1) / (f + norm)
        return score

    def _bm25_ceiling(self, q_terms: list[str]) -> float:
        # What a document matching every query term strongly would score: makes BM25 comparable
        # across queries, so one threshold works for all of them.
        top_idf = max(self._idf.values(), default=1.0)
        return sum(self._idf.get(t, top_idf) for t in q_terms) * (self.K1 + 1) * 0.5 or 1.0
