"""Training records (policy 462.10): which courses a role needs, whether each is current, and recording them.

A course is current from its completion date until ``valid_months`` later (the refresher is due then). A user whose
required courses are not all current gets a principal with ``training_gaps``; :func:`build_access_context` and
:func:`require_context` refuse such a principal, so no plate data is reachable until the training is recorded.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.models import TrainingRecord, User
from platekeeper.access.principal import Principal, TrainingRequired
from platekeeper.audit.events import TrainingRecordAdded, TrainingRecordVoided, TrainingRefused
from platekeeper.audit.work import Work
from platekeeper.config import CourseConfig, Settings
from platekeeper.db import utcnow

__all__ = [
    "CourseStatus",
    "TrainingError",
    "add_months",
    "add_training_record",
    "expiring_training",
    "record_training_refusal",
    "required_courses",
    "training_gaps",
    "training_gaps_on",
    "training_records",
    "training_status",
    "void_training_record",
]

EVIDENCE_MAX = 2000


class TrainingError(ValueError):
    """A training record that breaks a rule; the message names the field."""


@dataclass(frozen=True)
class CourseStatus:
    """One course for one user: the latest valid record and what that means today."""

    code: str
    title: str
    policy_ref: str
    required: bool
    completed_on: date | None
    expires_on: date | None
    instructor: str | None
    state: str  # current | expiring | expired | missing
    demo: bool = False  # the record is the demo's: no real training took place

    @property
    def problem(self) -> str | None:
        """Why this course blocks plate data, or None when it does not."""
        if not self.required or self.state in ("current", "expiring"):
            return None
        if self.state == "missing":
            return f"course {self.title!r} ({self.code}, policy {self.policy_ref}) has no training record"
        return f"course {self.title!r} ({self.code}, policy {self.policy_ref}) expired on {self.expires_on}"


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months, clamped to the last day of the month (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def required_courses(settings: Settings, role: str) -> list[CourseConfig]:
    """The courses this role must hold."""
    return [c for c in settings.access.courses if role in c.required_for_roles]


def training_records(session: Session, user_id: int, *, include_voided: bool = False) -> list[TrainingRecord]:
    """A user's training records, newest completion first."""
    query = select(TrainingRecord).where(TrainingRecord.user_id == user_id)
    if not include_voided:
        query = query.where(TrainingRecord.voided_at.is_(None))
    return list(session.scalars(query.order_by(TrainingRecord.completed_on.desc(), TrainingRecord.id.desc())))


def _status(
    course: CourseConfig, role: str, latest: TrainingRecord | None, today: date, warn_days: int
) -> CourseStatus:
    required = role in course.required_for_roles
    if latest is None:
        expires, state = None, "missing"
    else:
        expires = add_months(latest.completed_on, course.valid_months)
        if expires <= today:
            state = "expired"
        elif expires <= today + timedelta(days=warn_days):
            state = "expiring"
        else:
            state = "current"
    return CourseStatus(
        code=course.code,
        title=course.title,
        policy_ref=course.policy_ref,
        required=required,
        completed_on=latest.completed_on if latest else None,
        expires_on=expires,
        instructor=latest.instructor if latest else None,
        state=state,
        demo=bool(latest and latest.is_demo),
    )


def training_status(session: Session, settings: Settings, user: User, today: date | None = None) -> list[CourseStatus]:
    """Every configured course for this user: required ones first, each with its latest valid record."""
    today = today or settings.today()
    latest: dict[str, TrainingRecord] = {}
    for record in training_records(session, user.id):
        latest.setdefault(record.course, record)
    statuses = [
        _status(c, user.role, latest.get(c.code), today, settings.access.accounts.training_warning_days)
        for c in settings.access.courses
    ]
    return sorted(statuses, key=lambda s: not s.required)


def training_gaps_on(session: Session, settings: Settings, user_id: int, role: str, day: date) -> tuple[str, ...]:
    """The training problems a user holding ``role`` had on ``day``, counting only the records completed by then
    (a course taken later does not cover an earlier access): what a system audit asks of each past access."""
    latest: dict[str, TrainingRecord] = {}
    for record in training_records(session, user_id):
        if record.completed_on <= day:
            latest.setdefault(record.course, record)
    warn = settings.access.accounts.training_warning_days
    return training_gaps([_status(c, role, latest.get(c.code), day, warn) for c in settings.access.courses])


def training_gaps(statuses: list[CourseStatus]) -> tuple[str, ...]:
    """The problems that block plate data, one per missing or expired required course."""
    return tuple(s.problem for s in statuses if s.problem)


def _validate(settings: Settings, course: str, completed_on: date, instructor: str, evidence: str) -> None:
    codes = [c.code for c in settings.access.courses]
    if course not in codes:
        raise TrainingError(f"course: {course!r} is not a configured course; choose one of {codes}")
    if completed_on > settings.today():
        raise TrainingError("completed_on: must not be in the future")
    if not instructor:
        raise TrainingError("instructor: name who gave the training")
    if not evidence:
        raise TrainingError("evidence: describe the evidence (sign-in sheet, certificate number, test score)")
    if len(evidence) > EVIDENCE_MAX or len(instructor) > 120:
        raise TrainingError(f"evidence: at most {EVIDENCE_MAX} characters; instructor: at most 120")


def add_training_record(
    work: Work, user_id: int, *, course: str, completed_on: date, instructor: str, evidence: str
) -> TrainingRecord:
    """Record a completed course for a user, and audit it."""
    session, actor = work.session, work.actor
    user = session.get(User, user_id)
    if user is None:
        raise TrainingError(f"user: no account with id {user_id}")
    instructor, evidence = " ".join(instructor.split()), evidence.strip()
    _validate(work.settings, course, completed_on, instructor, evidence)
    record = TrainingRecord(
        user_id=user.id,
        course=course,
        completed_on=completed_on,
        instructor=instructor,
        evidence=evidence,
        recorded_by=actor.username or f"system:{actor.client}",
        recorded_at=utcnow(),
    )
    session.add(record)
    session.flush()
    added = TrainingRecordAdded(
        username=user.username,
        course=course,
        completed_on=completed_on.isoformat(),
        instructor=instructor,
        record_id=record.id,
    )
    work.record(added)
    return record


def void_training_record(work: Work, record_id: int, reason: str, *, user_id: int | None = None) -> TrainingRecord:
    """Void a record entered in error (it stays on file, marked void), and audit it."""
    session = work.session
    record = session.get(TrainingRecord, record_id)
    if record is None or record.voided_at is not None or (user_id is not None and record.user_id != user_id):
        raise TrainingError(f"record: no valid training record with id {record_id}")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise TrainingError("reason: say why the record is void (at least 5 characters)")
    record.voided_at, record.voided_by, record.void_reason = utcnow(), work.actor.username or "system", reason[:200]
    user = session.get(User, record.user_id)
    voided = TrainingRecordVoided(username=user.username if user else None, course=record.course, record_id=record.id)
    work.record(voided)
    return record


def expiring_training(
    session: Session, settings: Settings, now: datetime | None = None
) -> list[tuple[User, CourseStatus]]:
    """Required courses of requested or active accounts that are missing, expired or expire within the warning."""
    today = settings.today(now)
    found = []
    users = session.scalars(select(User).where(User.status.in_(("requested", "active"))).order_by(User.username))
    for user in users:
        for status in training_status(session, settings, user, today):
            if status.required and status.state != "current":
                found.append((user, status))
    return found


def record_training_refusal(work: Work, principal: Principal, refusal: TrainingRequired) -> None:
    """Audit a refused access to plate data for missing or expired training, naming the courses, under the
    refused principal (from the work's client)."""
    refused = TrainingRefused(attempted=refusal.permission, courses=list(refusal.gaps))
    work.by(principal).record(refused, outcome="denied")
