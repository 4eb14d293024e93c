"""The meaning half of search: how close a question is, in MiniLM embedding space, to each
article's title and phrasings and to the passages of its body. Paraphrases that share no word
with the article ("how long till my stuff gets here" / "Delivery times") are found here."""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

PASSAGE_WORDS = 120  # body passages of about this many words, split at paragraph ends, title in front
PHRASING_SHARE = 0.3  # semantic score = PHRASING_SHARE * best phrasing + rest * best passage
LANGUAGES = ("en",)  # all-MiniLM-L6-v2 is an English model


class _VectorCache:
    """Text -> vector, shared by successive indexes so a rebuild embeds only new texts."""

    def __init__(self, limit: int):
        self.limit = limit
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, model, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._data))
        if missing:
            for t, v in zip(missing, model.encode(missing)):
                self._data[t] = v
        out = np.stack([self._data[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        for t in texts:
            self._data.move_to_end(t)
        while len(self._data) > self.limit:
            self._data.popitem(last=False)
        return out


_ARTICLE_VECTORS = _VectorCache(limit=2_000_000)
_QUERY_VECTORS = _VectorCache(limit=20_000)


def passages(body: str) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    out, current = [], []
    for p in paragraphs:
        if current and sum(len(x.split()) for x in current) + len(p.split()) > PASSAGE_WORDS:
            out.append("\n".join(current))
            current = []
        current.append(p)
    if current:
        out.append("\n".join(current))
    return out


def _article_encoder(model):
    """Article texts go through the on-disk vector store (restarts re-embed nothing)."""
    from knowledge_base.embeddings import MiniLM, stored_encoder

    return stored_encoder() if isinstance(model, MiniLM) else model


def load_model():
    """The embedding model, or None (then search is lexical only) when its package is missing."""
    from knowledge_base.embeddings import ModelUnavailable, shared_model

    try:
        return shared_model()
    except ModelUnavailable as exc:
        log.warning("semantic search off: %s", exc)
        return None


class SemanticIndex:
    def __init__(self, docs: Sequence, model):
        self.model = model
        phr_texts, phr_owner, body_texts, body_owner = [], [], [], []
        for i, d in enumerate(docs):
            for t in (d.title, *d.questions):
                phr_texts.append(t)
                phr_owner.append(i)
            for p in passages(d.body):
                body_texts.append(f"{d.title}. {p}")
                body_owner.append(i)
        self.n = len(docs)
        articles = _article_encoder(model)
        self.phr = _ARTICLE_VECTORS.encode(articles, phr_texts)
        self.phr_starts, self.phr_has = _starts(phr_owner, self.n)
        self.body = _ARTICLE_VECTORS.encode(articles, body_texts)
        self.body_starts, self.body_has = _starts(body_owner, self.n)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity per article (index as in `docs`)."""
        q = _QUERY_VECTORS.encode(self.model, [query])[0]
        best_phr = _best_per_owner(self.phr @ q, self.phr_starts, self.phr_has, self.n)
        best_body = _best_per_owner(self.body @ q, self.body_starts, self.body_has, self.n)
        # An article without body text counts its phrasings twice.
        best_body = np.where(self.body_has, best_body, best_phr)
        return PHRASING_SHARE * best_phr + (1 - PHRASING_SHARE) * best_body


def _starts(owner: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each owner's rows begin (rows are grouped by owner, in order) and which owners have rows."""
    owner_arr = np.asarray(owner, dtype=np.int64)
    has = np.zeros(n, dtype=bool)
    has[owner_arr] = True
    return np.searchsorted(owner_arr, np.flatnonzero(has)), has


def _best_per_owner(sims: np.ndarray, starts: np.ndarray, has: np.ndarray, n: int) -> np.ndarray:
    # maximum.reduceat over contiguous groups: one vectorised pass (ufunc.at is ~10x slower)
    out = np.full(n, -1.0, dtype=np.float32)
    if len(starts):
        out[has] = np.maximum.reduceat(sims, starts)
    return out
