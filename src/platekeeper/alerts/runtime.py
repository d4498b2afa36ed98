"""What a running app needs for alerts: the live matcher, the broker (with its poll of the alerts table), the
after-ingest hook that joins them, and the historical-hit search run in the background after an upload import."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from platekeeper.alerts.historical import search_history_for_import
from platekeeper.alerts.service import alerts_after, latest_alert_id, missed_alerts, raise_alerts
from platekeeper.alerts.stream import AlertBroker, Replay, publish_after_commit
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.hotlists.runtime import HotlistMatcher
from platekeeper.hotlists.service import ImportOutcome
from platekeeper.hotlists.watch import refresh_from_watch_dir

__all__ = ["AlertRuntime", "AlertTableFeed"]

log = logging.getLogger(__name__)


@dataclass
class AlertTableFeed:
    """The broker's view of the alerts table, read through read-only snapshots (no SQLite write lock)."""

    settings: Settings
    database: Database

    def latest_id(self) -> int:
        with self.database.read_connection() as conn, Session(bind=conn) as session:
            return latest_alert_id(session)

    def after(self, alert_id: int, limit: int) -> list[dict[str, Any]]:
        with self.database.read_connection() as conn, Session(bind=conn) as session:
            return alerts_after(session, self.settings, alert_id, limit)


@dataclass
class AlertRuntime:
    """The matcher and broker of one installation's process; ``services.build_services`` registers ``after_ingest``
    and ``after_import`` as the hooks of reads and hotlists."""

    settings: Settings
    database: Database
    audit_key: bytes
    matcher: HotlistMatcher
    broker: AlertBroker = field(init=False)
    _watch_stop: threading.Event = field(default_factory=threading.Event, init=False)
    _history: list[threading.Thread] = field(default_factory=list, init=False)  # running historical searches

    def __post_init__(self) -> None:
        config = self.settings.alerts
        self.broker = AlertBroker(
            config.stream_queue_size,
            AlertTableFeed(self.settings, self.database),
            poll_seconds=config.stream_poll_seconds,
            gap_seconds=config.stream_gap_seconds,
        )

    def replay(self, after_id: int) -> Replay:
        """The alerts a dashboard that has every alert up to ``after_id`` missed (at most
        ``alerts.stream_replay_limit``, the newest), read through a read-only snapshot (no SQLite write lock)."""
        with self.database.read_connection() as conn, Session(bind=conn) as session:
            alerts, truncated = missed_alerts(
                session, self.settings, after_id, self.settings.alerts.stream_replay_limit
            )
        return Replay(after_id, alerts, truncated)

    def after_ingest(self, session: Session, settings: Settings, read_ids: list[uuid.UUID]) -> None:
        """Match newly stored reads in the ingest transaction; push the alerts once it commits."""
        if not read_ids:
            return
        index = self.matcher.current(session)
        messages = raise_alerts(Work(session, settings, self.audit_key, Actor.system("ingest")), index, read_ids)
        publish_after_commit(session, self.broker, messages)

    def after_import(self, work: Work, outcome: ImportOutcome, file_name: str) -> None:
        """A hotlist import's hook: reload the matcher once it commits, then search past reads for its new plates
        (audited as whoever imported)."""
        self.matcher.reload_after_commit(work.session)
        self.search_history_after_commit(work.session, work.actor, outcome, file_name)

    def search_history(self, actor: Actor, outcome: ImportOutcome, file_name: str) -> str:
        """Search past reads for an import's new plates now, the alerts pushed to the dashboards; say what it found."""
        return search_history_for_import(
            self.settings, self.database, self.audit_key, actor, outcome, file_name=file_name, broker=self.broker
        ).describe()

    def search_history_after_commit(
        self, session: Session, actor: Actor, outcome: ImportOutcome, file_name: str
    ) -> None:
        """Once this session's import has committed, search past reads for its new plates in a background thread;
        the historical alerts reach the dashboards over the live stream."""
        if not outcome.new_plates:
            return

        def run() -> None:
            try:
                result = search_history_for_import(
                    self.settings, self.database, self.audit_key, actor, outcome, file_name=file_name,
                    broker=self.broker,
                )  # fmt: skip
                log.info("hotlist %d: %s", outcome.hotlist_id, result.describe())
            except Exception:  # the import stands; the failure is logged for the administrator
                log.exception("historical-hit search after the import of %s failed", file_name)

        def start(_session: Session) -> None:
            thread = threading.Thread(target=run, name="historical-search", daemon=True)
            self._history = [t for t in self._history if t.is_alive()] + [thread]
            thread.start()

        event.listen(session, "after_commit", start, once=True)

    def wait_history(self, timeout: float = 60.0) -> None:
        """Wait for running historical-hit searches (tests)."""
        for thread in list(self._history):
            thread.join(timeout)

    def start_watch(self) -> None:
        """Scan hotlists.watch_dir every watch_interval_minutes in a daemon thread (used by `platekeeper serve`)."""
        if self.settings.hotlists.watch_dir is None:
            return
        interval = self.settings.hotlists.watch_interval_minutes * 60

        def loop() -> None:
            while not self._watch_stop.is_set():
                try:
                    if refresh_from_watch_dir(
                        self.settings, self.database, self.audit_key, search_history=self.search_history
                    ):
                        self.matcher.invalidate()
                except Exception:  # keep watching; the failure is logged and written beside the file
                    log.exception("hotlist watch-folder refresh failed")
                self._watch_stop.wait(interval)

        threading.Thread(target=loop, name="hotlist-watch", daemon=True).start()

    def stop(self) -> None:
        self._watch_stop.set()
        self.broker.stop()
