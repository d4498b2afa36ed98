"""Safe image loading: size and dimensions are checked from the file header before any pixel is decoded."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from .config import ImageLimitsConfig

__all__ = ["ImageError", "as_bgr", "decode_image", "image_dimensions", "read_image"]

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_EOI = b"\xff\xd9"
_EOI_SEARCH_BYTES = 4096  # trailing bytes searched for the JPEG end-of-image marker


class ImageError(ValueError):
    """An input file is not a readable image within the configured limits."""


def _jpeg_dimensions(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageError("corrupt JPEG header")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise ImageError("truncated JPEG: no frame header")


def _webp_dimensions(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ImageError("corrupt WebP header")


def image_dimensions(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from the header only; raise ImageError for unknown or broken headers."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"\xff\xd8"):
        width, height = _jpeg_dimensions(data)
        return "jpeg", width, height
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return "bmp", abs(width), abs(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        width, height = _webp_dimensions(data)
        return "webp", width, height
    raise ImageError("not a supported image (PNG, JPEG, BMP or WebP expected)")


def decode_image(data: bytes, limits: ImageLimitsConfig | None = None) -> np.ndarray:
    """Check header dimensions against the limits, then decode to a BGR uint8 array."""
    limits = limits or ImageLimitsConfig()
    if not data:
        raise ImageError("empty file (0 bytes)")
    if len(data) > limits.max_file_bytes:
        raise ImageError(f"file is {len(data)} bytes, over images.max_file_bytes={limits.max_file_bytes}")
    kind, width, height = image_dimensions(data)
    if width <= 0 or height <= 0:
        raise ImageError(f"invalid {kind} dimensions {width}x{height}")
    if width * height > limits.max_pixels:
        raise ImageError(
            f"{kind} is {width}x{height} = {width * height} pixels, over images.max_pixels={limits.max_pixels}"
        )
    if kind == "jpeg" and _JPEG_EOI not in data[-_EOI_SEARCH_BYTES:]:
        raise ImageError("truncated JPEG: no end-of-image marker")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError(f"could not decode {kind} data (truncated or corrupt)")
    return image


def read_image(path: Path, limits: ImageLimitsConfig | None = None) -> np.ndarray:
    """Read and safely decode an image file; raise ImageError with a clear reason."""
    limits = limits or ImageLimitsConfig()
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ImageError(f"file is {size} bytes, over images.max_file_bytes={limits.max_file_bytes}")
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read file: {exc.strerror or exc}") from exc
    return decode_image(data, limits)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """3-channel BGR view of a grayscale, BGRA or BGR uint8 image."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
