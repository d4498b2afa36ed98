"""Loading a file into a list: all or nothing, full replace or incremental, bulk insert (COPY / executemany)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from platekeeper.audit.events import HotlistImported, HotlistImportRefused
from platekeeper.audit.work import Work
from platekeeper.db import in_batches, utcnow
from platekeeper.hotlists.importers import (
    EntryRow,
    ImportSpec,
    RowError,
    describe,
    parse_rows,
)
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from platekeeper.hotlists.service.lists import HotlistError, get_hotlist

__all__ = ["INSERT_CHUNK", "ImportMode", "ImportOutcome", "ImportRejected", "import_entries"]


ImportMode = Literal["full", "incremental"]
INSERT_CHUNK = 5000


class ImportRejected(ValueError):
    """An import with bad rows: nothing was loaded. ``errors`` lists the first bad rows with their line numbers."""

    def __init__(self, errors: list[RowError], error_count: int, good_rows: int) -> None:
        self.errors = errors
        self.error_count = error_count
        self.good_rows = good_rows
        listed = "; ".join(f"line {e.line}: {e.message}" for e in errors[:5])
        more = f" (and {error_count - 5} more)" if error_count > 5 else ""
        super().__init__(f"{error_count} bad row(s), nothing was loaded: {listed}{more}")


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did. ``new_plates``: the plates it put on the list that were not on it before the load,
    whose past reads the historical-hit search looks at."""

    hotlist_id: int
    mode: ImportMode
    loaded: int
    removed: int
    new_plates: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, Any]:
        """The outcome as the API answers it."""
        return {
            "hotlist_id": self.hotlist_id,
            "mode": self.mode,
            "loaded": self.loaded,
            "removed": self.removed,
            "new_plates": len(self.new_plates),
        }


def _entry_rows(rows: list[EntryRow], hotlist_id: int, who: str, now: datetime) -> Iterator[dict[str, Any]]:
    for r in rows:
        yield {
            "hotlist_id": hotlist_id,
            "plate": r.plate,
            "state": r.state,
            "kind": r.kind,
            "reason": r.reason,
            "nic": r.nic,
            "make": r.make,
            "model": r.model,
            "color": r.color,
            "entered_by": who,
            "entered_at": now,
            "expires_at": r.expires_at,
            "notes": r.notes,
            "origin": "import",
        }


ENTRY_COLUMNS = (
    "hotlist_id", "plate", "state", "kind", "reason", "nic", "make", "model", "color",
    "entered_by", "entered_at", "expires_at", "notes", "origin",
)  # fmt: skip
# Built from the constant column names above only; values always travel as parameters.
SQLITE_INSERT = (
    f"INSERT INTO hotlist_entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"  # noqa: S608
)
POSTGRES_COPY = f"COPY hotlist_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"


def _sqlite_time(value: datetime | None) -> str | None:
    """A UTC time as SQLAlchemy stores it in SQLite (naive, microseconds), for the bulk path."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if value else None


def _insert_entries(session: Session, rows: Iterator[dict[str, Any]]) -> int:
    """Bulk insert in the session's transaction: COPY on PostgreSQL, executemany on SQLite (a million rows in
    seconds rather than minutes through the ORM)."""
    dbapi: Any = session.connection().connection.driver_connection
    dialect = session.get_bind().dialect.name
    count = 0
    if dialect == "postgresql":
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY hotlist_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(tuple(row[c] for c in ENTRY_COLUMNS))
                count += 1
        return count
    if dialect != "sqlite":
        chunk = list(rows)
        session.execute(insert(HotlistEntry), chunk)
        return len(chunk)
    cursor = dbapi.cursor()
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        row["entered_at"], row["expires_at"] = _sqlite_time(row["entered_at"]), _sqlite_time(row["expires_at"])
        batch.append(tuple(row[c] for c in ENTRY_COLUMNS))
        if len(batch) == INSERT_CHUNK:
            cursor.executemany(SQLITE_INSERT, batch)
            count, batch = count + len(batch), []
    cursor.executemany(SQLITE_INSERT, batch)
    cursor.close()
    return count + len(batch)


def _deleted(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _remove_for_incremental(session: Session, hotlist_id: int, rows: list[EntryRow]) -> tuple[int, set[str]]:
    """An incremental load replaces entries with the same plate and state on the list. Returns how many it removed
    and which of the file's plates were on the list already."""
    removed, listed = 0, set[str]()
    keys = {(r.plate, r.state) for r in rows}
    plates = sorted({p for p, _ in keys})
    for batch in in_batches(session, plates):
        existing = session.execute(
            select(HotlistEntry.id, HotlistEntry.plate, HotlistEntry.state).where(
                HotlistEntry.hotlist_id == hotlist_id, HotlistEntry.plate.in_(batch)
            )
        ).all()
        listed.update(e.plate for e in existing)
        ids = [e.id for e in existing if (e.plate, e.state) in keys]
        if ids:
            removed += _deleted(session.execute(delete(HotlistEntry).where(HotlistEntry.id.in_(ids))))
    return removed, listed


def import_entries(
    work: Work,
    hotlist_id: int,
    data: bytes,
    spec: ImportSpec,
    *,
    mode: ImportMode,
    file_name: str,
) -> ImportOutcome:
    """Load a file into a list: ``full`` replaces every entry (the daily refresh), ``incremental`` adds to it.

    All or nothing: every row is parsed and checked before anything is written; any bad row refuses the whole
    file (the refusal is audited) and the list is left as it was. A full load marks the list as refreshed now.
    The outcome names the plates that are new to the list; after the commit, ``alerts.historical`` searches the
    past reads for them.
    """
    session, settings = work.session, work.settings
    hotlist = get_hotlist(session, hotlist_id)
    if len(data) > settings.hotlists.max_import_bytes:
        raise HotlistError(f"file: {len(data)} bytes; the limit is {settings.hotlists.max_import_bytes}")
    now = utcnow()
    spec = replace(spec, default_kind=spec.default_kind or hotlist.kind)  # a row without a category: the list's kind
    try:
        parsed = parse_rows(data, spec, settings.hotlists, now.date())
    except ValueError as exc:
        raise HotlistError(str(exc)) from None
    base = {"hotlist_id": hotlist.id, "name": hotlist.name, "mode": mode, "file": file_name, **describe(spec)}
    if parsed.error_count:
        first_errors = [dict(e.__dict__) for e in parsed.errors[:10]]
        refused = HotlistImportRefused(**base, bad_rows=parsed.error_count, first_errors=first_errors)
        work.record(refused, outcome="failure")
        raise ImportRejected(parsed.errors, parsed.error_count, len(parsed.rows))
    if mode == "full":
        listed = set(session.scalars(select(HotlistEntry.plate).where(HotlistEntry.hotlist_id == hotlist.id)))
        removed = _deleted(session.execute(delete(HotlistEntry).where(HotlistEntry.hotlist_id == hotlist.id)))
    else:
        removed, listed = _remove_for_incremental(session, hotlist.id, parsed.rows)
    new_plates = frozenset(r.plate for r in parsed.rows if r.plate not in listed)
    loaded = _insert_entries(session, _entry_rows(parsed.rows, hotlist.id, work.actor.username or "import", now))
    values: dict[str, Any] = {"revision": Hotlist.revision + 1}
    if mode == "full":
        values["loaded_at"] = now
    session.execute(update(Hotlist).where(Hotlist.id == hotlist.id).values(**values))
    imported = HotlistImported(**base, loaded=loaded, removed=removed, new_plates=len(new_plates))
    work.record(imported)
    return ImportOutcome(hotlist_id=hotlist.id, mode=mode, loaded=loaded, removed=removed, new_plates=new_plates)
