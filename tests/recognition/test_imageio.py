"""Bad input files are rejected with a clear reason before any pixel is decoded."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition.config import ImageLimitsConfig
from platekeeper.recognition.imageio import ImageError, image_dimensions, read_image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` followed by a tiny compressed stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    with pytest.raises(ImageError, match=r"30000x30000.*max_pixels"):
        read_image(path)


def test_max_pixels_is_a_config_value(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), np.zeros((20, 30), np.uint8))
    assert read_image(path).shape == (20, 30, 3)
    with pytest.raises(ImageError, match=r"max_pixels=100"):
        read_image(path, ImageLimitsConfig(max_pixels=100))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"hello, not an image", "not a supported image"),
        (b"\xff\xd8\xff\xe0\x00", "JPEG"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        read_image(path)


def test_truncated_jpeg_and_png(tmp_path: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for suffix in (".jpg", ".png"):
        ok, encoded = cv2.imencode(suffix, image)
        assert ok
        path = tmp_path / f"cut{suffix}"
        path.write_bytes(encoded.tobytes()[: len(encoded) // 2])
        with pytest.raises(ImageError, match=r"truncated|decode"):
            read_image(path)


def test_missing_file_is_an_image_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".webp"])
def test_header_dimensions(suffix: str) -> None:
    ok, encoded = cv2.imencode(suffix, np.zeros((37, 53, 3), np.uint8))
    assert ok
    _kind, width, height = image_dimensions(encoded.tobytes())
    assert (width, height) == (53, 37)
