"""Entries as plate data: officer entries with historical hits, and paging through a list (AccessContext, audited)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from platekeeper.access.context import AccessContext, record_access, require_context
from platekeeper.audit.events import HotlistEntriesViewed, HotlistEntryAdded, HotlistHistoricalSearch
from platekeeper.audit.work import Work
from platekeeper.cameras.service import list_cameras
from platekeeper.config import Settings
from platekeeper.db import json_fields, utcnow
from platekeeper.hotlists.importers import (
    EntryRow,
    KindResolver,
    parse_entry_row,
)
from platekeeper.hotlists.matcher import MatchTarget
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from platekeeper.hotlists.service.history import HistoricalHit, search_past_reads
from platekeeper.hotlists.service.lists import HotlistError, get_hotlist

__all__ = ["EntryInput", "OfficerEntryResult", "add_officer_entry", "entry_snapshot", "list_entries"]


ENTRY_FIELDS = (
    *("id", "hotlist_id", "plate", "state", "kind", "reason", "nic", "make", "model", "color"),
    *("entered_by", "entered_at", "expires_at", "notes", "origin"),
)


def entry_snapshot(entry: HotlistEntry) -> dict[str, Any]:
    """The entry as JSON (what an alert keeps of it)."""
    return json_fields(entry, *ENTRY_FIELDS)


@dataclass(frozen=True)
class EntryInput:
    """An entry typed in by an officer."""

    plate: str
    state: str | None = None
    reason: str = ""
    nic: str | None = None
    make: str | None = None
    model: str | None = None
    color: str | None = None
    expires_at: datetime | None = None
    notes: str = ""


@dataclass(frozen=True)
class OfficerEntryResult:
    """The new entry, and its historical hits: the newest past reads matching it (at most the result limit)."""

    entry: dict[str, Any]
    historical_hits: list[HistoricalHit] = field(default_factory=list)
    reads_searched: int = 0
    hits_found: int = 0
    camera_names: dict[int, str] = field(default_factory=dict)


def _validated_entry(settings: Settings, hotlist: Hotlist, data: EntryInput, now: datetime) -> EntryRow:
    values = {
        "plate": data.plate,
        "state": data.state or "",
        "kind": hotlist.kind,
        "reason": data.reason,
        "nic": data.nic or "",
        "make": data.make or "",
        "model": data.model or "",
        "color": data.color or "",
        "notes": data.notes,
    }
    try:
        row = parse_entry_row(0, values, KindResolver(settings.hotlists, hotlist.kind), now.date())
    except ValueError as exc:
        raise HotlistError(str(exc)) from None
    limit = now + timedelta(days=settings.hotlists.officer_entry_days)
    expires = data.expires_at or limit
    if expires.tzinfo is None:
        raise HotlistError("expires_at: give a timezone")
    if expires > limit:
        raise HotlistError(
            f"expires_at: an officer entry expires within {settings.hotlists.officer_entry_days} days "
            f"(by {limit.date()}; hotlists.officer_entry_days)"
        )
    if expires <= now:
        raise HotlistError("expires_at: already past")
    return replace(row, expires_at=expires)


def add_officer_entry(work: Work, ctx: AccessContext, hotlist_id: int, data: EntryInput) -> OfficerEntryResult:
    """Add an entry typed in by an officer (expiring within officer_entry_days), then search past reads for it.

    The historical-hit search is its own audited data access (``hotlists.historical_search``) under the same
    purpose and case number, over the retention period: best texts and OCR alternates, with the matcher's rules.
    """
    ctx = require_context(ctx, "hotlists.entries")
    session, settings = work.session, work.settings
    hotlist = get_hotlist(session, hotlist_id)
    now = utcnow()
    row = _validated_entry(settings, hotlist, data, now)
    entry = HotlistEntry(
        hotlist_id=hotlist.id,
        entered_by=ctx.username,
        entered_at=now,
        origin="officer",
        **{k: getattr(row, k) for k in ("plate", "state", "kind", "reason", "nic", "make", "model", "color")},
        expires_at=row.expires_at,
        notes=row.notes,
    )
    session.add(entry)
    session.execute(update(Hotlist).where(Hotlist.id == hotlist.id).values(revision=Hotlist.revision + 1))
    session.flush()
    snapshot = entry_snapshot(entry)
    added = HotlistEntryAdded(hotlist_id=hotlist.id, entry_id=entry.id, plate=entry.plate, state=entry.state)
    record_access(work, ctx, added)
    target = MatchTarget(
        entry.id, hotlist.id, entry.plate, entry.state, row.expires_at.timestamp() if row.expires_at else math.inf
    )
    scan = search_past_reads(session.connection(), settings, [target], limit=settings.matching.historical_result_limit)
    searched = HotlistHistoricalSearch(hotlist_id=hotlist.id, entry_id=entry.id, plate=entry.plate, **scan.describe())
    record_access(work, ctx, searched)
    return OfficerEntryResult(
        entry=snapshot,
        historical_hits=scan.hits,
        reads_searched=scan.searched,
        hits_found=scan.found,
        camera_names={c.id: c.name for c in list_cameras(session)} if scan.hits else {},
    )


def list_entries(
    work: Work, ctx: AccessContext, hotlist_id: int, *, plate: str | None = None, page: int = 1
) -> tuple[Hotlist, list[dict[str, Any]], int]:
    """One page of a list's entries (optionally one plate), with the total; audited as ``hotlists.entries_view``."""
    ctx = require_context(ctx, "hotlists.entries")
    session = work.session
    hotlist = get_hotlist(session, hotlist_id)
    size = work.settings.hotlists.entries_page_size
    where = [HotlistEntry.hotlist_id == hotlist.id]
    if plate:
        where.append(HotlistEntry.plate == "".join(c for c in plate.upper() if c.isalnum()))
    total = session.scalar(select(func.count(HotlistEntry.id)).where(*where)) or 0
    entries = session.scalars(
        select(HotlistEntry)
        .where(*where)
        .order_by(HotlistEntry.plate, HotlistEntry.id)
        .offset((page - 1) * size)
        .limit(size)
    )
    rows = [entry_snapshot(e) for e in entries]
    viewed = HotlistEntriesViewed(hotlist_id=hotlist.id, plate=plate, page=page, results=total)
    record_access(work, ctx, viewed)
    return hotlist, rows, total
