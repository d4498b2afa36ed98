"""Guards while it happens (policy 462.6): checked inside every door to plate data, before and after it runs.

Before: :func:`check_before` refuses (:class:`GuardStopped`, naming the rule) an access that a ``stop`` rule
forbids, writing nothing; the caller's transaction is rolled back, so :func:`record_stop` records the stop and its
notice in a transaction of its own (the web app's handler does). After: :func:`record_after` writes the access's row
in ``search_activity`` in the access's own transaction and raises a notice for each ``notice`` rule now above its
threshold. Only this module touches ``search_activity``.

A row is needed only while a counting rule's window still reaches it: :func:`purge_search_activity` deletes the
rows older than :func:`activity_horizon` (the longest window of any counting rule, enabled or not), and the
retention purge calls it in batches (counted as ``search_activity`` in its certificate). The audit log keeps every
search for the audits; this table is the guards' working index, not a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext
from platekeeper.audit.events import GuardStop
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.guards.models import SearchActivity
from platekeeper.guards.rules import (
    COUNTING_RULES,
    CountingRule,
    Watched,
    context_key,
    justification_digest,
    protected_terms,
    window_words,
)
from platekeeper.notices.models import Notice
from platekeeper.notices.service import NoticeDraft, raise_notice

__all__ = [
    "GUARDS_ACTOR",
    "GuardStopped",
    "Watched",
    "activity_horizon",
    "check_before",
    "count_search_activity_due",
    "purge_search_activity",
    "record_after",
    "record_stop",
]

GUARDS_ACTOR = Actor.system("guards")
PROTECTED = "protected_activity"


@dataclass(frozen=True)
class Firing:
    """A rule that fired: its name, the finding in words, the figures, and how to dedupe its notice."""

    rule: str
    finding: str
    figures: dict[str, int]
    breach: bool
    dedupe_key: str
    dedupe_minutes: int
    named: str = ""  # the protected terms found, for the reason a stopped user reads


class GuardStopped(Exception):
    """A guard refused an access before it ran; the message names the rule and why (answered 403)."""

    def __init__(self, ctx: AccessContext, watched: Watched, firing: Firing, reason: str) -> None:
        self.ctx, self.watched, self.firing, self.reason = ctx, watched, firing, reason
        super().__init__(f"stopped by the guard {firing.rule!r} (policy 462.6): {reason}")

    @property
    def rule(self) -> str:
        return self.firing.rule


def _protected(work: Work, ctx: AccessContext) -> Firing | None:
    config = work.settings.guards.protected_activity
    found = protected_terms(config.terms, ctx) if config.enabled else []
    if not found:
        return None
    named = ", ".join(repr(term) for term in found)
    return Firing(
        rule=PROTECTED,
        finding=f"{ctx.username} stated a purpose or justification naming {named} (purpose {ctx.purpose}, case "
        f"{ctx.case_number}).",
        figures={},
        breach=False,
        dedupe_key=justification_digest(ctx.justification),
        dedupe_minutes=config.window_minutes,
        named=named,
    )


def _firing(work: Work, ctx: AccessContext, rule: CountingRule, n: int) -> Firing:
    config = rule.config(work.settings.guards)
    words = {"window": f"the last {window_words(config.window_minutes)}", "threshold": config.threshold}
    finding = rule.finding.format(user=ctx.username, n=n, case=ctx.case_number, purpose=ctx.purpose, **words)
    return Firing(
        rule=rule.name,
        finding=finding,
        figures={"count": n, "threshold": config.threshold, "window_minutes": config.window_minutes},
        breach=config.breach,
        dedupe_key=rule.dedupe(ctx),
        dedupe_minutes=config.window_minutes,
    )


def _fired(work: Work, ctx: AccessContext, watched: Watched, action: str, pending: bool) -> list[Firing]:
    """The counting rules with this action that apply to the access and are above their threshold."""
    guards, now = work.settings.guards, utcnow()
    fired = []
    for rule in COUNTING_RULES:
        config = rule.config(guards)
        if config.enabled and config.action == action and rule.applies(watched):
            n = rule.count(work.session, ctx, rule.since(guards, now), pending)
            if n > config.threshold:
                fired.append(_firing(work, ctx, rule, n))
    return fired


def check_before(work: Work, ctx: AccessContext, watched: Watched) -> None:
    """Raise :class:`GuardStopped` when a ``stop`` rule forbids this access; write nothing (a protected-activity
    rule set to ``notice`` raises its notice here, and the access goes on)."""
    protected = _protected(work, ctx)
    if protected is not None and work.settings.guards.protected_activity.action == "stop":
        reason = (
            f"the purpose or justification names a protected activity or an immigration purpose ({protected.named}); "
            "plate data may not be used for it. The ALPR administrator was told, and so were your supervisors where "
            "they supervise your role"
        )
        raise GuardStopped(ctx, watched, protected, reason)
    if protected is not None:
        _notify(work, ctx, protected, "notice")
    for firing in _fired(work, ctx, watched, "stop", pending=True):
        reason = (
            f"{firing.finding} Ask your supervisor; the search was not run."
            if not firing.breach
            else f"{firing.finding} This is a bulk extraction; the search was not run and the custodian was told."
        )
        raise GuardStopped(ctx, watched, firing, reason)


def _notify(work: Work, ctx: AccessContext, firing: Firing, severity: str) -> Notice:
    draft = NoticeDraft(
        kind="guard",
        severity="breach" if firing.breach else severity,
        rule=firing.rule,
        finding=firing.finding,
        subject=ctx.username,
        subject_role=ctx.principal.role,
        figures=firing.figures,
        dedupe_key=firing.dedupe_key,
        dedupe_minutes=firing.dedupe_minutes,
    )
    notice, _ = raise_notice(work.as_(GUARDS_ACTOR), draft)
    return notice


def record_after(work: Work, ctx: AccessContext, watched: Watched, *, shown: int, total: int) -> list[Notice]:
    """Write this access's row (in its own transaction) and raise a notice for each ``notice`` rule it took above
    its threshold (once per rule, user and key within the rule's window)."""
    work.session.add(
        SearchActivity(
            username=ctx.username,
            at=utcnow(),
            action=watched.action,
            plate_less=watched.plate_less,
            page=watched.page,
            shown=shown,
            total=total,
            context_key=context_key(ctx),
            justification_digest=justification_digest(ctx.justification),
            case_number=ctx.case_number,
        )
    )
    work.session.flush()
    return [_notify(work, ctx, firing, "notice") for firing in _fired(work, ctx, watched, "notice", pending=False)]


def record_stop(work: Work, stop: GuardStopped) -> Notice:
    """Record a stop (``guards.stop``, denied, under the refused context) and its notice to the supervisors and the
    administrator (a breach notice for a large extraction). Run it in a transaction of its own."""
    notice = _notify(work, stop.ctx, stop.firing, "stop")
    figures = stop.firing.figures
    event = GuardStop(
        rule=stop.rule,
        attempted=stop.watched.action,
        reason=stop.reason,
        measured=figures.get("count"),
        threshold=figures.get("threshold"),
        window_minutes=figures.get("window_minutes"),
        notice_id=notice.id,
    )
    ctx = stop.ctx
    work.by(ctx.principal).record(
        event, outcome="denied", purpose=ctx.purpose, case_number=ctx.case_number, justification=ctx.justification
    )
    return notice


def activity_horizon(settings: Settings) -> timedelta:
    """How far back a counting rule may look: the longest window of any of them (a disabled rule included, so that
    turning it on again finds its window filled)."""
    return timedelta(minutes=max(rule.config(settings.guards).window_minutes for rule in COUNTING_RULES))


def count_search_activity_due(session: Session, before: datetime) -> int:
    """How many rows :func:`purge_search_activity` would delete (a purge's dry run)."""
    return int(session.scalar(select(func.count(SearchActivity.id)).where(SearchActivity.at < before)) or 0)


def purge_search_activity(session: Session, before: datetime, limit: int) -> int:
    """Delete at most ``limit`` rows older than ``before``, oldest first; returns how many (0 when none is left)."""
    ids = list(
        session.scalars(
            select(SearchActivity.id).where(SearchActivity.at < before).order_by(SearchActivity.id).limit(limit)
        )
    )
    if ids:
        session.execute(delete(SearchActivity).where(SearchActivity.id.in_(ids)))
    return len(ids)
