"""The account review (CJIS: at least every 6 months): who has access, the role, who approved it, the last
activity and the training status; the reviewer signs it off and the snapshot they saw is kept with their note."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.lifecycle import last_activity
from platekeeper.access.models import AccountReview, User
from platekeeper.access.training import add_months, training_status
from platekeeper.audit.events import UsersReviewSignedOff, UsersReviewViewed
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow

__all__ = [
    "ReviewError",
    "ReviewRow",
    "ReviewSummary",
    "account_review",
    "review_summary",
    "sign_off_review",
    "view_account_review",
]

NOTE_MIN = 10


class ReviewError(ValueError):
    """A sign-off that breaks a rule; the message names the field."""


@dataclass(frozen=True)
class ReviewRow:
    """One account as the reviewer sees it."""

    username: str
    display_name: str
    role: str
    role_label: str
    status: str
    requested_by: str | None
    approved_by: str | None
    approved_at: str | None
    last_activity: str
    mfa: bool
    training: str  # "current", or the problems / expiring courses


@dataclass(frozen=True)
class ReviewSummary:
    """When the last review was signed off and when the next is due."""

    last: AccountReview | None
    due: datetime
    overdue: bool


def _training_text(session: Session, settings: Settings, user: User) -> str:
    statuses = [s for s in training_status(session, settings, user) if s.required]
    problems = [f"{s.code} {s.state}" + (f" ({s.expires_on})" if s.expires_on else "") for s in statuses]
    bad = [p for p, s in zip(problems, statuses, strict=True) if s.state != "current"]
    bad += [f"{s.code} DEMO record (no real training)" for s in statuses if s.demo]
    return "; ".join(bad) if bad else ("current" if statuses else "none required")


def account_review(session: Session, settings: Settings) -> list[ReviewRow]:
    """Every account that is not deactivated, with what the reviewer must check."""
    rows = []
    users = session.scalars(select(User).where(User.status != "deactivated").order_by(User.username))
    for user in users:
        role = settings.access.roles.get(user.role)
        rows.append(
            ReviewRow(
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                role_label=role.label if role else user.role,
                status=user.status,
                requested_by=user.requested_by,
                approved_by=user.approved_by,
                approved_at=user.approved_at.isoformat() if user.approved_at else None,
                last_activity=last_activity(user).isoformat(),
                mfa=user.totp_secret is not None,
                training=_training_text(session, settings, user),
            )
        )
    return rows


def view_account_review(work: Work) -> list[ReviewRow]:
    """The account review as it stands now, for a reviewer; viewing it is audited (``users.review_viewed``)."""
    rows = account_review(work.session, work.settings)
    work.record(UsersReviewViewed(accounts=len(rows)))
    return rows


def review_summary(session: Session, settings: Settings, now: datetime | None = None) -> ReviewSummary:
    """The last signed-off review and the due date of the next (now, if there has never been one)."""
    now = now or utcnow()
    last = session.scalar(select(AccountReview).order_by(AccountReview.signed_off_at.desc()).limit(1))
    if last is None:
        return ReviewSummary(last=None, due=now, overdue=True)
    months = settings.access.accounts.review_interval_months
    due_date = add_months(last.signed_off_at.date(), months)
    due = last.signed_off_at.replace(year=due_date.year, month=due_date.month, day=due_date.day)
    return ReviewSummary(last=last, due=due, overdue=due <= now)


def sign_off_review(work: Work, note: str) -> AccountReview:
    """The reviewer signs off the review as it stands now; the snapshot and the note are kept and audited."""
    note, reviewer = note.strip(), work.actor.username
    if len(note) < NOTE_MIN:
        raise ReviewError(f"note: write at least {NOTE_MIN} characters: what was checked and what was changed")
    if reviewer is None:
        raise ReviewError("reviewer: a review is signed off by a person, not by the system")
    rows = [asdict(r) for r in account_review(work.session, work.settings)]
    review = AccountReview(signed_off_by=reviewer, signed_off_at=utcnow(), note=note[:4000], accounts=rows)
    work.session.add(review)
    work.session.flush()
    work.record(UsersReviewSignedOff(review_id=review.id, accounts=len(rows)))
    return review
