"""Looking at the audit log as someone: a page of it, an export of a period, and the verification of the chain, each
itself audited.

They take the :class:`~platekeeper.audit.work.Work` of the person (or command) looking, so they live beside it
rather than in :mod:`platekeeper.audit.service`, which the Work itself builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from platekeeper.audit.events import AuditChainVerified, AuditExported, AuditViewed
from platekeeper.audit.export import AuditExport, ExportFormat
from platekeeper.audit.filters import export_filter
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import KeptTexts, kept_texts
from platekeeper.audit.service import (
    AnchorCheck,
    AuditFilter,
    ChainVerification,
    chain_head,
    count_events,
    list_events,
    verify_chain,
)
from platekeeper.audit.work import Work
from platekeeper.permissions import PLATE_DATA_PERMISSIONS

__all__ = ["AuditPage", "export_audit_log", "masks_plates", "verify_and_record", "view_audit_log"]


def masks_plates(permissions: frozenset[str]) -> bool:
    """Whether the audit log shows this person its plates masked: their role reaches no plate data (an auditor)."""
    return not permissions & PLATE_DATA_PERMISSIONS


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    page_size: int
    texts: KeptTexts
    can_reveal: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def details(self, event: AuditEvent) -> dict[str, Any]:
        """An event's details as the page shows them: each sealed plate digest replaced by its text while it is
        kept, else by the forgotten marker; masked for someone without plate data."""
        return self.texts.details(event)

    def justification(self, event: AuditEvent) -> str | None:
        """The event's justification, its plate-like words masked for someone without plate data."""
        return self.texts.free_text(event.justification)

    def revealable(self, event: AuditEvent) -> list[str]:
        """The masked plate fields of an event this person may reveal, each with a small form on the page."""
        return self.texts.maskable(event) if self.can_reveal else []


def view_audit_log(work: Work, permissions: frozenset[str], flt: AuditFilter, page: int) -> AuditPage:
    """One page (``audit.page_size`` events) of the audit log for someone holding ``audit.view``; viewing it is
    itself audited (CJIS)."""
    if "audit.view" not in permissions:
        raise PermissionError("reading the audit log needs the permission 'audit.view'")
    config = work.settings.audit
    flt = flt.keyed(work.key)
    total = count_events(work.session, flt)
    events = list_events(work.session, flt, offset=(page - 1) * config.page_size, limit=config.page_size)
    texts = kept_texts(work.session, events, config.plate_detail_days, masked=masks_plates(permissions))
    work.record(AuditViewed(**flt.describe(), page=page))
    can_reveal = "audit.reveal" in permissions
    return AuditPage(events, total, page, config.page_size, texts, can_reveal)


def export_audit_log(
    work: Work, permissions: frozenset[str], flt: AuditFilter, fmt: ExportFormat, *, proof: bool = False
) -> AuditExport:
    """An export of a period of the audit log for someone holding ``audit.export``, recorded (``audit.export``: the
    filters, the format, how many events and up to which one, with its proof or not, masked or not) in the work's
    transaction, before a line is written. Plates are masked for someone without plate data.

    The period needs a first day and spans at most ``audit.export_max_days`` (else :class:`AuditFilterError`,
    naming the field, and nothing is recorded). The export holds the events up to the chain's head as it is now;
    the log is append-only, so the count recorded is the count written. Its proof (``proof``) is
    :func:`platekeeper.audit.proof.plan_proof`'s, in the same transaction."""
    if "audit.export" not in permissions:
        raise PermissionError("exporting the audit log needs the permission 'audit.export'")
    config = work.settings.audit
    flt = export_filter(flt, config.export_max_days, work.settings.tz).keyed(work.key)
    head = chain_head(work.session)
    through_seq = head[0] if head else 0
    rows = count_events(work.session, flt, through_seq=through_seq)
    masked = masks_plates(permissions)
    exported = AuditExported(
        **flt.describe(), format=fmt, rows=rows, through_seq=through_seq, proof=proof, masked=masked
    )
    work.record(exported)
    return AuditExport(
        format=fmt,
        flt=flt,
        through_seq=through_seq,
        rows=rows,
        batch=config.export_batch_size,
        plate_days=config.plate_detail_days,
        masked=masked,
    )


def verify_and_record(work: Work, anchor_check: AnchorCheck | None = None) -> ChainVerification:
    """Verify the chain (and, with ``anchor_check``, that it still holds every signed checkpoint), and record that
    it was verified, with the result."""
    result = verify_chain(work.session, work.key)
    if anchor_check is not None:
        anchor, problem = anchor_check(work.session)
        result = replace(result, anchor=anchor, anchor_problem=problem)
    verified = AuditChainVerified(
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
        anchor=result.anchor,
        anchor_problem=result.anchor_problem,
    )
    work.record(verified, outcome="success" if result.intact else "failure")
    return result
