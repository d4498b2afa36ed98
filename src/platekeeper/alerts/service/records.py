"""Alert records: raised at ingest or by a historical-hit search, listed live, opened with an AccessContext,
counted for the figures, and released (plate details cleared) when their read is purged (462.9)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext, own_context, record_access, require_context
from platekeeper.access.principal import Principal
from platekeeper.alerts.models import Alert
from platekeeper.audit.events import (
    AlertCreated,
    AlertFiguresViewed,
    AlertsDashboardOpened,
    AlertsPurged,
    AlertViewed,
)
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.cameras.service import list_cameras
from platekeeper.config import Settings
from platekeeper.db import in_batches, in_list, utcnow
from platekeeper.hotlists.matcher import Match, MatchIndex, texts_of_read
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from platekeeper.hotlists.service import entries_and_lists, entry_snapshot, is_stale
from platekeeper.reads.images import ImageStore
from platekeeper.reads.matching import reads_for_matching
from platekeeper.reads.service import (
    ReadDetail,
    ReadImage,
    corrections_per_camera,
    get_read,
    get_read_image,
)
from platekeeper.retention.floor import retention_cutoff

__all__ = [
    "AlertDetail",
    "AlertNotFound",
    "alert_context",
    "alert_figures",
    "alert_json",
    "alerts_after",
    "camera_names",
    "dispositions_between",
    "get_alert_detail",
    "get_alert_image",
    "latest_alert_id",
    "missed_alerts",
    "public_alert_counts",
    "purged_reason",
    "raise_alerts",
    "record_stream_opened",
    "release_alerts_for_purge",
    "store_alerts",
]


class AlertNotFound(LookupError):
    """No alert with that id."""


def camera_names(session: Session) -> dict[int, str]:
    return {c.id: c.name for c in list_cameras(session)}


def alert_json(alert: Alert, settings: Settings, camera_name: str | None = None) -> dict[str, Any]:
    """An alert as the dashboard and the API show it (no images)."""
    kind = settings.hotlists.kind(alert.kind)
    entry = alert.entry or {}
    return {
        "id": alert.id,
        "read_id": str(alert.read_id) if alert.read_id else None,
        "created_at": alert.created_at.isoformat(),
        "captured_at": alert.captured_at.isoformat(),
        "captured_at_local": alert.captured_at.astimezone(settings.tz).strftime(
            "%Y-%m-%d %H:%M" if alert.historical else "%H:%M:%S"
        ),  # the dashboard's short form: a live hit is of this shift
        "captured_at_local_full": alert.captured_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S"),
        "camera": {"id": alert.camera_id, "name": camera_name},
        "plate": alert.plate,
        "matched_text": alert.matched_text,
        "matched_via": alert.matched_via,
        "match_kind": alert.match_kind,
        "match_confidence": alert.match_confidence,
        "entry_plate": entry.get("plate"),
        "entry_state": entry.get("state"),
        "vehicle": " ".join(str(entry.get(k)) for k in ("color", "make", "model") if entry.get(k)),
        "state_mismatch": alert.state_mismatch,
        "list_stale": alert.list_stale,
        "priority": alert.priority,
        "hotlist": {"id": alert.hotlist_id, "name": alert.hotlist_name},
        "kind": alert.kind,
        "kind_label": kind.label if kind else alert.kind,
        "status": alert.status,
        "disposition": alert.disposition,
        "historical": alert.historical,
        "purged": alert.purged_at is not None,
        "url": f"/alerts/{alert.id}",
    }


def _new_alert(
    settings: Settings, read: Any, match: Match, entry: HotlistEntry, hotlist: Hotlist, now: datetime, historical: bool
) -> Alert:
    kind = settings.hotlists.kind(entry.kind) or settings.hotlists.kind(hotlist.kind)
    return Alert(
        read_id=read.id,
        camera_id=read.camera_id,
        captured_at=read.captured_at,
        created_at=now,
        plate=read.plate,
        matched_text=match.text,
        matched_via=match.via,
        match_confidence=match.confidence,
        match_kind=match.kind,
        state_mismatch=match.state_mismatch,
        list_stale=is_stale(hotlist, now),
        priority=kind.priority if kind else 5,
        hotlist_id=hotlist.id,
        hotlist_name=hotlist.name,
        kind=entry.kind,
        entry_id=entry.id,
        entry=entry_snapshot(entry),
        status="new",
        notes="",
        historical=historical,
    )


def raise_alerts(work: Work, index: MatchIndex, read_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """Match newly stored reads and raise an alert for each hit, audited as the system's ingest
    (``system:ingest``); returns the alerts as JSON, to publish."""
    if not read_ids or len(index) == 0:
        return []
    now = utcnow().timestamp()
    found: list[tuple[Any, Match]] = []
    m = work.settings.matching
    for read in reads_for_matching(work.session, read_ids):
        texts = texts_of_read(
            read.plate, read.confidence, read.candidates, m.max_candidates, m.min_candidate_confidence
        )
        found.extend((read, match) for match in index.match(texts, read.region, now))
    return store_alerts(work.as_(Actor.system("ingest")), found, historical=False)


def store_alerts(work: Work, found: Sequence[tuple[Any, Match]], *, historical: bool) -> list[dict[str, Any]]:
    """An alert per (read, match), each audited as ``alerts.create``; returns them as JSON, to publish.

    ``historical``: past reads found when their entry was imported, not live sightings. A read that already has an
    alert on the same list gets no second, historical one. Matches on entries removed since are skipped.
    """
    if not found:
        return []
    session, settings = work.session, work.settings
    entries, hotlists = entries_and_lists(session, {x.entry_id for _, x in found}, {x.hotlist_id for _, x in found})
    if historical:
        known = _alerted(session, [read.id for read, _ in found])
        found = [(read, match) for read, match in found if (read.id, match.hotlist_id) not in known]
    now = utcnow()
    alerts = [
        _new_alert(settings, read, match, entries[match.entry_id], hotlists[match.hotlist_id], now, historical)
        for read, match in found
        if match.entry_id in entries and match.hotlist_id in hotlists  # removed since the index was built
    ]
    session.add_all(alerts)
    session.flush()
    names = camera_names(session) if alerts else {}
    for alert in alerts:
        created = AlertCreated(
            alert_id=alert.id,
            read_id=str(alert.read_id),
            plate=alert.plate,
            entry_id=alert.entry_id,
            hotlist=alert.hotlist_name,
            match_kind=alert.match_kind,
            matched_via=alert.matched_via,
            historical=historical,
        )
        work.record(created)
    return [alert_json(a, settings, names.get(a.camera_id)) for a in alerts]


def _alerted(session: Session, read_ids: list[uuid.UUID]) -> set[tuple[uuid.UUID | None, int | None]]:
    """(read, list) pairs that already have an alert."""
    pairs: set[tuple[uuid.UUID | None, int | None]] = set()
    unique = sorted(set(read_ids))
    for batch in in_batches(session, unique):
        rows = session.execute(select(Alert.read_id, Alert.hotlist_id).where(Alert.read_id.in_(batch)))
        pairs.update((row.read_id, row.hotlist_id) for row in rows)
    return pairs


def latest_alert_id(session: Session) -> int:
    """The highest alert id committed so far (0 when there is none): where a live stream starts looking."""
    return session.scalar(select(func.max(Alert.id))) or 0


def alerts_after(session: Session, settings: Settings, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Alerts with an id above ``after_id``, oldest first, as JSON: what the live stream polls for, to push alerts
    committed by other processes (a recognition worker, a CLI import). One primary-key range query."""
    alerts = session.scalars(select(Alert).where(Alert.id > after_id).order_by(Alert.id).limit(limit)).all()
    names = camera_names(session) if alerts else {}
    return [alert_json(a, settings, names.get(a.camera_id)) for a in alerts]


def missed_alerts(session: Session, settings: Settings, after_id: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """What a dashboard that has every alert up to ``after_id`` is missing: the alerts above it that the dashboard
    lists (not those released by a purge), the newest ``limit`` of them oldest first, as JSON; and whether more
    were left out. One primary-key range query."""
    rows = session.scalars(
        select(Alert).where(Alert.id > after_id, Alert.purged_at.is_(None)).order_by(Alert.id.desc()).limit(limit + 1)
    ).all()
    alerts = list(reversed(rows[:limit]))
    names = camera_names(session) if alerts else {}
    return [alert_json(a, settings, names.get(a.camera_id)) for a in alerts], len(rows) > limit


def record_stream_opened(work: Work, principal: Principal, replay_after: int | None) -> None:
    """Audit the opening of the live alert stream (``alerts.dashboard``) by this principal, and the alert it
    replays after, if any."""
    opened = AlertsDashboardOpened(stream=True, replay_after=replay_after)
    work.by(principal).record(opened, purpose=work.settings.alerts.dashboard_purpose)


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    read: ReadDetail
    json: dict[str, Any]


def alert_reference(alert: Alert) -> str:
    """The alert's own reference, recorded as the case number of all work on it: its id and the entry's NIC
    number when the list gave one."""
    nic = (alert.entry or {}).get("nic")
    return f"ALERT-{alert.id}" + (f" NIC {nic}" if nic else "")


def alert_context(settings: Settings, principal: Principal, alert: Alert) -> AccessContext:
    """The context all work on an alert is filed under: the purpose configured for its list's kind
    (``hotlists.kinds[].purpose``; the dashboard's purpose for a kind no longer configured), its own reference,
    and what the work is (policy 462.8). A search's context never labels it."""
    kind = settings.hotlists.kind(alert.kind)
    label = kind.label if kind else alert.kind
    return own_context(
        principal,
        settings.access,
        purpose=kind.purpose if kind else settings.alerts.dashboard_purpose,
        reference=alert_reference(alert),
        justification=f"verifying a {label} hit on the list {alert.hotlist_name!r} before any action (policy 462.8)",
    )


def _open_alert(work: Work, principal: Principal, alert_id: int) -> tuple[Alert, AccessContext, uuid.UUID]:
    principal.require("alerts.view")
    alert = work.session.get(Alert, alert_id)
    if alert is None:
        work.by(principal).record(AlertViewed(alert_id=alert_id, plate=None, found=False), outcome="failure")
        raise AlertNotFound(f"no alert with id {alert_id}")
    ctx = require_context(alert_context(work.settings, principal, alert), "alerts.view")
    record_access(work, ctx, AlertViewed(alert_id=alert_id, plate=alert.plate, found=True))
    if alert.read_id is None:
        raise AlertNotFound(purged_reason(alert))
    if alert.captured_at < retention_cutoff(utcnow(), work.settings.retention.days):
        raise AlertNotFound(f"alert {alert.id}: its read is past the retention period (policy 462.9)")
    return alert, ctx, alert.read_id


def get_alert_detail(work: Work, principal: Principal, alert_id: int, store: ImageStore) -> AlertDetail:
    """One alert with its read's crop and overview (read through reads.service, itself audited), all filed under
    the alert's own context (:func:`alert_context`). Audited, found or not."""
    alert, ctx, read_id = _open_alert(work, principal, alert_id)
    read = get_read(work, ctx, read_id, store)
    return AlertDetail(alert=alert, read=read, json=alert_json(alert, work.settings, read.camera.name))


def get_alert_image(work: Work, principal: Principal, alert_id: int, kind: str, store: ImageStore) -> ReadImage:
    """One image (crop or overview) of an alert's read, under the alert's own context. Audited."""
    _, ctx, read_id = _open_alert(work, principal, alert_id)
    return get_read_image(work, ctx, read_id, kind, store)


def purged_reason(alert: Alert) -> str:
    return (
        f"alert {alert.id}: its read was purged after the retention period (policy 462.9); only the counts the "
        "audit figures use are kept"
    )


def alert_figures(work: Work, principal: Principal) -> dict[str, Any]:
    """Misread rate per camera (from dispositions) and hits per list: aggregates only. Audited."""
    principal.require("alerts.figures")
    session, settings = work.session, work.settings
    misread_codes = [d.code for d in settings.alerts.dispositions if d.misread]
    closed = Alert.status == "closed"
    rows = session.execute(
        select(
            Alert.camera_id,
            func.count(Alert.id),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case((Alert.disposition.in_(misread_codes), 1), else_=0)),
        ).group_by(Alert.camera_id)
    ).all()
    names, corrected = camera_names(session), corrections_per_camera(session)
    cameras = [
        {
            "camera_id": cam,
            "camera": names.get(cam, str(cam)),
            "alerts": total,
            "closed": int(done or 0),
            "misreads": int(bad or 0),
            "misread_rate": round(int(bad or 0) / int(done), 4) if done else None,
            "corrected_reads": corrected.get(cam, 0),
        }
        for cam, total, done, bad in rows
    ]
    hits = session.execute(
        select(Alert.hotlist_name, Alert.kind, func.count(Alert.id)).group_by(Alert.hotlist_name, Alert.kind)
    ).all()
    lists = [{"hotlist": name, "kind": kind, "hits": n} for name, kind, n in sorted(hits, key=lambda h: -h[2])]
    work.by(principal).record(AlertFiguresViewed(cameras=len(cameras)))
    return {
        "cameras": cameras,
        "lists": lists,
        "dispositions": _disposition_counts(session, settings),
        "generated_at": datetime.now(settings.tz).isoformat(),
    }


def _disposition_counts(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Closed alerts by disposition, in the configured order, with the configured labels."""
    counts = dict(
        session.execute(
            select(Alert.disposition, func.count(Alert.id)).where(Alert.status == "closed").group_by(Alert.disposition)
        ).all()
    )
    return [
        {"code": d.code, "label": d.label, "count": int(counts.get(d.code, 0))}
        for d in settings.alerts.dispositions
        if counts.get(d.code)
    ]


def release_alerts_for_purge(work: Work, read_ids: Sequence[uuid.UUID]) -> int:
    """Before expired reads are deleted (462.9): strip their alerts of every plate detail and unlink them.

    What the audit figures count stays (camera, list, kind, priority, match kind, status, disposition, who and when
    of each step); the plate, the matched text, the entry snapshot and id, the CLETS reference and the notes go,
    ``read_id`` becomes null and ``purged_at`` is set. The purge must call this first: the foreign key refuses to
    delete a read that still has an alert. Audited as ``alerts.purge`` (counts only). Returns the alerts released.
    """
    now, released, session = utcnow(), 0, work.session
    unique = sorted(set(read_ids))
    for batch in in_batches(session, unique):
        result = session.execute(
            update(Alert)
            .where(Alert.read_id.in_(in_list()))
            .values(
                read_id=None,
                plate="",
                matched_text="",
                entry={},
                entry_id=None,
                clets_reference=None,
                notes="",
                purged_at=now,
            )
            .execution_options(synchronize_session=False),  # an expanding IN list cannot be evaluated in Python
            {"values": batch},
        )
        released += int(getattr(result, "rowcount", 0) or 0)
    if released:
        work.record(AlertsPurged(reads=len(unique), alerts_released=released))
    return released


def dispositions_between(session: Session, settings: Settings, since: datetime, until: datetime) -> dict[str, Any]:
    """Alerts raised within the period: how many, how many closed, by disposition, and the misread rate of the
    closed ones (462.8): the audit report's alert figures. Aggregates only; read-only, not audited."""
    in_period = (Alert.created_at >= since) & (Alert.created_at < until)
    total = session.scalar(select(func.count(Alert.id)).where(in_period)) or 0
    counts = dict(
        session.execute(
            select(Alert.disposition, func.count(Alert.id))
            .where(in_period, Alert.status == "closed")
            .group_by(Alert.disposition)
        ).all()
    )
    closed = sum(int(n) for n in counts.values())
    misread_codes = {d.code for d in settings.alerts.dispositions if d.misread}
    misreads = sum(int(n) for code, n in counts.items() if code in misread_codes)
    labels = {d.code: d.label for d in settings.alerts.dispositions}
    return {
        "alerts": int(total),
        "closed": closed,
        "open": int(total) - closed,
        "dispositions": [
            {"code": code, "label": labels.get(str(code), str(code)), "count": int(n)}
            for code, n in sorted(counts.items(), key=lambda item: -int(item[1]))
        ],
        "misreads": misreads,
        "misread_rate": round(misreads / closed, 4) if closed else None,
    }


def public_alert_counts(session: Session, settings: Settings, since: datetime) -> dict[str, Any]:
    """Hotlist hits raised since ``since`` (live and historical) and the alerts closed since then by disposition,
    with each disposition's label and whether it counts as a misread: counts only, for the transparency page."""
    hits = dict(
        session.execute(
            select(Alert.historical, func.count(Alert.id)).where(Alert.created_at >= since).group_by(Alert.historical)
        ).all()
    )
    closed = dict(
        session.execute(
            select(Alert.disposition, func.count(Alert.id))
            .where(Alert.status == "closed", Alert.created_at >= since)
            .group_by(Alert.disposition)
        ).all()
    )
    dispositions = [
        {"code": d.code, "label": d.label, "misread": d.misread, "count": int(closed.get(d.code, 0))}
        for d in settings.alerts.dispositions
    ]
    return {
        "live_hits": int(hits.get(False, 0)),
        "historical_hits": int(hits.get(True, 0)),
        "dispositions": dispositions,
    }
