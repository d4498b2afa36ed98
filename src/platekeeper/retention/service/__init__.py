"""The only package that touches the retention tables (holds, purge runs, evidence exports): holds.py (legal holds),
purge.py (the purge and its certificate), figures.py (the administrator's figures), evidence.py (evidence packages),
package.py (signed packages, shared with sharing),
signed.py (signed JSON documents)."""

from __future__ import annotations

from platekeeper.retention.service.evidence import EvidencePackage, export_evidence
from platekeeper.retention.service.figures import (
    RetentionFigures,
    RunNotFound,
    certificate_of,
    list_runs,
    retention_figures,
    run_json,
)
from platekeeper.retention.service.holds import (
    HoldNotFound,
    HoldRefused,
    HoldRequest,
    HoldSummary,
    decide_hold,
    get_hold,
    list_holds,
    release_hold,
    request_hold,
)
from platekeeper.retention.service.package import PackageInvalid, WrittenPackage, verify_package, write_package
from platekeeper.retention.service.purge import COUNT_KINDS, DISPOSAL_KINDS, Disposal, PurgeBusy, PurgePreview, Purger
from platekeeper.retention.service.signed import DocumentInvalid, load_public_key, verify_document

__all__ = [
    "COUNT_KINDS",
    "DISPOSAL_KINDS",
    "Disposal",
    "DocumentInvalid",
    "EvidencePackage",
    "HoldNotFound",
    "HoldRefused",
    "HoldRequest",
    "HoldSummary",
    "PackageInvalid",
    "PurgeBusy",
    "PurgePreview",
    "Purger",
    "RetentionFigures",
    "RunNotFound",
    "WrittenPackage",
    "certificate_of",
    "decide_hold",
    "export_evidence",
    "get_hold",
    "list_holds",
    "list_runs",
    "load_public_key",
    "release_hold",
    "request_hold",
    "retention_figures",
    "run_json",
    "verify_document",
    "verify_package",
    "write_package",
]
