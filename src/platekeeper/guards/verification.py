"""Tampering (policy 462.6, Civil Code 1798.90.51): the audit chain and its signed checkpoints verified on a
schedule inside ``platekeeper serve`` (every ``guards.verify_hours``, daily by default), by ``platekeeper audit
verify`` and by the audit page's Verify button. A failure raises a breach notice, shown on every page of its
recipients until acknowledged with a note.

The verification itself is the audit layer's (``oversight.verify_and_record`` with ``checkpoints.anchor_check``);
this module adds the schedule, the notice and the record of the run (``guards.verification``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

from platekeeper.audit.checkpoints import anchor_check
from platekeeper.audit.events import ChainVerificationRun
from platekeeper.audit.oversight import verify_and_record
from platekeeper.audit.service import Actor, ChainVerification
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.jobs import ScheduledJob
from platekeeper.notices.models import Notice
from platekeeper.notices.service import NoticeDraft, raise_notice

__all__ = ["CHAIN_RULE", "VerificationSchedule", "verify_and_notify"]

log = logging.getLogger(__name__)
CHAIN_RULE = "audit_chain"
TRIGGERS = {
    "schedule": "the scheduled verification",
    "cli": "`platekeeper audit verify`",
    "audit": "the system audit's verification",
    "page": "the audit page's Verify button",
}


def _problem(result: ChainVerification) -> str:
    if result.first_bad_seq is not None:
        return (
            f"the chain is broken at event {result.first_bad_seq}: {result.reason} ({result.checked} events before "
            "it are intact)"
        )
    return f"the chain does not match its signed checkpoints: {result.anchor_problem}"


def verify_and_notify(
    work: Work, signer: InstallationKey, trigger: str, checkpoints: Path | None = None
) -> tuple[ChainVerification, Notice | None]:
    """Verify the chain and its signed checkpoints (``checkpoints``: a copy to check against), record the run and,
    when it fails, raise a breach notice saying what was found and by which run (once per distinct problem)."""
    result = verify_and_record(work, anchor_check(work.settings, signer, checkpoints))
    notice = None
    problem = None if result.intact else _problem(result)
    if problem is not None:
        by = TRIGGERS.get(trigger, trigger)
        draft = NoticeDraft(
            kind="verification",
            severity="breach",
            rule=CHAIN_RULE,
            finding=f"{by[:1].upper()}{by[1:]} found that {problem}. Start the breach "
            "response: keep the database, the checkpoint file and the backups as they are.",
            figures={"checked": result.checked, "first_bad_seq": result.first_bad_seq or 0},
            dedupe_key=hashlib.sha256(problem.encode()).hexdigest(),
            dedupe_minutes=None,
        )
        notice, _ = raise_notice(work, draft)
    run = ChainVerificationRun(
        trigger=trigger,
        intact=result.intact,
        checked=result.checked,
        problem=problem,
        notice_id=notice.id if notice else None,
    )
    work.record(run, outcome="success" if result.intact else "failure")
    return result, notice


class VerificationSchedule(ScheduledJob):
    """Runs :func:`verify_and_notify` every ``guards.verify_hours`` in a background scheduler (APScheduler), as
    ``system:verify``; one run at a time, missed runs coalesced, a failure to run logged, never raised."""

    def __init__(self, settings: Settings, database: Database, key: bytes, signer: InstallationKey) -> None:
        self.settings, self.database, self.key, self.signer = settings, database, key, signer
        self._lock = threading.Lock()
        super().__init__(self.run_once, "audit-verify", "UTC", "interval", hours=settings.guards.verify_hours)

    def run_once(self) -> ChainVerification | None:
        """One scheduled verification now, in its own transaction."""
        with self._lock:
            try:
                with self.database.session() as session:
                    work = Work(session, self.settings, self.key, Actor.system("verify"))
                    result, notice = verify_and_notify(work, self.signer, "schedule")
            except Exception:
                log.exception("scheduled audit verification failed to run")
                return None
        if notice is not None:
            log.error("audit chain verification failed: breach notice %s: %s", notice.id, notice.finding)
        return result
