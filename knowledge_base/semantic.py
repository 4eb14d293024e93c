"""The meaning half of search: how close a question is, in MiniLM embedding space, to each
article's title and phrasings and to the passages of its body. Paraphrases that share no word
with the article ("how long till my stuff gets here" / "Delivery times") are found here."""
from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Sequence

import numpy as np


log = logging.getLogger(__name__)

PASSAGE_WORDS = 120  # body passages of about this many words, split at paragraph ends, title in front
PHRASING_SHARE = 0.3  # semantic score = PHRASING_SHARE * best phrasing + rest * best passage
LANGUAGES = ("en",)  # all-MiniLM-L6-v2 is an English model


class _VectorCache:
    """Text -> vector, shared by successive indexes so a rebuild embeds only new texts. Searches
    run in worker threads (LiveIndex.search): the dictionary is touched under a lock, the model
    runs outside it."""

    def __init__(self, limit: int):
        self.limit = limit
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, model, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._data[t] for t in texts if t in self._data}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known.update(zip(missing, model.encode(missing)))
        with self._lock:
            for t in texts:
                self._data[t] = known[t]
                self._data.move_to_end(t)
            while len(self._data) > self.limit:
                self._data.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


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
        self.phr_groups = RowGroups(phr_owner, self.n)
        self.body = _ARTICLE_VECTORS.encode(articles, body_texts)
        self.body_groups = RowGroups(body_owner, self.n)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity per article (index as in `docs`)."""
        q = _QUERY_VECTORS.encode(self.model, [query])[0]
        best_phr = self.phr_groups.best(self.phr @ q)
        best_body = self.body_groups.best(self.body @ q)
        # An article without body text counts its phrasings twice.
        best_body = np.where(self.body_groups.has, best_body, best_phr)
        return PHRASING_SHARE * best_phr + (1 - PHRASING_SHARE) * best_body


class RowGroups:
    """Rows (phrasings, passages) grouped by the article they belong to, an article's rows next to
    each other: the best row per article in one vectorised pass."""

    def __init__(self, owner: list[int], n: int):
        """owner[row] = the article's number (0..n-1), non-decreasing."""
        owner_arr = np.asarray(owner, dtype=np.int64)
        self.n = n
        self.has = np.zeros(n, dtype=bool)
        self.has[owner_arr] = True
        self.starts = np.searchsorted(owner_arr, np.flatnonzero(self.has))

    def best(self, values: np.ndarray, missing: float = -1.0) -> np.ndarray:
        """The highest value per article; `missing` for an article without rows."""
        # maximum.reduceat over contiguous groups: one vectorised pass (ufunc.at is ~10x slower)
        out = np.full(self.n, missing, dtype=values.dtype)
        if len(self.starts):
            out[self.has] = np.maximum.reduceat(values, self.starts)
        return out
