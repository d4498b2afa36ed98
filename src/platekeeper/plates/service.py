"""A plate's story, under an authorized context and audited like a search (``reads.plate_story``).

It joins what two domains keep: the reads (``reads.service.reads_of_plate``) and the hotlist hits
(``alerts.service.alerts_of_plate``), so it sits above both. It owns no table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from platekeeper.access.context import AccessContext, record_access, require_context
from platekeeper.alerts.service import alerts_of_plate
from platekeeper.audit.events import PlateStoryViewed
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import list_cameras
from platekeeper.guards.service import Watched, check_before, record_after
from platekeeper.reads.images import ImageStore
from platekeeper.reads.service import ReadSummary, SearchError, reads_of_plate

__all__ = ["STORY_READS", "PlateStory", "plate_story"]

STORY_READS = 200  # the newest reads shown; the story says how many there are in all
STORY_HITS = 50
PLATE = re.compile(r"[A-Z0-9]{1,12}")


@dataclass(frozen=True)
class PlateStory:
    plate: str
    reads: list[ReadSummary]
    total_reads: int
    hits: list[dict[str, Any]]
    cameras: list[Camera]  # every camera, for the map

    def days(self) -> list[tuple[str, list[ReadSummary]]]:
        """The reads grouped by day (the agency's day is applied by the page), newest first."""
        grouped: dict[str, list[ReadSummary]] = {}
        for read in self.reads:
            grouped.setdefault(read.captured_at.date().isoformat(), []).append(read)
        return list(grouped.items())


def plate_story(work: Work, ctx: AccessContext, plate: str, store: ImageStore) -> PlateStory:
    """One plate (its text, or a person's correction of it): its newest reads with crops and positions, every
    camera for the map, and its hotlist hits; one audited access (``reads.plate_story``)."""
    ctx = require_context(ctx, "reads.search")
    plate = re.sub(r"[\s-]", "", plate).upper()
    if not PLATE.fullmatch(plate):
        raise SearchError("plate: letters and digits only, at most 12 (no wildcards in a plate's story)")
    watched = Watched("plates.story")
    check_before(work, ctx, watched)  # a guard's stop refuses it here, before anything is read (462.6)
    reads, total = reads_of_plate(work, ctx.case_number, plate, store, STORY_READS)
    hits = alerts_of_plate(work.session, work.settings, plate, STORY_HITS)
    event = PlateStoryViewed(plate=plate, reads=len(reads), total_reads=total, hits=len(hits))
    record_access(work, ctx, event)
    record_after(work, ctx, watched, shown=len(reads), total=total)
    return PlateStory(plate, reads, total, hits, list_cameras(work.session))
