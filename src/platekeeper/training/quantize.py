"""The plate network in int8 (``train_ocr --weights int8``): rounding simulated in torch, and the int8 ONNX export.

An int8 network runs in onnxruntime's static int8 QDQ form: every convolution that onnxruntime does not fuse
with its activation has int8 weights (symmetric, one scale per output channel) and reads and writes uint8
tensors (one scale and zero point per tensor, from the minimum and maximum over calibration images); the rest
(GELU, layer norms, attention, the head) stays float. Its convolutions take about half the time of float ones
on a CPU with 8-bit dot-product instructions (AVX-512 VNNI), but the rounding costs plates, so training can go
on with that rounding simulated (``fake_quantized``: straight-through rounding of those weights and tensors at
the ranges ``int8_plan`` measured on the calibration images that ``quantize_onnx`` measures again). The
simulation matches onnxruntime's scales and zero points exactly; the two still differ where a value sits on a
rounding edge, so they agree on about 98 % of the per-step argmaxes, not all.

Order of the export (``quantize_onnx``): the float graph is raised to opset 13 (per-channel QDQ needs it), fused
by onnxruntime's extended optimizer (BatchNorm and bias folded into convolutions, GELU and layer norms fused:
quantizing first would leave those patterns split by QDQ nodes and give back a quarter to a half of the time
saved), then quantized. The fused graph holds onnxruntime's own operators (``com.microsoft`` domain), so an int8
file is for onnxruntime only, and training cannot start again from it: ``--teacher`` takes a float model.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
import torch
from torch import nn

from platekeeper.training.convert import PlateOcrNet, export_onnx, put_metadata

__all__ = ["Int8Plan", "activation_qparams", "fake_quantized", "int8_plan", "quantize_onnx", "rounded_convs"]

ACT_LEVELS = 255  # uint8 activations: 0..255 with a zero point
WEIGHT_LEVEL = 127  # int8 weights, symmetric: -127..127, as onnxruntime quantizes them
QDQ_OPSET = 13  # the first opset whose DequantizeLinear takes one scale per channel


def fused(model: bytes, folder: Path) -> Path:
    """``model`` raised to opset 13 and fused by onnxruntime's extended optimizer, written in ``folder``."""
    import onnxruntime as ort

    raised = onnx.version_converter.convert_version(onnx.load_from_string(model), QDQ_OPSET)
    onnx.save(raised, str(folder / "float.onnx"))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(folder / "fused.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(folder / "float.onnx"), options, providers=["CPUExecutionProvider"])
    return folder / "fused.onnx"


@dataclass
class Int8Plan:
    """Where the int8 network rounds, in the torch network's terms: the convolutions whose weights are int8, and
    the modules whose input (a convolution's) or output (a convolution's, after its folded bias or BatchNorm)
    is a uint8 tensor, with the range of that tensor measured on calibration images."""

    convs: list[nn.Conv2d]
    inputs: dict[nn.Module, tuple[float, float]]
    outputs: dict[nn.Module, tuple[float, float]]


def rounded_convs(graph: onnx.GraphProto, min_channels: int = 0) -> list[str]:
    """The convolutions ``quantize_onnx`` rounds in a fused graph: the plain Conv nodes (one fused with its ReLU
    or hard sigmoid is another operator and stays float); with ``min_channels``, only the pointwise (1x1,
    ungrouped) ones with at least that many input or output channels. Those carry most of the arithmetic, and
    rounding fewer tensors loses fewer plates."""
    weights = {w.name: tuple(w.dims) for w in graph.initializer}
    names = []
    for node in (n for n in graph.node if n.op_type == "Conv"):
        out_channels, in_per_group, *kernel = weights[node.input[1]]
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        pointwise = group == 1 and all(k == 1 for k in kernel)
        if not min_channels or (pointwise and max(out_channels, in_per_group) >= min_channels):
            names.append(node.name)
    return names


def int8_plan(net: PlateOcrNet, samples: Sequence[np.ndarray], min_channels: int = 0) -> Int8Plan:
    """Find what ``quantize_onnx`` will round (``rounded_convs``; onnxruntime rounds each one's input and output
    tensors) and measure each rounded tensor's range when ``net`` runs on ``samples`` (batches of network
    inputs), as onnxruntime's min-max calibration does."""
    float_model = export_onnx(net, {}, fp16=False)
    producer = {out: n.name for n in onnx.load_from_string(float_model).graph.node for out in n.output}
    with tempfile.TemporaryDirectory(prefix="platekeeper-int8-") as tmp:
        graph = onnx.load(str(fused(float_model, Path(tmp)))).graph
    children = dict(net.backbone.named_children())  # onnx2torch names each child after its node, "." as "/"
    plan = Int8Plan([], {}, {})
    rounded = set(rounded_convs(graph, min_channels))
    # Per module, each batch's minimum and maximum of its input (a rounded convolution) or output (the module
    # that produces a rounded convolution's output tensor).
    seen_in: dict[nn.Module, list[tuple[float, float]]] = {}
    seen_out: dict[nn.Module, list[tuple[float, float]]] = {}
    for node in (n for n in graph.node if n.name in rounded):
        child = children[node.name.replace(".", "/")]
        plan.convs.append(next(m for m in child.modules() if isinstance(m, nn.Conv2d)))
        seen_in[child] = []
        seen_out[children[producer[node.output[0]].replace(".", "/")]] = []

    def record(seen: list[tuple[float, float]], value: torch.Tensor) -> None:
        seen.append((float(value.min()), float(value.max())))

    hooks = [m.register_forward_pre_hook(lambda m, i: record(seen_in[m], i[0])) for m in seen_in]
    hooks += [m.register_forward_hook(lambda m, i, o: record(seen_out[m], o)) for m in seen_out]
    was_training = net.training
    try:
        net.eval()
        with torch.no_grad():
            for batch in samples:
                net(torch.from_numpy(batch))
    finally:
        for hook in hooks:
            hook.remove()
        net.train(was_training)
    plan.inputs = {m: averaged_range(v) for m, v in seen_in.items()}
    plan.outputs = {m: averaged_range(v) for m, v in seen_out.items()}
    return plan


def averaged_range(extremes: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """A tensor's calibrated range: the mean over calibration batches of each batch's minimum and maximum, as
    onnxruntime's min-max calibration computes it with ``CalibMovingAverage`` (float32). A global minimum and
    maximum let one odd crop set the range and coarsen the rounding for every other."""
    lows, highs = np.array(extremes, np.float32).T
    return float(np.nanmean(lows)), float(np.nanmean(highs))


def activation_qparams(low: float, high: float) -> tuple[float, int]:
    """onnxruntime's uint8 scale and zero point for values seen in [low, high] (the range is widened to hold 0,
    which is then exact)."""
    low, high = min(low, 0.0), max(high, 0.0)
    scale = (high - low) / ACT_LEVELS if high > low else 1.0
    return scale, round(-low / scale)


def _rounded(value: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``value`` as uint8 at the range [low, high], rounded straight-through."""
    scale, zero = activation_qparams(low, high)
    return torch.fake_quantize_per_tensor_affine(value, scale, zero, 0, ACT_LEVELS)


def _rounded_weight(weight: torch.Tensor) -> torch.Tensor:
    """The weight as int8 with one symmetric scale per output channel, rounded straight-through."""
    scale = weight.detach().abs().amax(dim=tuple(range(1, weight.dim()))).clamp_min(1e-12) / WEIGHT_LEVEL
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -WEIGHT_LEVEL, WEIGHT_LEVEL)


@contextlib.contextmanager
def fake_quantized(plan: Int8Plan) -> Iterator[None]:
    """Inside the block the network rounds as the int8 one will (``plan``); gradients pass straight through."""
    hooks = [
        m.register_forward_pre_hook(lambda m, i, r=r: (_rounded(i[0], *r), *i[1:])) for m, r in plan.inputs.items()
    ]
    hooks += [m.register_forward_hook(lambda m, i, o, r=r: _rounded(o, *r)) for m, r in plan.outputs.items()]
    try:
        for conv in plan.convs:

            def forward(x: torch.Tensor, conv: nn.Conv2d = conv) -> torch.Tensor:
                return conv._conv_forward(x, _rounded_weight(conv.weight), conv.bias)

            conv.__dict__["forward"] = forward  # an instance attribute shadows nn.Conv2d.forward
        yield
    finally:
        for hook in hooks:
            hook.remove()
        for conv in plan.convs:
            conv.__dict__.pop("forward", None)


class _Samples:
    """onnxruntime's calibration reader over batches of network inputs."""

    def __init__(self, samples: Sequence[np.ndarray], name: str) -> None:
        self._feeds = iter([{name: batch} for batch in samples])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)

    def rewind(self) -> None:  # the min-max calibration reads the samples once
        pass


def quantize_onnx(model: bytes, samples: Sequence[np.ndarray], min_channels: int = 0) -> bytes:
    """A float plate network (``export_onnx(..., fp16=False)``) as onnxruntime int8 QDQ in the convolutions
    ``rounded_convs(..., min_channels)`` names, calibrated on ``samples`` (the batches ``int8_plan`` measured);
    metadata is kept, plus ``weights: int8`` and ``int8_min_channels``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    source = onnx.load_from_string(model)
    metadata = {p.key: p.value for p in source.metadata_props}
    with tempfile.TemporaryDirectory(prefix="platekeeper-int8-") as tmp:
        folder = Path(tmp)
        graph = fused(model, folder)
        quantize_static(
            str(graph),
            str(folder / "int8.onnx"),
            _Samples(samples, source.graph.input[0].name),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
            nodes_to_quantize=rounded_convs(onnx.load(str(graph)).graph, min_channels),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},  # ranges: means of the batches' extremes
        )
        quantized = onnx.load(str(folder / "int8.onnx"))
    del quantized.metadata_props[:]  # the quantizer's own entries: the file says only what platekeeper wrote
    put_metadata(quantized, metadata | {"weights": "int8", "int8_min_channels": str(min_channels)})
    return quantized.SerializeToString()
