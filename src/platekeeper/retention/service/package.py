"""Signed packages: a set of files with ``manifest.json`` (each file's SHA-256 and size, signed with the
installation's Ed25519 key), written as a ZIP or as a folder at a mount point, and checked by :func:`verify_package`.

Evidence packages (462.9) and sharing fulfilments (462.7) are both written here, so a recipient, a court or an
auditor checks either with the same ``platekeeper evidence verify``.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from platekeeper.audit.signing import InstallationKey
from platekeeper.retention.service.signed import sign_document, verify_document

__all__ = [
    "EVIDENCE_MANIFEST",
    "MANIFEST",
    "MANIFEST_TYPES",
    "SHARING_MANIFEST",
    "PackageInvalid",
    "WrittenPackage",
    "verify_package",
    "write_package",
]

MANIFEST = "manifest.json"
EVIDENCE_MANIFEST = "platekeeper.evidence-manifest/1"
SHARING_MANIFEST = "platekeeper.sharing-manifest/1"
MANIFEST_TYPES = (EVIDENCE_MANIFEST, SHARING_MANIFEST)


class PackageInvalid(ValueError):
    """The package cannot be read at all (no manifest, not a ZIP or folder); the message says what."""


@dataclass(frozen=True)
class WrittenPackage:
    path: Path
    files: dict[str, bytes]  # every file, the manifest included
    manifest_sha256: str


def write_package(
    destination: Path,
    name: str,
    files: dict[str, bytes],
    header: dict[str, Any],
    signer: InstallationKey,
    *,
    as_zip: bool = True,
) -> WrittenPackage:
    """Sign a manifest (``header`` plus every file's SHA-256 and size) and write the files with it under
    ``destination``: ``name.zip`` (written aside, then renamed) or the folder ``name``."""
    if header.get("type") not in MANIFEST_TYPES:
        raise ValueError(f"a package manifest's type is one of {MANIFEST_TYPES}")
    files = {**files, "signing-key.pem": signer.public_pem.encode()}
    listed = {n: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)} for n, d in sorted(files.items())}
    manifest = sign_document(signer, {**header, "files": listed})
    files[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode()
    path = _write(destination, name, files, as_zip)
    return WrittenPackage(path=path, files=files, manifest_sha256=hashlib.sha256(files[MANIFEST]).hexdigest())


def _write(destination: Path, name: str, files: dict[str, bytes], as_zip: bool) -> Path:
    destination.mkdir(parents=True, exist_ok=True, mode=0o700)
    if as_zip:
        path = destination / f"{name}.zip"
        partial = path.with_suffix(".zip.partial")
        with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in sorted(files.items()):
                archive.writestr(zipfile.ZipInfo(f"{name}/{member}", date_time=(2000, 1, 1, 0, 0, 0)), data)
        partial.replace(path)
        return path
    folder = destination / name
    for member, data in files.items():
        target = folder / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder


def _read_package(path: Path) -> dict[str, bytes]:
    """Every file of a package (a folder or a ZIP) by its name inside the package."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackageInvalid(f"{path}: neither a package folder nor a ZIP ({exc})") from None
    tops = {PurePosixPath(name).parts[0] for name in members}
    if len(tops) != 1:
        raise PackageInvalid(f"{path}: a package ZIP holds one folder")
    return {str(PurePosixPath(*PurePosixPath(name).parts[1:])): data for name, data in members.items()}


def verify_package(path: Path, public: Ed25519PublicKey) -> list[str]:
    """What is wrong with the package at ``path`` (evidence or sharing): the manifest's signature, and each file
    altered, added or removed. An empty list when every file is as signed."""
    files = _read_package(path)
    if MANIFEST not in files:
        raise PackageInvalid(f"{path}: no {MANIFEST}")
    try:
        signed = json.loads(files.pop(MANIFEST))
    except ValueError as exc:
        raise PackageInvalid(f"{MANIFEST}: not JSON ({exc})") from None
    document = signed.get("document") if isinstance(signed, dict) else None
    kind = document.get("type") if isinstance(document, dict) else None
    problems = [
        f"{MANIFEST}: {p}"
        for p in verify_document(signed, kind if kind in MANIFEST_TYPES else EVIDENCE_MANIFEST, public)
    ]
    listed = document.get("files", {}) if isinstance(document, dict) else {}
    if not isinstance(listed, dict) or not all(isinstance(entry, dict) for entry in listed.values()):
        return [*problems, f"{MANIFEST}: its file list is not a map of names to digests (it was altered)"]
    for name in sorted(set(listed) | set(files)):
        if name not in files:
            problems.append(f"{name}: removed (listed in the manifest, missing from the package)")
        elif name not in listed:
            problems.append(f"{name}: added (not in the manifest)")
        elif hashlib.sha256(files[name]).hexdigest() != listed[name].get("sha256"):
            problems.append(f"{name}: altered (its SHA-256 differs from the manifest's)")
    return problems
