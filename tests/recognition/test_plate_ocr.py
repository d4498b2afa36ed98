"""platekeeper's own plate recognizer: the committed model, its checksum, real crops, calibration, selection."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from platekeeper.recognition import PlateCandidate, PlatePipeline, PlateText, plate_equal, read_image
from platekeeper.recognition.config import PlateOcrConfig, RecognitionConfig
from platekeeper.recognition.models import WEIGHTS_DIR, ModelError, recorded_sha256
from platekeeper.recognition.pipeline import crop_box, make_recognizer
from platekeeper.recognition.plate_ocr import Calibration, PlateOcrRecognizer, plate_input, vote
from platekeeper.training.data import is_validation_plate, load_crops

MODEL = WEIGHTS_DIR / "plate-ocr-int8.onnx"  # the network the recognizer reads with
FLOAT = WEIGHTS_DIR / "plate-ocr.onnx"  # the trained float network it was rounded from


@pytest.fixture(scope="module")
def recognizer() -> PlateOcrRecognizer:
    return PlateOcrRecognizer()


@pytest.mark.parametrize("model", [MODEL, FLOAT], ids=["int8", "float"])
def test_committed_models_match_their_recorded_checksums(model: Path) -> None:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert digest == recorded_sha256(model.name)
    card = (Path(__file__).resolve().parents[2] / "docs" / f"{model.stem}-model-card.md").read_text()
    assert digest in card


def test_the_two_networks_fit_in_12_mb() -> None:
    assert MODEL.stat().st_size + FLOAT.stat().st_size <= 12 * 1024 * 1024


def test_a_changed_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="does not match"):
        PlateOcrRecognizer(PlateOcrConfig(model_sha256="0" * 64))
    bad = tmp_path / "weights"
    bad.mkdir()
    shutil.copy(MODEL, bad / MODEL.name)
    with (bad / MODEL.name).open("ab") as handle:
        handle.write(b"\0")
    (bad / "SHA256SUMS").write_text((WEIGHTS_DIR / "SHA256SUMS").read_text())
    monkeypatch.setattr("platekeeper.recognition.models.WEIGHTS_DIR", bad)
    with pytest.raises(ModelError, match="git checkout"):
        PlateOcrRecognizer()


def test_the_int8_network_reads_as_the_float_one_with_its_calibration(
    recognizer: PlateOcrRecognizer, data_dir: Path
) -> None:
    """The default network is the float one with its wide convolutions rounded to int8; it keeps the float
    network's calibration, and on real validation crops it reads the same texts at close confidences."""
    full = PlateOcrRecognizer(PlateOcrConfig(model_file="plate-ocr.onnx"))
    assert recognizer._session.get_modelmeta().custom_metadata_map["weights"] == "int8"
    assert full._session.get_modelmeta().custom_metadata_map.get("weights") != "int8"
    assert (recognizer.calibration.a, recognizer.calibration.b) == (full.calibration.a, full.calibration.b)
    rows = [r for r in load_crops(data_dir / "crops" / "us") if is_validation_plate(r.plate)][:30]
    gaps = []
    for row in rows:
        crop = read_image(row.path)
        ours, theirs = recognizer.recognize(crop), full.recognize(crop)
        assert ours is not None and theirs is not None and ours.text == theirs.text, row.path
        gaps.append(abs(ours.confidence - theirs.confidence))
    # the rounding moves a confidence by a few thousandths, and a rare hard crop by about a tenth
    assert sum(gaps) / len(gaps) < 0.02 and max(gaps) < 0.2, sorted(gaps)[-3:]


def test_validation_crops_are_read(recognizer: PlateOcrRecognizer, data_dir: Path) -> None:
    """The first 20 crops/us validation plates (never trained on), in file order: not hand-picked."""
    rows = [r for r in load_crops(data_dir / "crops" / "us") if is_validation_plate(r.plate)][:20]
    read = [recognizer.recognize(read_image(r.path)) for r in rows]
    right = [
        p is not None and plate_equal(p.text, r.plate, o_equals_zero=True) for p, r in zip(read, rows, strict=True)
    ]
    assert sum(right) >= 18, [(r.plate, p and p.text) for p, r in zip(read, rows, strict=True)]


def test_a_batch_reads_as_one_crop_at_a_time(data_dir: Path) -> None:
    """Crops of one frame share network runs (two here, max_batch 2); each reads as it does alone."""
    rows = [r for r in load_crops(data_dir / "crops" / "us") if is_validation_plate(r.plate)][:3]
    crops = [read_image(r.path) for r in rows]
    crops.insert(1, np.zeros((0, 0, 3), np.uint8))
    recognizer = PlateOcrRecognizer(PlateOcrConfig(max_batch=2, vote_below=0.0, vote_runner_up=0.0))
    batch = recognizer.recognize_many(crops)
    alone = [recognizer.recognize(c) for c in crops]
    assert batch[1] is None and alone[1] is None
    for together, single in zip(batch, alone, strict=True):
        if single is not None:
            assert together is not None and together.text == single.text
            assert together.confidence == pytest.approx(single.confidence, abs=1e-4)
    assert recognizer.recognize_many([]) == []


def test_candidates_are_ranked_and_calibrated(recognizer: PlateOcrRecognizer, data_dir: Path) -> None:
    plate = recognizer.recognize(read_image(data_dir / "crops" / "us" / "ak1165.jpg"))
    assert plate is not None and plate.text == "FUW999"
    confidences = [c.confidence for c in plate.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert 0.0 < confidences[0] <= 1.0 and plate.confidence == confidences[0]
    assert plate.region is None  # this recognizer reads the number only


def test_blank_and_degenerate_crops(recognizer: PlateOcrRecognizer) -> None:
    assert recognizer.recognize(np.zeros((0, 0, 3), np.uint8)) is None
    assert recognizer.recognize(np.zeros((1, 40, 3), np.uint8)) is None
    flat = np.full((60, 120, 3), 128, np.uint8)
    plate = recognizer.recognize(flat)
    assert plate is None or plate.confidence < 0.5


def test_input_is_48_high_bgr_normalized() -> None:
    gray = np.full((30, 90), 255, np.uint8)
    x = plate_input(gray, 160)
    assert x.shape == (3, 48, 160) and x.dtype == np.float32
    assert np.allclose(x, 1.0)


def test_calibration_is_monotone_and_identity_by_default() -> None:
    identity, fitted = Calibration(), Calibration(1.7, -0.4)
    assert identity(0.73) == pytest.approx(0.73)
    values = [fitted(c) for c in np.linspace(0.01, 0.99, 50)]
    assert values == sorted(values)
    assert Calibration.from_json('{"a": 2, "b": 0.5}')(0.5) == pytest.approx(1 / (1 + np.exp(-0.5)))


def test_recognizer_is_selected_by_config() -> None:
    assert isinstance(make_recognizer(RecognitionConfig()), PlateOcrRecognizer)
    with pytest.raises(ValueError, match="recognizer"):
        RecognitionConfig(recognizer="tesseract")


def test_pipeline_uses_the_plate_recognizer_end_to_end(data_dir: Path, models_ready: None) -> None:
    pipeline = PlatePipeline()
    reads = pipeline.read(read_image(data_dir / "scenes" / "br" / "AYO9034.jpg"))
    assert any(plate_equal(r.text, "AYO9034", True) for r in reads), [r.text for r in reads]


def test_region_is_read_only_when_asked(data_dir: Path) -> None:
    crop = read_image(data_dir / "crops" / "us" / "ak1165.jpg")
    plate = PlateOcrRecognizer(PlateOcrConfig(read_region=True)).recognize(crop)
    assert plate is not None and plate.text == "FUW999" and plate.region == "us-ak"


def _text(*candidates: tuple[str, float], region: str | None = None) -> PlateText:
    cands = tuple(PlateCandidate(t, c) for t, c in candidates)
    return PlateText(cands[0].text, cands[0].confidence, cands[0].text, region, cands)


def test_vote_prefers_a_reading_both_recognizers_find_plausible() -> None:
    # The plate network says Q (0.63) or O (0.46); the general OCR says O (0.37) and never Q.
    ours = _text(("QDJ1599", 0.63), ("ODJ1599", 0.46), ("0DJ1599", 0.16))
    theirs = _text(("ODJ1599", 0.37), ("0DJ1599", 0.17), ("ODJI599", 0.17), region="br")
    voted = vote(ours, theirs, floor=0.05, top_k=5)
    assert voted.text == "ODJ1599" and voted.raw == "QDJ1599" and voted.region == "br"
    confidences = [c.confidence for c in voted.candidates]
    assert confidences == sorted(confidences, reverse=True) and 0 < sum(confidences) <= 1.0 + 1e-9
    assert {"QDJ1599", "ODJ1599", "0DJ1599", "ODJI599"} == {c.text for c in voted.candidates}
    assert len(vote(ours, theirs, floor=0.05, top_k=2).candidates) == 2


def test_vote_keeps_the_first_order_on_ties_and_without_a_second_opinion() -> None:
    ours = _text(("RK099AN", 0.5), ("RKO99AN", 0.5))
    assert vote(ours, None, 0.05, 5) is ours
    assert vote(ours, _text(("ZZZ", 0.0)), 0.05, 5).text == "RK099AN"  # says nothing useful: order kept
    assert vote(ours, _text(("RKO99AN", 0.9)), 0.05, 5).text == "RKO99AN"


def test_low_confidence_read_is_put_to_a_vote(data_dir: Path, pipeline: PlatePipeline) -> None:
    # A worn Brazilian grey plate: alone, the plate network reads the leading O as Q with low confidence.
    image = read_image(data_dir / "scenes" / "br" / "ODJ1599.jpg")
    (box,) = pipeline.detector.detect(image)
    crop = crop_box(image, box, pipeline.config.detector.crop_padding)
    alone = PlateOcrRecognizer(PlateOcrConfig(vote_below=0.0, vote_runner_up=0.0)).recognize(crop)
    assert alone is not None and alone.confidence < PlateOcrConfig().vote_below
    assert alone.text != "ODJ1599"
    voted = pipeline.recognizer.recognize(crop)
    assert voted is not None and voted.text == "ODJ1599"


def test_a_close_runner_up_is_put_to_a_vote(data_dir: Path, pipeline: PlatePipeline) -> None:
    # With only Brazilian formats, the network is confident in Q for the worn O (above vote_below), but the
    # right reading is a close second: the runner-up rule sends it to the vote all the same.
    image = read_image(data_dir / "scenes" / "br" / "ODJ1599.jpg")
    (box,) = pipeline.detector.detect(image)
    crop = crop_box(image, box, pipeline.config.detector.crop_padding)
    # The float network is sure enough of Q here for the runner-up rule alone to call the vote (the int8 one is
    # less sure of it, and the low-confidence rule calls it).
    rules = replace(RecognitionConfig().plates, regions=("br",))
    config = PlateOcrConfig(model_file="plate-ocr.onnx")
    alone = PlateOcrRecognizer(replace(config, vote_runner_up=0.0), rules).recognize(crop)
    assert alone is not None and alone.text == "QDJ1599" and alone.confidence >= PlateOcrConfig().vote_below
    assert alone.candidates[1].text == "ODJ1599"
    assert alone.candidates[1].confidence >= PlateOcrConfig().vote_runner_up * alone.confidence
    recognizer = PlateOcrRecognizer(config, rules)
    assert recognizer.unsure(alone)
    voted = recognizer.recognize(crop)
    assert voted is not None and voted.text == "ODJ1599"


def test_the_vote_rules() -> None:
    recognizer = PlateOcrRecognizer(PlateOcrConfig(vote_below=0.0, vote_runner_up=0.0))
    assert recognizer._general is None  # never votes, so the general OCR is not even loaded
    sure, torn, doubtful = (
        _text(("ABC123", 0.95), ("A8C123", 0.2)),
        _text(("ABC123", 0.9), ("A8C123", 0.6)),
        _text(("ABC123", 0.5)),
    )
    rules = PlateOcrRecognizer(PlateOcrConfig(vote_below=0.8, vote_runner_up=0.5))
    assert [rules.unsure(p) for p in (sure, torn, doubtful)] == [False, True, True]
    only_low = PlateOcrRecognizer(PlateOcrConfig(vote_below=0.8, vote_runner_up=0.0))
    assert [only_low.unsure(p) for p in (sure, torn, doubtful)] == [False, False, True]
