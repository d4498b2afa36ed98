"""Audit events of hotlists and alerts."""

from __future__ import annotations

from typing import Any, ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "AlertAcknowledged",
    "AlertClets",
    "AlertCreated",
    "AlertDisposition",
    "AlertFiguresViewed",
    "AlertLeadClosed",
    "AlertTransitionRefused",
    "AlertViewed",
    "AlertVisualCheck",
    "AlertsDashboardOpened",
    "AlertsPurged",
    "HotlistCreated",
    "HotlistEntriesViewed",
    "HotlistEntryAdded",
    "HotlistHistoricalSearch",
    "HotlistImportRefused",
    "HotlistImported",
]


class HotlistCreated(AuditEventType):
    """A hotlist was created."""

    action: ClassVar[str] = "hotlists.create"
    hotlist_id: int = detail("Hotlist")
    name: str = detail("Name")
    kind: str = detail("Kind")


class _HotlistFile(AuditEventType):
    hotlist_id: int = detail("Hotlist")
    name: str = detail("Name")
    mode: str = detail("Mode")
    file: str = detail("File")
    format: str = detail("Format")
    delimiter: str = detail("Delimiter")
    header: bool = detail("Header row")
    mapping: dict[str, str] = detail("Column mapping")


class HotlistImported(_HotlistFile):
    """A hotlist was loaded from a file (full replace or incremental)."""

    action: ClassVar[str] = "hotlists.import"
    loaded: int = detail("Entries loaded")
    removed: int = detail("Entries removed")
    new_plates: int = detail("Plates new to the list")


class HotlistImportRefused(_HotlistFile):
    """A hotlist import was refused (bad rows or a refused category); nothing was loaded."""

    action: ClassVar[str] = "hotlists.import_refused"
    bad_rows: int = detail("Bad rows")
    first_errors: list[dict[str, Any]] = detail("First errors")


class HotlistEntryAdded(AuditEventType):
    """An officer added a hotlist entry."""

    action: ClassVar[str] = "hotlists.entry_add"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    hotlist_id: int = detail("Hotlist")
    entry_id: int = detail("Entry")
    plate: str = detail("Plate")
    state: str | None = detail("State")


class HotlistEntriesViewed(AuditEventType):
    """The entries of a hotlist were viewed."""

    action: ClassVar[str] = "hotlists.entries_view"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    hotlist_id: int = detail("Hotlist")
    plate: str | None = detail("Plate")
    page: int = detail("Page")
    results: int = detail("Results")


class HotlistHistoricalSearch(AuditEventType):
    """Past reads were searched for a new hotlist entry (historical hits).

    An officer's new entry names the entry and its plate; an import names the file, its mode, the plates new to
    the list and the alerts raised."""

    action: ClassVar[str] = "hotlists.historical_search"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    hotlist_id: int = detail("Hotlist")
    entry_id: int | None = optional_detail("Entry")
    plate: str | None = optional_detail("Plate")
    file: str | None = optional_detail("File")
    mode: str | None = optional_detail("Import mode")
    new_plates: int | None = optional_detail("Plates new to the list")
    since: str = detail("Reads since")
    entries_searched: int = detail("Entries searched")
    reads_searched: int = detail("Reads searched")
    reads_examined: int = detail("Reads examined")
    prefiltered: bool = detail("Prefiltered by the database")
    results: int = detail("Hits")
    kept: int = detail("Hits kept")
    alerts: int | None = optional_detail("Alerts raised")


class AlertCreated(AuditEventType):
    """A read matched a hotlist entry and an alert was raised."""

    action: ClassVar[str] = "alerts.create"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    alert_id: int = detail("Alert")
    read_id: str = detail("Read")
    plate: str = detail("Plate")
    entry_id: int | None = detail("Entry")
    hotlist: str = detail("Hotlist")
    match_kind: str = detail("Match")
    matched_via: str | None = detail("Matched via")
    historical: bool = detail("Historical")


class AlertsDashboardOpened(AuditEventType):
    """The live alert dashboard or alert list was opened.

    The list names how many alerts it showed; the live stream says so, and from which alert it replays."""

    action: ClassVar[str] = "alerts.dashboard"
    shown: int | None = optional_detail("Alerts shown")
    stream: bool | None = optional_detail("Live stream")
    replay_after: int | None = optional_detail("Replayed after alert")


class AlertViewed(AuditEventType):
    """One alert was opened with its read, images and hotlist entry."""

    action: ClassVar[str] = "alerts.view"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    alert_id: int = detail("Alert")
    plate: str | None = detail("Plate")
    found: bool = detail("Found")


class _AlertStep(AuditEventType):
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    alert_id: int = detail("Alert")
    plate: str = detail("Plate")
    status: str = detail("Status")


class AlertAcknowledged(_AlertStep):
    """An alert was acknowledged."""

    action: ClassVar[str] = "alerts.acknowledge"


class AlertVisualCheck(_AlertStep):
    """An officer attested the visual check of an alert (match, misread, wrong state...)."""

    action: ClassVar[str] = "alerts.visual_check"
    result: str = detail("Result")


class AlertClets(_AlertStep):
    """A CLETS confirmation of an alert was recorded."""

    action: ClassVar[str] = "alerts.clets"
    result: str = detail("Result")
    reference: str = detail("Message reference")


class AlertDisposition(_AlertStep):
    """An alert was closed with a disposition."""

    action: ClassVar[str] = "alerts.disposition"
    disposition: str = detail("Disposition")


class AlertLeadClosed(_AlertStep):
    """A historical lead was closed as part of a bulk close, with the reason given for all of them."""

    action: ClassVar[str] = "alerts.lead_closed"
    disposition: str = detail("Disposition")
    reason: str = detail("Reason")


class AlertTransitionRefused(AuditEventType):
    """A verification step was refused (out of order, or enforcement without checks)."""

    action: ClassVar[str] = "alerts.transition_refused"
    alert_id: int = detail("Alert")
    step: str = detail("Step")
    status: str = detail("Status")
    reason: str = detail("Reason")


class AlertFiguresViewed(AuditEventType):
    """Misread rates and hits per list were viewed."""

    action: ClassVar[str] = "alerts.figures"
    cameras: int = detail("Cameras")


class AlertsPurged(AuditEventType):
    """Alerts of reads being purged lost their plate details; their dispositions stay for the figures."""

    action: ClassVar[str] = "alerts.purge"
    reads: int = detail("Reads purged")
    alerts_released: int = detail("Alerts released")
