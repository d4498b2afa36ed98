"""Real plate crops for training and validation: loading, the split by plate string, augmentation, data card.

The split is by plate string, not by file: a plate's hash decides its side, so every photo of one plate is on
the same side and validation plates never appear in training. The split is stable across machines and runs.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from platekeeper.recognition.plates import normalize_plate

__all__ = [
    "BR_PRE_2018",
    "VAL_PERCENT",
    "LabelledCrop",
    "augment_real",
    "is_validation_plate",
    "load_crops",
    "split_counts",
]

VAL_PERCENT = 20  # share of plate strings (not files) held out for validation
# crops/br shows pre-2018 Brazilian plates only (grey, red and green LLL-NNNN plates; no Mercosur plate). About
# a quarter of its labels do not fit that format: a zero for a leading letter O (`0KK7448`), a D for a 1
# (`HDV2D20`). Trained on, they teach exactly those misreads, so training keeps only labels that fit it.
BR_PRE_2018 = re.compile(r"[A-Z]{3}[0-9]{4}")


@dataclass(frozen=True)
class LabelledCrop:
    """A real crop: file, jurisdiction label and plate text (A-Z0-9)."""

    path: Path
    state: str
    plate: str


def is_validation_plate(plate: str, percent: int = VAL_PERCENT) -> bool:
    """Whether a plate string belongs to the validation side (stable hash of the normalized string)."""
    digest = hashlib.sha256(("platekeeper-split:" + normalize_plate(plate)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def load_crops(folder: Path) -> list[LabelledCrop]:
    """The crops listed in ``folder/labels.csv`` (file,state,plate) that exist, in file order."""
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"{labels} not found: the development data is expected at ../shared/data")
    with labels.open(newline="") as handle:
        rows = [
            LabelledCrop(folder / row["file"], row.get("state", ""), normalize_plate(row["plate"]))
            for row in csv.DictReader(handle)
        ]
    return [row for row in rows if row.plate and row.path.is_file()]


def split_counts(rows: Iterable[LabelledCrop]) -> dict[str, int]:
    """Files and distinct plates on each side of the split."""
    rows = list(rows)
    train = [r for r in rows if not is_validation_plate(r.plate)]
    val = [r for r in rows if is_validation_plate(r.plate)]
    return {
        "train_files": len(train),
        "train_plates": len({r.plate for r in train}),
        "val_files": len(val),
        "val_plates": len({r.plate for r in val}),
        "states": len(Counter(r.state for r in rows)),
    }


def augment_real(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light camera-like changes to a real crop: crop jitter, tilt, light, grey, blur, resolution, JPEG."""
    h, w = image.shape[:2]
    pads = (rng.uniform(-0.04, 0.12, 4) * np.array([w, h, w, h])).astype(int)
    top_pad, bottom_pad, left_pad, right_pad = (int(max(0, p)) for p in pads[[1, 3, 0, 2]])
    grown = cv2.copyMakeBorder(image, top_pad, bottom_pad, left_pad, right_pad, cv2.BORDER_REPLICATE)
    top, bottom = max(0, -pads[1]), grown.shape[0] - max(0, -pads[3])
    left, right = max(0, -pads[0]), grown.shape[1] - max(0, -pads[2])
    image = grown[top:bottom, left:right]
    if rng.random() < 0.5:
        h, w = image.shape[:2]
        rotation = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-4, 4)), 1.0)
        image = cv2.warpAffine(image, rotation, (w, h), borderMode=cv2.BORDER_REPLICATE)
    image = np.clip(image.astype(np.float32) * rng.uniform(0.6, 1.3) + rng.uniform(-35, 30), 0, 255).astype(np.uint8)
    if rng.random() < 0.15:
        image = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if rng.random() < 0.2:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, 1.1)))
    if rng.random() < 0.2:
        h, w = image.shape[:2]
        target = int(rng.integers(20, 40))
        if target < h:
            image = cv2.resize(image, (max(4, round(w * target / h)), target), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.15:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
        image = image if decoded is None else decoded
    return image
