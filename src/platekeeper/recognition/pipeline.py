"""Image in, plate reads out: detect plates, crop them from the full-resolution image, read each crop."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .base import Detector, PlateBox, PlateText, RecognizedPlate, Recognizer
from .config import RecognitionConfig
from .detector import YoloPlateDetector
from .imageio import read_image

__all__ = ["PlatePipeline", "crop_box", "make_recognizer"]


def make_recognizer(config: RecognitionConfig) -> Recognizer:
    """The recognizer ``config.recognizer`` names: ``plate`` (default) or ``rapidocr``."""
    if config.recognizer == "rapidocr":
        from .ocr import RapidOcrRecognizer

        return RapidOcrRecognizer(config.ocr, config.plates, config.runtime)
    from .plate_ocr import PlateOcrRecognizer

    return PlateOcrRecognizer(config.plate_ocr, config.plates, config.runtime, config.ocr)


def crop_box(image: np.ndarray, box: PlateBox, padding: float) -> np.ndarray:
    """The box grown by ``padding`` (fraction of its width/height on each side) from ``image``.

    Where the grown box leaves the frame on the left or right (a car entering or leaving the picture), the
    missing margin is filled by repeating the edge column: a plate character cut by the frame edge then sits
    inside the crop, as the recognizer saw cut characters in training, instead of on the input's border,
    where it tends to be dropped.
    """
    height, width = image.shape[:2]
    pad_x, pad_y = box.width * padding, box.height * padding
    want_x1, want_x2 = int(box.x1 - pad_x), int(np.ceil(box.x2 + pad_x))
    x1, y1 = max(0, want_x1), max(0, int(box.y1 - pad_y))
    x2, y2 = min(width, want_x2), min(height, int(np.ceil(box.y2 + pad_y)))
    crop = image[y1:y2, x1:x2]
    left, right = x1 - want_x1, want_x2 - x2
    if crop.size and (left > 0 or right > 0):
        crop = cv2.copyMakeBorder(crop, 0, 0, max(left, 0), max(right, 0), cv2.BORDER_REPLICATE)
    return crop


class PlatePipeline:
    """The engine: ``detector or YoloPlateDetector(...)``, ``recognizer or`` the one ``config.recognizer`` names."""

    def __init__(
        self,
        config: RecognitionConfig | None = None,
        detector: Detector | None = None,
        recognizer: Recognizer | None = None,
    ) -> None:
        self.config = config or RecognitionConfig()
        cfg = self.config
        self._detector = detector
        self.recognizer = recognizer or make_recognizer(cfg)

    @property
    def detector(self) -> Detector:
        """The plate detector, loaded on first use (reading crops never needs it)."""
        if self._detector is None:
            self._detector = YoloPlateDetector(self.config.detector, self.config.runtime)
        return self._detector

    def read(self, image: np.ndarray) -> list[RecognizedPlate]:
        """Every plate read in a BGR or grayscale image, best confidence first; empty when there is none."""
        return self.read_boxes(image, self.detector.detect(image))

    def read_boxes(self, image: np.ndarray, boxes: list[PlateBox]) -> list[RecognizedPlate]:
        """Read the plates in already-detected boxes (one batch where the recognizer can), best confidence first."""
        crops = [crop_box(image, box, self.config.detector.crop_padding) for box in boxes]
        texts = self.recognizer.recognize_many(crops)
        reads = [self._plate_read(t, box, crop) for t, box, crop in zip(texts, boxes, crops, strict=True)]
        return sorted((r for r in reads if r is not None), key=lambda r: -r.confidence)

    def read_crop(self, crop: np.ndarray) -> list[RecognizedPlate]:
        """Read an image that is already a plate crop (no detection); at most one read."""
        height, width = crop.shape[:2]
        whole = PlateBox(0.0, 0.0, float(width), float(height), 1.0)
        plate = self._plate_read(self.recognizer.recognize(crop), whole, crop)
        return [] if plate is None else [plate]

    def read_file(self, path: Path, crops: bool = False) -> list[RecognizedPlate]:
        """Safely load an image file (limits checked before decoding) and read it."""
        image = read_image(path, self.config.images)
        return self.read_crop(image) if crops else self.read(image)

    def _plate_read(self, text: PlateText | None, box: PlateBox, crop: np.ndarray) -> RecognizedPlate | None:
        if text is None or not text.text or text.confidence < self.config.plates.min_confidence:
            return None
        return RecognizedPlate(text.text, text.confidence, box, text.raw, text.region, text.candidates, crop)
