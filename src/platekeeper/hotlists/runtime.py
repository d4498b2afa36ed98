"""The live matcher of a running process: holds the current index and rebuilds it when the lists change.

Ingest never waits for a reload: when the lists' signature changes (an import, an officer entry, in this process
or another), a background thread builds a new index while the old one keeps matching, then swaps it in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from platekeeper.audit.work import Work
from platekeeper.config import MatchConfig
from platekeeper.db import Database
from platekeeper.hotlists.matcher import Confusables, MatchIndex
from platekeeper.hotlists.service import ImportOutcome, iter_match_targets, match_signature

__all__ = ["AfterImport", "HotlistMatcher"]

log = logging.getLogger(__name__)

AfterImport = Callable[[Work, ImportOutcome, str], None]
"""Called with the unit of work of a hotlist import (page, API: its transaction and who imported), what changed and
the file's name: the alert runtime reloads the matcher and, once the import commits, searches past reads for the new
plates. Hotlists know only this signature; ``services.build_services`` registers the hooks."""


class HotlistMatcher:
    """The index in use, and the reload machinery around it."""

    def __init__(self, database: Database, config: MatchConfig) -> None:
        self.database = database
        self.config = config
        self.confusables = Confusables(config.confusable_pairs)
        self._index: MatchIndex | None = None
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self._checked_at = 0.0

    def build(self) -> MatchIndex:
        """Build a fresh index from the database now and put it in use."""
        signature, targets = iter_match_targets(self.database)
        index = MatchIndex.build(
            targets, self.confusables, edit_distance_one=self.config.edit_distance_one, revision=signature
        )
        with self._lock:
            self._index = index
        return index

    def _build_in_background(self) -> None:
        try:
            started = time.monotonic()
            index = self.build()
            log.info("hotlist index rebuilt: %d entries in %.1f s", len(index), time.monotonic() - started)
        except Exception:  # the old index stays in use; the next check retries
            log.exception("hotlist index rebuild failed")

    def current(self, session: Session) -> MatchIndex:
        """The index to match with; starts a background rebuild when the lists changed since it was built."""
        index = self._index
        if index is None:
            if self.rebuilding:
                self.wait()
            return self._index or self.build()
        now = time.monotonic()
        if now - self._checked_at < self.config.reload_check_seconds:
            return index
        self._checked_at = now
        if match_signature(session) != index.revision and not self.rebuilding:
            self._building = threading.Thread(target=self._build_in_background, name="hotlist-reload", daemon=True)
            self._building.start()
        return index

    @property
    def rebuilding(self) -> bool:
        """Whether a background rebuild is running."""
        return self._building is not None and self._building.is_alive()

    def reload_after_commit(self, session: Session) -> None:
        """Rebuild in the background once this session's change (an import, a new entry) has committed."""

        def start(_session: Session) -> None:
            self.invalidate()
            if not self.rebuilding:
                self._building = threading.Thread(target=self._build_in_background, name="hotlist-reload", daemon=True)
                self._building.start()

        event.listen(session, "after_commit", start, once=True)

    def invalidate(self) -> None:
        """Check the signature on the next match (after an import or entry in this process)."""
        self._checked_at = 0.0

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for a running rebuild (tests, benchmarks)."""
        if self._building is not None:
            self._building.join(timeout)
