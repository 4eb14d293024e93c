"""The ONNX graph (knowledge_base.minilm_graph) computes the same vectors as a plain numpy
transcription of BERT (below, written from the model card's maths, independently of the graph);
its int8 version, which the product runs, stays close to them; and the vectors mean what they
should: paraphrases are close, unrelated questions are not."""
from __future__ import annotations

import math

import numpy as np
import pytest

from knowledge_base.embeddings import DIM, MiniLM, model_dir, shared_model

try:
    shared_model()
except Exception as exc:  # pragma: no cover - the bootstrap installs the model
    pytest.skip(f"embedding model unavailable: {exc}", allow_module_level=True)


def _layer_norm(x, g, b):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + 1e-12) * g + b


def _reference(ids: list[int]) -> np.ndarray:
    """One sentence through all-MiniLM-L6-v2 in float64 numpy, mean-pooled and normalised."""
    from safetensors.numpy import load_file

    w = {k: v.astype(np.float64) for k, v in load_file(str(model_dir() / "model.safetensors")).items()}
    n, heads, hd = len(ids), 12, DIM // 12
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    for i in range(6):
        p = f"encoder.layer.{i}."

        def lin(t, name):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (lin(x, f"attention.self.{m}").reshape(n, heads, hd).transpose(1, 0, 2) for m in ("query", "key", "value"))
        att = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(n, DIM)
        x = _layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"])
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1 + np.vectorize(math.erf)(h / math.sqrt(2)))
        x = _layer_norm(x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


TEXTS = ["How long does delivery take to Germany?", "asdfgh", "Ich möchte meine Bestellung zurückgeben, bitte!",
         "hey!! my parcel says delivered but nothing here??? order 12345", "Can I pay with Klarna or PayPal?"]


def test_onnx_graph_matches_a_numpy_transcription_of_the_model():
    model = MiniLM(precision="float32")
    assert model.precision == "float32"
    for text, vec in zip(TEXTS, model.encode(TEXTS)):
        ref = _reference(model.tok.encode(text).ids)
        assert float(vec @ ref) > 0.99999, text
        assert np.allclose(vec, ref, atol=1e-4)


def test_the_int8_model_the_product_runs_stays_close_to_the_exact_one():
    model = shared_model()
    assert model.precision == "int8"  # this CPU passes the start-up check; float32 is the fallback
    for text, vec in zip(TEXTS, model.encode(TEXTS)):
        assert float(vec @ _reference(model.tok.encode(text).ids)) > 0.95, text


def test_a_text_gets_the_same_vector_whatever_is_encoded_beside_it():
    model = shared_model()
    texts = ["hi", "where is my parcel, it was due last week and the tracking has not moved", "refund?"]
    together = model.encode(texts)
    alone = np.stack([model.encode([t])[0] for t in reversed(texts)])[::-1]
    assert np.array_equal(together, alone)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert model.encode([]).shape == (0, DIM)


def test_paraphrases_are_closer_than_unrelated_questions():
    model = shared_model()
    a, b, c, d = model.encode(["how long till my stuff gets here", "What are your delivery times?",
                               "Can I pay with a credit card?", "when will my order arrive"])
    assert d @ b > 0.5
    assert a @ b > a @ c + 0.2 and d @ b > d @ c + 0.2
