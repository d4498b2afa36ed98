"""The daily purge inside ``platekeeper serve``: APScheduler's cron trigger at ``retention.purge_time``, agency time.

One instance at a time, coalesced (a server that slept through a run makes one, not several). A purge that fails is
logged and left for the next day or for ``platekeeper purge``, which resumes it; the dashboard warns when no purge
has finished for ``retention.stale_after_hours``.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from platekeeper.retention.models import PurgeRun
from platekeeper.retention.service.purge import PurgeBusy, Purger

__all__ = ["PurgeSchedule"]

log = logging.getLogger(__name__)


class PurgeSchedule:
    """Runs ``purger`` every day at ``retention.purge_time`` in the agency's time zone."""

    def __init__(self, purger: Purger) -> None:
        self.purger = purger
        self.scheduler = BackgroundScheduler(timezone=purger.settings.agency.timezone)

    def run_once(self) -> PurgeRun | None:
        """One scheduled purge now; failures are logged, never raised into the scheduler."""
        try:
            run = self.purger.run(trigger="schedule")
        except PurgeBusy as exc:
            log.warning("scheduled purge skipped: %s", exc)
            return None
        except Exception:
            log.exception("scheduled purge failed; `platekeeper purge` resumes it")
            return None
        log.info("purge %s finished: %s", run.id, run.counts)
        return run

    def start(self) -> None:
        at = self.purger.settings.retention.purge_time
        self.scheduler.add_job(
            self.run_once,
            "cron",
            hour=at.hour,
            minute=at.minute,
            id="retention-purge",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
