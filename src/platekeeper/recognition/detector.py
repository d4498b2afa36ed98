"""ONNX plate detector: platedet (YOLOv8s-seg) run fully convolutionally on a downscaled, letterboxed copy."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import Detector, PlateBox
from .config import DetectorConfig, RuntimeConfig
from .models import create_session, verified_bytes
from .onnx_graph import cut_graph

__all__ = ["YoloPlateDetector", "letterbox"]

# Raw head outputs of platedet (per pyramid level: 64 box-distribution channels + 1 class logit).
_HEAD_OUTPUTS = ("/model.22/Concat_1_output_0", "/model.22/Concat_2_output_0", "/model.22/Concat_3_output_0")
_STRIDES = (8, 16, 32)
_DFL_BINS = 16


@dataclass(frozen=True)
class _Letterbox:
    """How an image was scaled and padded into the network input."""

    image: np.ndarray
    scale: float
    pad_x: int
    pad_y: int


def letterbox(image: np.ndarray, long_side: int, stride: int, fill: int) -> _Letterbox:
    """Resize so the long side is ``long_side`` and pad both sides up to a multiple of ``stride``."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    target_w, target_h = -(-new_w // stride) * stride, -(-new_h // stride) * stride
    pad_x, pad_y = (target_w - new_w) // 2, (target_h - new_h) // 2
    padded = cv2.copyMakeBorder(
        resized,
        pad_y,
        target_h - new_h - pad_y,
        pad_x,
        target_w - new_w - pad_x,
        cv2.BORDER_CONSTANT,
        value=(fill, fill, fill),
    )
    return _Letterbox(padded, scale, pad_x, pad_y)


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _surer(box: PlateBox, others: list[PlateBox], min_iou: float) -> PlateBox:
    """``box``, or the highest-scoring of ``others`` that overlaps it by ``min_iou`` where that one scores more."""
    same = [o for o in others if box.iou(o) >= min_iou and o.score > box.score]
    return max(same, key=lambda o: o.score, default=box)


def _decode_level(raw: np.ndarray, stride: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Decode one level ([65, h, w]) into xyxy boxes (network pixels) and scores above ``threshold``."""
    logits = raw[-1].astype(np.float32)
    ys, xs = np.nonzero(logits > np.log(threshold / max(1.0 - threshold, 1e-9)))
    if ys.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    scores = 1.0 / (1.0 + np.exp(-logits[ys, xs]))
    dist = raw[: 4 * _DFL_BINS, ys, xs].astype(np.float32).reshape(4, _DFL_BINS, -1)
    dist = np.exp(dist - dist.max(axis=1, keepdims=True))
    dist /= dist.sum(axis=1, keepdims=True)
    ltrb = (dist * np.arange(_DFL_BINS, dtype=np.float32)[None, :, None]).sum(axis=1)
    cx, cy = xs + 0.5, ys + 0.5
    boxes = np.stack([cx - ltrb[0], cy - ltrb[1], cx + ltrb[2], cy + ltrb[3]], axis=1) * stride
    return boxes.astype(np.float32), scores


class YoloPlateDetector(Detector):
    """The default detector: platedet with its mask branch cut off and a free input size."""

    def __init__(self, config: DetectorConfig | None = None, runtime: RuntimeConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        runtime = runtime or RuntimeConfig()
        path = runtime.resolved_models_dir() / self.config.model_file
        model = cut_graph(verified_bytes(path, self.config.model_sha256), (1, 3, "height", "width"), _HEAD_OUTPUTS)
        self._session = create_session(model, runtime)
        self._input_name = self._session.get_inputs()[0].name
        self._dtype = np.float16 if "float16" in self._session.get_inputs()[0].type else np.float32

    def detect(self, image: np.ndarray) -> list[PlateBox]:
        """Plate boxes in full-resolution coordinates, best first, after NMS.

        One look at ``input_long_side`` finds most plates. The network places plates well only within a range of
        sizes in its input, so two cases get a second look: nothing found (a plate too small at that scale, or a
        small image) is looked for again at ``retry_long_side`` (at most ``retry_max_upscale`` times the image's size,
        and only when that is larger than the first look); a close-up box, wider than ``closeup_fraction``
        of the image, is looked at again at ``closeup_long_side``, and the surer of the overlapping boxes is kept.
        """
        cfg = self.config
        rgb = _to_rgb(image)
        found = self._look(rgb, cfg.input_long_side)
        long_side = max(image.shape[:2])
        if not found:
            retry = min(cfg.retry_long_side, round(cfg.retry_max_upscale * long_side))
            return self._look(rgb, retry) if retry > cfg.input_long_side else []
        closeup = cfg.closeup_fraction * long_side
        if not cfg.closeup_long_side or all(b.width <= closeup for b in found):
            return found
        again = self._look(rgb, cfg.closeup_long_side)
        kept = [_surer(b, again, cfg.nms_iou) if b.width > closeup else b for b in found]
        return sorted(dict.fromkeys(kept), key=lambda b: -b.score)  # two close-ups may meet in one better box

    def _look(self, rgb: np.ndarray, long_side: int) -> list[PlateBox]:
        """One detector run on a copy whose long side is ``long_side``."""
        cfg = self.config
        boxed = letterbox(rgb, long_side, max(_STRIDES), cfg.letterbox_value)
        tensor = (boxed.image.transpose(2, 0, 1)[None].astype(np.float32) / 255.0).astype(self._dtype)
        levels = self._session.run(None, {self._input_name: tensor})
        decoded = [_decode_level(out[0], s, cfg.score_threshold) for out, s in zip(levels, _STRIDES, strict=True)]
        boxes = np.concatenate([d[0] for d in decoded])
        scores = np.concatenate([d[1] for d in decoded])
        if scores.size == 0:
            return []
        boxes -= np.array([boxed.pad_x, boxed.pad_y, boxed.pad_x, boxed.pad_y], np.float32)
        boxes /= boxed.scale
        height, width = rgb.shape[:2]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        return self._suppress(boxes, scores)

    def _suppress(self, boxes: np.ndarray, scores: np.ndarray) -> list[PlateBox]:
        cfg = self.config
        xywh = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]])
        keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), cfg.score_threshold, cfg.nms_iou)
        result = []
        for i in np.array(keep, dtype=int).reshape(-1)[: cfg.max_plates]:
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            if min(x2 - x1, y2 - y1) >= cfg.min_box_side_px:
                result.append(PlateBox(x1, y1, x2, y2, float(scores[i])))
        return result
