"""Contracts of the recognition engine: frozen results and the Detector / Recognizer interfaces."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Detector", "PlateBox", "PlateCandidate", "PlateText", "RecognizedPlate", "Recognizer"]


@dataclass(frozen=True)
class PlateBox:
    """A detected plate: box in full-resolution pixel coordinates and the detector score."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.y2 - self.y1

    def iou(self, other: PlateBox) -> float:
        """Intersection over union with another box."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0

    def as_list(self) -> list[int]:
        """``[x1, y1, x2, y2]`` rounded to whole pixels."""
        return [round(self.x1), round(self.y1), round(self.x2), round(self.y2)]


@dataclass(frozen=True)
class PlateCandidate:
    """One possible reading of a plate."""

    text: str
    confidence: float


@dataclass(frozen=True)
class PlateText:
    """What a recognizer read on a crop: normalized text (A-Z0-9), raw OCR string, region and alternates."""

    text: str
    confidence: float
    raw: str = ""
    region: str | None = None
    candidates: tuple[PlateCandidate, ...] = ()


@dataclass(frozen=True)
class RecognizedPlate:
    """One plate in one image: the box, the reading and the crop it was read from."""

    text: str
    confidence: float
    box: PlateBox
    raw: str = ""
    region: str | None = None
    candidates: tuple[PlateCandidate, ...] = ()
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of the ``platekeeper read --json`` contract."""
        return {
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "box": self.box.as_list(),
            "region": self.region,
            "candidates": [{"text": c.text, "confidence": round(c.confidence, 4)} for c in self.candidates],
        }


class Detector(ABC):
    """Finds plates in a full image (BGR or grayscale uint8)."""

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[PlateBox]:
        """Return plate boxes in the image's own pixel coordinates, best first."""


class Recognizer(ABC):
    """Reads the text of one plate crop (BGR or grayscale uint8; an empty crop reads as None)."""

    @abstractmethod
    def recognize(self, crop: np.ndarray) -> PlateText | None:
        """Return the reading, or None when no plate text is found."""

    def recognize_many(self, crops: Sequence[np.ndarray]) -> list[PlateText | None]:
        """Read several crops (one frame's plates), in order; a recognizer that can batch its network overrides
        this."""
        return [self.recognize(crop) for crop in crops]
