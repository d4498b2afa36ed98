"""The scheduled refresh: files dropped in ``hotlists.watch_dir`` replace the list they are named after.

A file ``<list name>.csv`` or ``.txt`` (comma-delimited with a header) or ``.dat`` (fixed width) is loaded as a full
replace. A loaded file moves to ``loaded/``; a refused one to ``refused/`` with a ``.errors.txt`` naming each bad
row. After a load, the past reads are searched for the plates new to the list (historical alerts). Run once by
``platekeeper hotlists refresh-watch`` (e.g. from cron), or every ``watch_interval_minutes`` by
``platekeeper serve`` when ``watch_dir`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database, utcnow
from platekeeper.hotlists.importers import ImportSpec
from platekeeper.hotlists.service import HotlistError, ImportOutcome, ImportRejected, hotlist_by_name, import_entries

__all__ = ["HistorySearch", "WatchResult", "refresh_from_watch_dir"]

HistorySearch = Callable[[Actor, ImportOutcome, str], str]
"""Searches the past reads for the plates an import added and says what it found (the alert runtime's, or the
command line's with a progress bar); hotlists know only this signature."""

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".txt": "csv", ".dat": "fixed"}


@dataclass(frozen=True)
class WatchResult:
    file: str
    hotlist: str
    loaded: int
    error: str | None = None
    historical: str | None = None  # what the historical-hit search found, or why it failed
    historical_failed: bool = False


def _move(path: Path, folder: str) -> Path:
    target = path.parent / folder / f"{utcnow():%Y%m%dT%H%M%S}-{path.name}"
    target.parent.mkdir(exist_ok=True)
    path.replace(target)
    return target


def _load_one(
    settings: Settings, database: Database, key: bytes, path: Path, search_history: HistorySearch | None
) -> WatchResult:
    spec = ImportSpec(format=FORMATS[path.suffix.lower()])  # type: ignore[arg-type]
    actor = Actor.system("watch")
    try:
        with database.session() as session:
            hotlist = hotlist_by_name(session, path.stem)
            if hotlist is None:
                raise HotlistError(f"file: no list named {path.stem!r}; create it first")
            work = Work(session, settings, key, actor)
            try:
                outcome = import_entries(work, hotlist.id, path.read_bytes(), spec, mode="full", file_name=path.name)
            except ImportRejected as exc:
                error: ImportRejected | None = exc  # the refusal's audit event commits with this session
            else:
                error = None
        if error is not None:
            raise error
    except (HotlistError, ImportRejected) as exc:
        moved = _move(path, "refused")
        lines = [f"line {e.line}: {e.message}" for e in getattr(exc, "errors", [])] or [str(exc)]
        moved.with_name(moved.name + ".errors.txt").write_text("\n".join(lines) + "\n")
        return WatchResult(path.name, path.stem, 0, str(exc))
    _move(path, "loaded")
    if search_history is None:
        return WatchResult(path.name, path.stem, outcome.loaded)
    try:
        found = search_history(actor, outcome, path.name)
    except Exception as exc:  # the load stands; say the search failed
        log.exception("historical-hit search after %s failed", path.name)
        failed = f"historical search FAILED: {type(exc).__name__}: {exc}"
        return WatchResult(path.name, path.stem, outcome.loaded, historical=failed, historical_failed=True)
    return WatchResult(path.name, path.stem, outcome.loaded, historical=found)


def refresh_from_watch_dir(
    settings: Settings, database: Database, key: bytes, *, search_history: HistorySearch | None = None
) -> list[WatchResult]:
    """Load every refresh file waiting in the watch folder, oldest first, each followed by its historical-hit
    search (``search_history``, when given); empty when there is none."""
    folder = settings.hotlists.watch_dir
    if folder is None or not folder.is_dir():
        return []
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORMATS), key=lambda p: p.stat().st_mtime
    )
    return [_load_one(settings, database, key, path, search_history) for path in files]
