"""The pretrained PP-OCRv6 small text recognizer as a trainable PyTorch module with a plate head.

The ONNX model ships in the rapidocr wheel. Three of its nodes use ``auto_pad=SAME_UPPER`` (2x2 kernels,
stride 1), which onnx2torch cannot convert; they are rewritten with the explicit padding they imply
(0 before, 1 after, in both axes), which is numerically the same. The 18,710-symbol CTC head is cut off and
replaced by a ``blank + 0-9 + A-Z`` head whose rows start as copies of the pretrained rows for those symbols,
so the model reads plates before the first training step. onnx2torch keeps MatMul/Add/Mul constants as
buffers; they are turned into parameters so that the transformer neck is trained too.

Needs the ``train`` extra (torch, onnx, onnx2torch); the runtime engine never imports this module.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from google.protobuf.message import DecodeError
from onnx import helper, numpy_helper
from torch import nn

from platekeeper.recognition.ctc import ALPHABET, plate_symbol_index
from platekeeper.training.prune import find_ffns, hidden_importance, prune_ffns, refit_projections

__all__ = [
    "FEATURE_OUTPUT",
    "PlateOcrNet",
    "export_onnx",
    "load_pretrained",
    "load_trained",
    "narrow",
    "prepare_backbone_onnx",
    "trained_backbone",
]

FEATURE_OUTPUT = "p2o.pd_op.transpose.8.0"  # [B, T, 120] features feeding the pretrained CTC head
HEAD_WEIGHT, HEAD_BIAS = "linear_8.w_0", "linear_8.b_0"
HEAD_VALUES = ("plate_head.w", "plate_head.b")  # the plate head export_onnx appends: weight [C, 37], bias [37]
HEAD_OUTPUTS = {"plate_head.matmul", "plate_head.logits", "probs"}


def _import_onnx2torch() -> types.ModuleType:
    """Import onnx2torch without torchvision.

    onnx2torch imports torchvision at module load only for its NMS and RoiAlign converters; the recognizer
    has neither node, and PyPI's torchvision does not load beside the pinned CPU torch. An empty stand-in
    module satisfies the import; a model that did use those nodes would fail loudly at conversion.
    """
    if "torchvision" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except Exception:
            stub, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
            stub.ops = ops  # type: ignore[attr-defined]
            ops.roi_align = None  # type: ignore[attr-defined]
            sys.modules["torchvision"], sys.modules["torchvision.ops"] = stub, ops
    import onnx2torch

    return onnx2torch


def prepare_backbone_onnx(model: onnx.ModelProto) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray, list[str]]:
    """Rewrite SAME_UPPER padding and cut the CTC head; return (backbone, head W [C, V], head b [V], vocabulary)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    for node in graph.node:
        pads = [a for a in node.attribute if a.name == "auto_pad" and a.s == b"SAME_UPPER"]
        if not pads:
            continue
        kernel = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "kernel_shape")
        strides = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "strides"), [1, 1])
        if list(kernel) != [2, 2] or list(strides) != [1, 1]:
            raise ValueError(f"{node.name}: SAME_UPPER rewrite only covers 2x2 stride-1 kernels")
        node.attribute.remove(pads[0])
        node.attribute.append(helper.make_attribute("pads", [0, 0, 1, 1]))
    inits = {i.name: i for i in graph.initializer}
    weight, bias = numpy_helper.to_array(inits[HEAD_WEIGHT]), numpy_helper.to_array(inits[HEAD_BIAS])
    producer = {o: n for n in graph.node for o in n.output}
    if FEATURE_OUTPUT not in producer:
        raise ValueError(f"the recognizer has no {FEATURE_OUTPUT} output: not the expected PP-OCRv6 model")
    keep_nodes, needed = [], {FEATURE_OUTPUT}
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep_nodes.append(node)
            needed.update(node.input)
    keep_nodes.reverse()
    del graph.node[:]
    graph.node.extend(keep_nodes)
    kept_inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(FEATURE_OUTPUT, onnx.TensorProto.FLOAT, ["batch", "steps", None]))
    vocabulary = next(p.value for p in model.metadata_props if p.key == "character").splitlines()
    return model, weight, bias, vocabulary


def _buffers_to_parameters(module: nn.Module) -> int:
    """Make float constant buffers (MatMul/Add/Mul weights, LayerNorm scales) trainable; return how many."""
    count = 0
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            continue
        for name, buffer in list(sub._buffers.items()):
            if buffer is None or not buffer.is_floating_point() or buffer.numel() < 2:
                continue
            del sub._buffers[name]
            sub.register_parameter(name, nn.Parameter(buffer.detach().clone()))
            count += 1
    return count


class PlateOcrNet(nn.Module):
    """Pretrained backbone + neck, and a linear CTC head over blank + 0-9 + A-Z (37 classes).

    ``backbone_onnx`` is the ONNX graph the backbone was converted from and ``sources`` maps each backbone
    parameter/buffer name to the ONNX initializer it came from, so training results are written back into
    that same graph at export (exact, unlike re-tracing the converted module).
    """

    def __init__(
        self, backbone: nn.Module, features: int, backbone_onnx: onnx.ModelProto, sources: dict[str, str]
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(features, len(ALPHABET) + 1)
        self.backbone_onnx = backbone_onnx
        self.sources = sources

    def freeze_batchnorm(self) -> None:
        """Keep the pretrained BatchNorm statistics (small CPU batches would only add noise to them)."""
        for module in self.backbone.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, 37] for a batch of [B, 3, 48, W] normalized BGR images."""
        return self.head(self.backbone(x))


def _initializer_sources(backbone: nn.Module, model: onnx.ModelProto) -> dict[str, str]:
    """Backbone state names -> ONNX initializer names, replaying onnx2torch's naming order."""
    inits = {i.name for i in model.graph.initializer}
    nodes = {n.name: n for n in model.graph.node}
    sources: dict[str, str] = {}
    counter = 0
    for name, module in backbone.named_children():
        mapping = getattr(module, "onnx_mapping", None)
        if mapping is None:
            continue
        for value in mapping.inputs:
            if value in inits:
                sources[f"initializers.onnx_initializer_{counter}"] = value
                counter += 1
        node = nodes[name.replace("/", ".")]
        layers = [m for m in module.modules() if isinstance(m, nn.Conv2d | nn.modules.batchnorm._BatchNorm)]
        if not layers:
            continue
        prefix = next(n for n, m in module.named_modules() if m is layers[0])
        prefix = f"{name}.{prefix}." if prefix else f"{name}."
        if isinstance(layers[0], nn.Conv2d):
            slots = ["weight", "bias"]
        else:
            slots = ["weight", "bias", "running_mean", "running_var"]
        for slot, value in zip(slots, node.input[1:], strict=False):
            if value in inits:
                sources[prefix + slot] = value
    return sources


def _net_from_backbone(backbone_onnx: onnx.ModelProto, features: int) -> PlateOcrNet:
    """Convert a backbone graph (output ``FEATURE_OUTPUT``) into a trainable network with a fresh head."""
    onnx2torch = _import_onnx2torch()
    backbone = onnx2torch.convert(backbone_onnx, attach_onnx_mapping=True)
    sources = _initializer_sources(backbone, backbone_onnx)
    state = dict(backbone.state_dict())
    missing = [k for k in state if k not in sources and state[k].is_floating_point() and state[k].numel() > 1]
    if missing:
        raise ValueError(f"cannot trace these backbone tensors back to ONNX initializers: {missing[:5]}")
    _buffers_to_parameters(backbone)
    return PlateOcrNet(backbone, features, backbone_onnx, sources)


def load_pretrained(onnx_path: Path) -> PlateOcrNet:
    """The rapidocr PP-OCRv6 small recognizer with a plate head initialized from the pretrained rows."""
    backbone_onnx, weight, bias, vocabulary = prepare_backbone_onnx(onnx.load(str(onnx_path)))
    net = _net_from_backbone(backbone_onnx, weight.shape[0])
    index = plate_symbol_index(["<blank>", *vocabulary, " "])
    rows = np.zeros(len(ALPHABET) + 1, np.int64)  # column 0 (blank) stays the pretrained blank
    for column, target in index.items():
        if ALPHABET[target - 1] in vocabulary[column - 1]:  # the upper-case / digit symbol itself
            rows[target] = column
    with torch.no_grad():
        net.head.weight.copy_(torch.from_numpy(weight[:, rows].T.copy()))
        net.head.bias.copy_(torch.from_numpy(bias[rows].copy()))
    return net


def load_trained(onnx_path: Path) -> PlateOcrNet:
    """A recognizer written by ``export_onnx`` (plate-ocr.onnx), trainable again: float16 storage undone, the
    plate head cut off the graph and loaded into the network's head. A file that is not such a model raises
    ValueError."""
    try:
        model = onnx.load(str(onnx_path))
    except DecodeError as e:
        raise ValueError(f"{onnx_path}: not an ONNX model ({e})") from e
    if any(p.key == "weights" and p.value == "int8" for p in model.metadata_props):
        raise ValueError(f"{onnx_path}: an int8 model cannot be trained again; give the float one (--weights fp16)")
    _undo_fp16_storage(model)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    if any(n not in inits for n in HEAD_VALUES) or not any(o.name == "probs" for o in graph.output):
        raise ValueError(f"{onnx_path}: not a plate recognizer written by make train-ocr (no plate head)")
    head = [numpy_helper.to_array(inits[n]).astype(np.float32) for n in HEAD_VALUES]
    nodes = [n for n in graph.node if n.output[0] not in HEAD_OUTPUTS]
    kept = [i for i in graph.initializer if i.name not in HEAD_VALUES]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(FEATURE_OUTPUT, onnx.TensorProto.FLOAT, ["batch", "steps", None]))
    del model.metadata_props[:]
    net = _net_from_backbone(model, head[0].shape[0])
    with torch.no_grad():
        net.head.weight.copy_(torch.from_numpy(head[0].T.copy()))
        net.head.bias.copy_(torch.from_numpy(head[1].copy()))
    return net


def narrow(net: PlateOcrNet, keep: float, samples: Sequence[np.ndarray]) -> PlateOcrNet:
    """A copy of a trained network whose feed-forward blocks keep the ``keep`` share of their hidden channels,
    chosen and refitted on ``samples`` (batches of network inputs; see ``prune.py``), with the same head."""
    backbone_onnx = trained_backbone(net)
    ffns = find_ffns(backbone_onnx)
    pruned = prune_ffns(backbone_onnx, ffns, hidden_importance(backbone_onnx, ffns, samples), keep)
    pruned = refit_projections(backbone_onnx, pruned, ffns, samples)
    student = _net_from_backbone(pruned, net.head.in_features)
    student.head.load_state_dict(net.head.state_dict())
    return student


def _fp16_storage(model: onnx.ModelProto) -> None:
    """Store large float initializers as float16 with a Cast back to float32 (computed in fp32 at run time)."""
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.dtype != np.float32 or array.size < 64:
            kept.append(init)
            continue
        kept.append(numpy_helper.from_array(array.astype(np.float16), init.name + "__fp16"))
        casts.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name], to=onnx.TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)


def _undo_fp16_storage(model: onnx.ModelProto) -> None:
    """The inverse of ``_fp16_storage``: each float16 initializer behind a Cast becomes float32 again."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    casts = [n for n in graph.node if n.op_type == "Cast" and n.input[0].endswith("__fp16") and n.input[0] in inits]
    restored = [
        numpy_helper.from_array(numpy_helper.to_array(inits[n.input[0]]).astype(np.float32), n.output[0]) for n in casts
    ]
    stored, cast_outputs = {n.input[0] for n in casts}, {n.output[0] for n in casts}
    kept = [i for i in graph.initializer if i.name not in stored]
    nodes = [n for n in graph.node if n.output[0] not in cast_outputs]
    del graph.initializer[:]
    graph.initializer.extend(kept + restored)
    del graph.node[:]
    graph.node.extend(nodes)


def trained_backbone(net: PlateOcrNet) -> onnx.ModelProto:
    """The backbone graph (output ``FEATURE_OUTPUT``) with the network's current weights written back, float32."""
    model = onnx.ModelProto.FromString(net.backbone_onnx.SerializeToString())
    state = {k: v.detach().cpu().numpy() for k, v in net.backbone.state_dict().items()}
    by_onnx = {onnx_name: state[name] for name, onnx_name in net.sources.items()}
    for init in model.graph.initializer:
        if init.name in by_onnx and init.data_type == onnx.TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(by_onnx[init.name].astype(np.float32).reshape(init.dims), init.name))
    return model


def put_metadata(model: onnx.ModelProto, items: Mapping[str, str]) -> None:
    """Set these metadata entries (onnxruntime's ``custom_metadata_map``), keeping the model's others."""
    kept = [p for p in model.metadata_props if p.key not in items]
    del model.metadata_props[:]
    model.metadata_props.extend([*kept, *(onnx.StringStringEntryProto(key=k, value=v) for k, v in items.items())])


def export_onnx(net: PlateOcrNet, metadata: dict[str, str], fp16: bool = True) -> bytes:
    """The trained recognizer as ONNX: input ``x`` [B, 3, 48, W], output ``probs`` [B, T, 37] (softmax).

    Weights are written back into the converted graph; the head is appended as MatMul + Add + Softmax.
    """
    model = trained_backbone(net)
    head_w = net.head.weight.detach().cpu().numpy().T.astype(np.float32)
    head_b = net.head.bias.detach().cpu().numpy().astype(np.float32)
    graph = model.graph
    graph.initializer.extend(
        [numpy_helper.from_array(head_w, HEAD_VALUES[0]), numpy_helper.from_array(head_b, HEAD_VALUES[1])]
    )
    graph.node.extend(
        [
            helper.make_node("MatMul", [FEATURE_OUTPUT, "plate_head.w"], ["plate_head.matmul"]),
            helper.make_node("Add", ["plate_head.matmul", "plate_head.b"], ["plate_head.logits"]),
            helper.make_node("Softmax", ["plate_head.logits"], ["probs"], axis=-1),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("probs", onnx.TensorProto.FLOAT, ["batch", "steps", len(ALPHABET) + 1])
    )
    if fp16:
        _fp16_storage(model)
    del model.metadata_props[:]
    put_metadata(model, metadata)
    onnx.checker.check_model(model)
    return model.SerializeToString()
