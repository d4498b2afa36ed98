"""Training the plate recognizer: the synthetic generator, the data split, and one tiny run end to end."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from platekeeper.recognition.ctc import ALPHABET
from platekeeper.recognition.models import WEIGHTS_DIR
from platekeeper.training.data import augment_real, is_validation_plate, load_crops, split_counts
from platekeeper.training.report import fit_platt, record_sha256, reliability_table
from platekeeper.training.synth import STYLE_WEIGHTS, PlateSynth, available_fonts, load_us_patterns


@pytest.fixture(scope="module")
def templates(data_dir: Path) -> Path:
    return data_dir / "us-plate-templates"


def test_fonts_from_debian_are_installed() -> None:
    assert available_fonts(), "make train-deps installs the free plate fonts"


def test_generator_is_deterministic_with_a_seed(templates: Path) -> None:
    first, again = PlateSynth(templates, seed=7).batch(12), PlateSynth(templates, seed=7).batch(12)
    other = PlateSynth(templates, seed=8).batch(12)
    assert [p.text for p in first] == [p.text for p in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert [p.text for p in first] != [p.text for p in other]


def test_generator_labels_styles_and_images(templates: Path) -> None:
    plates = PlateSynth(templates, seed=3).batch(200)
    assert {p.style for p in plates} == set(STYLE_WEIGHTS)
    for plate in plates:
        assert plate.text and set(plate.text) <= set(ALPHABET), plate.text
        assert plate.image.dtype == np.uint8 and plate.image.ndim == 3 and plate.image.shape[2] == 3
        assert min(plate.image.shape[:2]) >= 8
    us = [p for p in plates if p.style == "us"]
    assert len(us) > 80


def test_generator_needs_fonts_and_templates(tmp_path: Path, templates: Path) -> None:
    with pytest.raises(FileNotFoundError, match="fonts"):
        PlateSynth(templates, seed=1, fonts=[])
    (tmp_path / "us.patterns").write_text("base\t@@@###\n")
    with pytest.raises(FileNotFoundError, match="templates"):
        PlateSynth(tmp_path, seed=1)


def test_us_patterns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "us.patterns"
    path.write_text("ca\t\t#@@@###\nca\t#####@#\nbad line here\nny @@@####\n")
    assert load_us_patterns(path) == {"ca": ["#@@@###", "#####@#"], "ny": ["@@@####"]}


def test_split_is_by_plate_string_and_stable(data_dir: Path) -> None:
    rows = load_crops(data_dir / "crops" / "us")
    train = {r.plate for r in rows if not is_validation_plate(r.plate)}
    val = {r.plate for r in rows if is_validation_plate(r.plate)}
    assert train and val and not train & val
    counts = split_counts(rows)
    assert counts["val_files"] + counts["train_files"] == len(rows)
    assert 0.1 < counts["val_plates"] / (counts["val_plates"] + counts["train_plates"]) < 0.3
    assert is_validation_plate("7AB-c123") == is_validation_plate("7ABC123")


def test_real_augmentation_keeps_an_image(data_dir: Path) -> None:
    import cv2

    image = cv2.imread(str(data_dir / "crops" / "us" / "ak1165.jpg"))
    rng = np.random.default_rng(0)
    for _ in range(30):
        out = augment_real(image, rng)
        assert out.dtype == np.uint8 and out.ndim == 3 and min(out.shape[:2]) >= 4


def test_platt_fit_recovers_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.5, 1.0, 4000)
    correct = (rng.random(4000) < (confidences - 0.3)).astype(float)  # right 30 points less often than it says
    fit = fit_platt(confidences, correct)
    from platekeeper.recognition.plate_ocr import Calibration

    calibrated = [Calibration(fit["a"], fit["b"])(c) for c in confidences]
    rows = reliability_table(calibrated, [bool(c) for c in correct])
    for _, count, mean_confidence, accuracy in rows:
        if count > 200:
            assert abs(mean_confidence - accuracy) < 0.08


def _small_copy(data_dir: Path, folder: Path) -> Path:
    """The first 40 crops of crops/us and crops/br, and the US templates, under ``folder``."""
    small = folder / "data"
    for name in ("us", "br"):
        crops = small / "crops" / name
        crops.mkdir(parents=True)
        rows = list(csv.DictReader((data_dir / "crops" / name / "labels.csv").open()))[:40]
        with (crops / "labels.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["file", "state", "plate"])
            writer.writeheader()
            for row in rows:
                (crops / row["file"]).symlink_to(data_dir / "crops" / name / row["file"])
                writer.writerow(row)
    (small / "us-plate-templates").symlink_to(data_dir / "us-plate-templates")
    return small


@pytest.mark.slow
def test_one_tiny_training_run_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    """Convert, train a few steps, export, calibrate and write the model and cards, on a small copy of the data."""
    from platekeeper.training import train_ocr

    small = _small_copy(data_dir, tmp_path)
    out, docs = tmp_path / "weights" / "plate-ocr.onnx", tmp_path / "docs"
    argv = ["--data", str(small), "--out", str(out), "--docs", str(docs), "--steps", "3", "--minutes", "5"]
    argv += ["--synth-train", "40", "--synth-val", "20", "--eval-every", "2", "--batch", "8"]
    argv += ["--keep", "0.5", "--student-steps", "2", "--weights", "int8", "--int8-steps", "2"]
    assert train_ocr.main(argv) == 0
    model = out.read_bytes()
    assert (out.parent / "SHA256SUMS").read_text().split()[0] == hashlib.sha256(model).hexdigest()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    probs = session.run(None, {"x": np.zeros((2, 3, 48, 160), np.float32)})[0]
    assert probs.shape == (2, 20, len(ALPHABET) + 1)
    assert np.allclose(probs.sum(axis=2), 1.0, atol=1e-3)
    assert {"calibration", "input_width"} <= set(session.get_modelmeta().custom_metadata_map)
    curve = list(csv.DictReader((docs / "plate-ocr-training.csv").open()))
    assert [(r["stage"], int(float(r["step"]))) for r in curve] == [
        ("whole", 0),
        ("whole", 2),
        ("whole", 3),
        ("narrowed", 0),
        ("narrowed", 2),
        ("int8", 0),
        ("int8", 2),
    ]
    card = (docs / "plate-ocr-model-card.md").read_text()
    assert hashlib.sha256(model).hexdigest() in card and "Reliability" in card
    assert "train_ocr --minutes 5.0 --steps 3 --batch 8 --synth-train 40 --synth-val 20 --eval-every 2" in card
    assert "keeps the 50% of its hidden channels" in card
    assert "stage 1, the whole network: 3 steps in" in card and "stage 2, narrowing" in card
    assert "stage 3, int8 rounding simulated in the 42 convolutions: 2 steps in" in card
    assert "int8 in the convolutions (onnxruntime QDQ" in card
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["hidden_keep"] == "0.5" and meta["weights"] == "int8"
    assert "crops/us" in (docs / "plate-ocr-data-card.md").read_text()


def test_a_model_s_checksum_line_is_set_and_the_others_kept(tmp_path: Path) -> None:
    sums = tmp_path / "SHA256SUMS"
    record_sha256(sums, "plate-ocr.onnx", "a" * 64)
    record_sha256(sums, "plate-ocr-int8.onnx", "b" * 64)
    record_sha256(sums, "plate-ocr.onnx", "c" * 64)
    assert sums.read_text() == f"{'b' * 64}  plate-ocr-int8.onnx\n{'c' * 64}  plate-ocr.onnx\n"


@pytest.mark.slow
def test_the_int8_network_is_the_float_one_rounded(data_dir: Path, tmp_path: Path) -> None:
    """``make train-ocr``'s second command: the committed float network with its wide pointwise convolutions
    rounded to int8, not trained again (one evaluation, at step 0), keeping the teacher's calibration; its line
    in SHA256SUMS beside the float network's, its model card and curve named after it."""
    from platekeeper.training import train_ocr

    small = _small_copy(data_dir, tmp_path)
    out, docs = tmp_path / "weights" / "plate-ocr-int8.onnx", tmp_path / "docs"
    out.parent.mkdir()
    (out.parent / "SHA256SUMS").write_text(f"{'a' * 64}  plate-ocr.onnx\n")
    argv = ["--data", str(small), "--out", str(out), "--docs", str(docs), "--synth-train", "40", "--synth-val", "20"]
    argv += ["--teacher", str(WEIGHTS_DIR / "plate-ocr.onnx"), "--weights", "int8", "--int8-steps", "0"]
    assert train_ocr.main([*argv, "--int8-min-channels", "384"]) == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert (out.parent / "SHA256SUMS").read_text() == f"{digest}  plate-ocr-int8.onnx\n{'a' * 64}  plate-ocr.onnx\n"
    meta = ort.InferenceSession(out.read_bytes(), providers=["CPUExecutionProvider"]).get_modelmeta()
    teacher = ort.InferenceSession(str(WEIGHTS_DIR / "plate-ocr.onnx"), providers=["CPUExecutionProvider"])
    assert meta.custom_metadata_map["weights"] == "int8" and meta.custom_metadata_map["int8_min_channels"] == "384"
    assert meta.custom_metadata_map["calibration"] == teacher.get_modelmeta().custom_metadata_map["calibration"]
    curve = list(csv.DictReader((docs / "plate-ocr-int8-training.csv").open()))
    assert [(r["stage"], int(float(r["step"]))) for r in curve] == [("int8", 0)]
    card = (docs / "plate-ocr-int8-model-card.md").read_text()
    assert card.startswith("# Model card: platekeeper plate recognizer (`plate-ocr-int8.onnx`)") and digest in card
    assert "int8 rounding of the 20 convolutions with 384 or more channels, not trained again" in card
    assert "the teacher's Platt scaling" in card and "made from `plate-ocr.onnx`" in card
    assert sorted(p.name for p in docs.iterdir()) == [
        "plate-ocr-data-card.md",
        "plate-ocr-int8-model-card.md",
        "plate-ocr-int8-training.csv",
    ]
