"""The transparency page's figures: aggregates computed live from the other domains' services, never a plate, a
user, a case number or a justification.

Every count of activity (reads, hits, alerts, searches, requests, releases, holds, what a purge removed, audit
findings) goes through :class:`Counts`: from 1 up to ``transparency.min_count - 1`` it becomes
``{"fewer_than": N}`` (the page says "fewer than N"), and a share computed from a hidden count is left out. The
cameras are equipment, not anyone's activity: their counts are shown as they are. The page
and ``/transparency.json`` render the one dict :func:`transparency_figures` returns, so they cannot differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from platekeeper.alerts.service import public_alert_counts
from platekeeper.audit.service import count_by_purpose
from platekeeper.audit.work import Work
from platekeeper.audits.service import latest_audits
from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import list_cameras
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.reads.service import reads_since
from platekeeper.retention.service import COUNT_KINDS, retention_figures
from platekeeper.sharing.service import public_summary

__all__ = ["ApprovedAudits", "AuditReport", "AuditReports", "Counts", "transparency_figures"]

YEAR_DAYS = 365


@dataclass(frozen=True)
class AuditReport:
    """One finished system audit as the public sees it: when, and how many findings."""

    finished_on: date
    findings: int
    period: str = ""


class AuditReports(Protocol):
    """Where the transparency page finds the last audits (462.6(c)); the audits domain provides one, handed in by
    the composition root. Without one the page says that no audit report has been published yet."""

    def latest(self, session: Session, limit: int) -> Sequence[AuditReport]: ...


class ApprovedAudits:
    """The system audits approved so far (the audits domain), newest first: the provider a running platekeeper
    uses. An audit counts once a second person has approved its findings."""

    def latest(self, session: Session, limit: int) -> Sequence[AuditReport]:
        return [AuditReport(finished_on=day, findings=n) for day, n in latest_audits(session, limit)]


@dataclass(frozen=True)
class Counts:
    """The small-count rule: counts below ``floor`` (but above zero) are hidden."""

    floor: int

    def hidden(self, n: int) -> bool:
        return 0 < n < self.floor

    def __call__(self, n: int) -> int | dict[str, int]:
        return {"fewer_than": self.floor} if self.hidden(n) else int(n)

    def share(self, part: int, whole: int) -> float | None:
        """``part / whole`` rounded, or None when either is hidden or the whole is zero."""
        if not whole or self.hidden(part) or self.hidden(whole):
            return None
        return round(part / whole, 4)


def _area(camera: Camera, decimals: int) -> str:
    if camera.latitude is None or camera.longitude is None:
        return "not recorded"
    return f"{round(camera.latitude, decimals):.{decimals}f}, {round(camera.longitude, decimals):.{decimals}f}"


def _cameras(session: Session, settings: Settings) -> dict[str, Any]:
    """Cameras in service by kind and area: counts of equipment, not of anyone's activity, so never hidden."""
    config = settings.transparency
    cameras = [c for c in list_cameras(session) if c.active]
    kinds = Counter(c.kind for c in cameras)
    block: dict[str, Any] = {
        "total": len(cameras),
        "by_kind": [{"kind": kind, "count": n} for kind, n in sorted(kinds.items())],
        "positions": config.camera_positions,
    }
    if config.camera_positions == "area":
        areas = Counter((c.kind, _area(c, config.area_decimals)) for c in cameras)
        block["area_decimals"] = config.area_decimals
        block["areas"] = [{"kind": k, "area": a, "count": n} for (k, a), n in sorted(areas.items())]
    elif config.camera_positions == "exact":
        block["exact"] = [
            {"name": c.name, "kind": c.kind, "location": c.location, "latitude": c.latitude, "longitude": c.longitude}
            for c in sorted(cameras, key=lambda c: c.name)
        ]
    return block


def _activity(session: Session, settings: Settings, count: Counts, now: datetime) -> dict[str, dict[str, Any]]:
    year = now - timedelta(days=YEAR_DAYS)
    reads_year = reads_since(session, year)
    alerts = public_alert_counts(session, settings, year)
    live = alerts["live_hits"]
    closed = sum(d["count"] for d in alerts["dispositions"])
    misreads = sum(d["count"] for d in alerts["dispositions"] if d["misread"])
    labels = {p.code: p.label for p in settings.access.purposes}
    searches = count_by_purpose(session, "reads.search", year)
    return {
        "reads": {
            "last_30_days": count(reads_since(session, now - timedelta(days=30))),
            "last_year": count(reads_year),
        },
        "hotlists": {
            "period_days": YEAR_DAYS,
            "live_hits": count(live),
            "historical_hits": count(alerts["historical_hits"]),
            "reads": count(reads_year),
            "hit_ratio": count.share(live, reads_year),
        },
        "alerts": {
            "period_days": YEAR_DAYS,
            "closed": count(closed),
            "misreads": count(misreads),
            "misread_share": count.share(misreads, closed),
            "dispositions": [
                {"label": d["label"], "misread": d["misread"], "count": count(d["count"])}
                for d in alerts["dispositions"]
            ],
        },
        "searches": {
            "period_days": YEAR_DAYS,
            "total": count(sum(searches.values())),
            "by_purpose": [
                {"purpose": labels.get(code, code or "none stated"), "count": count(n)}
                for code, n in sorted(searches.items(), key=lambda item: -item[1])
            ],
        },
    }  # fmt: skip


def _sharing(work: Work, count: Counts) -> dict[str, Any]:
    summary = public_summary(work)
    counted = ("agency_requests", "agency_requests_refused", "agency_releases", "agency_reads_shared")
    return {
        **{key: count(summary[key]) for key in (*counted, "pra_requests", "pra_releases")},
        "recipients": [
            {"agency": r["agency"], "releases": count(r["releases"]), "reads": count(r["reads"])}
            for r in summary["recipients"]
        ],
    }


def _retention(session: Session, settings: Settings, count: Counts, now: datetime) -> dict[str, Any]:
    figures = retention_figures(session, settings, now)
    run = figures.last_run
    last = None
    if run is not None and run.finished_at is not None:
        last = {
            "finished_at": run.finished_at.isoformat(),
            "cutoff": run.cutoff.isoformat(),
            "counts": [
                {"kind": kind, "label": label, "count": count(int(run.counts.get(kind, 0)))}
                for kind, label in COUNT_KINDS.items()
            ],
        }
    return {"days": settings.retention.days, "legal_holds": count(figures.holds), "last_purge": last}


def _audits(session: Session, settings: Settings, audits: AuditReports | None, count: Counts) -> dict[str, Any]:
    reports = list(audits.latest(session, 5)) if audits is not None else []
    return {
        "per_year": settings.audits.per_year,
        "reports": [
            {"finished_on": r.finished_on.isoformat(), "period": r.period, "findings": count(r.findings)}
            for r in reports
        ],
    }


def transparency_figures(work: Work, audits: AuditReports | None, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the blocks ``transparency.blocks`` shows, as one JSON-ready dict (aggregates only)."""
    session, settings = work.session, work.settings
    config, now = settings.transparency, now or utcnow()
    count = Counts(config.min_count)
    blocks = list(dict.fromkeys(config.blocks))
    figures: dict[str, Any] = {
        "agency": settings.agency.name,
        "generated_at": now.isoformat(),
        "min_count": config.min_count,
        "blocks": blocks,
    }
    wanted = {"reads", "hotlists", "alerts", "searches"} & set(blocks)
    activity = _activity(session, settings, count, now) if wanted else {}
    for block in blocks:
        if block == "cameras":
            figures["cameras"] = _cameras(session, settings)
        elif block in activity:
            figures[block] = activity[block]
        elif block == "sharing":
            figures["sharing"] = _sharing(work, count)
        elif block == "retention":
            figures["retention"] = _retention(session, settings, count, now)
        elif block == "audits":
            figures["audits"] = _audits(session, settings, audits, count)
    return figures
