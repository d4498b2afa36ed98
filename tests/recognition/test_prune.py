"""Narrowing the recognizer's feed-forward blocks (platekeeper.training.prune)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from platekeeper.recognition.models import rapidocr_model_path
from platekeeper.training.prune import find_ffns, hidden_importance, prune_ffns, pruned_width, refit_projections

CHANNELS, HIDDEN = 4, 32


def _block(projection: np.ndarray, hidden_also_out: bool = False, expand: np.ndarray | None = None) -> onnx.ModelProto:
    """x -> 1x1 Conv (4 -> 32) -> + bias -> GELU (erf form) -> 1x1 Conv (32 -> 4) -> + bias -> + x, as in the
    recognizer; ``expand``: [32, 5] expansion weights and bias (random when not given)."""
    rng = np.random.default_rng(1)
    if expand is None:
        expand = rng.standard_normal((HIDDEN, CHANNELS + 1))
    inits = [
        numpy_helper.from_array(expand[:, :CHANNELS, None, None].astype(np.float32), "w_expand"),
        numpy_helper.from_array(expand[None, :, CHANNELS, None, None].astype(np.float32), "b_expand"),
        numpy_helper.from_array(projection.astype(np.float32), "w_project"),
        numpy_helper.from_array(rng.standard_normal((1, CHANNELS, 1, 1)).astype(np.float32), "b_project"),
        numpy_helper.from_array(np.array(1.4142135, np.float32), "sqrt2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_expand"], ["e"], name="expand"),
        helper.make_node("Add", ["e", "b_expand"], ["eb"], name="bias"),
        helper.make_node("Div", ["eb", "sqrt2"], ["d"], name="div"),
        helper.make_node("Erf", ["d"], ["erf"], name="erf"),
        helper.make_node("Add", ["erf", "one"], ["erf1"], name="add1"),
        helper.make_node("Mul", ["eb", "erf1"], ["m"], name="mul"),
        helper.make_node("Mul", ["m", "half"], ["hidden"], name="gelu"),
        helper.make_node("Conv", ["hidden", "w_project"], ["p"], name="project"),
        helper.make_node("Add", ["p", "b_project"], ["pb"], name="project_bias"),
        helper.make_node("Add", ["x", "pb"], ["y"], name="residual"),
    ]
    outputs = [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, CHANNELS, 3, 5])]
    if hidden_also_out:
        nodes.append(helper.make_node("ReduceMean", ["hidden"], ["pooled"], name="pool", keepdims=1))
        outputs.append(helper.make_tensor_value_info("pooled", onnx.TensorProto.FLOAT, [None, 1, 1, 1]))
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, CHANNELS, 3, 5])],
        outputs,
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def _projection_reading(channels: list[int]) -> np.ndarray:
    """Projection weights that read only the given hidden channels."""
    weights = np.zeros((CHANNELS, HIDDEN, 1, 1), np.float32)
    weights[:, channels] = np.random.default_rng(2).standard_normal((CHANNELS, len(channels), 1, 1))
    return weights


def test_kept_channels_give_the_same_output_when_the_dropped_ones_are_never_read() -> None:
    read = [1, 5, 6, 11, 17, 20, 28, 31]
    model = _block(_projection_reading(read))
    ffns = find_ffns(model)
    assert [(f.expand, f.project, f.bias, f.hidden, f.width) for f in ffns] == [
        ("expand", "project", "b_expand", "hidden", HIDDEN)
    ]
    x = np.random.default_rng(3).standard_normal((2, CHANNELS, 3, 5)).astype(np.float32)
    importance = hidden_importance(model, ffns, [x])
    assert set(np.flatnonzero(importance[0])) == set(read)
    pruned = prune_ffns(model, ffns, importance, keep=0.25)
    onnx.checker.check_model(pruned)
    shapes = {i.name: tuple(i.dims) for i in pruned.graph.initializer}
    assert shapes["w_expand"] == (8, CHANNELS, 1, 1)
    assert shapes["b_expand"] == (1, 8, 1, 1)
    assert shapes["w_project"] == (CHANNELS, 8, 1, 1)
    np.testing.assert_allclose(_run(pruned, x), _run(model, x), rtol=1e-5, atol=1e-5)
    assert {i.name: tuple(i.dims) for i in model.graph.initializer}["w_expand"] == (HIDDEN, CHANNELS, 1, 1)


def test_dropping_channels_that_are_read_changes_the_output() -> None:
    model = _block(_projection_reading(list(range(HIDDEN))))
    ffns = find_ffns(model)
    x = np.random.default_rng(3).standard_normal((2, CHANNELS, 3, 5)).astype(np.float32)
    pruned = prune_ffns(model, ffns, hidden_importance(model, ffns, [x]), keep=0.25)
    assert not np.allclose(_run(pruned, x), _run(model, x), atol=1e-3)


def test_refitting_the_projection_restores_the_block_from_the_channels_it_kept() -> None:
    """Hidden channels 16-31 repeat channels 0-15 and are read a tenth as strongly: pruning them changes the
    output, and the least-squares refit moves what they carried onto their twins, restoring it."""
    rng = np.random.default_rng(5)
    unique = rng.standard_normal((HIDDEN // 2, CHANNELS + 1))
    unique[:, CHANNELS] = 3.0  # every channel busy (GELU mostly in its linear part)
    projection = rng.standard_normal((CHANNELS, HIDDEN, 1, 1)).astype(np.float32)
    projection[:, HIDDEN // 2 :] = 0.1 * projection[:, : HIDDEN // 2]
    model = _block(projection, expand=np.concatenate([unique, unique]))
    ffns = find_ffns(model)
    batches = [rng.standard_normal((4, CHANNELS, 3, 5)).astype(np.float32) for _ in range(3)]
    importance = hidden_importance(model, ffns, batches)
    assert set(np.argsort(-importance[0])[: HIDDEN // 2]) == set(range(HIDDEN // 2))
    pruned = prune_ffns(model, ffns, importance, keep=0.5)
    refitted = refit_projections(model, pruned, ffns, batches)
    x = rng.standard_normal((2, CHANNELS, 3, 5)).astype(np.float32)
    want = _run(model, x)
    pruned_error = np.abs(_run(pruned, x) - want).max()
    assert pruned_error > 0.5
    assert np.abs(_run(refitted, x) - want).max() < 0.05 * pruned_error
    shapes = {i.name: tuple(i.dims) for i in refitted.graph.initializer}
    assert shapes["w_project"] == (CHANNELS, HIDDEN // 2, 1, 1) and shapes["b_project"] == (1, CHANNELS, 1, 1)


def test_a_hidden_value_used_elsewhere_is_not_pruned() -> None:
    assert find_ffns(_block(_projection_reading([0]), hidden_also_out=True)) == []


def test_float16_stored_weights_are_sliced_too() -> None:
    from platekeeper.training.convert import _fp16_storage

    model = _block(_projection_reading([2, 3, 4, 5, 6, 7, 8, 9]))
    _fp16_storage(model)
    ffns = find_ffns(model)
    x = np.random.default_rng(4).standard_normal((1, CHANNELS, 3, 5)).astype(np.float32)
    pruned = prune_ffns(model, ffns, hidden_importance(model, ffns, [x]), keep=0.25)
    shapes = {i.name: tuple(i.dims) for i in pruned.graph.initializer}
    assert shapes["w_expand__fp16"] == (8, CHANNELS, 1, 1) and shapes["w_project__fp16"] == (CHANNELS, 8, 1, 1)
    np.testing.assert_allclose(_run(pruned, x), _run(model, x), rtol=1e-3, atol=1e-3)


def test_importance_needs_images() -> None:
    model = _block(_projection_reading([0]))
    with pytest.raises(ValueError, match="no images"):
        hidden_importance(model, find_ffns(model), [])


@pytest.mark.parametrize(("width", "keep", "kept"), [(768, 0.25, 192), (192, 0.375, 72), (384, 1.0, 384), (16, 0.1, 8)])
def test_pruned_width_is_a_multiple_of_the_vector_width(width: int, keep: float, kept: int) -> None:
    assert pruned_width(width, keep) == kept


@pytest.mark.parametrize("keep", [0.0, -0.5, 1.5])
def test_pruned_width_refuses_a_share_outside_0_to_1(keep: float) -> None:
    with pytest.raises(ValueError, match="keep must be in"):
        pruned_width(192, keep)


def test_the_pretrained_recognizer_has_thirteen_feed_forward_blocks() -> None:
    ffns = find_ffns(onnx.load(str(rapidocr_model_path("PP-OCRv6_rec_small.onnx"))))
    assert [f.width for f in ffns] == [192] * 4 + [384] * 7 + [768] * 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--keep", "0"], "--keep must be in"),
        (["--keep", "1.2"], "--keep must be in"),
        (["--student-minutes", "0"], "--student-minutes must be above 0"),
        (["--steps", "-3"], "--steps must be above 0"),
        (["--int8-minutes", "0"], "--int8-minutes must be above 0"),
        (["--int8-steps", "-1"], "--int8-steps must be 0 or more"),
        (["--weights", "int4"], "invalid choice: 'int4'"),
        (
            ["--weights", "fp16", "--teacher", "src/platekeeper/recognition/weights/plate-ocr.onnx"],
            "--teacher needs --keep below 1 or --weights int8",
        ),
        (["--keep", "0.5", "--teacher", "no-such-model.onnx"], "no such file"),
    ],
)
def test_training_refuses_a_bad_share_before_any_work(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from platekeeper.training.train_ocr import parse_args

    with pytest.raises(SystemExit) as stop:
        parse_args(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err


@pytest.fixture(scope="module")
def shipped() -> Path:
    return Path(__file__).resolve().parents[2] / "src" / "platekeeper" / "recognition" / "weights" / "plate-ocr.onnx"


def test_the_shipped_model_loads_back_for_training_unchanged(shipped: Path, real_crops: np.ndarray) -> None:
    """load_trained undoes the float16 storage and the head, and export_onnx writes the same network again."""
    import torch

    from platekeeper.training.convert import export_onnx, load_trained

    net = load_trained(shipped).eval()
    with torch.no_grad():
        ours = torch.softmax(net(torch.from_numpy(real_crops)), -1).numpy()
    shipped_probs = ort.InferenceSession(str(shipped), providers=["CPUExecutionProvider"]).run(None, {"x": real_crops})
    assert np.abs(ours - shipped_probs[0]).max() < 1e-4
    again = ort.InferenceSession(export_onnx(net, {}), providers=["CPUExecutionProvider"]).run(None, {"x": real_crops})
    assert np.abs(again[0] - shipped_probs[0]).max() < 1e-4


def test_load_trained_refuses_a_model_without_a_plate_head_or_a_file_that_is_no_model(tmp_path: Path) -> None:
    from platekeeper.training.convert import load_trained

    with pytest.raises(ValueError, match="no plate head"):
        load_trained(rapidocr_model_path("PP-OCRv6_rec_small.onnx"))
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(ValueError, match="not an ONNX model"):
        load_trained(tmp_path / "text.onnx")


def test_training_refuses_a_teacher_that_is_no_plate_model_before_the_data_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from platekeeper.training import train_ocr

    (tmp_path / "text.onnx").write_text("not a model")
    argv = ["--keep", "0.5", "--teacher", str(tmp_path / "text.onnx"), "--data", str(tmp_path / "no-data")]
    assert train_ocr.main(argv) == 2  # the missing data folder would raise later
    err = capsys.readouterr().err
    assert "error: --teacher:" in err and "not an ONNX model" in err


def test_narrowing_a_trained_network_keeps_its_head_and_most_of_its_reads(
    shipped: Path, real_crops: np.ndarray
) -> None:
    import torch

    from platekeeper.training.convert import load_trained, narrow
    from platekeeper.training.train_ocr import greedy

    teacher = load_trained(shipped).eval()
    student = narrow(teacher, 0.5, [real_crops[:8], real_crops[8:]]).eval()
    assert [f.width for f in find_ffns(student.backbone_onnx)] == [96] * 4 + [192] * 7 + [384] * 2
    assert torch.equal(student.head.weight, teacher.head.weight)
    with torch.no_grad():
        x = torch.from_numpy(real_crops)
        reads, narrowed = greedy(teacher(x).softmax(-1).numpy()), greedy(student(x).softmax(-1).numpy())
    same = sum(a == b for a, b in zip(reads, narrowed, strict=True))
    assert same >= 12, (reads, narrowed)  # without the refit, none of them
