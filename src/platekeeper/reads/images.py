"""The content-addressed image store: each image is a file named by the SHA-256 of its bytes.

Images are checked before they are kept: a known format (JPEG, PNG, WebP), within the byte and pixel limits
(the pixel check reads only the header, so a decompression bomb is refused before it is decoded), and fully
decodable (a truncated file is refused).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from platekeeper.config import IngestConfig

__all__ = ["ImageRejected", "ImageStore", "PixelBudget", "ValidImage", "validate_image"]

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
    """Files under ``root/ab/cd/<sha256>``; writing the same image twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the image with this digest lives."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, image: ValidImage) -> Path:
        """Write the image atomically (temp file, fsync, rename) unless it is already there."""
        target = self.path(image.sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(image.data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def get(self, sha256: str) -> bytes:
        """The image's bytes; FileNotFoundError if it is missing."""
        return self.path(sha256).read_bytes()
