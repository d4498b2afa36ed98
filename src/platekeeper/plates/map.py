"""An offline map of a plate's story: camera positions and reads as points on a coordinate grid, drawn as SVG.

No tiles: the machines of many departments reach no map server. Longitude is scaled by the cosine of the latitude
(an equirectangular view), which keeps the few kilometres of an agency in true proportion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["MapPoint", "StoryMap", "story_map"]

WIDTH, HEIGHT, MARGIN = 640, 400, 24
STEPS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    label: str
    kind: str  # camera | read


@dataclass
class StoryMap:
    width: int
    height: int
    points: list[MapPoint]
    grid_x: list[tuple[float, str]] = field(default_factory=list)  # (x, longitude label)
    grid_y: list[tuple[float, str]] = field(default_factory=list)  # (y, latitude label)


def _step(span: float) -> float:
    """A round grid step giving at most five lines, so their labels do not run into each other."""
    return next((s for s in STEPS if span / s <= 5), STEPS[-1])


def _label(value: float, step: float) -> str:
    return f"{value:.{max(0, -math.floor(math.log10(step)))}f}"


def story_map(
    cameras: Iterable[tuple[str, float | None, float | None]], reads: Iterable[tuple[str, float | None, float | None]]
) -> StoryMap | None:
    """Project named (label, latitude, longitude) cameras and reads onto the SVG's pixels; None when nothing has a
    position."""
    placed = [(label, lat, lon, "camera") for label, lat, lon in cameras if lat is not None and lon is not None]
    placed += [(label, lat, lon, "read") for label, lat, lon in reads if lat is not None and lon is not None]
    if not placed:
        return None
    lats = [p[1] for p in placed]
    lons = [p[2] for p in placed]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    pad = max(north - south, east - west, 0.002) * 0.15
    south, north, west, east = south - pad, north + pad, west - pad, east + pad
    ratio = math.cos(math.radians((south + north) / 2))
    scale = min((WIDTH - 2 * MARGIN) / ((east - west) * ratio), (HEIGHT - 2 * MARGIN) / (north - south))

    def x_of(lon: float) -> float:
        return MARGIN + (lon - west) * ratio * scale

    def y_of(lat: float) -> float:
        return HEIGHT - MARGIN - (lat - south) * scale

    drawn = StoryMap(WIDTH, HEIGHT, [MapPoint(x_of(lon), y_of(lat), label, kind) for label, lat, lon, kind in placed])
    step = _step(max(north - south, east - west))
    value = math.ceil(west / step) * step
    while value <= east:
        drawn.grid_x.append((x_of(value), _label(value, step)))
        value += step
    value = math.ceil(south / step) * step
    while value <= north:
        drawn.grid_y.append((y_of(value), _label(value, step)))
        value += step
    return drawn
