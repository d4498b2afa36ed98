"""The sharing register (462.7): who received what, when, under which request, approved by whom, how many reads;
agency sharing and Public Records Act releases apart. It feeds the audits (CSV, JSON Lines) and the public
transparency page (:func:`public_summary`: counts and agency names only)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.access.principal import Principal
from platekeeper.audit.events import SharingRegisterViewed
from platekeeper.audit.work import Work
from platekeeper.retention.models import PurgeRun
from platekeeper.sharing.models import SharingAgency, SharingRelease, SharingRequest

__all__ = [
    "REGISTER_COLUMNS",
    "RegisterEntry",
    "public_summary",
    "register_counts",
    "register_entries",
    "register_export",
    "releases_between",
    "requests_between",
]

REGISTER_COLUMNS = (
    "release_id", "channel", "request_id", "recipient", "requester", "purpose", "case_number", "received_on",
    "approved_by", "approved_at", "released_by", "released_at", "method", "reads", "images", "delivered_at",
    "delivered_to", "manifest_sha256",
)  # fmt: skip


@dataclass(frozen=True)
class RegisterEntry:
    release: SharingRelease
    request: SharingRequest

    def as_json(self) -> dict[str, Any]:
        release, request = self.release, self.request
        return {
            "release_id": release.id, "channel": release.channel, "request_id": request.id,
            "recipient": release.recipient, "requester": request.requester_name, "purpose": request.purpose,
            "case_number": request.case_number, "received_on": request.received_on.isoformat(),
            "approved_by": release.approved_by,
            "approved_at": request.reviewed_at.isoformat() if request.reviewed_at else None,
            "released_by": release.released_by, "released_at": release.created_at.isoformat(),
            "method": release.method, "reads": release.reads, "images": release.images,
            "delivered_at": release.delivered_at.isoformat() if release.delivered_at else None,
            "delivered_to": release.delivered_to, "manifest_sha256": release.manifest_sha256,
        }  # fmt: skip


def _entries(work: Work, channel: str | None) -> list[RegisterEntry]:
    stmt = select(SharingRelease, SharingRequest).join(SharingRequest, SharingRequest.id == SharingRelease.request_id)
    if channel:
        stmt = stmt.where(SharingRelease.channel == channel)
    rows = work.session.execute(stmt.order_by(SharingRelease.created_at.desc(), SharingRelease.id.desc()))
    return [RegisterEntry(row.SharingRelease, row.SharingRequest) for row in rows]


def register_entries(work: Work, principal: Principal, channel: str | None = None) -> list[RegisterEntry]:
    """Every release (of one channel, or both), newest first. Audited."""
    principal.require("sharing.register")
    entries = _entries(work, channel)
    work.by(principal).record(SharingRegisterViewed(shown=len(entries), format="page"))
    return entries


def register_export(work: Work, principal: Principal, format: str) -> Iterator[str]:
    """The whole register as CSV or JSON Lines (one release per line), oldest first. Audited."""
    principal.require("sharing.register")
    entries = list(reversed(_entries(work, None)))
    work.by(principal).record(SharingRegisterViewed(shown=len(entries), format=format))
    if format == "jsonl":
        return iter([json.dumps(e.as_json(), sort_keys=True) + "\n" for e in entries])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=REGISTER_COLUMNS)
    writer.writeheader()
    writer.writerows(e.as_json() for e in entries)
    return iter([text.getvalue()])


def register_counts(work: Work) -> dict[str, Any]:
    """Requests by channel and status, releases with the reads they held, by channel, and how many requests the
    purge disposed of after their ``retain_until`` (summed from the finished purge runs)."""
    requests = work.session.execute(
        select(SharingRequest.channel, SharingRequest.status, func.count()).group_by(
            SharingRequest.channel, SharingRequest.status
        )
    )
    releases = work.session.execute(
        select(SharingRelease.channel, func.count(), func.coalesce(func.sum(SharingRelease.reads), 0)).group_by(
            SharingRelease.channel
        )
    )
    counts: dict[str, Any] = {"requests": {}, "releases": {}, "reads": {}}
    for channel, status, n in requests:
        counts["requests"].setdefault(channel, {})[status] = n
    for channel, n, reads in releases:
        counts["releases"][channel], counts["reads"][channel] = n, int(reads)
    runs = work.session.scalars(select(PurgeRun.counts).where(PurgeRun.status == "finished"))
    counts["disposed"] = sum(int((run or {}).get("sharing_requests", 0)) for run in runs)
    return counts


def public_summary(work: Work) -> dict[str, Any]:
    """For the public transparency page: counts, and the agencies that received data with how many releases and reads
    each; nothing else."""
    counts = register_counts(work)
    recipients = work.session.execute(
        select(SharingAgency.name, func.count(SharingRelease.id), func.coalesce(func.sum(SharingRelease.reads), 0))
        .join(SharingRequest, SharingRequest.agency_id == SharingAgency.id)
        .join(SharingRelease, SharingRelease.request_id == SharingRequest.id)
        .where(SharingRelease.channel == "agency")
        .group_by(SharingAgency.name)
        .order_by(SharingAgency.name)
    ).all()
    agency = counts["requests"].get("agency", {})
    return {
        "agency_requests": sum(agency.values()),
        "agency_requests_refused": agency.get("refused", 0) + agency.get("denied", 0),
        "agency_releases": counts["releases"].get("agency", 0),
        "agency_reads_shared": counts["reads"].get("agency", 0),
        "pra_requests": sum(counts["requests"].get("pra", {}).values()),
        "pra_releases": counts["releases"].get("pra", 0),
        "agencies": [name for name, _, _ in recipients],
        "recipients": [{"agency": name, "releases": int(n), "reads": int(reads)} for name, n, reads in recipients],
    }


def releases_between(session: Session, since: datetime, until: datetime) -> list[RegisterEntry]:
    """Every release made within the period with its request, oldest first: what a system audit checks against the
    request's approval (462.7(b)). Read-only, not audited."""
    rows = session.execute(
        select(SharingRelease, SharingRequest)
        .join(SharingRequest, SharingRequest.id == SharingRelease.request_id)
        .where(SharingRelease.created_at >= since, SharingRelease.created_at < until)
        .order_by(SharingRelease.created_at, SharingRelease.id)
    ).all()
    return [RegisterEntry(release=release, request=request) for release, request in rows]


def requests_between(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Requests entered within the period by state: the audit report's sharing figures. Read-only."""
    rows = session.execute(
        select(SharingRequest.status, func.count(SharingRequest.id))
        .where(SharingRequest.entered_at >= since, SharingRequest.entered_at < until)
        .group_by(SharingRequest.status)
    ).all()
    return {status: int(n) for status, n in rows}
