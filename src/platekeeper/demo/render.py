"""Rendering synthetic plate crops and overview scenes for the demo agency (Pillow's built-in font)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["render_crop", "render_overview"]

CROP_SIZE = (240, 120)
OVERVIEW_SIZE = (640, 360)
CAR_COLORS = [(180, 30, 30), (30, 60, 150), (200, 200, 205), (30, 30, 30), (240, 240, 240), (90, 110, 60)]


def _plate(text: str, state: str, size: tuple[int, int]) -> Image.Image:
    width, height = size
    plate = Image.new("RGB", size, (246, 246, 240))
    draw = ImageDraw.Draw(plate)
    draw.rectangle([2, 2, width - 3, height - 3], outline=(40, 40, 90), width=max(2, width // 80))
    state_font = ImageFont.load_default(size=max(8, height // 6))
    draw.text((width / 2, height * 0.16), state, fill=(170, 20, 30), font=state_font, anchor="mm")
    font = ImageFont.load_default(size=int(height * 0.5))
    draw.text((width / 2, height * 0.6), text, fill=(20, 30, 110), font=font, anchor="mm")
    return plate


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def render_crop(text: str, state: str, rng: random.Random) -> bytes:
    """A plate crop as a camera would send it: slightly rotated and blurred, JPEG."""
    plate = _plate(text, state, CROP_SIZE)
    plate = plate.rotate(rng.uniform(-4, 4), expand=False, fillcolor=(60, 60, 60))
    plate = plate.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    return _jpeg(plate, 80)


def render_overview(text: str, state: str, rng: random.Random) -> bytes:
    """A simple scene: road, a car in one of a few colors, its plate."""
    scene = Image.new("RGB", OVERVIEW_SIZE, (70, 75, 80))
    draw = ImageDraw.Draw(scene)
    draw.rectangle([0, 0, OVERVIEW_SIZE[0], 110], fill=(120, 150, 180))
    for x in range(0, OVERVIEW_SIZE[0], 80):
        draw.rectangle([x, 330, x + 40, 338], fill=(230, 220, 120))
    left = rng.randint(120, 220)
    color = rng.choice(CAR_COLORS)
    draw.rounded_rectangle([left, 120, left + 300, 310], radius=30, fill=color)
    draw.rectangle([left + 40, 140, left + 260, 200], fill=(40, 50, 60))
    for wheel in (left + 30, left + 230):
        draw.ellipse([wheel, 280, wheel + 44, 324], fill=(15, 15, 15))
    scene.paste(_plate(text, state, (96, 48)), (left + 102, 240))
    return _jpeg(scene.filter(ImageFilter.GaussianBlur(0.6)), 75)
