"""Historical hits of an import: past reads of the plates an import added become historical alerts.

Run after the import has committed (from the CLI with a progress bar, from the watched-folder refresh, or in a
background thread after an upload). The search reads through a read-only snapshot, so on SQLite ingest goes on
meanwhile; then one short transaction records the search (``hotlists.historical_search``, under the purpose
``hotlists.historical_search_purpose``) and raises an alert marked ``historical`` for each hit, at most
``matching.historical_alert_limit`` (the newest reads). A historical alert is a past read, not a live sighting:
the dashboard and the alert page say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from platekeeper.alerts.service import store_alerts
from platekeeper.alerts.stream import AlertBroker, publish_after_commit
from platekeeper.audit.events import HotlistHistoricalSearch
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.hotlists.service import ImportOutcome
from platekeeper.hotlists.service.history import HistoricalScan, Progress, new_entry_targets, search_past_reads

__all__ = ["HistoricalOutcome", "search_history_for_import"]


@dataclass(frozen=True)
class HistoricalOutcome:
    """What the search of one import found and raised."""

    new_plates: int
    scan: HistoricalScan | None = None
    alerts: int = 0

    @property
    def left_out(self) -> int:
        """Hits past ``matching.historical_alert_limit``: counted in the audit event, not raised."""
        return self.scan.left_out if self.scan else 0

    def describe(self) -> str:
        """One line for the CLI and the watched-folder report."""
        if self.scan is None:
            return "no plates new to the list: no historical search"
        text = (
            f"historical search: {self.scan.searched} past reads searched for {self.new_plates} new plate(s); "
            f"{self.scan.found} hit(s), {self.alerts} historical alert(s) raised (past reads, not live sightings)"
        )
        if self.left_out:
            text += f"; {self.left_out} older hit(s) not raised (matching.historical_alert_limit)"
        return text


def search_history_for_import(
    settings: Settings,
    database: Database,
    key: bytes,
    actor: Actor,
    outcome: ImportOutcome,
    *,
    file_name: str,
    progress: Progress | None = None,
    broker: AlertBroker | None = None,
) -> HistoricalOutcome:
    """Search the past reads within retention for the plates ``outcome`` added, and raise historical alerts.

    Call it once the import has committed. With ``broker``, the alerts are pushed to this process's dashboards
    after they commit (other processes' dashboards pick them up from the alerts table).
    """
    if not outcome.new_plates:
        return HistoricalOutcome(new_plates=0)
    with database.read_connection() as connection:
        lookup = settings.matching.historical_prefilter_entries
        targets = new_entry_targets(connection, outcome.hotlist_id, outcome.new_plates, lookup_limit=lookup)
        scan = search_past_reads(
            connection, settings, targets, limit=settings.matching.historical_alert_limit, progress=progress
        )
    with database.session() as session:
        work = Work(session, settings, key, actor)
        found = [(hit.read, hit.match) for hit in scan.hits]
        messages = store_alerts(work, found, historical=True)
        searched = HotlistHistoricalSearch(
            hotlist_id=outcome.hotlist_id,
            file=file_name,
            mode=outcome.mode,
            new_plates=len(outcome.new_plates),
            **scan.describe(),
            alerts=len(messages),
        )
        work.record(searched, purpose=settings.hotlists.historical_search_purpose)
        if broker is not None:
            publish_after_commit(session, broker, messages)
    return HistoricalOutcome(new_plates=len(outcome.new_plates), scan=scan, alerts=len(messages))
