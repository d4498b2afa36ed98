"""Model provisioning: idempotent, checksum-verified, clear failure."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from platekeeper.recognition.config import DetectorConfig, default_models_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "provision_models.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = tmp_path / "platedet-0.0.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("platedet/artifacts/platedet.onnx", b"not the model")
    models = tmp_path / "models"
    result = run_script("--models-dir", str(models), "--wheel", str(wheel))
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr
    assert not (models / "platedet.onnx").exists()
    assert list(models.iterdir()) == []


def test_provisioned_models_are_verified_idempotently(models_ready: None) -> None:
    result = run_script("--models-dir", str(default_models_dir()))
    assert result.returncode == 0, result.stderr
    assert "already provisioned" in result.stdout
    assert "PP-OCRv6_rec_small.onnx" in result.stdout
    for network in ("plate-ocr-int8.onnx", "plate-ocr.onnx"):  # the committed plate networks, both checked
        assert f"verified {REPO_ROOT / 'src' / 'platekeeper' / 'recognition' / 'weights' / network}" in result.stdout


def test_checksums_file_matches_config() -> None:
    sums = (REPO_ROOT / "models" / "SHA256SUMS").read_text().split()
    assert sums[sums.index("platedet.onnx") - 1] == DetectorConfig().model_sha256
