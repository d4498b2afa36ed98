"""Synthetic plate crops for training the plate recognizer: deterministic for a seed.

Styles: US plates drawn on the blank state templates with each state's serial patterns (from
``us-plate-templates/us.patterns``), with stacked small characters on some; European plates (blue band,
country code, DIN-like type); Brazilian plates (grey pre-2018 and Mercosur); two-line plates. The label is the
plate number as the data sets write it: separators, state names, slogans, stickers, frames and stacked
small characters are drawn but are not part of it.

Each plate is then put through what a roadside camera does to it: perspective and rotation, detector-like
crop jitter, blur and motion blur, low resolution, noise and JPEG artefacts, low light, infrared grayscale,
glare and shadows. All randomness comes from one ``numpy.random.Generator`` so a seed gives the same images.

Fonts are free fonts from Debian packages (fonts-dejavu, fonts-opendin, fonts-liberation2,
fonts-freefont-ttf, fonts-roboto-unhinted); only those present are used, and at least one must be.
"""

from __future__ import annotations

import csv
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_CANDIDATES", "PlateSynth", "SynthPlate", "available_fonts", "load_us_patterns"]

FONT_ROOT = Path("/usr/share/fonts/truetype")
FONT_CANDIDATES: tuple[str, ...] = (
    "opendin/OSP-DIN.ttf",
    "dejavu/DejaVuSansCondensed-Bold.ttf",
    "dejavu/DejaVuSans-Bold.ttf",
    "dejavu/DejaVuSansMono-Bold.ttf",
    "liberation2/LiberationSans-Bold.ttf",
    "liberation2/LiberationSans-Regular.ttf",
    "liberation2/LiberationMono-Bold.ttf",
    "freefont/FreeSansBold.ttf",
    "freefont/FreeMonoBold.ttf",
    "roboto/unhinted/RobotoCondensed-Bold.ttf",
    "roboto/unhinted/RobotoCondensed-Medium.ttf",
    "roboto/unhinted/RobotoCondensed-Regular.ttf",
)
LETTERS, DIGITS = string.ascii_uppercase, string.digits
# Share of each style in a sample; the rest of the stream keeps these proportions.
STYLE_WEIGHTS: dict[str, float] = {"us": 0.6, "eu": 0.17, "br_old": 0.08, "br_mercosul": 0.08, "two_line": 0.07}
_EU_FORMATS = ("@@ ### @@", "@ @@ ####", "@@ @@ ###", "@@## @@@", "#-@@@-###", "##-@@-##", "@@-###-@", "#### @@@",
               "@@ #####", "@@@ ####", "@@ ####@", "@@@-###")  # fmt: skip
_EU_COUNTRIES = ("D", "F", "I", "E", "NL", "B", "PL", "CZ", "A", "P", "SK", "LT", "RO", "H", "GB")
_INK = ((20, 20, 20), (90, 30, 20), (30, 30, 140), (20, 70, 20), (60, 20, 60), (110, 60, 10))  # BGR, dark
_TAGS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class SynthPlate:
    """One synthetic crop (BGR uint8), its label (A-Z0-9) and the style it was drawn in."""

    image: np.ndarray
    text: str
    style: str


def available_fonts(root: Path = FONT_ROOT) -> list[Path]:
    """The candidate fonts installed on this machine."""
    return [root / name for name in FONT_CANDIDATES if (root / name).is_file()]


def load_us_patterns(path: Path) -> dict[str, list[str]]:
    """``state -> [pattern, ...]`` from a us.patterns file (``state<whitespace>pattern`` per line)."""
    patterns: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and all(c in "@#" for c in parts[1]):
            patterns.setdefault(parts[0].lower(), []).append(parts[1])
    return patterns


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


class PlateSynth:
    """A seeded stream of synthetic plate crops. ``sample()`` draws one; ``batch(n)`` draws n."""

    def __init__(self, templates_dir: Path, seed: int, fonts: Sequence[Path] | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.fonts = [str(f) for f in (fonts if fonts is not None else available_fonts())]
        if not self.fonts:
            raise FileNotFoundError(
                f"no plate fonts under {FONT_ROOT}; install fonts-dejavu-core and fonts-opendin (make train-deps)"
            )
        self.patterns = load_us_patterns(templates_dir / "us.patterns")
        self.templates: list[tuple[str, np.ndarray]] = []
        for path in sorted(templates_dir.glob("*.jpg")):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                state = "".join(c for c in path.stem if c.isalpha())[:2]
                self.templates.append((state, cv2.resize(image, (500, 250), interpolation=cv2.INTER_CUBIC)))
        if not self.templates:
            raise FileNotFoundError(f"no blank plate templates (*.jpg) in {templates_dir}")
        self._styles = list(STYLE_WEIGHTS)
        self._weights = np.array([STYLE_WEIGHTS[s] for s in self._styles]) / sum(STYLE_WEIGHTS.values())

    # -- random helpers -------------------------------------------------------------------------------------

    def _u(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def _p(self, probability: float) -> bool:
        return bool(self.rng.random() < probability)

    def _pick(self, items: Sequence[str]) -> str:
        return items[int(self.rng.integers(len(items)))]

    def _fill(self, pattern: str) -> str:
        """``@`` -> random letter, ``#`` -> random digit, other characters kept (separators)."""
        out = []
        for c in pattern:
            out.append(self._pick(LETTERS) if c == "@" else self._pick(DIGITS) if c == "#" else c)
        return "".join(out)

    # -- text rendering ------------------------------------------------------------------------------------

    def _text_layer(self, text: str, font: str, ink: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Tight text image (BGR) and its alpha mask, drawn at 96 px."""
        face = _font(font, 96)
        left, top, right, bottom = face.getbbox(text)
        width, height = int(max(1, right - left + 8)), int(max(1, bottom - top + 8))
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).text((4 - left, 4 - top), text, font=face, fill=255)
        alpha = np.asarray(mask, np.float32) / 255.0
        color = np.empty((height, width, 3), np.float32)
        color[:] = ink
        return color, alpha

    def _stamp(
        self, plate: np.ndarray, text: str, font: str, ink: tuple[int, int, int], box: tuple[float, ...]
    ) -> None:
        """Draw ``text`` into ``box`` (x, y, w, h in pixels), stretched to fill it (in place)."""
        x, y, w, h = (round(v) for v in box)
        w, h = max(2, min(w, plate.shape[1] - x)), max(2, min(h, plate.shape[0] - y))
        color, alpha = self._text_layer(text, font, ink)
        color = cv2.resize(color, (w, h), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)[..., None]
        region = plate[y : y + h, x : x + w].astype(np.float32)
        plate[y : y + h, x : x + w] = (region * (1 - alpha) + color * alpha).clip(0, 255).astype(np.uint8)

    def _serial(self, plate: np.ndarray, display: str, ink: tuple[int, int, int], box: tuple[float, ...]) -> None:
        """The plate number: natural width for its height, squeezed to fit the box width."""
        font = self._pick(self.fonts)
        color, _alpha = self._text_layer(display, font, ink)
        x, y, w, h = box
        natural = color.shape[1] * h / color.shape[0] * self._u(0.8, 1.15)
        width = min(w, natural)
        self._stamp(plate, display, font, ink, (x + (w - width) / 2, y, width, h))

    def _separate(self, text: str) -> str:
        """Insert a space, dash or dot between the letter and digit groups (or at a random point)."""
        if len(text) < 4 or self._p(0.35):
            return text
        cut = next((i for i in range(1, len(text)) if text[i].isdigit() != text[i - 1].isdigit()), len(text) // 2)
        return text[:cut] + self._pick((" ", " ", "-", "·", "  ")) + text[cut:]

    # -- styles --------------------------------------------------------------------------------------------

    def _us(self) -> tuple[np.ndarray, str]:
        state, template = self.templates[int(self.rng.integers(len(self.templates)))]
        plate = template.copy()
        choices = self.patterns.get(state) or self.patterns.get("base") or ["@@@###"]
        label = (
            self._fill("@" * int(self.rng.integers(2, 8)))
            if self._p(0.08)
            else self._fill(self._pick(choices)).replace(" ", "")
        )
        middle = plate[80:190, 40:460].reshape(-1, 3).mean(axis=0)
        ink = (
            self._pick_light() if middle.mean() < 110 else _INK[int(self.rng.integers(len(_INK)))]
        )  # light text on dark plates
        top = self._u(0.26, 0.36) * 250
        height = self._u(0.40, 0.52) * 250
        left, width = 30.0, 440.0
        if self._p(0.15):  # stacked small characters before the serial: drawn, never part of the label
            stack = self._fill(self._pick(("@@", "#@", "##", "@#")))
            sx = self._u(28, 45)
            self._stamp(plate, stack[0], self._pick(self.fonts), ink, (sx, top, 26, height * 0.45))
            self._stamp(plate, stack[1], self._pick(self.fonts), ink, (sx, top + height * 0.52, 26, height * 0.45))
            left, width = sx + 36, 460 - (sx + 36)
        self._serial(plate, self._separate(label), ink, (left, top, width, height))
        self._stickers(plate)
        return plate, label

    def _pick_light(self) -> tuple[int, int, int]:
        return ((40, 200, 230), (235, 235, 235), (60, 220, 240))[int(self.rng.integers(3))]

    def _eu(self) -> tuple[np.ndarray, str]:
        yellow = self._p(0.15)
        plate = np.full((110, 520, 3), (20, 200, 240) if yellow else (245, 245, 245), np.uint8)
        cv2.rectangle(plate, (1, 1), (518, 108), (20, 20, 20), 3)
        band = 0
        if self._p(0.85):
            band = 46
            cv2.rectangle(plate, (3, 3), (band, 106), (150, 50, 0), -1)
            for k in range(12):  # the circle of stars
                angle = 2 * np.pi * k / 12
                center = (round(24 + 13 * np.cos(angle)), round(32 + 13 * np.sin(angle)))
                cv2.circle(plate, center, 2, (0, 200, 255), -1)
            self._stamp(plate, self._pick(_EU_COUNTRIES), self.fonts[0], (240, 240, 240), (9, 60, 30, 36))
        display = self._fill(self._pick(_EU_FORMATS))
        label = "".join(c for c in display if c.isalnum())
        self._serial(plate, display, (20, 20, 20), (band + 12, self._u(12, 20), 520 - band - 24, self._u(72, 84)))
        return plate, label

    def _br_old(self) -> tuple[np.ndarray, str]:
        grey = int(self.rng.integers(165, 215))
        plate = np.full((130, 400, 3), grey, np.uint8)
        cv2.rectangle(plate, (2, 2), (397, 127), (30, 30, 30), 3)
        city = self._fill("@" * int(self.rng.integers(5, 10))) + " - " + self._fill("@@")
        self._stamp(plate, city, self._pick(self.fonts), (30, 30, 30), (110, 8, 180, 18))
        label = self._fill("@@@####")
        self._serial(plate, label[:3] + "-" + label[3:], (25, 25, 25), (14, self._u(32, 40), 372, self._u(78, 88)))
        return plate, label

    def _br_mercosul(self) -> tuple[np.ndarray, str]:
        plate = np.full((130, 400, 3), 245, np.uint8)
        cv2.rectangle(plate, (2, 2), (397, 127), (30, 30, 30), 3)
        cv2.rectangle(plate, (4, 4), (395, 30), (160, 70, 10), -1)
        self._stamp(plate, "BRASIL", self._pick(self.fonts), (250, 250, 250), (160, 7, 80, 20))
        label = self._fill("@@@#@##")
        self._serial(plate, label, (20, 20, 20), (14, self._u(38, 44), 372, self._u(76, 84)))
        return plate, label

    def _two_line(self) -> tuple[np.ndarray, str]:
        plate = np.full((200, 280, 3), self._pick_background(), np.uint8)
        cv2.rectangle(plate, (2, 2), (277, 197), (30, 30, 30), 3)
        first, second = self._fill(self._pick(("@@@", "@@", "##@"))), self._fill(self._pick(("####", "###", "#@##")))
        ink = _INK[int(self.rng.integers(len(_INK)))]
        self._serial(plate, first, ink, (20, 14, 240, 80))
        self._serial(plate, second, ink, (20, 106, 240, 80))
        return plate, first + second

    def _pick_background(self) -> tuple[int, int, int]:
        return ((245, 245, 245), (20, 200, 240), (200, 200, 200), (235, 225, 210))[int(self.rng.integers(4))]

    def _stickers(self, plate: np.ndarray) -> None:
        """Registration stickers in the top corners and, sometimes, a dealer frame (none are in the label)."""
        for x in (12, 400):
            if self._p(0.45):
                color = tuple(int(v) for v in self.rng.integers(0, 256, 3))
                cv2.rectangle(plate, (x, 12), (x + 80, 60), color, -1)
                ink = (255, 255, 255) if sum(color) < 380 else (0, 0, 0)
                tag = self._pick(_TAGS) if self._p(0.5) else f"{int(self.rng.integers(0, 100)):02d}"
                self._stamp(plate, tag, self._pick(self.fonts), ink, (x + 6, 16, 68, 40))
        if self._p(0.3):
            frame = tuple(int(v) for v in self.rng.integers(0, 80, 3))
            cv2.rectangle(plate, (0, 0), (499, 249), frame, 14)
            cv2.rectangle(plate, (0, 222), (499, 249), frame, -1)
            dealer = self._fill("@" * int(self.rng.integers(5, 12))) + " " + self._fill("@" * 4)
            self._stamp(plate, dealer, self._pick(self.fonts), (200, 200, 200), (120, 226, 260, 20))

    # -- the camera ----------------------------------------------------------------------------------------

    def _scene_crop(self, plate: np.ndarray) -> np.ndarray:
        """Put the plate on a car, warp it (perspective, rotation) and crop it as a detector would."""
        h, w = plate.shape[:2]
        margin = int(0.4 * max(h, w))
        body = self.rng.integers(0, 256, 3)
        canvas = np.empty((h + 2 * margin, w + 2 * margin, 3), np.float32)
        canvas[:] = body
        canvas += self.rng.normal(0, 12, canvas.shape[:2])[..., None]
        canvas = canvas.clip(0, 255).astype(np.uint8)
        canvas[margin : margin + h, margin : margin + w] = plate
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) + margin
        jitter = self.rng.uniform(-0.07, 0.07, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
        angle = np.deg2rad(self._u(-7, 7))
        center = corners.mean(axis=0)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
        target = (corners + jitter - center) @ rotation.T + center
        matrix = cv2.getPerspectiveTransform(corners, target)
        warped = cv2.warpPerspective(canvas, matrix, (canvas.shape[1], canvas.shape[0]), borderMode=cv2.BORDER_REFLECT)
        x1, y1 = target.min(axis=0)
        x2, y2 = target.max(axis=0)
        bw, bh = x2 - x1, y2 - y1
        pads = self.rng.uniform(-0.03, 0.14, 4)
        left, top = int(max(0, x1 - pads[0] * bw)), int(max(0, y1 - pads[1] * bh))
        right = int(min(warped.shape[1], x2 + pads[2] * bw))
        bottom = int(min(warped.shape[0], y2 + pads[3] * bh))
        return warped[top:bottom, left:right]

    def _camera(self, crop: np.ndarray) -> np.ndarray:
        """Light, infrared, blur, resolution, noise and compression."""
        image: np.ndarray = crop.astype(np.float32)
        if self._p(0.25):  # glare: a bright soft spot
            h, w = image.shape[:2]
            yy, xx = np.mgrid[0:h, 0:w]
            cx, cy, r = self._u(0, w), self._u(0, h), self._u(0.15, 0.5) * w
            image += (self._u(60, 160) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))[..., None]
        if self._p(0.25):  # shadow: one side darker
            h, w = image.shape[:2]
            cut = int(self._u(0.2, 0.8) * w)
            side = slice(0, cut) if self._p(0.5) else slice(cut, w)
            image[:, side] *= self._u(0.35, 0.75)
        image = image * self._u(0.6, 1.3) + self._u(-40, 30)
        if self._p(0.2):  # low light
            image = image * self._u(0.15, 0.45)
        image = image.clip(0, 255).astype(np.uint8)
        if self._p(0.15):  # infrared: grayscale, retroreflective plate
            gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            gray = cv2.equalizeHist(gray) if self._p(0.5) else gray
            image = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        image = self._blur(image)
        image = self._resolution(image)
        noise = self.rng.normal(0, self._u(0, 10), image.shape)
        image = (image.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)
        quality = int(self.rng.integers(25, 95))
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
        return image if decoded is None else np.asarray(decoded)

    def _blur(self, image: np.ndarray) -> np.ndarray:
        if self._p(0.3):
            sigma = self._u(0.3, 1.3)
            return cv2.GaussianBlur(image, (0, 0), sigma)
        if self._p(0.2):
            length = int(self.rng.integers(3, 10))
            kernel: np.ndarray = np.zeros((length, length), np.float32)
            kernel[length // 2, :] = 1.0 / length
            rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), self._u(-30, 30), 1.0)
            kernel = cv2.warpAffine(kernel, rotation, (length, length))
            return cv2.filter2D(image, -1, (kernel / max(float(kernel.sum()), 1e-6)).astype(np.float32))
        return image

    def _resolution(self, image: np.ndarray) -> np.ndarray:
        """Far plates: down to 22-80 px high and back up."""
        h, w = image.shape[:2]
        target = int(self.rng.integers(22, 80))
        if target >= h:
            return image
        small = cv2.resize(image, (max(4, round(w * target / h)), target), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) if self._p(0.5) else small

    # -- public --------------------------------------------------------------------------------------------

    def sample(self) -> SynthPlate:
        """One synthetic plate crop."""
        style = self._styles[int(self.rng.choice(len(self._styles), p=self._weights))]
        plate, label = {
            "us": self._us,
            "eu": self._eu,
            "br_old": self._br_old,
            "br_mercosul": self._br_mercosul,
            "two_line": self._two_line,
        }[style]()
        width = self._u(170, 300)  # the camera never sees more detail than this; smaller is also faster
        plate = cv2.resize(
            plate, (round(width), round(width * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA
        )
        return SynthPlate(self._camera(self._scene_crop(plate)), label, style)

    def batch(self, count: int) -> list[SynthPlate]:
        """``count`` plates from the stream."""
        return [self.sample() for _ in range(count)]


def write_samples(synth: PlateSynth, folder: Path, count: int) -> Path:
    """Write ``count`` samples as JPEG files plus labels.csv (file,style,plate) for inspection."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "style", "plate"])
        for i, plate in enumerate(synth.batch(count)):
            name = f"{i:05d}.jpg"
            cv2.imwrite(str(folder / name), plate.image)
            writer.writerow([name, plate.style, plate.text])
    return folder / "labels.csv"
