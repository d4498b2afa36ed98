"""The public face (Civil Code 1798.90.51(b), 1798.90.53(b)): the posted usage and privacy policy, always public,
and the transparency page of live figures, whose blocks, small-count floor, cache and camera precision the agency
chooses here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from platekeeper.config.base import StrictModel

__all__ = ["TRANSPARENCY_BLOCKS", "TransparencyBlock", "TransparencyConfig"]

TransparencyBlock = Literal["cameras", "reads", "hotlists", "alerts", "searches", "sharing", "retention", "audits"]
TRANSPARENCY_BLOCKS: tuple[TransparencyBlock, ...] = (
    "cameras",
    "reads",
    "hotlists",
    "alerts",
    "searches",
    "sharing",
    "retention",
    "audits",
)


class TransparencyConfig(StrictModel):
    """What the public transparency page shows. The posted policy (``/policy``) is required by law: no setting here
    turns it off."""

    published: bool = Field(
        False,
        description="The transparency page (/transparency and /transparency.json) is public. Off (the default): "
        "both answer 404 with a notice pointing to the policy, and holders of transparency.preview see the draft "
        "at /transparency/preview until the agency turns this on. The policy at /policy is always public.",
    )
    cache_minutes: int = Field(
        15,
        ge=0,
        le=1440,
        description="The figures are computed from the live data at most this many minutes apart (0: on every "
        "request).",
    )
    min_count: int = Field(
        5,
        ge=1,
        le=1000,
        description="A count of activity (reads, hits, alerts, searches, requests, releases, holds, purged items, "
        "audit findings) from 1 up to one below this is shown as 'fewer than N' (and in the JSON as "
        '{"fewer_than": N}), and a share computed from it is left out; 1 hides nothing. Cameras are counted as they '
        "are.",
    )
    blocks: tuple[TransparencyBlock, ...] = Field(
        TRANSPARENCY_BLOCKS,
        max_length=len(TRANSPARENCY_BLOCKS),
        description="The blocks of figures shown, in this order: " + ", ".join(TRANSPARENCY_BLOCKS) + ". The "
        "link to the policy is always shown.",
    )
    camera_positions: Literal["none", "area", "exact"] = Field(
        "area",
        description="How cameras are placed: none (counts by kind only), area (counts by kind in grid cells of "
        "area_decimals decimal degrees), or exact (each camera's position and location text).",
    )
    area_decimals: int = Field(
        2,
        ge=0,
        le=2,
        description="Decimal places the camera positions are rounded to when camera_positions is area (2: cells "
        "about 1 km across; 1: about 11 km; 0: about 110 km).",
    )
