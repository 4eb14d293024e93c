"""all-MiniLM-L6-v2 (a 6-layer BERT encoder) written out as an ONNX graph from its safetensors
weights, for ONNX Runtime (knowledge_base.embeddings). Built in memory at start-up (0.4 s), so the
only model file anyone ships is the hash-checked upstream one; its int8 version is derived from it
on first use and kept in the run directory (quantising takes 2.4 s).

Inputs: input_ids int64 [batch, tokens], position_ids int64 [tokens], no padding (the caller runs
one text at a time). Output: the last hidden states, float32 [batch, tokens, dim]; pooling is left
to the caller."""
from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np

HEADS = 12
OPSET = 17  # LayerNormalization


def build_graph(w: dict[str, np.ndarray], dim: int):
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    count = 0

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs) -> str:
        nonlocal count
        count += 1
        out = f"t{count}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def layer_norm(x: str, name: str) -> str:
        return op("LayerNormalization", [x, const(name + ".g", w[name + ".weight"]), const(name + ".b", w[name + ".bias"])],
                  axis=-1, epsilon=1e-12)

    def linear(x: str, name: str, weight, bias) -> str:
        # Weights stored (in, out), as MatMul wants them (PyTorch keeps (out, in)).
        return op("Add", [op("MatMul", [x, const(name + ".w", np.ascontiguousarray(weight.T))]), const(name + ".bias", bias)])

    x = op("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"])
    x = op("Add", [x, op("Gather", [const("position", w["embeddings.position_embeddings.weight"]), "position_ids"])])
    x = op("Add", [x, const("token_type", w["embeddings.token_type_embeddings.weight"][0])])
    x = layer_norm(x, "embeddings.LayerNorm")
    hd = dim // HEADS
    layers = sum(1 for k in w if k.endswith("attention.self.query.weight"))
    for i in range(layers):
        p = f"encoder.layer.{i}."
        s = p + "attention.self."
        # query, key and value in one matrix product, then split per head: [3, batch, heads, tokens, hd]
        qkv = linear(x, p + "qkv", np.concatenate([w[s + n + ".weight"] for n in ("query", "key", "value")]),
                     np.concatenate([w[s + n + ".bias"] for n in ("query", "key", "value")]))
        qkv = op("Transpose", [op("Reshape", [qkv, const(p + "qkv.shape", np.array([0, 0, 3, HEADS, hd], np.int64))])],
                 perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Gather", [qkv, const(p + f"part{j}", np.array(j, np.int64))], axis=0) for j in range(3))
        scores = op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = op("Mul", [scores, const(p + "scale", np.array(1 / math.sqrt(hd), np.float32))])
        context = op("Transpose", [op("MatMul", [op("Softmax", [scores], axis=-1), v])], perm=[0, 2, 1, 3])
        context = op("Reshape", [context, const(p + "ctx.shape", np.array([0, 0, dim], np.int64))])
        attended = linear(context, p + "attention.output", w[p + "attention.output.dense.weight"],
                          w[p + "attention.output.dense.bias"])
        x = layer_norm(op("Add", [x, attended]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate", w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"])
        # BERT's exact GELU: 0.5 * h * (1 + erf(h / sqrt 2))
        erf = op("Erf", [op("Mul", [h, const(p + "inv_sqrt2", np.array(1 / math.sqrt(2), np.float32))])])
        h = op("Mul", [op("Mul", [h, op("Add", [erf, const(p + "one", np.array(1, np.float32))])]),
                       const(p + "half", np.array(0.5, np.float32))])
        out = linear(h, p + "output", w[p + "output.dense.weight"], w[p + "output.dense.bias"])
        x = layer_norm(op("Add", [x, out]), p + "output.LayerNorm")
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

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
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
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path = directory / f"all-MiniLM-L6-v2-{weights_sha256[:16]}-int8-ort{onnxruntime.__version__}.onnx"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".onnx.tmp")
        os.close(fd)
        try:
            root, quiet = logging.getLogger(), _NoPreprocessingAdvice()
            root.addFilter(quiet)  # the quantiser's advice on image models, logged on the root logger
            try:
                quantize_dynamic(graph, tmp, weight_type=QuantType.QInt8, per_channel=True)
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
