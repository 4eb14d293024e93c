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
    """Text -> vector for visitors' questions, so a question asked again costs no model run.
    Searches run in worker threads (LiveIndex.search): the dictionary is touched under a lock, the
    model runs outside it."""

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


# Questions only: article texts are looked up in the on-disk store (embeddings.StoredEncoder), so
# their vectors are held once, in the index (a copy here cost 256 MB at 50,000 articles).
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


def _encode(encoder, texts: list[str]) -> np.ndarray:
    """One row per text; a text repeated across articles (a shared phrasing) is embedded once."""
    if not texts:
        return np.zeros((0, 384), np.float32)
    unique = list(dict.fromkeys(texts))
    if len(unique) == len(texts):
        return encoder.encode(texts)
    row = {t: i for i, t in enumerate(unique)}
    return encoder.encode(unique)[[row[t] for t in texts]]


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
        self.phr = Similarities(_encode(articles, phr_texts))
        self.phr_groups = RowGroups(phr_owner, self.n)
        self.body = Similarities(_encode(articles, body_texts))
        self.body_groups = RowGroups(body_owner, self.n)

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity per article (index as in `docs`)."""
        q = _QUERY_VECTORS.encode(self.model, [query])[0]
        best_phr = self.phr_groups.best(self.phr.dot(q))
        best_body = self.body_groups.best(self.body.dot(q))
        # An article without body text counts its phrasings twice.
        best_body = np.where(self.body_groups.has, best_body, best_phr)
        return PHRASING_SHARE * best_phr + (1 - PHRASING_SHARE) * best_body


class Similarities:
    """Unit vectors, one per row, and their dot products with a question's vector. A product over
    many rows is bound by memory bandwidth (float32 at 50,000 articles: 340 MB read per question,
    23-36 ms on the 2-core machine), so past INT8_FROM rows the vectors are kept in int8 with a
    scale per row (a quarter of the bytes) and multiplied by ONNX Runtime's integer kernels
    (11 ms; cosines within 0.004 of float32). Fewer rows stay in float32 numpy."""

    INT8_FROM = 50_000

    def __init__(self, vectors: np.ndarray):
        self.rows = len(vectors)
        self._session = None
        if self.rows < self.INT8_FROM:
            self._vectors = vectors
            return
        from onnx import TensorProto, helper, numpy_helper

        from knowledge_base.minilm_graph import as_model, session

        # 7 bits (-63..63), not 8: on x86 without VNNI, ONNX Runtime multiplies uint8 by int8 in
        # pairs summed into int16, which saturate past 32767 (255 * 127 * 2 does; 255 * 63 * 2
        # does not): 8-bit vectors were off by up to 0.026 there, 7-bit ones by 0.004 everywhere.
        scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 63.0
        quantised = np.ascontiguousarray(np.round(vectors / scale[:, None]).astype(np.int8).T)
        self._scale = scale.astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["question", "vectors", "zero"], ["dots"])], "similarities",
            [helper.make_tensor_value_info("question", TensorProto.UINT8, [1, vectors.shape[1]])],
            [helper.make_tensor_value_info("dots", TensorProto.INT32, [1, self.rows])],
            # The question as uint8 around 128: ONNX Runtime's fast integer kernels are uint8 x int8.
            [numpy_helper.from_array(quantised, "vectors"), numpy_helper.from_array(np.array(128, np.uint8), "zero")])
        self._session = session(as_model(graph).SerializeToString())

    def dot(self, q: np.ndarray) -> np.ndarray:
        if self._session is None:
            return self._vectors @ q
        q_scale = max(float(np.abs(q).max()), 1e-12) / 127.0
        question = (np.round(q / q_scale) + 128).astype(np.uint8)[None, :]
        return self._session.run(None, {"question": question})[0][0].astype(np.float32) * (self._scale * q_scale)


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
