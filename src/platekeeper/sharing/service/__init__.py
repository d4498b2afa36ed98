"""The only package that touches the sharing tables: agencies.py (the registry), rules.py (the sharing rules, pure),
requests.py (agency requests: intake and review), documents.py (request documents), pra.py (Public Records Act
requests) with deadlines.py (pure), disposal.py (requests past retain_until, for the purge), fulfil.py (packages
and download links), register.py (the register), partner.py (partner agencies' queries)."""

from __future__ import annotations

from platekeeper.sharing.service.agencies import AgencyIn, get_agency, list_agencies, save_agency
from platekeeper.sharing.service.common import RequestScope, SharingNotFound, SharingRefused
from platekeeper.sharing.service.deadlines import days_left, pra_due_on
from platekeeper.sharing.service.disposal import count_expired_requests, dispose_expired_requests
from platekeeper.sharing.service.fulfil import (
    Download,
    Fulfilment,
    LinkRefused,
    fulfil_request,
    open_link,
    peek_link,
    remove_expired_packages,
    shared_reads,
)
from platekeeper.sharing.service.partner import PartnerQuery, partner_search
from platekeeper.sharing.service.pra import (
    PraRequestIn,
    determine_pra,
    extend_pra,
    pra_days_left,
    record_redactions,
    submit_pra,
)
from platekeeper.sharing.service.register import (
    REGISTER_COLUMNS,
    RegisterEntry,
    public_summary,
    register_counts,
    register_entries,
    register_export,
)
from platekeeper.sharing.service.requests import (
    SharingRequestIn,
    get_request,
    list_requests,
    open_request,
    review_request,
    submit_request,
)
from platekeeper.sharing.service.rules import RuleDecision, check_rules

__all__ = [
    "REGISTER_COLUMNS",
    "AgencyIn",
    "Download",
    "Fulfilment",
    "LinkRefused",
    "PartnerQuery",
    "PraRequestIn",
    "RegisterEntry",
    "RequestScope",
    "RuleDecision",
    "SharingNotFound",
    "SharingRefused",
    "SharingRequestIn",
    "check_rules",
    "count_expired_requests",
    "days_left",
    "determine_pra",
    "dispose_expired_requests",
    "extend_pra",
    "fulfil_request",
    "get_agency",
    "get_request",
    "list_agencies",
    "list_requests",
    "open_link",
    "open_request",
    "partner_search",
    "peek_link",
    "pra_days_left",
    "pra_due_on",
    "public_summary",
    "record_redactions",
    "register_counts",
    "register_entries",
    "register_export",
    "remove_expired_packages",
    "review_request",
    "save_agency",
    "shared_reads",
    "submit_pra",
    "submit_request",
]
