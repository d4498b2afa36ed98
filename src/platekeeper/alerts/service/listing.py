"""The alert list for a busy shift: newest sighting first, filtered by source, status, list and priority, a page at
a time; open alerts counted by priority for the home page; historical leads closed in bulk with a reason."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from platekeeper.access.principal import Principal
from platekeeper.alerts.models import Alert
from platekeeper.alerts.service.records import alert_context, alert_json, camera_names
from platekeeper.audit.events import AlertLeadClosed, AlertsDashboardOpened
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.retention.floor import retention_cutoff

__all__ = [
    "AlertFilter",
    "AlertPage",
    "LeadsClosed",
    "LeadsRefused",
    "Source",
    "StatusFilter",
    "alerts_of_plate",
    "close_historical_leads",
    "list_alerts",
    "open_alerts_by_priority",
]

Source = Literal["all", "live", "historical"]
StatusFilter = Literal["all", "open", "new", "acknowledged", "visual_checked", "clets_recorded", "closed"]
LEAD_REASON_MIN = 15


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list: all, live or historical; any status, the open ones or one status; one list; one
    priority; and which page of ``page_size``."""

    source: Source = "all"
    status: StatusFilter = "all"
    hotlist_id: int | None = None
    priority: int | None = None
    page: int = 1
    page_size: int | None = None  # None: alerts.dashboard_size


@dataclass(frozen=True)
class AlertPage:
    alerts: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def within_retention(settings: Settings) -> ColumnElement[bool]:
    """The alert's sighting is within the retention period (462.9): older ones show no plate, purged or not yet."""
    return Alert.captured_at >= retention_cutoff(utcnow(), settings.retention.days)


def _filtered(query: Select[Any], filters: AlertFilter, settings: Settings) -> Select[Any]:
    query = query.where(Alert.purged_at.is_(None), within_retention(settings))
    if filters.source != "all":
        query = query.where(Alert.historical.is_(filters.source == "historical"))
    if filters.status == "open":
        query = query.where(Alert.status != "closed")
    elif filters.status != "all":
        query = query.where(Alert.status == filters.status)
    if filters.hotlist_id is not None:
        query = query.where(Alert.hotlist_id == filters.hotlist_id)
    if filters.priority is not None:
        query = query.where(Alert.priority == filters.priority)
    return query


def list_alerts(work: Work, principal: Principal, filters: AlertFilter | None = None) -> AlertPage:
    """One page of alerts, newest sighting first (so live hits stand above the historical leads an import found),
    not those released by a purge; opening it is audited (``alerts.dashboard``)."""
    principal.require("alerts.view")
    filters = filters or AlertFilter()
    session, settings = work.session, work.settings
    size = filters.page_size or settings.alerts.dashboard_size
    total = session.scalar(_filtered(select(func.count(Alert.id)), filters, settings)) or 0
    pages = max(1, math.ceil(total / size))
    page = min(filters.page, pages)
    query = _filtered(select(Alert), filters, settings).order_by(Alert.captured_at.desc(), Alert.id.desc())
    alerts = session.scalars(query.offset((page - 1) * size).limit(size)).all()
    work.by(principal).record(AlertsDashboardOpened(shown=len(alerts)), purpose=settings.alerts.dashboard_purpose)
    names = camera_names(session)
    return AlertPage([alert_json(a, settings, names.get(a.camera_id)) for a in alerts], total, page, pages)


def alerts_of_plate(session: Session, settings: Settings, plate: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` alerts raised for one plate (read as it, or matched through it), not purged. No audit of
    its own: the caller (a plate's story) records the access under its context."""
    query = (
        select(Alert)
        .where(Alert.purged_at.is_(None), within_retention(settings))
        .where(or_(Alert.plate == plate, Alert.matched_text == plate))
        .order_by(Alert.captured_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    names = camera_names(session)
    return [alert_json(a, settings, names.get(a.camera_id)) for a in session.scalars(query)]


def open_alerts_by_priority(session: Session) -> dict[int, int]:
    """How many alerts are open (not closed, not purged) at each priority 1-5: counts only, no plate data."""
    rows = session.execute(
        select(Alert.priority, func.count(Alert.id))
        .where(Alert.status != "closed", Alert.purged_at.is_(None))
        .group_by(Alert.priority)
    )
    counts = dict.fromkeys(range(1, 6), 0)
    counts.update({int(priority): int(n) for priority, n in rows})
    return counts


class LeadsRefused(ValueError):
    """A bulk close that cannot run (the reason is missing or too short); nothing was closed."""


@dataclass(frozen=True)
class LeadsClosed:
    closed: list[int]
    skipped: list[dict[str, Any]]  # {"id": ..., "why": ...} for each alert that was left as it was


def _why_not(alert: Alert | None) -> str | None:
    if alert is None:
        return "no such alert"
    if not alert.historical:
        return "a live alert"
    if alert.purged_at is not None:
        return "purged"
    if alert.status == "closed":
        return "already closed"
    if alert.status != "new":
        return f"being verified ({alert.status.replace('_', ' ')}): close it on its own page"
    return None


def close_historical_leads(work: Work, principal: Principal, alert_ids: Sequence[int], reason: str) -> LeadsClosed:
    """Close historical leads nobody has started to verify (status ``new``) at once, with
    ``alerts.lead_disposition`` and one reason for all; each close is audited (``alerts.lead_closed``) under that
    alert's own purpose and reference. Live alerts, and leads an officer is working, are never closed this way:
    each one is verified on its own (policy 462.8)."""
    principal.require("alerts.close_leads")
    reason = " ".join(reason.split())
    if len(reason) < LEAD_REASON_MIN:
        raise LeadsRefused(f"reason: say why these leads are closed, in {LEAD_REASON_MIN} characters or more")
    disposition = work.settings.alerts.lead_disposition
    query = select(Alert).where(Alert.id.in_(set(alert_ids)))
    if work.session.get_bind().dialect.name == "postgresql":  # as the verification steps: one writer per alert
        query = query.with_for_update()
    found = {a.id: a for a in work.session.scalars(query)}
    closed, skipped, now = [], [], utcnow()
    for alert_id in dict.fromkeys(alert_ids):
        alert = found.get(alert_id)
        why = _why_not(alert)
        if why is not None or alert is None:
            skipped.append({"id": alert_id, "why": why})
            continue
        alert.status, alert.disposition, alert.notes = "closed", disposition, reason[:2000]
        alert.disposition_by, alert.disposition_at = principal.username, now
        ctx = alert_context(work.settings, principal, alert)
        event = AlertLeadClosed(
            alert_id=alert.id, plate=alert.plate, status="closed", disposition=disposition, reason=reason[:200]
        )
        work.by(principal).record(
            event, purpose=ctx.purpose, case_number=ctx.case_number, justification=ctx.justification
        )
        closed.append(alert.id)
    return LeadsClosed(closed, skipped)
