"""Plate recognition engine (pure: numpy, opencv, onnxruntime, rapidocr and the standard library only).

``PlatePipeline().read(image)`` returns ``list[RecognizedPlate]``. Nothing is downloaded at run time: the detector
is provisioned by ``python scripts/provision_models.py`` and the PP-OCRv6 models ship in the rapidocr wheel.
The CLI adapter (``recognition.cli``) is the one module here that may import typer and rich.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Detector": "base",
    "PlateBox": "base",
    "PlateCandidate": "base",
    "RecognizedPlate": "base",
    "PlateText": "base",
    "Recognizer": "base",
    "RecognitionConfig": "config",
    "YoloPlateDetector": "detector",
    "ImageError": "imageio",
    "read_image": "imageio",
    "ModelError": "models",
    "RapidOcrRecognizer": "ocr",
    "PlateOcrRecognizer": "plate_ocr",
    "PlatePipeline": "pipeline",
    "normalize_plate": "plates",
    "plate_equal": "plates",
}

__all__ = [
    "Detector",
    "ImageError",
    "ModelError",
    "PlateBox",
    "PlateCandidate",
    "PlateOcrRecognizer",
    "PlatePipeline",
    "PlateText",
    "RapidOcrRecognizer",
    "RecognitionConfig",
    "RecognizedPlate",
    "Recognizer",
    "YoloPlateDetector",
    "normalize_plate",
    "plate_equal",
    "read_image",
]


def __getattr__(name: str) -> Any:
    """Import the engine's modules on first use, so that reading the config does not load opencv or rapidocr."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
