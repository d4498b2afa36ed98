"""Inbound queries from partner agencies (462.7), off unless ``sharing.partner_queries`` is on.

A partner agency's named user holds the ``partner`` role (``sharing.partner_query`` alone) and belongs to an agency
of the registry by the account's organization, which must equal the agency's name. Each query carries the person
(the account), the agency, an authorized purpose and the partner's case number; it passes the same sharing rules as
a written request (a federal, out-of-state or private recipient and an immigration purpose are refused), and sees
only what the agency's agreement allows: one plate (no wildcards), a window of at most ``partner_max_days`` while
the agreement runs (``partner_agreement_until``), and reads within retention. It is logged exactly like a local
search (``reads.search`` under the stated purpose, case number and justification).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from platekeeper.access.context import own_context, record_access
from platekeeper.access.principal import Principal
from platekeeper.audit.events import ReadsSearched, SharingStepRefused
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.db import utcnow
from platekeeper.reads.models import PlateRead
from platekeeper.retention.floor import retention_cutoff
from platekeeper.sharing.models import SharingAgency
from platekeeper.sharing.service.common import RequestScope, SharingRefused, clean_text, validate_scope
from platekeeper.sharing.service.rules import check_rules, refused

__all__ = ["PartnerQuery", "partner_search"]

MAX_RESULTS = 1000


@dataclass(frozen=True)
class PartnerQuery:
    plate: str
    since: datetime
    until: datetime
    purpose: str
    case_number: str
    justification: str


def _agreement(work: Work, principal: Principal, query: PartnerQuery) -> tuple[SharingAgency, RequestScope]:
    if not work.settings.sharing.partner_queries:
        raise SharingRefused("partner", "partner queries are off (sharing.partner_queries)")
    agency = work.session.scalar(select(SharingAgency).where(SharingAgency.name == principal.organization))
    today = work.settings.today()
    if agency is None or agency.partner_agreement_until is None or agency.partner_agreement_until < today:
        raise SharingRefused("partner", f"no sharing agreement in force for {principal.organization!r}")
    if not query.plate.strip():
        raise SharingRefused("plate", "a partner query names one plate")
    scope = validate_scope(work.session, work.settings, RequestScope((query.plate,), query.since, query.until))
    if agency.partner_max_days is not None and scope.days > agency.partner_max_days:
        raise SharingRefused("until", f"the agreement allows windows of at most {agency.partner_max_days} days")
    if work.settings.access.purpose(query.purpose) is None:
        raise SharingRefused("purpose", "one of the authorized purposes (access.purposes)")
    decisions = check_rules(work.settings.sharing, kind=agency.kind, jurisdiction=agency.jurisdiction,
                            purpose=query.purpose, texts=(query.justification,), scope=scope)  # fmt: skip
    if refused(decisions):
        raise SharingRefused("rules", "; ".join(d.message for d in decisions if d.action == "refuse"))
    return agency, scope


def partner_search(work: Work, principal: Principal, query: PartnerQuery) -> list[dict[str, Any]]:
    """The reads of one plate in the window the agreement allows, within retention, oldest first. Logged like a
    local search; a refused query is recorded (``sharing.refused``) and raised."""
    principal.require("sharing.partner_query")
    try:
        case = clean_text(query.case_number, "case_number", 1, 64).upper()
        justification = clean_text(query.justification, "justification", 10, 500)
        _, scope = _agreement(work, principal, query)
    except SharingRefused as exc:
        work.by(principal).record(SharingStepRefused(step="partner_query", why=str(exc)), outcome="refused")
        raise
    floor = max(scope.since, retention_cutoff(utcnow(), work.settings.retention.days))
    plate = scope.plates[0]
    stmt = (
        select(PlateRead, Camera.name)
        .join(Camera, Camera.id == PlateRead.camera_id)
        .where(or_(PlateRead.plate == plate, PlateRead.corrected_plate == plate))
        .where(PlateRead.captured_at >= floor, PlateRead.captured_at < scope.until)
        .order_by(PlateRead.captured_at, PlateRead.id)
        .limit(MAX_RESULTS)
    )
    rows = [
        {"id": str(r.PlateRead.id), "plate": r.PlateRead.corrected_plate or r.PlateRead.plate,
         "captured_at": r.PlateRead.captured_at.isoformat(), "camera": r.name,
         "latitude": r.PlateRead.latitude, "longitude": r.PlateRead.longitude}
        for r in work.session.execute(stmt)
    ]  # fmt: skip
    ctx = own_context(
        principal, work.settings.access, purpose=query.purpose, reference=case, justification=justification
    )
    searched = ReadsSearched(plate=plate, wildcard=False, since=scope.since.isoformat(), until=scope.until.isoformat(),
                             cameras=[], page=1, results=len(rows), thumbnails=False)  # fmt: skip
    record_access(work, ctx, searched)
    return rows
