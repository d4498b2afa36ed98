"""Alerts: raised at ingest, listed live, opened with an AccessContext, verified step by step (policy 462.8).

The verification is an explicit state machine. Each step is allowed only from the states in :data:`STEPS`; a
disposition marked ``enforcement`` in config needs an attested visual match and a CLETS confirmation. Every step,
and every refused step, is audited. The only module that touches the alerts table.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext, require_context
from platekeeper.access.principal import Principal
from platekeeper.alerts.models import Alert
from platekeeper.audit.service import Actor, record_event
from platekeeper.cameras.service import list_cameras
from platekeeper.config import AlertConfig, Settings
from platekeeper.db import utcnow
from platekeeper.hotlists.matcher import Match, MatchIndex, texts_of_read
from platekeeper.hotlists.models import Hotlist, HotlistEntry
from platekeeper.hotlists.service import entries_and_lists, entry_snapshot, is_stale
from platekeeper.reads.images import ImageStore
from platekeeper.reads.service import ReadDetail, actor_of, get_read, reads_for_matching

__all__ = [
    "STATUSES",
    "STEPS",
    "AlertDetail",
    "AlertNotFound",
    "AlertStepRefused",
    "DispositionChoice",
    "acknowledge",
    "alert_figures",
    "alert_json",
    "dispose",
    "disposition_choices",
    "get_alert_detail",
    "list_alerts",
    "raise_alerts",
    "record_clets",
    "record_visual_check",
]

STATUSES = ("new", "acknowledged", "visual_checked", "clets_recorded", "closed")
STEPS: dict[str, tuple[str, ...]] = {  # step -> the statuses it may start from
    "acknowledge": ("new",),
    "visual_check": ("acknowledged",),
    "clets": ("visual_checked",),
    "disposition": ("acknowledged", "visual_checked", "clets_recorded"),
}
VISUAL_MATCH = "match"


class AlertNotFound(LookupError):
    """No alert with that id."""


class AlertStepRefused(ValueError):
    """A verification step that is out of order or not allowed; the message says why."""


def _camera_names(session: Session) -> dict[int, str]:
    return {c.id: c.name for c in list_cameras(session)}


def alert_json(alert: Alert, settings: Settings, camera_name: str | None = None) -> dict[str, Any]:
    """An alert as the dashboard and the API show it (no images)."""
    kind = settings.hotlists.kind(alert.kind)
    entry = alert.entry or {}
    return {
        "id": alert.id,
        "read_id": str(alert.read_id),
        "created_at": alert.created_at.isoformat(),
        "captured_at": alert.captured_at.isoformat(),
        "captured_at_local": alert.captured_at.astimezone(settings.tz).strftime("%H:%M:%S"),
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
        "url": f"/alerts/{alert.id}",
    }


def _new_alert(settings: Settings, read: Any, match: Match, entry: HotlistEntry, hotlist: Hotlist) -> Alert:
    kind = settings.hotlists.kind(entry.kind) or settings.hotlists.kind(hotlist.kind)
    now = utcnow()
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
    )


def raise_alerts(
    session: Session, settings: Settings, key: bytes, index: MatchIndex, read_ids: list[uuid.UUID]
) -> list[dict[str, Any]]:
    """Match newly stored reads and raise an alert for each hit; returns the alerts as JSON, to publish."""
    if not read_ids or len(index) == 0:
        return []
    now = utcnow().timestamp()
    found: list[tuple[Any, Match]] = []
    m = settings.matching
    for read in reads_for_matching(session, read_ids):
        texts = texts_of_read(
            read.plate, read.confidence, read.candidates, m.max_candidates, m.min_candidate_confidence
        )
        found.extend((read, match) for match in index.match(texts, read.region, now))
    if not found:
        return []
    entries, hotlists = entries_and_lists(session, {x.entry_id for _, x in found}, {x.hotlist_id for _, x in found})
    alerts = [
        _new_alert(settings, read, match, entries[match.entry_id], hotlists[match.hotlist_id])
        for read, match in found
        if match.entry_id in entries and match.hotlist_id in hotlists  # removed since the index was built
    ]
    session.add_all(alerts)
    session.flush()
    names = _camera_names(session)
    for alert in alerts:
        record_event(
            session,
            key,
            "alerts.create",
            Actor.system("ingest"),
            details={
                "alert_id": alert.id,
                "read_id": str(alert.read_id),
                "plate": alert.plate,
                "entry_id": alert.entry_id,
                "hotlist": alert.hotlist_name,
                "match_kind": alert.match_kind,
                "matched_via": alert.matched_via,
            },
        )
    return [alert_json(a, settings, names.get(a.camera_id)) for a in alerts]


def list_alerts(
    session: Session, settings: Settings, key: bytes, principal: Principal, *, limit: int, client: str | None = None
) -> list[dict[str, Any]]:
    """The newest alerts for the live dashboard; opening the dashboard is audited (``alerts.dashboard``)."""
    principal.require("alerts.view")
    alerts = session.scalars(select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)).all()
    record_event(
        session,
        key,
        "alerts.dashboard",
        actor_of(principal, client),
        purpose=settings.alerts.dashboard_purpose,
        details={"shown": len(alerts)},
    )
    names = _camera_names(session)
    return [alert_json(a, settings, names.get(a.camera_id)) for a in alerts]


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    read: ReadDetail
    json: dict[str, Any]


def get_alert_detail(
    session: Session,
    settings: Settings,
    key: bytes,
    ctx: AccessContext,
    alert_id: int,
    store: ImageStore,
    *,
    client: str | None = None,
) -> AlertDetail:
    """One alert with its read's crop and overview (read through reads.service, itself audited). Audited."""
    ctx = require_context(ctx, "alerts.view")
    alert = session.get(Alert, alert_id)
    record_event(
        session,
        key,
        "alerts.view",
        actor_of(ctx.principal, client),
        purpose=ctx.purpose,
        case_number=ctx.case_number,
        justification=ctx.justification,
        details={"alert_id": alert_id, "plate": alert.plate if alert else None, "found": alert is not None},
    )
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    read = get_read(session, key, ctx, alert.read_id, store, client=client)
    return AlertDetail(alert=alert, read=read, json=alert_json(alert, settings, read.camera.name))


def _load_for_step(
    session: Session, key: bytes, principal: Principal, alert_id: int, step: str, client: str | None
) -> Alert:
    principal.require("alerts.verify")
    query = select(Alert).where(Alert.id == alert_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    alert = session.scalar(query)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    if alert.status not in STEPS[step]:
        _refuse(session, key, principal, alert, step, _out_of_order(alert, step), client)
    return alert


def _out_of_order(alert: Alert, step: str) -> str:
    if alert.status == "closed":
        return f"the alert is closed ({alert.disposition}); nothing more can be recorded"
    allowed = " or ".join(STEPS[step])
    return f"{step.replace('_', ' ')} is allowed when the alert is {allowed}; it is {alert.status}"


def _refuse(
    session: Session, key: bytes, principal: Principal, alert: Alert, step: str, reason: str, client: str | None
) -> None:
    record_event(
        session,
        key,
        "alerts.transition_refused",
        actor_of(principal, client),
        outcome="denied",
        details={"alert_id": alert.id, "step": step, "status": alert.status, "reason": reason},
    )
    raise AlertStepRefused(reason)


def _audit_step(
    session: Session, key: bytes, principal: Principal, action: str, alert: Alert, client: str | None, **details: Any
) -> None:
    record_event(
        session,
        key,
        action,
        actor_of(principal, client),
        details={"alert_id": alert.id, "plate": alert.plate, "status": alert.status, **details},
    )


def acknowledge(
    session: Session, key: bytes, principal: Principal, alert_id: int, *, client: str | None = None
) -> Alert:
    """Step 1 -> 2: someone has seen the alert and is working it."""
    alert = _load_for_step(session, key, principal, alert_id, "acknowledge", client)
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", principal.username, utcnow()
    _audit_step(session, key, principal, "alerts.acknowledge", alert, client)
    return alert


def record_visual_check(
    session: Session,
    config: AlertConfig,
    key: bytes,
    principal: Principal,
    alert_id: int,
    *,
    result: str,
    attested: bool,
    client: str | None = None,
) -> Alert:
    """Step 3: the officer compared the crop and overview with the entry: ``match`` or a configured reject reason."""
    alert = _load_for_step(session, key, principal, alert_id, "visual_check", client)
    allowed = [VISUAL_MATCH, *(r.code for r in config.reject_reasons)]
    if result not in allowed:
        _refuse(session, key, principal, alert, "visual_check", f"result: choose one of {', '.join(allowed)}", client)
    if not attested:
        reason = "attested: confirm that you compared the plate image, the state and the vehicle with the entry"
        _refuse(session, key, principal, alert, "visual_check", reason, client)
    alert.status, alert.visual_result = "visual_checked", result
    alert.visual_by, alert.visual_at = principal.username, utcnow()
    _audit_step(session, key, principal, "alerts.visual_check", alert, client, result=result)
    return alert


def record_clets(
    session: Session,
    config: AlertConfig,
    key: bytes,
    principal: Principal,
    alert_id: int,
    *,
    result: str,
    reference: str,
    client: str | None = None,
) -> Alert:
    """Step 4: the CLETS check: who, when, the result and the message reference number."""
    alert = _load_for_step(session, key, principal, alert_id, "clets", client)
    codes = [r.code for r in config.clets_results]
    reference = reference.strip().upper()
    if result not in codes:
        _refuse(session, key, principal, alert, "clets", f"result: choose one of {', '.join(codes)}", client)
    if not re.fullmatch(config.clets_reference_pattern, reference):
        reason = f"reference: {reference!r} is not a CLETS reference (alerts.clets_reference_pattern)"
        _refuse(session, key, principal, alert, "clets", reason, client)
    alert.status, alert.clets_result, alert.clets_reference = "clets_recorded", result, reference
    alert.clets_by, alert.clets_at = principal.username, utcnow()
    _audit_step(session, key, principal, "alerts.clets", alert, client, result=result, reference=reference)
    return alert


@dataclass(frozen=True)
class DispositionChoice:
    code: str
    label: str
    enforcement: bool
    allowed: bool
    reason: str | None


def _enforcement_blocker(alert: Alert, config: AlertConfig) -> str | None:
    missing = []
    if alert.visual_result != VISUAL_MATCH:
        missing.append("a visual check attesting that plate, state and vehicle match")
    confirms = {r.code for r in config.clets_results if r.confirms}
    if alert.clets_result not in confirms:
        missing.append("a CLETS confirmation")
    if not missing:
        return None
    return "Enforcement needs " + " and ".join(missing) + " (policy 462.8)."


def disposition_choices(alert: Alert, config: AlertConfig) -> list[DispositionChoice]:
    """Every configured disposition, whether it is allowed now, and if not, why (for the page)."""
    open_now = alert.status in STEPS["disposition"]
    choices = []
    for d in config.dispositions:
        reason = None if open_now else _out_of_order(alert, "disposition")
        if reason is None and d.enforcement:
            reason = _enforcement_blocker(alert, config)
        choices.append(DispositionChoice(d.code, d.label, d.enforcement, reason is None, reason))
    return choices


def dispose(
    session: Session,
    config: AlertConfig,
    key: bytes,
    principal: Principal,
    alert_id: int,
    *,
    disposition: str,
    notes: str = "",
    client: str | None = None,
) -> Alert:
    """Step 5: close the alert. An enforcement disposition is refused without a visual match and CLETS (462.8)."""
    alert = _load_for_step(session, key, principal, alert_id, "disposition", client)
    chosen = config.disposition(disposition)
    if chosen is None:
        codes = ", ".join(d.code for d in config.dispositions)
        _refuse(session, key, principal, alert, "disposition", f"disposition: choose one of {codes}", client)
    assert chosen is not None
    blocker = _enforcement_blocker(alert, config) if chosen.enforcement else None
    if blocker:
        _refuse(session, key, principal, alert, "disposition", blocker, client)
    alert.status, alert.disposition, alert.notes = "closed", chosen.code, " ".join(notes.split())[:2000]
    alert.disposition_by, alert.disposition_at = principal.username, utcnow()
    _audit_step(session, key, principal, "alerts.disposition", alert, client, disposition=chosen.code)
    return alert


def alert_figures(
    session: Session, settings: Settings, key: bytes, principal: Principal, *, client: str | None = None
) -> dict[str, Any]:
    """Misread rate per camera (from dispositions) and hits per list: aggregates only. Audited."""
    principal.require("alerts.figures")
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
    names = _camera_names(session)
    cameras = [
        {
            "camera_id": cam,
            "camera": names.get(cam, str(cam)),
            "alerts": total,
            "closed": int(done or 0),
            "misreads": int(bad or 0),
            "misread_rate": round(int(bad or 0) / int(done), 4) if done else None,
        }
        for cam, total, done, bad in rows
    ]
    hits = session.execute(
        select(Alert.hotlist_name, Alert.kind, func.count(Alert.id)).group_by(Alert.hotlist_name, Alert.kind)
    ).all()
    lists = [{"hotlist": name, "kind": kind, "hits": n} for name, kind, n in sorted(hits, key=lambda h: -h[2])]
    record_event(session, key, "alerts.figures", actor_of(principal, client), details={"cameras": len(cameras)})
    return {"cameras": cameras, "lists": lists, "generated_at": datetime.now(settings.tz).isoformat()}
