"""Hotlists themselves: create, find, summarize, staleness, and what a matcher index is built from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.audit.events import HotlistCreated
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.hotlists.matcher import MatchTarget
from platekeeper.hotlists.models import Hotlist, HotlistEntry

__all__ = [
    "HotlistError",
    "HotlistSummary",
    "create_hotlist",
    "entries_and_lists",
    "get_hotlist",
    "hotlist_by_name",
    "is_stale",
    "iter_match_targets",
    "list_hotlists",
    "match_signature",
]


class HotlistError(ValueError):
    """A hotlist request that breaks a rule; the message names the field."""


def _refused_term(settings: Settings, *texts: str) -> str | None:
    lowered = " ".join(texts).lower()
    return next((t for t in settings.hotlists.refused_terms if t.lower() in lowered), None)


def create_hotlist(work: Work, *, name: str, kind: str, source: str, refresh_hours: int | None) -> Hotlist:
    """A new, empty list. Refused: an unknown or refused kind, a refused source, a duplicate name."""
    session, settings = work.session, work.settings
    name, source = " ".join(name.split()), " ".join(source.split())
    if not 2 <= len(name) <= 80:
        raise HotlistError("name: 2 to 80 characters")
    if kind in settings.hotlists.refused_kinds or settings.hotlists.kind(kind) is None:
        known = ", ".join(k.code for k in settings.hotlists.kinds)
        raise HotlistError(f"kind: {kind!r} is not an allowed kind ({known}); hotlists.refused_kinds are never loaded")
    if not 2 <= len(source) <= 200:
        raise HotlistError("source: say where the list comes from (2 to 200 characters)")
    refused = _refused_term(settings, name, source)
    if refused:
        raise HotlistError(f"source: {refused!r} data is refused by policy (hotlists.refused_terms)")
    if refresh_hours is not None and not 1 <= refresh_hours <= 24 * 14:
        raise HotlistError("refresh_hours: 1 to 336 hours, or empty for a list without a refresh cadence")
    if hotlist_by_name(session, name) is not None:
        raise HotlistError(f"name: a list named {name!r} already exists")
    hotlist = Hotlist(name=name, kind=kind, source=source, refresh_hours=refresh_hours, created_by=work.actor.username)
    session.add(hotlist)
    session.flush()
    work.record(HotlistCreated(hotlist_id=hotlist.id, name=name, kind=kind))
    return hotlist


def get_hotlist(session: Session, hotlist_id: int) -> Hotlist:
    """The list with this id; HotlistError if none."""
    hotlist = session.get(Hotlist, hotlist_id)
    if hotlist is None:
        raise HotlistError(f"hotlist_id: no list with id {hotlist_id}")
    return hotlist


def hotlist_by_name(session: Session, name: str) -> Hotlist | None:
    """The list with this name (case-insensitive), or None."""
    return session.scalar(select(Hotlist).where(func.lower(Hotlist.name) == name.strip().lower()))


def is_stale(hotlist: Hotlist, now: datetime) -> bool:
    """A list with a refresh cadence that has not been loaded within it."""
    if hotlist.refresh_hours is None:
        return False
    return hotlist.loaded_at is None or hotlist.loaded_at + timedelta(hours=hotlist.refresh_hours) < now


@dataclass(frozen=True)
class HotlistSummary:
    """A list without its entries: safe for anyone holding hotlists.view."""

    id: int
    name: str
    kind: str
    kind_label: str
    source: str
    refresh_hours: int | None
    loaded_at: datetime | None
    entries: int
    stale: bool


def list_hotlists(session: Session, settings: Settings, now: datetime) -> list[HotlistSummary]:
    """Every list with its number of live entries and whether it is stale."""
    counts = dict(
        session.execute(
            select(HotlistEntry.hotlist_id, func.count(HotlistEntry.id))
            .where((HotlistEntry.expires_at.is_(None)) | (HotlistEntry.expires_at > now))
            .group_by(HotlistEntry.hotlist_id)
        ).all()
    )
    summaries = []
    for h in session.scalars(select(Hotlist).order_by(Hotlist.name)):
        kind = settings.hotlists.kind(h.kind)
        summaries.append(
            HotlistSummary(
                id=h.id,
                name=h.name,
                kind=h.kind,
                kind_label=kind.label if kind else h.kind,
                source=h.source,
                refresh_hours=h.refresh_hours,
                loaded_at=h.loaded_at,
                entries=counts.get(h.id, 0),
                stale=is_stale(h, now),
            )
        )
    return summaries


def entries_and_lists(
    session: Session, entry_ids: set[int], hotlist_ids: set[int]
) -> tuple[dict[int, HotlistEntry], dict[int, Hotlist]]:
    """Entries and lists by id, for raising alerts on matches."""
    entries = session.scalars(select(HotlistEntry).where(HotlistEntry.id.in_(entry_ids)))
    hotlists = session.scalars(select(Hotlist).where(Hotlist.id.in_(hotlist_ids)))
    return {e.id: e for e in entries}, {h.id: h for h in hotlists}


def match_signature(session: Session) -> tuple[int, int]:
    """Changes whenever any list or entry changes: (number of lists, sum of their revisions)."""
    row = session.execute(select(func.count(Hotlist.id), func.coalesce(func.sum(Hotlist.revision), 0))).one()
    return int(row[0]), int(row[1])


def _timestamp(value: Any) -> float:
    if value is None:
        return math.inf
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def iter_match_targets(database: Database) -> tuple[tuple[int, int], list[MatchTarget]]:
    """The signature and every entry for a new matcher index, read over a plain connection.

    A raw DB-API connection is used so that, on SQLite, loading a million entries takes no write lock and ingest
    goes on meanwhile.
    """
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT count(id), coalesce(sum(revision), 0) FROM hotlists")
        count, revisions = cursor.fetchone() or (0, 0)
        cursor.execute("SELECT id, hotlist_id, plate, state, expires_at FROM hotlist_entries")
        targets: list[MatchTarget] = []
        while batch := cursor.fetchmany(50_000):
            targets.extend(MatchTarget(i, h, p, s, _timestamp(e)) for i, h, p, s, e in batch)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return (int(count), int(revisions)), targets
