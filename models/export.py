"""ONNX export (FP32) and static INT8 quantization with ONNX Runtime's quantizer.

Uses torch's TorchScript-based exporter (no onnxscript needed, deterministic bytes for the same
weights). Batch size is dynamic; seq_len and channels are fixed by the model card.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["calibration_windows", "export_onnx", "quantize_int8"]

INPUT = "window"
OUTPUT = "probability"


def export_onnx(model: nn.Module, path: Path, seq_len: int, channels: int) -> Path:
    model.eval()
    example = torch.zeros(1, seq_len, channels)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return path


def calibration_windows(x: np.ndarray, seed: int, most: int = 2_048) -> np.ndarray:
    """Up to ``most`` of the windows ``x`` (training windows), drawn with ``seed``, in order."""
    if len(x) <= most:
        return x
    rng = np.random.default_rng(seed)
    return x[np.sort(rng.choice(len(x), most, replace=False))]


def quantize_int8(source: Path, target: Path, calibration: np.ndarray) -> Path:
    """Static INT8 quantization, so that a window's score never depends on its batch-mates.

    Convolutions, matrix products and dense layers become QDQ INT8 with per-channel weights and
    activation ranges calibrated once on ``calibration`` (training windows, float32): the scales
    are constants of the file, not of the batch, as ONNX Runtime's dynamic quantization made
    them. ONNX Runtime has no static INT8 LSTM, so an LSTM's weight matrices are stored as INT8
    (per output row) behind a DequantizeLinear and the LSTM runs in float: they hold nearly all
    of the weights, so the file is still about a third of the FP32 one.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class _Windows(CalibrationDataReader):  # type: ignore[misc]  # untyped upstream
        def __init__(self) -> None:
            self._batches = iter(range(0, len(calibration), 256))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self._batches, None)
            if start is None:
                return None
            return {INPUT: calibration[start : start + 256].astype(np.float32)}

    if not len(calibration):
        raise ValueError("static quantization needs calibration windows; got none")
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the quantizer warns about optional pre-processing
    try:
        quantize_static(
            str(source),
            str(target),
            _Windows(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["Conv", "MatMul", "Gemm"],
        )
    finally:
        quiet.setLevel(level)
    model = onnx.load(str(target))
    _int8_lstm_weights(model)
    _drop_zero_initial_states(model)
    _exact_input_elsewhere(model)
    _short_names(model)
    onnx.save(model, str(target))
    return target


def _exact_input_elsewhere(model: Any) -> None:
    """Only the quantized layers read the quantized input window; every other node that the
    quantizer rewired to it reads the float window again (a model of normal windows compares
    its reconstruction with the input: quantized, the input saturated at the calibrated range
    and so did the error, 46 instead of 11,007 for a window scaled x100)."""
    graph = model.graph
    inputs = {i.name for i in graph.input}
    quantized = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"}
    exact = {
        n.output[0]: quantized[n.input[0]]
        for n in graph.node
        if n.op_type == "DequantizeLinear" and quantized.get(n.input[0]) in inputs
    }
    for node in graph.node:
        if node.op_type in ("Conv", "MatMul", "Gemm", "QuantizeLinear", "DequantizeLinear"):
            continue
        for slot, name in enumerate(node.input):
            if name in exact:
                node.input[slot] = exact[name]


def _drop_zero_initial_states(model: Any) -> None:
    """The exporter builds each LSTM's initial states as zeros shaped from the batch (Shape,
    Gather, Concat, ConstantOfShape): zeros are the LSTM's default, so the inputs go, with every
    node that only fed them, and the optional shape annotations."""
    from onnx import numpy_helper

    graph = model.graph
    producers = {out: node for node in graph.node for out in node.output}

    def zeros(name: str) -> bool:  # all zeros: ConstantOfShape 0, or a slice or view of it
        source = producers.get(name)
        if source is None:
            return False
        if source.op_type in ("Slice", "Gather", "Squeeze", "Unsqueeze", "Reshape", "Expand"):
            return zeros(source.input[0])
        if source.op_type != "ConstantOfShape":
            return False
        value = next((a.t for a in source.attribute if a.name == "value"), None)
        return value is None or not numpy_helper.to_array(value).any()

    for node in graph.node:
        if node.op_type == "LSTM":
            for slot in (5, 6):  # initial_h, initial_c
                if len(node.input) > slot and zeros(node.input[slot]):
                    node.input[slot] = ""
    needed = {out.name for out in graph.output}
    for node in reversed(list(graph.node)):
        if any(out in needed for out in node.output):
            needed.update(name for name in node.input if name)
        else:
            graph.node.remove(node)
    kept = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]


def _int8_lstm_weights(model: Any) -> None:
    """Each LSTM's W and R initializers (float) become INT8 per output row, dequantized by a
    DequantizeLinear node in front of the LSTM (symmetric: zero point 0, the default)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    added = []
    for node in graph.node:
        if node.op_type != "LSTM":
            continue
        for slot in (1, 2):  # W, R: [directions, 4 * hidden, inputs]
            name = node.input[slot]
            if name not in weights:
                continue
            w = numpy_helper.to_array(weights[name]).astype(np.float32)
            scale = np.abs(w).max(axis=(0, 2)) / 127.0
            scale[scale == 0.0] = 1.0
            q = np.clip(np.round(w / scale[None, :, None]), -127, 127).astype(np.int8)
            graph.initializer.remove(weights[name])
            graph.initializer.extend(
                [
                    numpy_helper.from_array(q, f"{name}_int8"),
                    numpy_helper.from_array(scale.astype(np.float32), f"{name}_scale"),
                ]
            )
            added.append(
                helper.make_node(
                    "DequantizeLinear",
                    [f"{name}_int8", f"{name}_scale"],  # no zero point: 0
                    [name],
                    name=f"{name}_dequantize",
                    axis=1,
                )
            )
    for node in reversed(added):
        graph.node.insert(0, node)


def _short_names(model: Any) -> None:
    """Every tensor inside the graph gets a short name and nodes lose theirs: the quantizer's
    names (``/blocks/blocks.0/first/Conv_output_0_QuantizeLinear_Output``) weighed more than
    the INT8 weights of a small convolutional network. The graph's input and output keep
    theirs; the arithmetic is unchanged."""
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output} | {""}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for init in graph.initializer:
        init.name = short(init.name)
    for node in graph.node:
        node.name = ""
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
