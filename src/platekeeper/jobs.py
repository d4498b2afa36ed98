"""What ``platekeeper serve`` runs by itself: one job on a background scheduler of its own (APScheduler).

Every such job runs one instance at a time, and missed runs are coalesced (a server that slept through several runs
makes one, within an hour of the time it missed). The daily purge and the system audits use a cron trigger in the
agency's time zone; the audit checkpoints and the chain verification an interval. APScheduler was chosen over a
hand-written timer thread for its cron triggers in a time zone, misfire handling and coalescing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

__all__ = ["ScheduledJob"]

MISFIRE_GRACE_SECONDS = 3600


class ScheduledJob:
    """``run`` on ``trigger`` (``"cron"`` or ``"interval"``, with its fields in ``when``) once :meth:`start` is
    called, until :meth:`stop`. ``run`` must catch and log its own failures: the scheduler only logs them."""

    def __init__(self, run: Callable[[], Any], job_id: str, timezone: str, trigger: str, **when: int) -> None:
        self.scheduler = BackgroundScheduler(timezone=timezone)
        self._run, self._job_id, self._trigger, self._when = run, job_id, trigger, when

    def start(self) -> None:
        self.scheduler.add_job(
            self._run,
            self._trigger,
            id=self._job_id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            **self._when,
        )
        self.scheduler.start()

    def stop(self, wait: bool = False) -> None:
        """Stop the scheduler (``wait``: until a run in progress ends)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
