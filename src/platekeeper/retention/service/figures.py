"""The administrator's retention figures and the purge runs with their certificates (counts only, no plates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.access.principal import Principal
from platekeeper.audit.events import PurgeCertificateDownloaded
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.reads.models import PlateRead
from platekeeper.retention.floor import retention_cutoff
from platekeeper.retention.models import PurgeRun
from platekeeper.retention.service.holds import held_past_retention, protecting_holds

__all__ = [
    "RetentionFigures",
    "RunNotFound",
    "certificate_of",
    "finished_runs_between",
    "list_runs",
    "retention_figures",
    "run_json",
]


class RunNotFound(LookupError):
    """No finished purge run with that id."""


@dataclass(frozen=True)
class RetentionFigures:
    """Where retention stands: the oldest read, what is due, what holds keep, and the last purge."""

    retention_days: int
    cutoff: datetime
    oldest_read: datetime | None
    due_for_purge: int
    held_reads: int
    holds: int
    last_run: PurgeRun | None
    running: PurgeRun | None
    stale_after_hours: int
    now: datetime

    @property
    def stale(self) -> bool:
        """No purge has finished within ``retention.stale_after_hours``."""
        finished = self.last_run.finished_at if self.last_run else None
        return finished is None or self.now - finished > timedelta(hours=self.stale_after_hours)

    def as_json(self) -> dict[str, Any]:
        last = self.last_run
        return {
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            "oldest_read": self.oldest_read.isoformat() if self.oldest_read else None,
            "due_for_purge": self.due_for_purge,
            "held_reads": self.held_reads,
            "holds": self.holds,
            "last_purge": run_json(last) if last else None,
            "running_purge": run_json(self.running) if self.running else None,
            "stale": self.stale,
            "stale_after_hours": self.stale_after_hours,
        }


def run_json(run: PurgeRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "cutoff": run.cutoff.isoformat(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": run.counts,
        "purged_ids_sha256": (run.certificate or {}).get("document", {}).get("purged_read_ids", {}).get("sha256"),
    }


def _last(session: Session, status: str) -> PurgeRun | None:
    column = PurgeRun.finished_at if status == "finished" else PurgeRun.started_at
    return session.scalars(select(PurgeRun).where(PurgeRun.status == status).order_by(column.desc())).first()


def retention_figures(session: Session, settings: Settings, now: datetime | None = None) -> RetentionFigures:
    """The figures for the dashboard and the retention page (aggregates only: no audit of their own)."""
    now = now or utcnow()
    cutoff = retention_cutoff(now, settings.retention.days)
    # an index range count of the expired reads, less those held: the home page asks this on every visit, and the
    # purge's own test (a hold check per read) would cost seconds on a large table
    expired = session.scalar(select(func.count()).select_from(PlateRead).where(PlateRead.captured_at < cutoff)) or 0
    held = held_past_retention(session, settings, now)
    return RetentionFigures(
        retention_days=settings.retention.days,
        cutoff=cutoff,
        oldest_read=session.scalar(select(func.min(PlateRead.captured_at))),
        due_for_purge=expired - held,
        held_reads=held,
        holds=protecting_holds(session),
        last_run=_last(session, "finished"),
        running=_last(session, "running"),
        stale_after_hours=settings.retention.stale_after_hours,
        now=now,
    )


def list_runs(work: Work, principal: Principal, limit: int = 50) -> list[PurgeRun]:
    """The newest ``limit`` purge runs (``retention.view``)."""
    principal.require("retention.view")
    return list(work.session.scalars(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(limit)))


def certificate_of(work: Work, principal: Principal, run_id: int, fmt: str) -> tuple[PurgeRun, dict[str, Any]]:
    """A finished run and its signed certificate, for download as ``fmt`` (json or pdf). Audited."""
    principal.require("retention.view")
    run = work.session.get(PurgeRun, run_id)
    if run is None or run.certificate is None:
        raise RunNotFound(f"no finished purge run with id {run_id}")
    work.by(principal).record(PurgeCertificateDownloaded(run_id=run.id, format=fmt))
    return run, run.certificate


def finished_runs_between(session: Session, since: datetime, until: datetime) -> list[PurgeRun]:
    """The purges that finished within the period, oldest first, with the last one before it (so a system audit
    can tell whether a day went without a purge). Read-only, not audited."""
    before = session.scalars(
        select(PurgeRun)
        .where(PurgeRun.status == "finished", PurgeRun.finished_at < since)
        .order_by(PurgeRun.finished_at.desc())
        .limit(1)
    ).first()
    within = session.scalars(
        select(PurgeRun)
        .where(PurgeRun.status == "finished", PurgeRun.finished_at >= since, PurgeRun.finished_at < until)
        .order_by(PurgeRun.finished_at)
    )
    return ([before] if before else []) + list(within)
