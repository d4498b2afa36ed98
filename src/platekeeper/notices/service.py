"""Notices (policy 462.6): raised by the guards and the scheduled verification, seen by the supervisors and the
administrator (and, for a breach, the custodian), open until someone acknowledges them with a note. Audited.

Who sees a guard's notice about a user: whoever holds ``notices.breach`` (the administrator, the custodian) sees
every one; whoever holds only ``notices.view`` (a supervisor) sees those about the users they supervise: accounts of
their own organization whose role grants less than theirs (the roles they may approve, less their peers). No one
sees a notice about their own searches.

Only this module touches the ``notices`` table. A notice holds counts and the rule, never a plate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from platekeeper.access.models import User
from platekeeper.access.principal import Principal
from platekeeper.audit.events import NoticeAcknowledged, NoticeRaised
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.notices.models import USER_KINDS, Notice

__all__ = [
    "NoticeDraft",
    "NoticeNotFound",
    "NoticeRefused",
    "acknowledge_notice",
    "can_see",
    "list_notices",
    "notices_between",
    "open_breach_notices",
    "raise_notice",
    "recipients_of",
    "supervised_roles",
]


class NoticeRefused(ValueError):
    """An acknowledgement that cannot be taken; the message names the field or the rule."""

    def __init__(self, field_name: str, why: str, status: int = 400) -> None:
        self.field, self.status = field_name, status
        super().__init__(f"{field_name}: {why}")


class NoticeNotFound(LookupError):
    """No notice with that id that this person may see."""


@dataclass(frozen=True)
class NoticeDraft:
    """What a notice says before it is raised. ``dedupe_key`` with ``dedupe_minutes``: no new notice while one of
    the same rule, user and key was raised within that many minutes (``None``: ever, whatever its state)."""

    kind: str
    severity: str
    rule: str
    finding: str
    subject: str | None = None
    subject_role: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str = ""
    dedupe_minutes: int | None = 0


def recipients_of(settings: Settings, severity: str) -> list[str]:
    """The roles told of a notice: ``guards.notify_roles``, and for a breach every role holding notices.breach."""
    roles = list(settings.guards.notify_roles)
    if severity == "breach":
        roles += [name for name, role in settings.access.roles.items() if "notices.breach" in role.permissions]
    return sorted(set(roles))


def _already_raised(session: Session, draft: NoticeDraft, now: datetime) -> Notice | None:
    if draft.dedupe_minutes == 0:
        return None
    stmt = select(Notice).where(
        Notice.rule == draft.rule, Notice.dedupe_key == draft.dedupe_key, Notice.kind == draft.kind
    )
    stmt = stmt.where(Notice.subject.is_(None) if draft.subject is None else Notice.subject == draft.subject)
    if draft.dedupe_minutes is not None:
        stmt = stmt.where(Notice.raised_at >= now - timedelta(minutes=draft.dedupe_minutes))
    return session.scalars(stmt.order_by(Notice.id.desc()).limit(1)).first()


def raise_notice(work: Work, draft: NoticeDraft) -> tuple[Notice, bool]:
    """Raise a notice in the work's transaction and record it (``notices.raise``), unless the same finding was
    raised already (see :class:`NoticeDraft`): then that notice, and False."""
    now = utcnow()
    existing = _already_raised(work.session, draft, now)
    if existing is not None:
        return existing, False
    notice = Notice(
        kind=draft.kind,
        severity=draft.severity,
        rule=draft.rule,
        subject=draft.subject,
        subject_role=draft.subject_role,
        raised_at=now,
        finding=draft.finding,
        figures=dict(draft.figures),
        recipients=recipients_of(work.settings, draft.severity),
        dedupe_key=draft.dedupe_key,
    )
    work.session.add(notice)
    work.session.flush()
    raised = NoticeRaised(
        notice_id=notice.id,
        kind=notice.kind,
        severity=notice.severity,
        rule=notice.rule,
        subject=notice.subject,
        finding=notice.finding,
        recipients=list(notice.recipients),
    )
    work.record(raised)
    return notice, True


def supervised_roles(settings: Settings, principal: Principal) -> list[str]:
    """The roles whose holders this person supervises: those granting less than their own role does."""
    own = settings.access.role_permissions(principal.role)
    return sorted(name for name in settings.access.roles if settings.access.role_permissions(name) < own)


def _supervises(session: Session, settings: Settings, principal: Principal, subject: str | None) -> bool:
    if subject is None:
        return True
    user = session.scalar(select(User).where(User.username == subject))
    return (
        user is not None
        and user.organization == principal.organization
        and user.role in supervised_roles(settings, principal)
    )


def can_see(session: Session, settings: Settings, principal: Principal, notice: Notice) -> bool:
    """A breach notice is for holders of notices.breach; a guard's notice or an audit's referral about a user for
    holders of notices.breach and for the holders of notices.view who supervise that user (no one sees, or
    acknowledges, a notice about their own searches)."""
    if notice.severity == "breach" and principal.can("notices.breach"):
        return True
    if notice.kind not in USER_KINDS or notice.subject == principal.username or not principal.can("notices.view"):
        return False
    return principal.can("notices.breach") or _supervises(session, settings, principal, notice.subject)


def _visible(settings: Settings, principal: Principal, stmt: Select[Any]) -> Select[Any]:
    shown: list[ColumnElement[bool]] = []
    if principal.can("notices.view"):
        about_others = or_(Notice.subject.is_(None), Notice.subject != principal.username)
        if not principal.can("notices.breach"):
            supervised = select(User.username).where(
                User.organization == principal.organization, User.role.in_(supervised_roles(settings, principal))
            )
            about_others = and_(about_others, or_(Notice.subject.is_(None), Notice.subject.in_(supervised)))
        shown.append(and_(Notice.kind.in_(USER_KINDS), about_others))
    if principal.can("notices.breach"):
        shown.append(Notice.severity == "breach")
    return stmt.where(or_(*shown)) if shown else stmt.where(Notice.id.is_(None))


def list_notices(
    session: Session, settings: Settings, principal: Principal, *, status: str = "open", limit: int = 200
) -> list[Notice]:
    """The notices this person may see (:func:`can_see`), newest first: ``open`` (not yet acknowledged),
    ``acknowledged`` or ``all``. Breach notices come first among the open ones."""
    stmt = _visible(settings, principal, select(Notice))
    if status == "open":
        stmt = stmt.where(Notice.acknowledged_at.is_(None))
    elif status == "acknowledged":
        stmt = stmt.where(Notice.acknowledged_at.is_not(None))
    notices = list(session.scalars(stmt.order_by(Notice.raised_at.desc(), Notice.id.desc()).limit(limit)))
    return sorted(notices, key=lambda n: n.severity != "breach") if status == "open" else notices


def open_breach_notices(handle: Session | Connection, limit: int = 5) -> list[dict[str, Any]]:
    """The open breach notices (id, when, finding), newest first: the banner on every page of their recipients.
    Takes a read-only connection, so a page's banner never waits for a writer."""
    rows = handle.execute(
        select(Notice.id, Notice.raised_at, Notice.finding, Notice.rule)
        .where(Notice.severity == "breach", Notice.acknowledged_at.is_(None))
        .order_by(Notice.raised_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return [{"id": r.id, "raised_at": r.raised_at, "finding": r.finding, "rule": r.rule} for r in rows]


def acknowledge_notice(work: Work, principal: Principal, notice_id: int, note: str) -> Notice:
    """Acknowledge a notice with a note saying what was done (at least ``guards.acknowledge_note_min_length``
    characters). A notice this person may not see is not found; an acknowledged one is refused (409)."""
    notice = work.session.get(Notice, notice_id)
    if notice is None or not can_see(work.session, work.settings, principal, notice):
        raise NoticeNotFound(f"no notice {notice_id} for you to see")
    if notice.acknowledged_at is not None:
        raise NoticeRefused("notice_id", f"acknowledged already by {notice.acknowledged_by}", 409)
    note = " ".join((note or "").split())
    least = work.settings.guards.acknowledge_note_min_length
    if len(note) < least:
        raise NoticeRefused("note", f"say what was done about it in at least {least} characters")
    if len(note) > 2000:
        raise NoticeRefused("note", "at most 2000 characters")
    notice.acknowledged_by, notice.acknowledged_at, notice.acknowledgement_note = principal.username, utcnow(), note
    event = NoticeAcknowledged(
        notice_id=notice.id, rule=notice.rule, severity=notice.severity, subject=notice.subject, note=note
    )
    work.by(principal).record(event)
    return notice


def notices_between(session: Session, since: datetime, until: datetime) -> list[Notice]:
    """Every notice raised within the period, oldest first: the guards' events and the verification's breach
    notices that a system audit reports (462.6). Read-only, not audited."""
    stmt = select(Notice).where(Notice.raised_at >= since, Notice.raised_at < until)
    return list(session.scalars(stmt.order_by(Notice.raised_at, Notice.id)))
