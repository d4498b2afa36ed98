"""Revealing one masked plate of one audit event (issue 23 item 6, policy 462.6).

Someone whose role reaches no plate data sees the audit log's plates masked (``7AB***3``). An auditor who needs one
(a complaint names a plate, a search looks aimed at a person) states why; the reason is held to the same checks as a
search's justification (long enough, real words, no run of one letter), and the reveal is recorded
(``audit.reveal_plate``, the reason as its justification, the plate sealed as a digest) in the same transaction,
before the plate is returned. A refused reveal shows nothing and is recorded (``audit.reveal_refused``, denied) by
:func:`record_reveal_refusal`, which the routes call after the refusal, in the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from platekeeper.access.context import justification_problem
from platekeeper.audit.events import AuditPlateRevealed, AuditRevealRefused
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import FORGOTTEN, plate_fields_of, plate_rows, plate_text
from platekeeper.audit.work import Work

__all__ = ["RevealNotFound", "RevealRefused", "Revealed", "record_reveal_refusal", "reveal_plate"]

REASON_MAX = 500


class RevealRefused(ValueError):
    """A reveal that cannot be made; ``field`` names the form field, ``status`` the HTTP status."""

    def __init__(self, field: str, why: str, status: int = 400) -> None:
        self.field, self.why, self.status = field, why, status
        super().__init__(f"{field}: {why}")


class RevealNotFound(LookupError):
    """No audit event with that number."""


@dataclass(frozen=True)
class Revealed:
    """The plate shown, the event it belongs to and the event that recorded the reveal."""

    seq: int
    action: str
    field: str
    plate: str
    reveal_seq: int


REVEAL_EXAMPLE = "e.g. 'checking sampled search 39 against the case file of 2026-000123'"


def reveal_plate(work: Work, permissions: frozenset[str], seq: int, field: str, reason: str) -> Revealed:
    """The text of plate field ``field`` of event ``seq``, for someone holding ``audit.reveal``, recorded first."""
    if "audit.reveal" not in permissions:
        raise PermissionError("revealing a plate of the audit log needs the permission 'audit.reveal'")
    reason = " ".join((reason or "").split())
    problem = justification_problem(work.settings.access, reason, REVEAL_EXAMPLE)
    if problem is not None:
        raise RevealRefused("reason", problem)
    if len(reason) > REASON_MAX:
        raise RevealRefused("reason", f"at most {REASON_MAX} characters")
    event = work.session.get(AuditEvent, seq)
    if event is None:
        raise RevealNotFound(f"no audit event {seq}")
    fields = plate_fields_of(event)
    if field not in fields:
        named = ", ".join(fields) or "none"
        raise RevealRefused("field", f"{field!r} is not a plate field of event {seq} (its plate fields: {named})")
    text = plate_text(event, plate_rows(work.session, [seq]).get(seq, {}).get(field), field)
    if text is None:
        days = work.settings.audit.plate_detail_days
        raise RevealRefused("field", f"event {seq} holds no {field} to reveal: " + FORGOTTEN.format(days=days), 409)
    record = AuditPlateRevealed(revealed_seq=seq, revealed_action=event.action, field=field, plate=text)
    row = work.record(record, justification=reason)
    return Revealed(seq=seq, action=event.action, field=field, plate=text, reveal_seq=row.seq)


def record_reveal_refusal(work: Work, seq: int, field: str, reason: str, problem: Exception) -> None:
    """Record a refused reveal (denied; the reason as stated, the problem in words); nothing was shown."""
    refused = AuditRevealRefused(revealed_seq=seq, field=field[:64], problem=str(problem)[:300])
    work.record(refused, outcome="denied", justification=" ".join((reason or "").split())[:REASON_MAX] or None)
