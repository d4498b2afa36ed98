"""Narrow the trained recognizer's feed-forward blocks: fewer hidden channels, less time per crop.

Most of the recognizer's arithmetic sits in pairs of 1x1 convolutions (an expansion to about twice the block's
width, a GELU, a projection back). What the pair outputs keeps its width; the hidden channels between the two
convolutions can go.
- ``find_ffns`` finds every such pair in the ONNX graph.
- ``hidden_importance`` measures each hidden channel on plate images: its mean absolute activation after the
  GELU times the norm of the projection weights that read it, so a channel that is quiet or barely read counts
  for little.
- ``prune_ffns`` keeps the most important ``keep`` share of each block's hidden channels (rounded to a multiple
  of 8, the CPU's vector width). It slices the expansion's weights and bias and the projection's input weights;
  the slices are exact for the channels kept.
- ``refit_projections`` re-solves each projection and the bias after it by least squares, so that the kept
  channels carry what the dropped ones did as far as a linear map can. Training the narrowed network (with the
  whole one's outputs as targets) repairs the rest.

Works on the raw ONNX graph, so the training code converts an already narrowed network; float16-stored
initializers (``name__fp16`` behind a Cast) are sliced too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = ["Ffn", "find_ffns", "hidden_importance", "prune_ffns", "pruned_width", "refit_projections"]

_ELEMENTWISE = {"Add", "Identity", "Div", "Erf", "Mul", "Gelu"}
VECTOR = 8


@dataclass(frozen=True)
class Ffn:
    """One expansion/projection pair: its two Conv nodes, the expansion's bias and the hidden value."""

    expand: str  # Conv node name
    project: str  # Conv node name
    bias: str  # initializer added to the expansion's output, shape [1, H, 1, 1]
    hidden: str  # the value the projection reads (after the GELU)
    width: int  # H


class _Graph:
    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.nodes = {n.name: n for n in model.graph.node}
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in model.graph.node:
            for value in node.input:
                self.consumers.setdefault(value, []).append(node)
        self.inits = {i.name: i for i in model.graph.initializer}

    def initializer(self, value: str) -> onnx.TensorProto | None:
        """The initializer behind ``value``: itself, or the float16 copy a Cast turns back into float32."""
        if value in self.inits:
            return self.inits[value]
        node = self.producer.get(value)
        if node is not None and node.op_type == "Cast" and node.input[0] in self.inits:
            return self.inits[node.input[0]]
        return None

    def array(self, value: str) -> np.ndarray | None:
        init = self.initializer(value)
        return None if init is None else numpy_helper.to_array(init)

    def pointwise_conv(self, node: onnx.NodeProto) -> np.ndarray | None:
        """The weights of a 1x1, ungrouped Conv, else None."""
        if node.op_type != "Conv":
            return None
        groups = next((helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1)
        weight = self.array(node.input[1])
        if groups != 1 or weight is None or weight.shape[2:] != (1, 1):
            return None
        return weight


def find_ffns(model: onnx.ModelProto) -> list[Ffn]:
    """Every 1x1 Conv -> bias Add -> per-channel elementwise ops -> 1x1 Conv pair whose hidden value goes
    nowhere else, in graph order."""
    graph = _Graph(model)
    found = []
    for expand in model.graph.node:
        weight = graph.pointwise_conv(expand)
        if weight is None or len(expand.input) > 2:
            continue
        width = weight.shape[0]
        users = graph.consumers.get(expand.output[0], [])
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        bias_value = next((v for v in add.input if v != expand.output[0]), "")
        bias = graph.array(bias_value)
        if bias is None or bias.shape != (1, width, 1, 1):
            continue
        ffn = _follow(graph, add, width)
        if ffn is not None:
            project, hidden = ffn
            found.append(Ffn(expand.name, project.name, bias_value, hidden, width))
    return found


def _follow(graph: _Graph, start: onnx.NodeProto, width: int) -> tuple[onnx.NodeProto, str] | None:
    """From the bias Add, the elementwise region up to the one projection that reads it, or None."""
    region, frontier, project, hidden = {start.name}, [start], None, ""
    while frontier:
        node = frontier.pop()
        for value in node.output:
            if value in {o.name for o in graph.model.graph.output}:
                return None
            for user in graph.consumers.get(value, []):
                if user.name in region:
                    continue
                weight = graph.pointwise_conv(user)
                if weight is not None and user.input[0] == value:
                    if project is not None or weight.shape[1] != width:
                        return None
                    project, hidden = user, value
                elif user.op_type in _ELEMENTWISE:
                    region.add(user.name)
                    frontier.append(user)
                else:
                    return None
    if project is None:
        return None
    inside = {o for name in region for o in graph.nodes[name].output}
    for name in region - {start.name}:  # other operands: the region's own values or scalar constants
        for value in graph.nodes[name].input:
            array = graph.array(value)
            if value not in inside and (array is None or array.size != 1):
                return None
    return project, hidden


def pruned_width(width: int, keep: float) -> int:
    """How many of ``width`` hidden channels ``keep`` leaves: a multiple of 8, at least 8, at most ``width``."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], not {keep}")
    return min(width, max(VECTOR, round(width * keep / VECTOR) * VECTOR))


def hidden_importance(model: onnx.ModelProto, ffns: Sequence[Ffn], batches: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per hidden channel of each pair: mean |activation| over ``batches`` (network inputs) times the L2 norm of
    the projection weights that read the channel."""
    names = [ffn.hidden for ffn in ffns]
    session = _probe(model, names)
    sums = [np.zeros(ffn.width, np.float64) for ffn in ffns]
    count = 0
    for batch in batches:
        outputs = session.run(names, {session.get_inputs()[0].name: batch.astype(np.float32)})
        for total, value in zip(sums, outputs, strict=True):
            total += np.abs(value).sum(axis=(0, 2, 3))
        count += batch.shape[0]
    if not count:
        raise ValueError("no images to measure the hidden channels on")
    graph = _Graph(model)
    scores = []
    for ffn, total in zip(ffns, sums, strict=True):
        weight = graph.array(graph.nodes[ffn.project].input[1])
        assert weight is not None
        scores.append(total / count * np.linalg.norm(weight.reshape(weight.shape[0], -1), axis=0))
    return scores


def prune_ffns(
    model: onnx.ModelProto, ffns: Sequence[Ffn], importance: Sequence[np.ndarray], keep: float
) -> onnx.ModelProto:
    """A copy of ``model`` keeping the ``keep`` most important hidden channels of each pair (in channel order)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = _Graph(model)
    for ffn, score in zip(ffns, importance, strict=True):
        kept = np.sort(np.argsort(-score, kind="stable")[: pruned_width(ffn.width, keep)])
        expand, project = graph.nodes[ffn.expand], graph.nodes[ffn.project]
        _slice(graph, expand.input[1], kept, axis=0)
        _slice(graph, ffn.bias, kept, axis=1)
        _slice(graph, project.input[1], kept, axis=1)
    del model.graph.value_info[:]  # shapes recorded before pruning would now be wrong
    return model


def _slice(graph: _Graph, value: str, kept: np.ndarray, axis: int) -> None:
    init = graph.initializer(value)
    if init is None:
        raise ValueError(f"{value}: not a constant, cannot prune it")
    array = np.take(numpy_helper.to_array(init), kept, axis=axis)
    init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array), init.name))


def refit_projections(
    original: onnx.ModelProto, pruned: onnx.ModelProto, ffns: Sequence[Ffn], batches: Sequence[np.ndarray]
) -> onnx.ModelProto:
    """Re-solve each narrowed block's projection (and the bias added after it) by least squares, so that from the
    hidden channels it kept it reproduces what the whole block computed in ``original``.

    Blocks are refitted in graph order, each on the activations of the network with the earlier ones already
    refitted, so errors do not pile up. Returns a refitted copy of ``pruned``.
    """
    model = onnx.ModelProto.FromString(pruned.SerializeToString())
    graph = _Graph(model)  # initializers are replaced in place, so one index serves every block
    reference = _Graph(original)
    targets = [reference.nodes[f.project].output[0] for f in ffns]
    wanted = _probe(original, targets)
    for ffn, target in zip(ffns, targets, strict=True):
        project = graph.nodes[ffn.project]
        weight_init = graph.initializer(project.input[1])
        bias_value = _bias_after(graph, project)
        assert weight_init is not None
        weight = numpy_helper.to_array(weight_init).astype(np.float64)
        width = weight.shape[1]
        current = _probe(model, [ffn.hidden])
        gram, cross = np.zeros((width + 1, width + 1)), np.zeros((weight.shape[0], width + 1))
        for batch in batches:
            feed = batch.astype(np.float32)
            hidden = current.run([ffn.hidden], {current.get_inputs()[0].name: feed})[0]
            goal = wanted.run([target], {wanted.get_inputs()[0].name: feed})[0]
            h = np.concatenate([hidden.transpose(1, 0, 2, 3).reshape(width, -1), np.ones((1, goal[:, 0].size))])
            gram += h @ h.T
            cross += goal.transpose(1, 0, 2, 3).reshape(goal.shape[1], -1) @ h.T
        if bias_value is None:
            gram, cross = gram[:width, :width], cross[:, :width]
        ridge = 1e-4 * np.trace(gram) / len(gram) * np.eye(len(gram))
        solved = np.linalg.solve(gram + ridge, cross.T).T
        new_weight = solved[:, :width].reshape(weight.shape).astype(np.float32)
        weight_init.CopyFrom(numpy_helper.from_array(new_weight, weight_init.name))
        if bias_value is not None:
            bias_init = graph.initializer(bias_value)
            assert bias_init is not None
            bias = numpy_helper.to_array(bias_init).astype(np.float64)
            shift = solved[:, width].reshape(bias.shape)
            bias_init.CopyFrom(numpy_helper.from_array((bias + shift).astype(np.float32), bias_init.name))
    return model


def _probe(model: onnx.ModelProto, outputs: Sequence[str]) -> Any:
    """An onnxruntime session for ``model`` that also returns the inner values ``outputs``."""
    import onnxruntime as ort

    probe = onnx.ModelProto.FromString(model.SerializeToString())
    present = {o.name for o in probe.graph.output}
    probe.graph.output.extend(
        helper.make_tensor_value_info(v, onnx.TensorProto.FLOAT, None) for v in outputs if v not in present
    )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _bias_after(graph: _Graph, conv: onnx.NodeProto) -> str | None:
    """The [1, C, 1, 1] constant that the one Add reading ``conv``'s output adds to it, if any."""
    users = graph.consumers.get(conv.output[0], [])
    if len(users) != 1 or users[0].op_type != "Add":
        return None
    other = next((v for v in users[0].input if v != conv.output[0]), "")
    array, weight = graph.array(other), graph.array(conv.input[1])
    if array is None or weight is None or array.shape != (1, weight.shape[0], 1, 1):
        return None
    return other
