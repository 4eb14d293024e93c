"""all-MiniLM-L6-v2 (a 6-layer BERT encoder) written out as an ONNX graph from its safetensors
weights, for ONNX Runtime (knowledge_base.embeddings). Built in memory at start-up (0.4 s), so the
only model file anyone ships is the hash-checked upstream one; its int8 version is derived from it
on first use and kept in the run directory (quantising takes 2.4 s).

Inputs: input_ids int64 [batch, tokens], position_ids int64 [tokens], no padding (the caller runs
one text at a time). Output: the last hidden states, float32 [batch, tokens, dim]; pooling is left
to the caller."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

HEADS = 12
OPSET = 17  # LayerNormalization
MS_DOMAIN = "com.microsoft"  # ONNX Runtime's own operators


# Part of the int8 file's name and of the stored article vectors' key: vectors from a different
# graph (or its quantisation) are not mixed with the questions' ones.
GRAPH_VERSION = "fused1"


def build_graph(w: dict[str, np.ndarray], dim: int):
    """Each layer in ONNX Runtime's fused transformer operators (com.microsoft Attention,
    SkipLayerNormalization, BiasGelu): 7 nodes a layer instead of about 25. A question of a dozen
    tokens is largely per-node overhead, so this is 9-19% faster in int8 (4.4 -> 4.0 ms over the
    benchmark's questions on a CPU without VNNI) and the same maths (float32 cosine 1.0000 with the
    unfused graph)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    count = 0

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], domain: str | None = None, **attrs) -> str:
        nonlocal count
        count += 1
        out = f"t{count}"
        nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def fused(kind: str, inputs: list[str], **attrs) -> str:
        return op(kind, inputs, domain=MS_DOMAIN, **attrs)

    def matmul(x: str, name: str, weight) -> str:
        # Weights stored (in, out), as MatMul wants them (PyTorch keeps (out, in)).
        return op("MatMul", [x, const(name + ".w", np.ascontiguousarray(weight.T))])

    def add_and_norm(x: str, residual: str, bias_name: str, norm_name: str) -> str:
        """LayerNorm(x + residual + bias), BERT's post-norm residual step, in one operator."""
        return fused("SkipLayerNormalization", [x, residual, const(norm_name + ".g", w[norm_name + ".weight"]),
                                                const(norm_name + ".b", w[norm_name + ".bias"]),
                                                const(bias_name + ".bias", w[bias_name + ".bias"])], epsilon=1e-12)

    x = op("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"])
    x = op("Add", [x, op("Gather", [const("position", w["embeddings.position_embeddings.weight"]), "position_ids"])])
    x = op("Add", [x, const("token_type", w["embeddings.token_type_embeddings.weight"][0])])
    x = op("LayerNormalization", [x, const("embeddings.LayerNorm.g", w["embeddings.LayerNorm.weight"]),
                                  const("embeddings.LayerNorm.b", w["embeddings.LayerNorm.bias"])], axis=-1, epsilon=1e-12)
    layers = sum(1 for k in w if k.endswith("attention.self.query.weight"))
    for i in range(layers):
        p = f"encoder.layer.{i}."
        s = p + "attention.self."
        # Attention takes query, key and value as one (in, 3 x out) matrix, scales by 1/sqrt(head size)
        qkv = np.concatenate([w[s + n + ".weight"] for n in ("query", "key", "value")])
        attended = fused("Attention", [x, const(p + "qkv.w", np.ascontiguousarray(qkv.T)),
                                       const(p + "qkv.b", np.concatenate([w[s + n + ".bias"] for n in ("query", "key", "value")]))],
                         num_heads=HEADS)
        x = add_and_norm(matmul(attended, p + "attention.output", w[p + "attention.output.dense.weight"]), x,
                         p + "attention.output.dense", p + "attention.output.LayerNorm")
        # BiasGelu is BERT's exact GELU (with erf) of h + bias
        h = fused("BiasGelu", [matmul(x, p + "intermediate", w[p + "intermediate.dense.weight"]),
                               const(p + "intermediate.bias", w[p + "intermediate.dense.bias"])])
        x = add_and_norm(matmul(h, p + "output", w[p + "output.dense.weight"]), x, p + "output.dense", p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", dim])],
        initializers)
    return as_model(graph)


def as_model(graph):
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)])
    model.ir_version = 8  # the oldest that knows opset 17: any onnxruntime since 1.14 runs it
    return model


def session(model: bytes, *, arena: bool = True):
    """An ONNX Runtime session on one thread, as for BLAS (knowledge_base/__init__.py): the app
    runs many small requests at once, and hand-offs between threads cost more than they save."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = arena
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def quantised(graph, directory: Path, weights_sha256: str) -> bytes:
    """The graph with its matrices (and the word embeddings) in int8, one scale per output channel
    (ONNX Runtime's dynamic quantisation: activations are quantised per product at run time)."""
    import onnxruntime
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = directory / f"all-MiniLM-L6-v2-{weights_sha256[:16]}-{GRAPH_VERSION}-int8-ort{onnxruntime.__version__}.onnx"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".onnx.tmp")
        os.close(fd)
        try:
            root, quiet = logging.getLogger(), _NoPreprocessingAdvice()
            root.addFilter(quiet)  # the quantiser's advice on image models, logged on the root logger
            try:
                # The fused operators are unknown to ONNX's shape inference: their outputs are float
                quantize_dynamic(graph, tmp, weight_type=QuantType.QInt8, per_channel=True,
                                 extra_options={"DefaultTensorType": TensorProto.FLOAT})
            finally:
                root.removeFilter(quiet)
            os.replace(tmp, path)  # several processes may start at once: whole files only
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path.read_bytes()


class _NoPreprocessingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()
