"""Minimal ONNX graph surgery on the protobuf wire format (standard library only).

The platedet model is exported with a fixed 640x640 input and a head that decodes boxes with constants baked
for that size, plus a segmentation branch the engine never uses. Cutting the graph at the raw per-level head
outputs makes it fully convolutional: the detector can then run on a letterboxed rectangle (e.g. 640x384 for a
16:9 frame) and skip the mask branch, which together cut detection time by more than half. The file on disk is
untouched and checked by SHA-256; only the in-memory copy handed to onnxruntime is edited.

Wire format reference: https://protobuf.dev/programming-guides/encoding/ ; ONNX field numbers from onnx.proto
(ModelProto.graph=7; GraphProto.node=1, input=11, output=12, value_info=13; NodeProto.input=1, output=2;
ValueInfoProto.name=1, type=2; TypeProto.tensor_type=1; Tensor.elem_type=1, shape=2; Shape.dim=1;
Dimension.dim_value=1, dim_param=2).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["OnnxGraphError", "cut_graph"]

_LEN = 2  # length-delimited wire type
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_INPUT, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO = 7, 1, 11, 12, 13
_NODE_INPUT, _NODE_OUTPUT = 1, 2


class OnnxGraphError(ValueError):
    """The model bytes are not the ONNX graph this surgery expects."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise OnnxGraphError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _enc_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(buf: bytes) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield (field number, wire type, field start, value start, value end) for each field of a message."""
    pos = 0
    while pos < len(buf):
        start = pos
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, end = _varint(buf, pos)
        elif wire == 1:
            end = pos + 8
        elif wire == 5:
            end = pos + 4
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            end = pos + size
        else:
            raise OnnxGraphError(f"unsupported wire type {wire}")
        yield number, wire, start, pos, end
        pos = end


def _ld(number: int, payload: bytes) -> bytes:
    """Encode a length-delimited field."""
    return _enc_varint((number << 3) | _LEN) + _enc_varint(len(payload)) + payload


def _vint(number: int, value: int) -> bytes:
    return _enc_varint(number << 3) + _enc_varint(value)


def _strings(buf: bytes, number: int) -> list[str]:
    return [buf[s:e].decode() for n, w, _, s, e in _fields(buf) if n == number and w == _LEN]


def _sub(buf: bytes, number: int) -> bytes:
    for n, w, _, s, e in _fields(buf):
        if n == number and w == _LEN:
            return buf[s:e]
    raise OnnxGraphError(f"field {number} missing")


def _elem_type(value_info: bytes) -> int:
    tensor = _sub(_sub(value_info, 2), 1)
    for n, w, _, s, _e in _fields(tensor):
        if n == 1 and w == 0:
            return _varint(tensor, s)[0]
    raise OnnxGraphError("tensor elem_type missing")


def _value_info(name: str, elem_type: int, dims: Sequence[int | str] | None) -> bytes:
    tensor = _vint(1, elem_type)
    if dims is not None:
        shape = b"".join(_ld(1, _vint(1, d) if isinstance(d, int) else _ld(2, d.encode())) for d in dims)
        tensor += _ld(2, shape)
    return _ld(1, name.encode()) + _ld(2, _ld(1, tensor))


def _reachable(nodes: list[bytes], outputs: Sequence[str]) -> list[bytes]:
    """Nodes needed to compute ``outputs``, in original (topological) order."""
    needed, keep = set(outputs), []
    for node in reversed(nodes):
        if needed.intersection(_strings(node, _NODE_OUTPUT)):
            keep.append(node)
            needed.update(_strings(node, _NODE_INPUT))
    missing = set(outputs) - {o for node in keep for o in _strings(node, _NODE_OUTPUT)}
    if missing:
        raise OnnxGraphError(f"no node produces {sorted(missing)}")
    return keep[::-1]


def _rebuild_graph(graph: bytes, input_dims: Sequence[int | str], outputs: Sequence[str]) -> bytes:
    nodes = [graph[s:e] for n, w, _, s, e in _fields(graph) if n == _GRAPH_NODE and w == _LEN]
    inputs = [graph[s:e] for n, w, _, s, e in _fields(graph) if n == _GRAPH_INPUT and w == _LEN]
    old_out = [graph[s:e] for n, w, _, s, e in _fields(graph) if n == _GRAPH_OUTPUT and w == _LEN]
    if not inputs or not old_out:
        raise OnnxGraphError("graph has no input or output")
    elem = _elem_type(old_out[0])
    first = _value_info(_strings(inputs[0], 1)[0], _elem_type(inputs[0]), input_dims)
    head = b"".join(_ld(_GRAPH_NODE, node) for node in _reachable(nodes, outputs))
    rest, seen_input = bytearray(), False
    for n, _w, start, _s, end in _fields(graph):
        if n in (_GRAPH_NODE, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO):
            continue
        if n == _GRAPH_INPUT and not seen_input:
            rest += _ld(_GRAPH_INPUT, first)
            seen_input = True
            continue
        rest += graph[start:end]
    tail = b"".join(_ld(_GRAPH_OUTPUT, _value_info(name, elem, None)) for name in outputs)
    return head + bytes(rest) + tail


def cut_graph(model: bytes, input_dims: Sequence[int | str], outputs: Sequence[str]) -> bytes:
    """Return model bytes whose first input has ``input_dims`` (names are free dims) and whose outputs are
    the named intermediate tensors; nodes not needed for them are dropped and shape annotations cleared."""
    out = bytearray()
    found = False
    for n, w, start, s, end in _fields(model):
        if n == _MODEL_GRAPH and w == _LEN:
            out += _ld(_MODEL_GRAPH, _rebuild_graph(model[s:end], input_dims, outputs))
            found = True
        else:
            out += model[start:end]
    if not found:
        raise OnnxGraphError("model has no graph")
    return bytes(out)
