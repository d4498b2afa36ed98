"""The verification state machine (policy 462.8): acknowledge, visual check, CLETS, disposition.

Each step is allowed only from the states in :data:`STEPS`; a disposition marked ``enforcement`` in config needs an
attested visual match and a CLETS confirmation. Every step, and every refused step, is audited. An alert released
by a purge takes no step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from platekeeper.access.principal import Principal
from platekeeper.alerts.models import Alert
from platekeeper.alerts.service.records import AlertNotFound, alert_context, purged_reason
from platekeeper.audit.events import (
    AlertAcknowledged,
    AlertClets,
    AlertDisposition,
    AlertTransitionRefused,
    AlertVisualCheck,
    AuditEventType,
)
from platekeeper.audit.work import Work
from platekeeper.config import AlertConfig
from platekeeper.db import utcnow
from platekeeper.reads.service import CorrectionRefused, correct_read

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


def _load_for_step(work: Work, principal: Principal, alert_id: int, step: str) -> Alert:
    principal.require("alerts.verify")
    query = select(Alert).where(Alert.id == alert_id)
    if work.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    alert = work.session.scalar(query)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    if alert.purged_at is not None:
        _refuse(work, principal, alert, step, purged_reason(alert))
    if alert.status not in STEPS[step]:
        _refuse(work, principal, alert, step, _out_of_order(alert, step))
    return alert


def _out_of_order(alert: Alert, step: str) -> str:
    if alert.status == "closed":
        return f"the alert is closed ({alert.disposition}); nothing more can be recorded"
    allowed = " or ".join(STEPS[step])
    return f"{step.replace('_', ' ')} is allowed when the alert is {allowed}; it is {alert.status}"


def _refuse(work: Work, principal: Principal, alert: Alert, step: str, reason: str) -> None:
    refused = AlertTransitionRefused(alert_id=alert.id, step=step, status=alert.status, reason=reason)
    _audit_step(work, principal, alert, refused, outcome="denied")
    raise AlertStepRefused(reason)


def _audit_step(
    work: Work, principal: Principal, alert: Alert, event: AuditEventType, outcome: str = "success"
) -> None:
    """A step on an alert, filed under the alert's own purpose and reference (:func:`alert_context`)."""
    ctx = alert_context(work.settings, principal, alert)
    work.by(principal).record(
        event, outcome=outcome, purpose=ctx.purpose, case_number=ctx.case_number, justification=ctx.justification
    )


def acknowledge(work: Work, principal: Principal, alert_id: int) -> Alert:
    """Step 1 -> 2: someone has seen the alert and is working it."""
    alert = _load_for_step(work, principal, alert_id, "acknowledge")
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", principal.username, utcnow()
    step = AlertAcknowledged(alert_id=alert.id, plate=alert.plate, status=alert.status)
    _audit_step(work, principal, alert, step)
    return alert


def record_visual_check(
    work: Work,
    principal: Principal,
    alert_id: int,
    *,
    result: str,
    attested: bool,
    corrected_plate: str | None = None,
    unreadable: bool = False,
) -> Alert:
    """Step 3: the officer compared the crop and overview with the entry: ``match`` or a configured reject reason.
    With a reject reason the officer may also correct the read: what the plate really says (``corrected_plate``) or
    that it is unreadable; the read keeps the reader's text beside the correction (``reads.correct``)."""
    alert = _load_for_step(work, principal, alert_id, "visual_check")
    allowed = [VISUAL_MATCH, *(r.code for r in work.settings.alerts.reject_reasons)]
    if result not in allowed:
        _refuse(work, principal, alert, "visual_check", f"result: choose one of {', '.join(allowed)}")
    if not attested:
        reason = "attested: confirm that you compared the plate image, the state and the vehicle with the entry"
        _refuse(work, principal, alert, "visual_check", reason)
    corrected_plate = re.sub(r"[\s-]", "", corrected_plate or "").upper() or None
    if (corrected_plate or unreadable) and alert.read_id is not None:
        if result == VISUAL_MATCH:
            _refuse(work, principal, alert, "visual_check", "corrected_plate: a plate that matches needs no correction")
        if corrected_plate and unreadable:
            _refuse(
                work, principal, alert, "visual_check", "corrected_plate: give the text or say unreadable, not both"
            )
        try:
            ctx = alert_context(work.settings, principal, alert)
            correct_read(
                work, ctx, alert.read_id, corrected_plate=None if unreadable else corrected_plate, alert_id=alert.id
            )
        except CorrectionRefused as exc:
            _refuse(work, principal, alert, "visual_check", str(exc))
    alert.status, alert.visual_result = "visual_checked", result
    alert.visual_by, alert.visual_at = principal.username, utcnow()
    step = AlertVisualCheck(alert_id=alert.id, plate=alert.plate, status=alert.status, result=result)
    _audit_step(work, principal, alert, step)
    return alert


def record_clets(work: Work, principal: Principal, alert_id: int, *, result: str, reference: str) -> Alert:
    """Step 4: the CLETS check: who, when, the result and the message reference number."""
    alert = _load_for_step(work, principal, alert_id, "clets")
    config = work.settings.alerts
    codes = [r.code for r in config.clets_results]
    reference = reference.strip().upper()
    if result not in codes:
        _refuse(work, principal, alert, "clets", f"result: choose one of {', '.join(codes)}")
    if not re.fullmatch(config.clets_reference_pattern, reference):
        reason = f"reference: {reference!r} is not a CLETS reference (alerts.clets_reference_pattern)"
        _refuse(work, principal, alert, "clets", reason)
    alert.status, alert.clets_result, alert.clets_reference = "clets_recorded", result, reference
    alert.clets_by, alert.clets_at = principal.username, utcnow()
    step = AlertClets(alert_id=alert.id, plate=alert.plate, status=alert.status, result=result, reference=reference)
    _audit_step(work, principal, alert, step)
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


def dispose(work: Work, principal: Principal, alert_id: int, *, disposition: str, notes: str = "") -> Alert:
    """Step 5: close the alert. An enforcement disposition is refused without a visual match and CLETS (462.8)."""
    alert = _load_for_step(work, principal, alert_id, "disposition")
    config = work.settings.alerts
    chosen = config.disposition(disposition)
    if chosen is None:
        codes = ", ".join(d.code for d in config.dispositions)
        _refuse(work, principal, alert, "disposition", f"disposition: choose one of {codes}")
    assert chosen is not None
    blocker = _enforcement_blocker(alert, config) if chosen.enforcement else None
    if blocker:
        _refuse(work, principal, alert, "disposition", blocker)
    alert.status, alert.disposition, alert.notes = "closed", chosen.code, " ".join(notes.split())[:2000]
    alert.disposition_by, alert.disposition_at = principal.username, utcnow()
    closed = AlertDisposition(alert_id=alert.id, plate=alert.plate, status=alert.status, disposition=chosen.code)
    _audit_step(work, principal, alert, closed)
    return alert
