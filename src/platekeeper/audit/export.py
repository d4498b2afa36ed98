"""A period of the audit log as a file an auditor keeps: CSV (for a spreadsheet) or JSON Lines (for a program).

Every column an auditor needs is there, the seals included (``prev_hash`` and ``hash``: the rows link up, and with
the key the chain can be checked again). The file is streamed from a read-only snapshot in batches of
``audit.export_batch_size`` events, so a large period never sits in memory. It holds the events up to the chain's
head at the moment the export was recorded (:func:`platekeeper.audit.oversight.export_audit_log`), and since the
log is append-only, exactly as many as that record says. A CSV cell that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading apostrophe.

``details`` are the sealed ones (a plate as ``{"digest": ...}``), so every seal can be checked again; beside them
``plate_texts`` gives each digested plate's text while it is kept, else the forgotten marker
(:mod:`platekeeper.audit.plates`), masked (``7AB***3``) for someone whose role reaches no plate data.

With its proof (``proof``), the file goes in a ZIP beside the seals of every event over the period and the signed
checkpoint that closes them, so an outside auditor can check it complete (:mod:`platekeeper.audit.proof`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import KeptTexts, kept_texts
from platekeeper.audit.service import AuditFilter, event_fields, iter_event_batches
from platekeeper.db import Database

__all__ = ["EXPORT_COLUMNS", "AuditExport", "ExportFormat", "csv_cell", "event_record"]

ExportFormat = Literal["csv", "jsonl"]
EXPORT_COLUMNS = (
    "seq",
    "occurred_at",
    "action",
    "outcome",
    "username",
    "organization",
    "role",
    "client",
    "purpose",
    "case_number",
    "justification",
    "details",
    "plate_texts",
    "prev_hash",
    "hash",
)
MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def event_record(event: AuditEvent, texts: KeptTexts) -> dict[str, Any]:
    """An audit event with every statutory field and its seal, as the API and the exports give it, and the text
    of each plate it seals as a digest (or the forgotten marker) under ``plate_texts``; masked as ``texts`` says
    (a plate written as text before the digests is masked in ``details`` too)."""
    fields = event_fields(event)
    fields["details"] = texts.legacy_masked(event, fields["details"])
    fields["justification"] = texts.free_text(event.justification)
    return {**fields, "hash": event.hash, "plate_texts": texts.of(event)}


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def csv_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_rows(events: list[AuditEvent], texts: KeptTexts) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for event in events:
        record = event_record(event, texts)
        record["details"], record["plate_texts"] = _compact(record["details"]), _compact(record["plate_texts"])
        writer.writerow([csv_cell(record[column]) for column in EXPORT_COLUMNS])
    return buffer.getvalue()


def _jsonl_rows(events: list[AuditEvent], texts: KeptTexts) -> str:
    return "".join(json.dumps(event_record(event, texts), ensure_ascii=False) + "\n" for event in events)


def _csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(EXPORT_COLUMNS)
    return buffer.getvalue()


@dataclass(frozen=True)
class AuditExport:
    """An export that was recorded: what it covers (``flt``, a bounded period, and ``through_seq``), how many
    events it holds (``rows``), whether its plates are masked and how to write it."""

    format: ExportFormat
    flt: AuditFilter
    through_seq: int
    rows: int
    batch: int
    plate_days: int
    masked: bool = False

    @property
    def filename(self) -> str:
        """``audit-log_<first day>_to_<last day>.<format>``, the days in the agency's timezone."""
        since, until = self.flt.since, self.flt.until
        if since is None or until is None:
            raise ValueError("an export covers a bounded period (filters.export_filter)")
        return f"audit-log_{since.date()}_to_{(until - timedelta(days=1)).date()}.{self.format}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    def lines(self, session: Session) -> Iterator[str]:
        """The file, one chunk per batch of events (the CSV's header first), read in ``session``."""
        rows = _csv_rows if self.format == "csv" else _jsonl_rows
        if self.format == "csv":
            yield _csv_header()
        for events in iter_event_batches(session, self.flt, through_seq=self.through_seq, batch=self.batch):
            yield rows(events, kept_texts(session, events, self.plate_days, masked=self.masked))

    def chunks(self, database: Database) -> Iterator[str]:
        """The file, one chunk per batch of events (the CSV's header first), read in one read-only snapshot."""
        with database.read_connection() as connection, Session(bind=connection) as session:
            yield from self.lines(session)
