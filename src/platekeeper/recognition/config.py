"""Recognition configuration: every threshold and limit of the engine, in one frozen tree.

The engine may only depend on the standard library, numpy, opencv, onnxruntime and rapidocr, so the tree is
built from frozen dataclasses (not pydantic). Each field carries its description and bounds in ``metadata``;
``__post_init__`` enforces the bounds and names the field and the rule when a value is out of range.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "MODELS_DIR_ENV",
    "DetectorConfig",
    "ImageLimitsConfig",
    "OcrConfig",
    "PlateOcrConfig",
    "PlateRulesConfig",
    "RecognitionConfig",
    "RuntimeConfig",
    "default_models_dir",
]

MODELS_DIR_ENV = "PLATEKEEPER_MODELS_DIR"


def default_models_dir() -> Path:
    """Folder holding provisioned model files: ``$PLATEKEEPER_MODELS_DIR`` or ``<repo>/models``."""
    env = os.environ.get(MODELS_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "models"


def _doc(description: str, ge: float | None = None, le: float | None = None) -> dict[str, Any]:
    """Field metadata: what the field is and its inclusive bounds."""
    return {"description": description, "ge": ge, "le": le}


def _f(default: Any, description: str, ge: float | None = None, le: float | None = None) -> Any:
    """A dataclass field carrying its description and inclusive bounds."""
    return field(default=default, metadata=_doc(description, ge, le))


class _Checked:
    """Mixin: validate numeric bounds declared in field metadata."""

    def __post_init__(self) -> None:
        for spec in fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            ge, le = spec.metadata.get("ge"), spec.metadata.get("le")
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if ge is not None and value < ge:
                raise ValueError(f"{type(self).__name__}.{spec.name}={value!r} must be >= {ge}")
            if le is not None and value > le:
                raise ValueError(f"{type(self).__name__}.{spec.name}={value!r} must be <= {le}")


@dataclass(frozen=True)
class RuntimeConfig(_Checked):
    """How the ONNX models run."""

    intra_op_threads: int = _f(2, "onnxruntime intra-op threads per session", ge=1, le=256)
    allow_spinning: bool = _f(
        False, "let idle onnxruntime threads spin (faster on an idle machine, wasteful on a busy one)"
    )
    models_dir: Path | None = field(
        default=None,
        metadata=_doc("folder with provisioned models; None: $PLATEKEEPER_MODELS_DIR or <repo>/models"),
    )

    def resolved_models_dir(self) -> Path:
        """The models folder this runtime reads from."""
        return self.models_dir if self.models_dir is not None else default_models_dir()


@dataclass(frozen=True)
class DetectorConfig(_Checked):
    """The plate detector (platedet YOLOv8s-seg; the mask branch is cut off at load time)."""

    model_file: str = _f("platedet.onnx", "detector file name inside the models folder")
    model_sha256: str = _f(
        "aeeee6e8e7f756d3e9a94cb409fc767825671ab2b81b8bf36c03eb228d848a93", "expected SHA-256 of the detector"
    )
    input_long_side: int = _f(
        512, "long side of the downscaled copy the detector sees (padded up to a multiple of 32)", 128, 1280
    )
    retry_long_side: int = _f(
        960,
        "when the first look finds no plate, look once more at this long side (far plates, small images); 0: never",
        0,
        2048,
    )
    retry_max_upscale: float = _f(
        4.0,
        "the retry never enlarges the image more than this; when it could not look larger than the first look, "
        "it is skipped (a tiny picture holds no readable plate)",
        1.0,
        100.0,
    )
    closeup_fraction: float = _f(
        0.4, "a box wider than this fraction of the image's long side is a close-up and is looked at again", 0.0, 1.0
    )
    closeup_long_side: int = _f(
        320, "long side of the second look at a close-up (the surer box of the two looks is kept); 0: never", 0, 2048
    )
    score_threshold: float = _f(0.25, "minimum plate score kept", 1e-4, 0.9999)
    nms_iou: float = _f(0.45, "IoU above which overlapping boxes are merged by NMS", 0.0, 1.0)
    max_plates: int = _f(20, "most plates returned per image", 1, 1000)
    min_box_side_px: float = _f(4.0, "boxes thinner than this (full-resolution pixels) are dropped", 0.0, 1e4)
    crop_padding: float = _f(0.08, "crop padding, as a fraction of box width and height on each side", 0.0, 1.0)
    letterbox_value: int = _f(114, "grey level of the letterbox border (as in training)", 0, 255)


@dataclass(frozen=True)
class OcrConfig(_Checked):
    """The text recognizer: PP-OCRv6 small text detection and recognition (rapidocr models)."""

    rec_model_file: str = _f("PP-OCRv6_rec_small.onnx", "recognition model file in the rapidocr wheel")
    rec_model_sha256: str = _f(
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        "expected SHA-256 of the rec model",
    )
    det_model_file: str = _f("PP-OCRv6_det_small.onnx", "text detection model file in the rapidocr wheel")
    det_model_sha256: str = _f(
        "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
        "expected SHA-256 of the det model",
    )
    crop_long_side: int = _f(320, "plate crops are resized to this long side before text detection", 64, 2048)
    det_limit_side_len: int = _f(320, "text detection input limit (long side)", 32, 2048)
    det_thresh: float = _f(0.3, "text detection binarization threshold", 0.0, 1.0)
    det_box_thresh: float = _f(0.5, "text detection minimum box score", 0.0, 1.0)
    det_unclip_ratio: float = _f(1.4, "text detection box expansion", 1.0, 4.0)
    det_max_candidates: int = _f(50, "most text boxes per crop", 1, 1000)
    row_overlap: float = _f(0.5, "vertical overlap (of the smaller box) for text pieces to share a row", 0.0, 1.0)
    row_min_height_ratio: float = _f(0.6, "pieces lower than this fraction of the tallest are not the plate row", 0, 1)
    piece_gap: float = _f(0.25, "gap between same-row pieces joined for recognition, fraction of line height", 0, 2)
    line_pad_y: float = _f(0.0, "vertical padding around the chosen text line, fraction of its height", 0.0, 1.0)
    line_pad_x: float = _f(0.0, "horizontal padding around the chosen text line, fraction of its height", 0.0, 2.0)
    rec_height: int = _f(48, "recognizer input height (fixed by the model)", 16, 128)
    rec_max_width: int = _f(640, "widest recognizer input", 48, 4096)
    rec_stretch: float = _f(
        1.0, "horizontal stretch of the plate line before recognition (plate glyphs are narrow)", 0.5, 4.0
    )
    region_lines: int = _f(2, "how many other text lines (tallest first) are read to find the region name", 0, 20)
    region_min_crop_height: int = _f(
        100, "crops lower than this (original pixels) are too small to read a state name on", 0, 10000
    )
    region_min_aspect: float = _f(2.5, "other lines narrower than this width/height ratio are not read", 0.0, 50.0)
    full_crop_fallback: bool = _f(True, "read the whole crop when text detection finds nothing")
    region_min_similarity: float = _f(0.75, "fuzzy-match score for a text line to name a state/region", 0.0, 1.0)


@dataclass(frozen=True)
class PlateOcrConfig(_Checked):
    """platekeeper's own plate recognizer (``make train-ocr``), shipped in the package with its checksum."""

    model_file: str = _f(
        "plate-ocr-int8.onnx",
        "model file in platekeeper/recognition/weights: plate-ocr-int8.onnx, the trained network with its wide "
        "convolutions in int8, or plate-ocr.onnx, the same network all in float (slower, reads the same plates)",
    )
    model_sha256: str = _f("", "expected SHA-256 of the model file; empty: the one recorded in weights/SHA256SUMS")
    input_width: int = _f(160, "network input width when the model does not record one (height is 48)", 32, 1024)
    calibrated: bool = _f(True, "map confidences through the calibration stored in the model")
    max_batch: int = _f(16, "most crops (of one image) read in one network run", 1, 256)
    read_region: bool = _f(
        False,
        "also read the state/country name with the general OCR's text detection (sets `region`, which the hotlist "
        "matcher uses to flag a state mismatch; adds about 40 ms per plate)",
    )
    vote_below: float = _f(
        0.8,
        "when the best candidate's calibrated confidence is below this, the general OCR (rapidocr) reads the crop "
        "too and the two vote on the text (about 50 ms more for those plates); 0 turns this rule off",
        0.0,
        1.0,
    )
    vote_runner_up: float = _f(
        0.5,
        "also vote when the runner-up candidate's confidence is at least this share of the best's (the network "
        "is torn between two texts, often confusable twins, however sure it is of each); 0 turns this off",
        0.0,
        1.0,
    )
    vote_floor: float = _f(
        0.05, "in a vote, the confidence a text gets from a recognizer that did not list it", 1e-6, 1.0
    )


RECOGNIZERS = ("plate", "rapidocr")


@dataclass(frozen=True)
class PlateRulesConfig(_Checked):
    """Plate post-processing: formats, confusable characters and candidate ranking."""

    us_patterns_path: Path | None = field(
        default=None, metadata=_doc("optional extra US patterns file (`state<TAB>pattern`, @ letter # digit)")
    )
    regions: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "where the cameras are: only formats of these regions count (codes or prefixes: `us`, `us-ca`, `eu`, "
            "`eu-sk`, `br`); empty: every known format, which lets a foreign format lure a reading"
        ),
    )
    min_chars: int = _f(2, "shortest plate text", 1, 20)
    max_chars: int = _f(10, "longest plate text", 1, 20)
    top_k: int = _f(5, "candidates returned per plate", 1, 50)
    format_bonus: float = _f(0.5, "log-score bonus for a reading that fits a European or Brazilian format", 0, 20)
    us_format_bonus: float = _f(
        0.5,
        "log-score bonus for a reading that fits a US format (US tables are incomplete: vanity plates)",
        0,
        20,
    )
    region_format_bonus: float = _f(0.5, "extra bonus when the format belongs to the detected region", 0.0, 20.0)
    length_change_penalty: float = _f(2.0, "log-score cost per character added or dropped vs the free reading", 0, 50)
    confusable_weight: float = _f(0.5, "share of a glyph's probability that counts for its confusable twin", 0, 1)
    max_confusable_flips: int = _f(6, "most ambiguous positions whose confusable twin is tried", 0, 12)
    length_slack: int = _f(1, "formats up to this many characters longer/shorter than the raw reading are tried", 0, 5)
    min_char_logprob: float = _f(-12.0, "floor for per-frame log-probabilities", -100.0, 0.0)
    min_confidence: float = _f(0.05, "plates whose best candidate is below this are dropped", 0.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.regions, str):  # one code given where a list was meant
            object.__setattr__(self, "regions", (self.regions,))
        object.__setattr__(self, "regions", tuple(r.strip().lower() for r in self.regions))
        if self.regions:  # every dataclasses.replace re-runs this: the format tables only when there is a code
            from .formats import builtin_formats, restrict_formats

            restrict_formats(builtin_formats(), self.regions)  # raises for a code that names no known region


@dataclass(frozen=True)
class ImageLimitsConfig(_Checked):
    """Input guards, applied before any pixel is decoded."""

    max_pixels: int = _f(80_000_000, "largest accepted width*height (decompression-bomb guard)", 1, 10**10)
    max_file_bytes: int = _f(200 * 1024 * 1024, "largest accepted file size", 1, 10**11)


@dataclass(frozen=True)
class RecognitionConfig(_Checked):
    """The whole recognition engine configuration."""

    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    recognizer: str = _f(
        "plate",
        "which recognizer reads crops: `plate` (platekeeper's plate-trained network) or `rapidocr` "
        "(general PP-OCRv6 text detection + recognition, slower; reads state names for the region)",
    )
    plate_ocr: PlateOcrConfig = field(default_factory=PlateOcrConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    plates: PlateRulesConfig = field(default_factory=PlateRulesConfig)
    images: ImageLimitsConfig = field(default_factory=ImageLimitsConfig)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.recognizer not in RECOGNIZERS:
            raise ValueError(
                f"RecognitionConfig.recognizer={self.recognizer!r} must be one of {', '.join(RECOGNIZERS)}"
            )
