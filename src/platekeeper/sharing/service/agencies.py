"""The agency registry: each agency's name, type, jurisdiction, ORI, address and contacts. Changes are audited."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from platekeeper.access.principal import Principal
from platekeeper.audit.events import SharingAgencyChanged
from platekeeper.audit.work import Work
from platekeeper.db import utcnow
from platekeeper.sharing.models import AGENCY_KINDS, JURISDICTIONS, SharingAgency
from platekeeper.sharing.service.common import SharingNotFound, SharingRefused, clean_text

__all__ = ["AgencyIn", "get_agency", "list_agencies", "save_agency"]

ORI = re.compile(r"^[A-Z]{2}[A-Z0-9]{7}$")


@dataclass(frozen=True)
class AgencyIn:
    name: str
    kind: str
    jurisdiction: str
    ori: str | None = None
    address: str = ""
    contacts: str = ""
    partner_agreement_until: date | None = None
    partner_max_days: int | None = None


def _validated(agency: AgencyIn) -> dict[str, Any]:
    if agency.kind not in AGENCY_KINDS:
        raise SharingRefused("kind", f"one of {', '.join(AGENCY_KINDS)}")
    if agency.jurisdiction not in JURISDICTIONS:
        raise SharingRefused("jurisdiction", f"one of {', '.join(JURISDICTIONS)}")
    ori = (agency.ori or "").strip().upper() or None
    if ori is not None and not ORI.fullmatch(ori):
        raise SharingRefused("ori", "nine characters: the state's two letters, then seven letters or digits")
    if agency.partner_max_days is not None and not 1 <= agency.partner_max_days <= 365:
        raise SharingRefused("partner_max_days", "from 1 to 365 days")
    return {
        **asdict(agency),
        "name": clean_text(agency.name, "name", 2, 200),
        "ori": ori,
        "address": clean_text(agency.address, "address", 0, 1000),
        "contacts": clean_text(agency.contacts, "contacts", 0, 1000),
    }


def save_agency(work: Work, principal: Principal, agency: AgencyIn, agency_id: int | None = None) -> SharingAgency:
    """Add an agency (``agency_id`` None) or change one; the audit event lists each field before and after."""
    principal.require("sharing.intake")
    values = _validated(agency)
    row = (
        SharingAgency(created_by=principal.username)
        if agency_id is None
        else work.session.get(SharingAgency, agency_id)
    )
    if row is None:
        raise SharingNotFound(f"no agency with id {agency_id}")
    clash = work.session.scalar(select(SharingAgency.id).where(SharingAgency.name == values["name"]))
    if clash is not None and clash != agency_id:
        raise SharingRefused("name", "another agency already has this name")
    changes = {}
    for key, value in values.items():
        before = getattr(row, key, None)
        if before != value:
            changes[key] = [None if before is None else str(before), None if value is None else str(value)]
            setattr(row, key, value)
    if agency_id is not None:
        row.updated_by, row.updated_at = principal.username, utcnow()
    work.session.add(row)
    work.session.flush()
    if changes:
        work.by(principal).record(SharingAgencyChanged(agency_id=row.id, name=row.name, changes=changes))
    return row


def list_agencies(work: Work) -> list[SharingAgency]:
    """Every agency in the registry, by name."""
    return list(work.session.scalars(select(SharingAgency).order_by(SharingAgency.name)))


def get_agency(work: Work, agency_id: int) -> SharingAgency:
    agency = work.session.get(SharingAgency, agency_id)
    if agency is None:
        raise SharingNotFound(f"no agency with id {agency_id}")
    return agency
