"""Fixtures for the recognition tests: development data location and a shared, provisioned pipeline."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition import PlatePipeline
from platekeeper.recognition.config import DetectorConfig, RecognitionConfig, default_models_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("PLATEKEEPER_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The development data folder; tests needing it are skipped when it is absent."""
    if not (DATA_DIR / "scenes").is_dir():
        pytest.skip(f"development data not found at {DATA_DIR} (set PLATEKEEPER_DATA or check out ../shared/data)")
    return DATA_DIR


@pytest.fixture(scope="session")
def models_ready() -> None:
    """Fail (not skip) when the detector model has not been provisioned."""
    path = default_models_dir() / DetectorConfig().model_file
    if not path.is_file():
        pytest.fail(f"model file {path} is missing: run `python scripts/provision_models.py` first")


@pytest.fixture(scope="session")
def pipeline(models_ready: None) -> PlatePipeline:
    """One pipeline for the whole session (model loading takes about a second)."""
    return PlatePipeline()


@pytest.fixture(scope="session")
def rapidocr_pipeline(models_ready: None) -> PlatePipeline:
    """A pipeline with the general PP-OCRv6 recognizer (the one that also reads state names)."""
    return PlatePipeline(RecognitionConfig(recognizer="rapidocr"))


@pytest.fixture(scope="session")
def real_crop_rows(data_dir: Path) -> list[dict[str, str]]:
    """The first 16 rows of crops/us/labels.csv (``file``, ``plate``, ...)."""
    return list(csv.DictReader((data_dir / "crops" / "us" / "labels.csv").open()))[:16]


@pytest.fixture(scope="session")
def real_crops(data_dir: Path, real_crop_rows: list[dict[str, str]]) -> np.ndarray:
    """Those 16 crops/us images as plate network inputs, [16, 3, 48, 160]."""
    from platekeeper.recognition.plate_ocr import plate_input

    images = [cv2.imread(str(data_dir / "crops" / "us" / r["file"]), cv2.IMREAD_COLOR) for r in real_crop_rows]
    return np.stack([plate_input(i, 160) for i in images])
