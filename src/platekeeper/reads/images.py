"""The content-addressed image store: each image is a file named by the SHA-256 of its bytes.

Images are checked before they are kept: a known format (JPEG, PNG, WebP), within the byte and pixel limits
(the pixel check reads only the header, so a decompression bomb is refused before it is decoded), and fully
decodable (a truncated file is refused).

Files are sealed at rest (AES-256-GCM, :mod:`platekeeper.storage.sealing`) under the storage key ring, bound to
their name, and still named by the SHA-256 of the plaintext: reading gives the plaintext back, checked against its
name. Files written before encryption, or with ``storage.encrypt_images`` off, are plain and read as they are.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from platekeeper.config import IngestConfig, Settings
from platekeeper.storage.keys import KeyRing, key_ring_for
from platekeeper.storage.sealing import (
    HEADER_BYTES,
    SealedFileError,
    open_sealed,
    seal,
    sealed_key_id,
    write_file_atomic,
)

__all__ = ["ImageRejected", "ImageStore", "PixelBudget", "SealedFileError", "ValidImage", "validate_image"]

DIGEST = re.compile(r"^[0-9a-f]{64}$")

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
ACCEPTED = "JPEG, PNG or WebP"  # MEDIA_TYPES, as a camera owner reads them
Image.MAX_IMAGE_PIXELS = None  # our own limit (IngestConfig.max_image_pixels) applies, before decoding


class ImageRejected(ValueError):
    """The bytes are not an acceptable image; the message says why."""


class PixelBudget:
    """The pixels one request's images may still hold (``ingest.max_batch_pixels``), spent before decoding."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit

    def spend(self, pixels: int) -> None:
        """Take ``pixels`` from the budget, or refuse the image when they do not fit."""
        if pixels > self.remaining:
            raise ImageRejected(
                f"this request's images hold more than {self.limit} pixels in all (ingest.max_batch_pixels); "
                "send this read again in a smaller batch"
            )
        self.remaining -= pixels


@dataclass(frozen=True)
class ValidImage:
    data: bytes
    sha256: str
    media_type: str
    width: int
    height: int


def validate_image(data: bytes, limits: IngestConfig, budget: PixelBudget | None = None) -> ValidImage:
    """Check format, size, pixel count (alone, per byte, and against the request's ``budget``) and integrity,
    reading only the header until every check on the pixel count has passed; return the image with its digest."""
    if not data:
        raise ImageRejected("image is empty (0 bytes)")
    if len(data) > limits.max_image_bytes:
        raise ImageRejected(f"image is {len(data)} bytes; the limit is {limits.max_image_bytes}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format or "", image.size
            if fmt not in MEDIA_TYPES:
                raise ImageRejected(f"image format {fmt or 'unknown'} is not accepted; send {ACCEPTED}")
            if width * height > limits.max_image_pixels:
                raise ImageRejected(
                    f"image is {width}x{height} pixels; the limit is {limits.max_image_pixels} pixels in all"
                )
            density = limits.max_pixels_per_byte.get(fmt)
            if density is not None and width * height > density * len(data):
                raise ImageRejected(
                    f"image claims {width}x{height} pixels in only {len(data)} bytes, more than "
                    f"{density:g} pixels per byte for {fmt} (ingest.max_pixels_per_byte): a decompression bomb, "
                    "not a photograph"
                )
            if budget is not None:
                budget.spend(width * height)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                image.load()
    except ImageRejected:
        raise
    except UnidentifiedImageError:  # its message is Pillow's internal buffer repr, nothing a camera owner can use
        raise ImageRejected(f"image cannot be decoded: it is not a {ACCEPTED} file") from None
    except (OSError, SyntaxError, ValueError, Warning) as exc:
        raise ImageRejected(f"image cannot be decoded ({type(exc).__name__}: {exc})") from None
    return ValidImage(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=MEDIA_TYPES[fmt],
        width=width,
        height=height,
    )


class ImageStore:
    """Files under ``root/ab/cd/<sha256>``, sealed under ``ring`` when ``encrypt``; writing the same image twice is a
    no-op. Without a ring, files are written plain and only plain files open."""

    def __init__(
        self, root: Path, ring: KeyRing | None = None, *, encrypt: bool = True, grace_minutes: int = 60
    ) -> None:
        self.root = root
        self.ring = ring
        self.encrypt = encrypt and ring is not None
        self.grace = timedelta(minutes=grace_minutes)  # storage.image_grace_minutes

    @classmethod
    def for_settings(cls, settings: Settings) -> ImageStore:
        """The installation's store: ``image_dir``, the storage key ring, ``storage.encrypt_images`` and
        ``storage.image_grace_minutes``."""
        return cls(
            settings.resolved_image_dir,
            key_ring_for(settings),
            encrypt=settings.storage.encrypt_images,
            grace_minutes=settings.storage.image_grace_minutes,
        )

    def settled(self, path: Path) -> bool:
        """Whether the file at ``path`` was last written or renewed before the grace period (so no upload in
        progress can still be counting on it); False when it is gone."""
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return False
        return datetime.fromtimestamp(mtime, UTC) < datetime.now(UTC) - self.grace

    def path(self, sha256: str) -> Path:
        """Where the image with this digest lives."""
        if not DIGEST.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, image: ValidImage) -> Path:
        """Write the image atomically (sealed; temp file, fsync, rename) unless it is already there.

        A file already there has its modification time renewed: a file written or renewed within the grace period
        (``storage.image_grace_minutes``) may belong to a transaction not yet committed, and is never deleted as
        unreferenced (:mod:`platekeeper.reads.integrity`)."""
        target = self.path(image.sha256)
        if target.exists():
            with contextlib.suppress(FileNotFoundError):  # deleted meanwhile: written again below
                os.utime(target)
                return target
        try:
            write_file_atomic(target, self._stored_form(image.data, image.sha256))
        except FileNotFoundError:  # its empty folder was removed by a delete between mkdir and the temp file
            write_file_atomic(target, self._stored_form(image.data, image.sha256))
        return target

    def delete(self, sha256: str) -> bool:
        """Remove the image's file, then its two folders when they are left empty; True when a file was removed.
        Idempotent: a missing file is not an error. It touches no row: callers delete the ``images`` row first."""
        path = self.path(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        for folder in (path.parent, path.parent.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty (the usual case), or already gone
                break
        return True

    def get(self, sha256: str) -> bytes:
        """The image's plaintext, checked against its digest; FileNotFoundError if it is missing,
        :class:`SealedFileError` if it cannot be opened or is not the image its name says."""
        return self._open(sha256, self.path(sha256).read_bytes())

    def digests(self) -> Iterator[str]:
        """Every stored image's digest, in order (temp files of writes in progress are skipped)."""
        if not self.root.is_dir():
            return
        for first in sorted(p for p in self.root.iterdir() if p.is_dir() and len(p.name) == 2):
            for second in sorted(p for p in first.iterdir() if p.is_dir() and len(p.name) == 2):
                yield from sorted(p.name for p in second.iterdir() if DIGEST.match(p.name))

    def key_id(self, sha256: str) -> str | None:
        """The id of the key an image is sealed under (from its header only), or None when it is plain."""
        with self.path(sha256).open("rb") as handle:
            return sealed_key_id(handle.read(HEADER_BYTES))

    def reseal(self, sha256: str) -> bool:
        """Seal the image under the current key (temp file, fsync, rename) unless it already is; True when it was
        re-sealed. A file that cannot be opened raises :class:`SealedFileError` and is left as it is."""
        if self.ring is None:
            raise SealedFileError("no storage key ring: images cannot be sealed")
        path = self.path(sha256)
        data = path.read_bytes()
        if sealed_key_id(data) == self.ring.current().id:
            return False
        write_file_atomic(path, seal(self.ring, self._open(sha256, data), sha256))
        return True

    def _stored_form(self, plaintext: bytes, sha256: str) -> bytes:
        return seal(self.ring, plaintext, sha256) if self.encrypt and self.ring is not None else plaintext

    def _open(self, sha256: str, data: bytes) -> bytes:
        if self.ring is None:
            if sealed_key_id(data) is not None:
                raise SealedFileError(f"image {sha256}: is sealed, and this store has no key ring")
            plaintext = data
        else:
            plaintext = open_sealed(self.ring, data, sha256)
        actual = hashlib.sha256(plaintext).hexdigest()
        if actual != sha256:
            raise SealedFileError(f"image {sha256}: its content's SHA-256 is {actual}, not its name")
        return plaintext
