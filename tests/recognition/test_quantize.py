"""The plate network in int8 (platekeeper.training.quantize): the torch simulation mirrors onnxruntime's int8."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from platekeeper.recognition.models import rapidocr_model_path


@pytest.fixture(scope="module")
def quantized(real_crops: np.ndarray) -> tuple[Any, Any, bytes]:
    """The pretrained network with its plate head, its int8 plan and its int8 model, both from 2 batches."""
    from platekeeper.training.convert import export_onnx, load_pretrained
    from platekeeper.training.quantize import int8_plan, quantize_onnx

    net = load_pretrained(rapidocr_model_path("PP-OCRv6_rec_small.onnx")).eval()
    samples = [real_crops[:8], real_crops[8:]]
    plan = int8_plan(net, samples)
    return net, plan, quantize_onnx(export_onnx(net, {"input_width": "160"}, fp16=False), samples)


@pytest.mark.parametrize(
    ("low", "high", "scale", "zero"),
    [(-1.0, 3.0, 4 / 255, 64), (0.5, 2.0, 2 / 255, 0), (-2.0, -1.0, 2 / 255, 255), (0.0, 0.0, 1.0, 0)],
)
def test_activation_ranges_are_widened_to_hold_zero(low: float, high: float, scale: float, zero: int) -> None:
    from platekeeper.training.quantize import activation_qparams

    got = activation_qparams(low, high)
    assert got[0] == pytest.approx(scale) and got[1] == zero


def test_the_plan_rounds_the_tensors_onnxruntime_rounds_at_the_same_scales(quantized: tuple[Any, Any, bytes]) -> None:
    """Every int8 convolution's input and output scale and zero point in the exported model are the plan's."""
    from platekeeper.training.quantize import activation_qparams

    net, plan, model = quantized
    graph = onnx.load_from_string(model).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    quantize = {n.output[0]: n for n in graph.node if n.op_type == "QuantizeLinear"}
    dequantize = {n.output[0]: n for n in graph.node if n.op_type == "DequantizeLinear"}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def qparams(node: onnx.NodeProto) -> tuple[float, int]:
        return float(inits[node.input[1]]), int(inits[node.input[2]])

    children = dict(net.backbone.named_children())
    convs = [n for n in graph.node if n.op_type == "Conv" and n.input[0] in dequantize]
    assert len(convs) == len(plan.convs) == len(plan.inputs) > 30
    for conv in convs:
        rounded_in = quantize[dequantize[conv.input[0]].input[0]]
        expected = activation_qparams(*plan.inputs[children[conv.name.replace(".", "/")]])
        assert qparams(rounded_in) == pytest.approx(expected, rel=1e-5), conv.name
        rounded_out = next(n for n in consumers[conv.output[0]] if n.op_type == "QuantizeLinear")
        assert qparams(rounded_out) in [pytest.approx(activation_qparams(*r), rel=1e-5) for r in plan.outputs.values()]
    weights = [n for n in graph.node if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None]
    assert {inits[n.input[0]].dtype for n in weights if inits[n.input[0]].ndim == 4} == {np.dtype(np.int8)}


def test_the_rounding_is_simulated_only_inside_the_block_and_passes_gradients(
    quantized: tuple[Any, Any, bytes], real_crops: np.ndarray
) -> None:
    import torch

    from platekeeper.training.quantize import fake_quantized

    net, plan, _ = quantized
    x = torch.from_numpy(real_crops[:4])
    with torch.no_grad():
        before = net(x)
    with fake_quantized(plan):
        rounded = net(x)
        rounded.sum().backward()
    with torch.no_grad():
        after = net(x)
    assert torch.equal(before, after)
    assert (rounded.detach() - before).abs().max() > 1e-3
    assert all(conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0 for conv in plan.convs)
    net.zero_grad()


def test_the_int8_model_reads_like_the_simulation_and_keeps_its_metadata(
    quantized: tuple[Any, Any, bytes], real_crops: np.ndarray
) -> None:
    import torch

    from platekeeper.training.quantize import fake_quantized

    net, plan, model = quantized
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta == {"input_width": "160", "weights": "int8", "int8_min_channels": "0"}
    int8 = session.run(None, {"x": real_crops})[0]
    with torch.no_grad(), fake_quantized(plan):
        simulated = torch.softmax(net(torch.from_numpy(real_crops)), -1).numpy()
    assert int8.shape == simulated.shape == (16, 20, 37)
    assert (int8.argmax(-1) == simulated.argmax(-1)).mean() > 0.95


def test_an_int8_model_cannot_be_trained_again(quantized: tuple[Any, Any, bytes], tmp_path: Path) -> None:
    from platekeeper.training.convert import load_trained

    (tmp_path / "int8.onnx").write_bytes(quantized[2])
    with pytest.raises(ValueError, match="an int8 model cannot be trained again"):
        load_trained(tmp_path / "int8.onnx")


def test_an_int8_model_is_calibrated_as_onnxruntime_reads_it(
    quantized: tuple[Any, Any, bytes], real_crops: np.ndarray, real_crop_rows: list[dict[str, str]]
) -> None:
    from platekeeper.training.report import calibrated

    labels = [r["plate"] for r in real_crop_rows]
    model, calibration = calibrated(quantized[2], {"us": (real_crops, labels)})
    meta = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert meta["weights"] == "int8" and meta["input_width"] == "160"
    assert json.loads(meta["calibration"]) == calibration and set(calibration) == {"a", "b"}


def test_ranges_are_the_means_of_the_batches_extremes() -> None:
    from platekeeper.training.quantize import averaged_range

    assert averaged_range([(-1.0, 2.0), (-3.0, 4.0), (-2.0, 9.0)]) == pytest.approx((-2.0, 5.0))


def test_min_channels_rounds_only_the_wide_pointwise_convolutions(
    quantized: tuple[Any, Any, bytes], real_crops: np.ndarray
) -> None:
    """At 384 channels: the 20 pointwise convolutions of the last two stages' feed-forward blocks and the neck;
    the depthwise 3x3 ones with 384 channels and every narrower one stay float, in the plan and the model."""
    from platekeeper.training.convert import export_onnx
    from platekeeper.training.quantize import int8_plan, quantize_onnx

    net = quantized[0]
    samples = [real_crops[:8], real_crops[8:]]
    plan = int8_plan(net, samples, min_channels=384)
    model = quantize_onnx(export_onnx(net, {}, fp16=False), samples, min_channels=384)
    graph = onnx.load_from_string(model).graph
    weights = {i.name: tuple(i.dims) for i in graph.initializer}
    dequantized = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    rounded = [n for n in graph.node if n.op_type == "Conv" and n.input[1] in dequantized]
    shapes = [weights[dequantized[n.input[1]]] for n in rounded]
    assert len(rounded) == len(plan.convs) == 20
    assert all(s[2:] == (1, 1) and max(s[:2]) >= 384 for s in shapes)
    assert all(c.kernel_size == (1, 1) and c.groups == 1 for c in plan.convs)
    assert [n for n in graph.node if n.op_type == "Conv" and n.input[1] not in dequantized]  # the rest stay float
    meta = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert meta["int8_min_channels"] == "384"
