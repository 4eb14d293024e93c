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

PASSAGE_WORDS = 60  # body passages of about this many words, split at paragraph ends
PHRASING_SHARE = 0.5  # semantic score = PHRASING_SHARE * best phrasing + rest * best passage
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
        self.phr = _ARTICLE_VECTORS.encode(model, phr_texts)
        self.phr_owner = np.array(phr_owner, dtype=np.int64)
        self.body = _ARTICLE_VECTORS.encode(model, body_texts)
        self.body_owner = np.array(body_owner, dtype=np.int64)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity per article (index as in `docs`)."""
        q = _QUERY_VECTORS.encode(self.model, [query])[0]
        best_phr = np.full(self.n, -1.0, dtype=np.float32)
        np.maximum.at(best_phr, self.phr_owner, self.phr @ q)
        best_body = np.full(self.n, -1.0, dtype=np.float32)
        if len(self.body_owner):
            np.maximum.at(best_body, self.body_owner, self.body @ q)
        else:
            best_body = best_phr
        return PHRASING_SHARE * best_phr + (1 - PHRASING_SHARE) * best_body
