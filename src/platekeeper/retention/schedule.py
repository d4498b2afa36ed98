"""The daily purge inside ``platekeeper serve`` at ``retention.purge_time``, agency time (a :class:`ScheduledJob`).

A purge that fails is logged and left for the next day or for ``platekeeper purge``, which resumes it; the dashboard
warns when no purge has finished for ``retention.stale_after_hours``.
"""

from __future__ import annotations

import logging

from platekeeper.jobs import ScheduledJob
from platekeeper.retention.models import PurgeRun
from platekeeper.retention.service.purge import PurgeBusy, Purger

__all__ = ["PurgeSchedule"]

log = logging.getLogger(__name__)


class PurgeSchedule(ScheduledJob):
    """Runs ``purger`` every day at ``retention.purge_time`` in the agency's time zone."""

    def __init__(self, purger: Purger) -> None:
        self.purger = purger
        at, settings = purger.settings.retention.purge_time, purger.settings
        super().__init__(
            self.run_once, "retention-purge", settings.agency.timezone, "cron", hour=at.hour, minute=at.minute
        )

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
