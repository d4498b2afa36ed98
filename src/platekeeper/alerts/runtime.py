"""What a running app needs for alerts: the live matcher, the broker and the after-ingest hook that joins them."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session

from platekeeper.alerts.service import raise_alerts
from platekeeper.alerts.stream import AlertBroker, publish_after_commit
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.hotlists.runtime import HotlistMatcher

__all__ = ["AlertRuntime", "runtime_of"]

log = logging.getLogger(__name__)


@dataclass
class AlertRuntime:
    """The matcher and broker of one app; ``after_ingest`` is registered in ``AppState.after_ingest``."""

    settings: Settings
    database: Database
    audit_key: bytes
    matcher: HotlistMatcher = field(init=False)
    broker: AlertBroker = field(init=False)
    _watch_stop: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self.matcher = HotlistMatcher(self.database, self.settings.matching)
        self.broker = AlertBroker(self.settings.alerts.stream_queue_size)

    def after_ingest(self, session: Session, settings: Settings, read_ids: list[uuid.UUID]) -> None:
        """Match newly stored reads in the ingest transaction; push the alerts once it commits."""
        if not read_ids:
            return
        index = self.matcher.current(session)
        messages = raise_alerts(session, settings, self.audit_key, index, read_ids)
        publish_after_commit(session, self.broker, messages)

    def start_watch(self) -> None:
        """Scan hotlists.watch_dir every watch_interval_minutes in a daemon thread (used by `platekeeper serve`)."""
        from platekeeper.hotlists.watch import refresh_from_watch_dir

        if self.settings.hotlists.watch_dir is None:
            return
        interval = self.settings.hotlists.watch_interval_minutes * 60

        def loop() -> None:
            while not self._watch_stop.is_set():
                try:
                    if refresh_from_watch_dir(self.settings, self.database, self.audit_key):
                        self.matcher.invalidate()
                except Exception:  # keep watching; the failure is logged and written beside the file
                    log.exception("hotlist watch-folder refresh failed")
                self._watch_stop.wait(interval)

        threading.Thread(target=loop, name="hotlist-watch", daemon=True).start()

    def stop(self) -> None:
        self._watch_stop.set()


def runtime_of(request: Request) -> AlertRuntime:
    """The app's alert runtime (set by create_app)."""
    runtime: AlertRuntime = request.app.state.alerting
    return runtime
