"""Plate text recognizer built on rapidocr's PP-OCRv6 small models (text detection + recognition).

Text detection (rapidocr's DB pre/post-processing) finds the text lines on the crop; the plate line is the
row of the tallest pieces (pieces on the same row are merged, so ``ABC 123`` is one line and state names,
slogans and stickers are other, lower lines). That line is rectified and recognized with our own onnxruntime
session so the full CTC posteriors are available to the plate rules (formats and confusables). The other
lines are read too, only to find a state or country name that tells the region.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess

from .base import PlateText, Recognizer
from .config import OcrConfig, PlateRulesConfig, RuntimeConfig
from .ctc import ALPHABET, CharPosteriors, fold_posteriors, plate_symbol_index
from .formats import REGION_NAMES
from .imageio import as_bgr
from .models import create_session, rapidocr_model_path, verified_bytes
from .plates import PlateRanker

__all__ = ["RapidOcrRecognizer", "TextLayout", "as_bgr"]  # as_bgr lives in imageio; re-exported

_NORM_MEAN, _NORM_SCALE = 0.5, 0.5  # PP-OCR input normalization: (x/255 - 0.5) / 0.5


def _box_height(quad: np.ndarray) -> float:
    return float(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))


def _rectify(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Warp the quadrilateral (tl, tr, br, bl) to an upright rectangle."""
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class TextLayout:
    """A crop's text lines: the resized image, the plate row's pieces (left to right) and the other lines."""

    image: np.ndarray
    pieces: list[np.ndarray]
    others: list[np.ndarray]


class RapidOcrRecognizer(Recognizer):
    """The default recognizer: PP-OCRv6 small text detection + recognition with plate-aware decoding."""

    def __init__(
        self,
        config: OcrConfig | None = None,
        rules: PlateRulesConfig | None = None,
        runtime: RuntimeConfig | None = None,
    ) -> None:
        self.config = config or OcrConfig()
        runtime = runtime or RuntimeConfig()
        cfg = self.config
        det_path, rec_path = rapidocr_model_path(cfg.det_model_file), rapidocr_model_path(cfg.rec_model_file)
        self._det = create_session(verified_bytes(det_path, cfg.det_model_sha256), runtime)
        self._rec = create_session(verified_bytes(rec_path, cfg.rec_model_sha256), runtime)
        vocabulary = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        index = plate_symbol_index(["<blank>", *vocabulary, " "])
        self._columns = np.array(sorted(index), dtype=np.int64)
        self._targets = np.array([index[c] for c in self._columns], dtype=np.int64)
        self._pre = DetPreProcess(cfg.det_limit_side_len, "max", [_NORM_MEAN] * 3, [_NORM_SCALE] * 3)
        self._post = DBPostProcess(
            cfg.det_thresh, cfg.det_box_thresh, cfg.det_max_candidates, cfg.det_unclip_ratio, "fast", True
        )
        self.ranker = PlateRanker(rules)

    def recognize(self, crop: np.ndarray) -> PlateText | None:
        """Read the plate line of a crop; the region comes from a state/country name on another line."""
        layout = self.layout(crop)
        if layout is None:
            return None
        return self.read_layout(layout, self.region_in(layout) if self.names_region(crop) else None)

    def names_region(self, crop: np.ndarray) -> bool:
        """Whether the crop is tall enough for its small lines (state or country names) to be read."""
        return crop.shape[0] >= self.config.region_min_crop_height

    def layout(self, crop: np.ndarray) -> TextLayout | None:
        """The crop's text lines, found by one text-detection run (None: an empty crop)."""
        if crop.size == 0:
            return None
        image = self._resize_crop(as_bgr(crop))
        pieces, others = self._plate_row(self._text_boxes(image), image.shape)
        return TextLayout(image, pieces, others)

    def read_layout(self, layout: TextLayout, region: str | None) -> PlateText | None:
        """The plate line of a layout, ranked with ``region``'s formats; None when no text was found."""
        if not layout.pieces:
            return None
        plate = self._read_lines([self._compose(layout.image, layout.pieces)], self.config.rec_stretch)[0]
        return self.ranker.rank(plate, region)

    def region_in(self, layout: TextLayout) -> str | None:
        """The region named on the plate (a state or country name on a non-plate line), or None; only worth
        asking where ``names_region`` holds."""
        if not layout.pieces:
            return None
        return self._region(self._read_lines(self._region_lines(layout.image, layout.others), 1.0))

    def _region_lines(self, image: np.ndarray, quads: list[np.ndarray]) -> list[np.ndarray]:
        cfg = self.config
        lines = [_rectify(image, q) for q in quads]
        lines = [line for line in lines if line.shape[1] >= cfg.region_min_aspect * line.shape[0]]
        return sorted(lines, key=lambda line: -line.shape[0])[: cfg.region_lines]

    def _resize_crop(self, image: np.ndarray) -> np.ndarray:
        scale = self.config.crop_long_side / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)

    def _text_boxes(self, image: np.ndarray) -> list[np.ndarray]:
        tensor = self._pre(image)
        if tensor is None:
            return []
        pred = self._det.run(None, {self._det.get_inputs()[0].name: tensor})[0]
        boxes, _scores = self._post(pred, image.shape[:2])
        return [np.asarray(b, np.float32) for b in boxes]

    def _plate_row(self, quads: list[np.ndarray], shape: tuple[int, ...]) -> tuple[list[np.ndarray], list]:
        """Pieces of the plate row (the tallest piece and those level with it) left to right, and the rest."""
        cfg = self.config
        if not quads:
            if not cfg.full_crop_fallback:
                return [], []
            h, w = shape[:2]
            return [np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)], []
        heights = [_box_height(q) for q in quads]
        tallest = int(np.argmax(heights))
        top, bottom = quads[tallest][:, 1].min(), quads[tallest][:, 1].max()
        row = []
        for i, q in enumerate(quads):
            overlap = min(bottom, q[:, 1].max()) - max(top, q[:, 1].min())
            if heights[i] >= cfg.row_min_height_ratio * heights[tallest] and overlap >= cfg.row_overlap * min(
                heights[i], heights[tallest]
            ):
                row.append(i)
        row.sort(key=lambda i: float(quads[i][:, 0].mean()))
        return [self._pad(quads[i], shape) for i in row], [q for i, q in enumerate(quads) if i not in row]

    def _pad(self, quad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Grow a (tl, tr, br, bl) quad by the configured line padding, clipped to the image."""
        height = _box_height(quad)
        along = (quad[1] - quad[0]) / max(float(np.linalg.norm(quad[1] - quad[0])), 1e-6)
        across = np.array([-along[1], along[0]], np.float32)
        grown = quad.copy()
        for i, (sx, sy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
            pad_x, pad_y = self.config.line_pad_x * height, self.config.line_pad_y * height
            grown[i] = quad[i] + along * sx * pad_x + across * sy * pad_y
        grown[:, 0] = grown[:, 0].clip(0, shape[1])
        grown[:, 1] = grown[:, 1].clip(0, shape[0])
        return grown

    def _compose(self, image: np.ndarray, pieces: list[np.ndarray]) -> np.ndarray:
        """Rectify each piece, scale to a common height and join them with a small neutral gap."""
        crops = [_rectify(image, q) for q in pieces]
        height = max(c.shape[0] for c in crops)
        scaled = [cv2.resize(c, (max(1, round(c.shape[1] * height / c.shape[0])), height)) for c in crops]
        if len(scaled) == 1:
            return scaled[0]
        fill = np.median(np.concatenate([c[:, [0, -1]].reshape(-1, 3) for c in scaled]), axis=0)
        gap = np.empty((height, max(1, round(self.config.piece_gap * height)), 3), np.uint8)
        gap[:] = fill.astype(np.uint8)
        joined: list[np.ndarray] = []
        for c in scaled:
            joined.extend([c, gap])
        return np.hstack(joined[:-1])

    def _read_lines(self, lines: list[np.ndarray], stretch: float) -> list[CharPosteriors]:
        """Recognize lines in one batch; return folded posteriors per line."""
        cfg = self.config
        if not lines:
            return []
        widths = [
            min(
                cfg.rec_max_width,
                max(cfg.rec_height, round(stretch * line.shape[1] * cfg.rec_height / line.shape[0])),
            )
            for line in lines
        ]
        batch = np.zeros((len(lines), 3, cfg.rec_height, max(widths)), np.float32)
        for i, (line, width) in enumerate(zip(lines, widths, strict=True)):
            resized = cv2.resize(line, (width, cfg.rec_height), interpolation=cv2.INTER_LINEAR)
            batch[i, :, :, :width] = (resized.astype(np.float32).transpose(2, 0, 1) / 255.0 - _NORM_MEAN) / _NORM_SCALE
        probs = self._rec.run(None, {self._rec.get_inputs()[0].name: batch})[0]
        floor = self.ranker.config.min_char_logprob
        steps = [max(1, round(probs.shape[1] * w / max(widths))) for w in widths]
        return [fold_posteriors(probs[i, :n], self._columns, self._targets, floor) for i, n in enumerate(steps)]

    def _region(self, lines: list[CharPosteriors]) -> str | None:
        """Region code from a state/country name read on a non-plate line, if one matches closely."""
        best, best_ratio = None, self.config.region_min_similarity
        for post in lines:
            letters = "".join(ALPHABET[s - 1] for s in _collapse(post.probs.argmax(axis=1)) if s > 10)
            if len(letters) < 4:
                continue
            for name, code in REGION_NAMES.items():
                ratio = difflib.SequenceMatcher(None, letters, name).ratio()
                if ratio > best_ratio:
                    best, best_ratio = code, ratio
        return best


def _collapse(best: np.ndarray) -> list[int]:
    return [int(s) for i, s in enumerate(best) if s != 0 and (i == 0 or s != best[i - 1])]
