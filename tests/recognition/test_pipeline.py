"""End-to-end reads on a handful of development images (needs provisioned models and ../shared/data)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition import PlateBox, PlatePipeline, plate_equal, read_image
from platekeeper.recognition.config import (
    DetectorConfig,
    RecognitionConfig,
    RuntimeConfig,
    default_models_dir,
)
from platekeeper.recognition.detector import YoloPlateDetector, _surer
from platekeeper.recognition.models import ModelError, create_session, verified_bytes
from platekeeper.recognition.pipeline import crop_box

SCENES = [("br", "AYO9034.jpg", "AYO9034"), ("br", "JGZ3298.jpg", "JGZ3298"), ("eu", "eu1.jpg", "M5XSX")]
CROPS = [("us", "ak1165.jpg", "FUW999"), ("us", "ca1993.jpg", None)]


def texts(reads: list) -> list[str]:
    return [r.text for r in reads]


@pytest.mark.parametrize(("folder", "name", "plate"), SCENES)
def test_scene_plate_is_read(pipeline: PlatePipeline, data_dir: Path, folder: str, name: str, plate: str) -> None:
    reads = pipeline.read(read_image(data_dir / "scenes" / folder / name))
    assert any(plate_equal(t, plate, o_equals_zero=True) for t in texts(reads)), texts(reads)
    assert reads == sorted(reads, key=lambda r: -r.confidence)
    best = next(r for r in reads if plate_equal(r.text, plate, o_equals_zero=True))
    assert best.crop is not None and best.crop.size > 0
    assert best.box.x2 > best.box.x1 and best.box.y2 > best.box.y1


def test_us_crop_is_read_with_region(rapidocr_pipeline: PlatePipeline, data_dir: Path) -> None:
    reads = rapidocr_pipeline.read_crop(read_image(data_dir / "crops" / "us" / "ak1165.jpg"))
    assert texts(reads) == ["FUW999"]
    assert reads[0].region == "us-ak"
    assert reads[0].candidates[0].text == "FUW999"


def test_no_plate_gives_empty_list(pipeline: PlatePipeline) -> None:
    sky = np.tile(np.linspace(90, 200, 640, dtype=np.uint8)[:, None, None], (1, 960, 3))
    assert pipeline.read(sky) == []


def test_grayscale_tilted_and_several_plates(pipeline: PlatePipeline, data_dir: Path) -> None:
    a = read_image(data_dir / "scenes" / "br" / "AYO9034.jpg")
    b = read_image(data_dir / "scenes" / "br" / "JGZ3298.jpg")
    b = cv2.resize(b, (a.shape[1] * b.shape[0] // b.shape[0], a.shape[0]))
    both = np.hstack([a, b])
    gray = cv2.cvtColor(both, cv2.COLOR_BGR2GRAY)
    reads = pipeline.read(gray)
    found = texts(reads)
    assert any(plate_equal(t, "AYO9034", True) for t in found), found
    assert any(plate_equal(t, "JGZ3298", True) for t in found), found
    center = (a.shape[1] / 2, a.shape[0] / 2)
    tilted = cv2.warpAffine(a, cv2.getRotationMatrix2D(center, 12, 1.0), (a.shape[1], a.shape[0]))
    assert any(plate_equal(t, "AYO9034", True) for t in texts(pipeline.read(tilted)))


@pytest.mark.slow
def test_very_large_image(pipeline: PlatePipeline, data_dir: Path) -> None:
    image = read_image(data_dir / "scenes" / "br" / "JGZ3298.jpg")
    large = cv2.resize(image, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    reads = pipeline.read(large)
    assert any(plate_equal(t, "JGZ3298", True) for t in texts(reads))
    assert max(r.box.x2 for r in reads) > image.shape[1]


def test_cut_detector_matches_the_original_head(models_ready: None, data_dir: Path) -> None:
    """The fully-convolutional copy gives the original model's best box at 640x640 and runs at 640x384."""
    image = cv2.resize(read_image(data_dir / "scenes" / "br" / "AYO9034.jpg"), (640, 640))
    config = DetectorConfig(input_long_side=640)
    detector = YoloPlateDetector(config)
    best = detector.detect(image)[0]
    original = create_session(
        verified_bytes(default_models_dir() / config.model_file, config.model_sha256), RuntimeConfig()
    )
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    raw = original.run(["output0"], {"images": rgb.astype(np.float16)})[0][0].astype(np.float32)
    cx, cy, w, h, score = raw[:5, raw[4].argmax()]
    assert abs(best.score - score) < 0.01
    assert np.allclose(best.as_list(), [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], atol=2.0)
    wide = detector.detect(cv2.resize(image, (1280, 720)))
    assert wide and wide[0].width > best.width


def test_missing_model_names_the_provisioning_script(tmp_path: Path) -> None:
    config = RecognitionConfig(runtime=RuntimeConfig(models_dir=tmp_path))
    with pytest.raises(ModelError, match=r"provision_models\.py"):
        PlatePipeline(config).read(np.zeros((64, 64, 3), np.uint8))


def test_crop_keeps_its_padding_at_the_frame_edge() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, :10] = 200  # a bright column band at the left edge: the repeated margin must copy column 0
    box = PlateBox(2.0, 40.0, 102.0, 60.0, 0.9)  # 100 wide; 10 % padding wants x from -8 to 112
    crop = crop_box(image, box, 0.1)
    assert crop.shape[:2] == (24, 120)
    assert (crop[:, :8] == 200).all()  # filled from the edge column, not black
    inside = crop_box(image, PlateBox(50.0, 40.0, 150.0, 60.0, 0.9), 0.1)
    np.testing.assert_array_equal(inside, image[38:62, 40:160])  # away from the edges: a plain slice
    right = crop_box(image, PlateBox(120.0, 40.0, 199.0, 60.0, 0.9), 0.1)
    assert right.shape[1] == int(np.ceil(199.0 + 7.9)) - int(120.0 - 7.9)


def test_plate_cut_by_the_frame_edge_is_read_whole(pipeline: PlatePipeline, data_dir: Path) -> None:
    # The plate's first letter is half outside the picture; at the input's border the network dropped it.
    image = read_image(data_dir / "scenes" / "br" / "PJT2905.jpg")
    assert "PJT2905" in texts(pipeline.read(image))


def _labelled_box(data_dir: Path, folder: str, name: str) -> PlateBox:
    with (data_dir / "scenes" / folder / "labels.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["file"] == name)
    x, y, w, h = (float(row[k]) for k in "xywh")
    return PlateBox(x, y, x + w, y + h, 1.0)


def test_small_image_with_nothing_found_is_looked_at_again(pipeline: PlatePipeline, data_dir: Path) -> None:
    # A 451x329 picture: at the first look's scale the plate is too small for the network; the larger look finds it.
    image = read_image(data_dir / "scenes" / "eu" / "test_043.jpg")
    truth = _labelled_box(data_dir, "eu", "test_043.jpg")
    assert YoloPlateDetector(DetectorConfig(retry_long_side=0)).detect(image) == []
    boxes = YoloPlateDetector(DetectorConfig()).detect(image)
    assert boxes and boxes[0].iou(truth) >= 0.8
    assert "DK641AH" in texts(pipeline.read(image))


def test_close_up_plate_gets_the_surer_box(pipeline: PlatePipeline, data_dir: Path) -> None:
    # The plate fills two thirds of the picture; at the first look's scale its box ended inside the last digit.
    image = read_image(data_dir / "scenes" / "br" / "PVX0095.jpg")
    truth = _labelled_box(data_dir, "br", "PVX0095.jpg")
    once = YoloPlateDetector(DetectorConfig(closeup_long_side=0)).detect(image)
    twice = YoloPlateDetector(DetectorConfig()).detect(image)
    assert len(once) == len(twice) == 1
    assert once[0].iou(truth) < 0.8 < twice[0].iou(truth)
    assert twice[0].score > once[0].score
    assert texts(pipeline.read(image)) == ["PVX0095"]


def test_plate_box_iou() -> None:
    a = PlateBox(0.0, 0.0, 10.0, 10.0, 0.5)
    assert a.iou(a) == 1.0
    assert a.iou(PlateBox(5.0, 0.0, 15.0, 10.0, 0.5)) == pytest.approx(50 / 150)
    assert a.iou(PlateBox(20.0, 20.0, 30.0, 30.0, 0.5)) == 0.0
    assert a.iou(PlateBox(1.0, 1.0, 1.0, 1.0, 0.5)) == 0.0


def test_a_close_up_keeps_the_surer_overlapping_box() -> None:
    first = PlateBox(0.0, 0.0, 100.0, 30.0, 0.5)
    tighter = PlateBox(2.0, 0.0, 110.0, 30.0, 0.9)
    weaker = PlateBox(0.0, 0.0, 104.0, 30.0, 0.4)
    elsewhere = PlateBox(300.0, 0.0, 400.0, 30.0, 0.99)
    assert _surer(first, [weaker, tighter, elsewhere], 0.45) == tighter
    assert _surer(first, [weaker, elsewhere], 0.45) == first
    assert _surer(first, [], 0.45) == first


def test_the_retry_only_looks_larger_and_not_at_a_tiny_picture(models_ready: None) -> None:
    detector = YoloPlateDetector(DetectorConfig())
    sizes: list[int] = []
    look = detector._look
    detector._look = lambda rgb, side: sizes.append(side) or look(rgb, side)  # type: ignore[method-assign]
    assert detector.detect(np.full((300, 400, 3), 128, np.uint8)) == []
    assert sizes == [512, 960]
    sizes.clear()
    assert detector.detect(np.full((40, 60), 128, np.uint8)) == []  # 4 x 60 = 240: no larger than the first look
    assert sizes == [512]
