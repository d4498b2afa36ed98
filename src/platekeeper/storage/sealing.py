"""Sealed files: AES-256-GCM under the key ring, bound to the file's name. Every file holding plate data uses these.

Format: ``PKSEAL`` (6 bytes), version (1 byte, 1), key id (4 bytes: the 8 hex digits of the key's id), a random
12-byte nonce, then the AES-256-GCM ciphertext and its 16-byte tag. The associated data is the 11-byte header
(magic, version, key id) followed by the file's name (an image's plaintext SHA-256), so a file copied over another's
name, or with its header edited, is refused instead of read as the wrong content. Bytes that do not start with the
magic are a file written before encryption, read as they are (no accepted image format starts with ``PKSEAL``).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from platekeeper.storage.keys import KeyRing

__all__ = [
    "HEADER_BYTES",
    "MAGIC",
    "TEMP_PREFIX",
    "SealedFileError",
    "open_sealed",
    "read_sealed_file",
    "seal",
    "sealed_key_id",
    "write_file_atomic",
    "write_sealed_file",
]

MAGIC = b"PKSEAL"
TEMP_PREFIX = ".incoming-"  # a file being written by write_file_atomic; a leftover one is a write that was cut off
VERSION = 1
TAG_BYTES = 16  # AES-GCM's authentication tag, at the end of the ciphertext
NONCE_BYTES = 12
ID_BYTES = 4
HEADER_BYTES = len(MAGIC) + 1 + ID_BYTES + NONCE_BYTES  # what sealed_key_id needs to see


class SealedFileError(ValueError):
    """A sealed file cannot be opened: unknown key, unknown version, or altered or swapped bytes."""


def seal(ring: KeyRing, plaintext: bytes, name: str) -> bytes:
    """The sealed form of ``plaintext`` under the ring's current key, bound to ``name``."""
    key = ring.current()
    header = MAGIC + bytes([VERSION]) + bytes.fromhex(key.id)
    nonce = secrets.token_bytes(NONCE_BYTES)
    return header + nonce + AESGCM(key.secret).encrypt(nonce, plaintext, header + name.encode())


def sealed_key_id(data: bytes) -> str | None:
    """The id of the key a file is sealed under (from its first bytes), or None for a plain file."""
    if not data.startswith(MAGIC):
        return None
    if len(data) < len(MAGIC) + 1 + ID_BYTES:
        raise SealedFileError("sealed file is truncated inside its header")
    return data[len(MAGIC) + 1 : len(MAGIC) + 1 + ID_BYTES].hex()


def open_sealed(ring: KeyRing, data: bytes, name: str) -> bytes:
    """The plaintext of a file named ``name``: opened under the key its header names, or as is when plain."""
    key_id = sealed_key_id(data)
    if key_id is None:
        return data
    version = data[len(MAGIC)]
    if version != VERSION:
        raise SealedFileError(f"{name}: sealed with format version {version}; this platekeeper reads {VERSION}")
    key = ring.find(key_id)
    if key is None:
        raise SealedFileError(
            f"{name}: sealed under key {key_id}, which is not in the key ring ({ring.path} or the environment)"
        )
    split = len(MAGIC) + 1 + ID_BYTES
    if len(data) < split + NONCE_BYTES + TAG_BYTES:
        raise SealedFileError(f"{name}: sealed file is truncated (shorter than its header, nonce and tag)")
    header, nonce, body = data[:split], data[split : split + NONCE_BYTES], data[split + NONCE_BYTES :]
    try:
        return AESGCM(key.secret).decrypt(nonce, body, header + name.encode())
    except InvalidTag:
        raise SealedFileError(
            f"{name}: does not open under key {key_id} with this name: the file was altered or is another file's"
        ) from None


def write_file_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` whole: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sealed_file(ring: KeyRing, path: Path, plaintext: bytes, name: str) -> None:
    """Seal ``plaintext`` under the current key, bound to ``name``, and write it atomically to ``path``."""
    write_file_atomic(path, seal(ring, plaintext, name))


def read_sealed_file(ring: KeyRing, path: Path, name: str) -> bytes:
    """The plaintext of the file at ``path`` (sealed or plain); FileNotFoundError when it is missing."""
    return open_sealed(ring, path.read_bytes(), name)
