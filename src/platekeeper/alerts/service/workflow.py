"""The verification state machine (policy 462.8): acknowledge, visual check, CLETS, disposition.

Each step is allowed only from the states in :data:`STEPS`; a disposition marked ``enforcement`` in config needs an
attested visual match and a CLETS confirmation. Every step, and every refused step, is audited. An alert released
by a purge takes no step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.principal import Principal
from platekeeper.alerts.models import Alert
from platekeeper.alerts.service.records import AlertNotFound, purged_reason
from platekeeper.audit.events import (
    AlertAcknowledged,
    AlertClets,
    AlertDisposition,
    AlertTransitionRefused,
    AlertVisualCheck,
    AuditEventType,
)
from platekeeper.audit.service import Actor, record_event
from platekeeper.config import AlertConfig
from platekeeper.db import utcnow

__all__ = [
    "STATUSES",
    "STEPS",
    "VISUAL_MATCH",
    "AlertStepRefused",
    "DispositionChoice",
    "acknowledge",
    "dispose",
    "disposition_choices",
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


class AlertStepRefused(ValueError):
    """A verification step that is out of order or not allowed; the message says why."""


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
    if alert.purged_at is not None:
        _refuse(session, key, principal, alert, step, purged_reason(alert), client)
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
    refused = AlertTransitionRefused(alert_id=alert.id, step=step, status=alert.status, reason=reason)
    record_event(session, key, refused, Actor.of(principal, client), outcome="denied")
    raise AlertStepRefused(reason)


def _audit_step(session: Session, key: bytes, principal: Principal, event: AuditEventType, client: str | None) -> None:
    record_event(session, key, event, Actor.of(principal, client))


def acknowledge(
    session: Session, key: bytes, principal: Principal, alert_id: int, *, client: str | None = None
) -> Alert:
    """Step 1 -> 2: someone has seen the alert and is working it."""
    alert = _load_for_step(session, key, principal, alert_id, "acknowledge", client)
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", principal.username, utcnow()
    step = AlertAcknowledged(alert_id=alert.id, plate=alert.plate, status=alert.status)
    _audit_step(session, key, principal, step, client)
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
    step = AlertVisualCheck(alert_id=alert.id, plate=alert.plate, status=alert.status, result=result)
    _audit_step(session, key, principal, step, client)
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
    step = AlertClets(alert_id=alert.id, plate=alert.plate, status=alert.status, result=result, reference=reference)
    _audit_step(session, key, principal, step, client)
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
    closed = AlertDisposition(alert_id=alert.id, plate=alert.plate, status=alert.status, disposition=chosen.code)
    _audit_step(session, key, principal, closed, client)
    return alert
