"""Model files: where they live, SHA-256 verification and onnxruntime sessions.

Nothing is ever downloaded here. The plate detector is provisioned into the models folder by
``python scripts/provision_models.py``; the PP-OCRv6 models ship inside the rapidocr wheel; platekeeper's own
plate recognizer is committed in ``platekeeper/recognition/weights``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnxruntime as ort

from .config import RuntimeConfig

__all__ = [
    "ModelError",
    "create_session",
    "file_sha256",
    "rapidocr_model_path",
    "read_sha256sums",
    "recorded_sha256",
    "verified_bytes",
    "weights_path",
]

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

_ORT_LOG_ERRORS_ONLY = 3
PROVISION_HINT = "run `python scripts/provision_models.py` (or `make models`) to provision it"
WEIGHTS_HINT = "it is committed in the repository: restore it with `git checkout`, or retrain with `make train-ocr`"


class ModelError(RuntimeError):
    """A model file is missing or does not match its expected checksum."""


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_bytes(path: Path, expected_sha256: str, hint: str = PROVISION_HINT) -> bytes:
    """Read a model file and check its SHA-256; raise ModelError naming the fix when missing or different."""
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; {hint}")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise ModelError(f"{path}: SHA-256 {actual} does not match expected {expected_sha256}; {hint}")
    return data


def weights_path(file_name: str) -> Path:
    """Path of a model file committed with platekeeper (``platekeeper/recognition/weights``)."""
    return WEIGHTS_DIR / file_name


def read_sha256sums(sums: Path) -> dict[str, str]:
    """File name -> SHA-256 from a ``sha256sum``-style file (``DIGEST  NAME`` lines); empty when it is absent."""
    entries: dict[str, str] = {}
    for line in sums.read_text().splitlines() if sums.is_file() else []:
        digest, _, name = line.strip().partition("  ")
        if name:
            entries[name] = digest
    return entries


def recorded_sha256(file_name: str) -> str:
    """The SHA-256 that ``weights/SHA256SUMS`` records for a committed model file."""
    sums = WEIGHTS_DIR / "SHA256SUMS"
    digest = read_sha256sums(sums).get(file_name)
    if digest is not None:
        return digest
    raise ModelError(f"{sums} records no SHA-256 for {file_name}; retrain with `make train-ocr` or restore the file")


def rapidocr_model_path(file_name: str) -> Path:
    """Path of a model file shipped inside the installed rapidocr wheel."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models" / file_name


def create_session(model: bytes, runtime: RuntimeConfig) -> ort.InferenceSession:
    """A CPU onnxruntime session with the configured thread count, built from verified model bytes."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = runtime.intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = _ORT_LOG_ERRORS_ONLY
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if runtime.allow_spinning else "0")
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
