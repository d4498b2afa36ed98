"""platekeeper's own plate recognizer: one small CTC network that reads a whole plate crop.

The network (weights/plate-ocr-int8.onnx, committed with its SHA-256, see docs/plate-ocr-int8-model-card.md) is
the PP-OCRv6 small text recognizer fine-tuned on plates with a ``blank + 0-9 + A-Z`` head (``make train-ocr``),
its wide pointwise convolutions rounded to int8 (weights/plate-ocr.onnx: the same network all in float). It reads the
whole crop at 48 x ``input_width`` pixels in one pass, with no text-detection step: training taught it to
skip state names, slogans, stickers, frames and stacked small characters. Its per-frame posteriors go through
the same plate rules as every recognizer (formats, confusable characters, top-k candidates), and the
candidates' confidences are mapped through the calibration stored in the model, so that a confidence of 0.9
is right about nine times in ten on held-out plates. It does not read the state name itself: with
``plate_ocr.read_region`` the general OCR's text detection finds it on the other lines of the crop.

When its best candidate is less sure than ``plate_ocr.vote_below``, or a runner-up comes close to it
(``plate_ocr.vote_runner_up``), the general OCR reads the crop as well and the two vote (``vote``): the plate
network knows plate fonts and formats, the general one was trained on far more text and errs differently (on
Brazilian grey plates the network leans to Q for a worn O).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .base import PlateCandidate, PlateText, Recognizer
from .config import OcrConfig, PlateOcrConfig, PlateRulesConfig, RuntimeConfig
from .ctc import CharPosteriors
from .imageio import as_bgr
from .models import WEIGHTS_HINT, create_session, recorded_sha256, verified_bytes, weights_path
from .plates import PlateRanker

if TYPE_CHECKING:
    from .ocr import RapidOcrRecognizer

__all__ = ["Calibration", "PlateOcrRecognizer", "plate_input", "vote"]

INPUT_HEIGHT = 48
_NORM_MEAN, _NORM_SCALE = 0.5, 0.5  # (x/255 - 0.5) / 0.5, as the pretrained network expects


def plate_input(crop: np.ndarray, width: int) -> np.ndarray:
    """The network input for one crop: BGR resized to 48 x ``width``, normalized, [3, 48, width] float32."""
    image = as_bgr(crop)
    shrink = image.shape[0] > INPUT_HEIGHT or image.shape[1] > width
    resized = cv2.resize(image, (width, INPUT_HEIGHT), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return ((resized.astype(np.float32) / 255.0 - _NORM_MEAN) / _NORM_SCALE).transpose(2, 0, 1)


class Calibration:
    """Platt scaling of candidate confidences: ``sigmoid(a * logit(c) + b)``; identity when a=1, b=0."""

    def __init__(self, a: float = 1.0, b: float = 0.0) -> None:
        self.a, self.b = a, b

    @classmethod
    def from_json(cls, text: str | None) -> Calibration:
        """Read ``{"a": .., "b": ..}`` (model metadata); identity when absent."""
        if not text:
            return cls()
        data = json.loads(text)
        return cls(float(data["a"]), float(data["b"]))

    def __call__(self, confidence: float) -> float:
        c = min(max(confidence, 1e-6), 1 - 1e-6)
        return 1.0 / (1.0 + math.exp(-(self.a * math.log(c / (1 - c)) + self.b)))


def vote(first: PlateText, second: PlateText | None, floor: float, top_k: int) -> PlateText:
    """Two recognizers' candidates combined as a product of experts.

    Each text scores ``(c1 + floor) * (c2 + floor)``, where ``c1``, ``c2`` are its confidences from the two
    recognizers (0 when one did not list it); the scores are normalized over the texts either listed, ties go
    to ``first``'s order. A text both recognizers find plausible beats one that only ``first`` is sure of.
    ``raw`` stays ``first``'s; ``region`` is ``first``'s, else ``second``'s.
    """
    if second is None or not second.candidates:
        return first
    ours = {c.text: c.confidence for c in first.candidates}
    theirs = {c.text: c.confidence for c in second.candidates}
    texts = list(dict.fromkeys([*ours, *theirs]))
    joint = {t: (ours.get(t, 0.0) + floor) * (theirs.get(t, 0.0) + floor) for t in texts}
    total = sum(joint.values())
    ranked = sorted(texts, key=lambda t: (-joint[t], -ours.get(t, 0.0)))[:top_k]
    candidates = tuple(PlateCandidate(t, joint[t] / total) for t in ranked)
    return PlateText(ranked[0], candidates[0].confidence, first.raw, first.region or second.region, candidates)


class PlateOcrRecognizer(Recognizer):
    """Reads a plate crop with the plate-trained network (see module docstring)."""

    def __init__(
        self,
        config: PlateOcrConfig | None = None,
        rules: PlateRulesConfig | None = None,
        runtime: RuntimeConfig | None = None,
        ocr: OcrConfig | None = None,
    ) -> None:
        self.config = config or PlateOcrConfig()
        runtime = runtime or RuntimeConfig()
        path = weights_path(self.config.model_file)
        expected = self.config.model_sha256 or recorded_sha256(self.config.model_file)
        self._session = create_session(verified_bytes(path, expected, WEIGHTS_HINT), runtime)
        meta = self._session.get_modelmeta().custom_metadata_map
        self.input_width = int(meta.get("input_width", self.config.input_width))
        self.calibration = Calibration.from_json(meta.get("calibration")) if self.config.calibrated else Calibration()
        self.ranker = PlateRanker(rules)
        self._general: RapidOcrRecognizer | None = None
        votes = self.config.vote_below > 0 or self.config.vote_runner_up > 0
        if self.config.read_region or votes:  # rapidocr costs memory and start-up time
            from .ocr import RapidOcrRecognizer

            self._general = RapidOcrRecognizer(ocr, rules, runtime)

    def posteriors(self, crops: list[np.ndarray]) -> list[CharPosteriors]:
        """Per-frame probabilities over blank + 0-9 + A-Z for each crop (one batched network run)."""
        if not crops:
            return []
        batch = np.stack([plate_input(c, self.input_width) for c in crops])
        probs = self._session.run(None, {self._session.get_inputs()[0].name: batch})[0]
        floor = self.ranker.config.min_char_logprob
        return [CharPosteriors.of(p, floor) for p in probs]

    def recognize(self, crop: np.ndarray) -> PlateText | None:
        """Read one crop; None when it holds no plate text."""
        return self.recognize_many([crop])[0]

    def recognize_many(self, crops: Sequence[np.ndarray]) -> list[PlateText | None]:
        """Read several crops with one network run per ``max_batch`` of them; None where a crop holds no text."""
        readable = [i for i, crop in enumerate(crops) if crop.size and min(crop.shape[:2]) >= 2]
        plates: list[PlateText | None] = [None] * len(crops)
        for start in range(0, len(readable), self.config.max_batch):
            chunk = readable[start : start + self.config.max_batch]
            for i, post in zip(chunk, self.posteriors([crops[i] for i in chunk]), strict=True):
                plates[i] = self._read(crops[i], post)
        return plates

    def _read(self, crop: np.ndarray, post: CharPosteriors) -> PlateText | None:
        """Plate rules on one crop's posteriors, the region when asked for, and the vote when unsure."""
        general, layout, region = self._general, None, None
        if general is not None and self.config.read_region and general.names_region(crop):
            layout = general.layout(crop)  # one text detection: the region now, the vote's reading if needed
            region = None if layout is None else general.region_in(layout)
        plate = self.rank(post, region)
        if plate is None or general is None or not self.unsure(plate):
            return plate
        other = general.recognize(crop) if layout is None else general.read_layout(layout, region)
        if other is not None:  # what this network thinks of the general OCR's readings, not a floor
            plate = self.rank(post, region, [c.text for c in other.candidates]) or plate
        return vote(plate, other, self.config.vote_floor, self.ranker.config.top_k)

    def unsure(self, plate: PlateText) -> bool:
        """Whether a reading goes to a vote: its best candidate is below ``vote_below``, or the runner-up is at
        least ``vote_runner_up`` times as confident (two readings compete, whatever the best one's confidence)."""
        if plate.confidence < self.config.vote_below:
            return True
        ratio, candidates = self.config.vote_runner_up, plate.candidates
        return ratio > 0 and len(candidates) > 1 and candidates[1].confidence >= ratio * candidates[0].confidence

    def rank(self, post: CharPosteriors, region: str | None = None, also: Sequence[str] = ()) -> PlateText | None:
        """Plate rules (with the region's formats, when known) and calibration applied to the posteriors;
        ``also``: texts to score too (see ``PlateRanker.rank``)."""
        plate = self.ranker.rank(post, region, also=also)
        if plate is None:
            return None
        candidates = tuple(PlateCandidate(c.text, self.calibration(c.confidence)) for c in plate.candidates)
        return PlateText(plate.text, candidates[0].confidence, plate.raw, plate.region, candidates)
