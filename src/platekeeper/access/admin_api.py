"""JSON routes for user administration: requests, approvals, deactivation, roles, lockouts, MFA resets,
training records, expiring training and the account review. The pages in ``admin_pages`` call the same services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from platekeeper.access import lifecycle
from platekeeper.access.api import course_json
from platekeeper.access.lifecycle import AccountError
from platekeeper.access.models import User
from platekeeper.access.review import ReviewError, review_summary, sign_off_review, view_account_review
from platekeeper.access.service import NewAccount, SessionState, UserError, create_user, list_users
from platekeeper.access.training import TrainingError, add_training_record, expiring_training, void_training_record
from platekeeper.db import json_fields
from platekeeper.web.deps import DbSession, DbWork, RowId, requires

__all__ = ["router", "user_json"]

router = APIRouter(
    prefix="/api/v1",
    tags=["users"],
    responses={  # AccountError's statuses
        400: {"description": "A rule broken; the detail names the field"},
        404: {"description": "No such account or training record"},
        409: {"description": "The account is not in a state that allows this"},
    },
)
Manage = Annotated[SessionState, Depends(requires("users.manage"))]
Approve = Annotated[SessionState, Depends(requires("users.approve"))]
Review = Annotated[SessionState, Depends(requires("users.review"))]


class AccountRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=120)
    role: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=1024)


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class RoleChange(BaseModel):
    role: str = Field(min_length=1, max_length=40)


class TrainingIn(BaseModel):
    course: str = Field(min_length=1, max_length=41)
    completed_on: date
    instructor: str = Field(min_length=1, max_length=120)
    evidence: str = Field(min_length=1, max_length=2000)


class SignOff(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


def user_json(user: User) -> dict[str, Any]:
    """An account without its secrets."""
    return json_fields(
        user,
        *("id", "username", "display_name", "organization", "role", "status", "status_reason"),
        *("requested_by", "approved_by", "locked_until"),
        last_activity_at=lifecycle.last_activity(user),
        mfa_enrolled=user.totp_secret is not None,
    )


def _answer(action: Callable[[], Any]) -> Any:
    """Run a service call; its rule errors become 4xx answers naming the field (the audit events stay)."""
    try:
        result = action()
    except (AccountError, UserError, TrainingError, ReviewError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=getattr(exc, "status", 400))
    return user_json(result) if isinstance(result, User) else result


@router.get("/users")
def api_users(session: DbSession, state: Manage, status: str | None = None) -> dict[str, Any]:
    """Every account (or those with one status: requested, active, suspended, deactivated)."""
    return {"users": [user_json(u) for u in list_users(session, status)]}


@router.post("/users", status_code=201)
def api_request_account(body: AccountRequest, state: Manage, work: DbWork) -> Any:
    """Request an account; it stays inactive until someone else approves it."""
    return _answer(lambda: create_user(work, NewAccount(**body.model_dump())))


@router.post("/users/{user_id}/approve")
def api_approve(user_id: RowId, state: Approve, work: DbWork) -> Any:
    """Approve a requested account (not your own request, not a role with rights you lack)."""
    return _answer(lambda: lifecycle.approve_account(work, state.principal, user_id))


@router.post("/users/{user_id}/reactivate")
def api_reactivate(user_id: RowId, state: Approve, work: DbWork) -> Any:
    """Return a suspended or deactivated account to service."""
    return _answer(lambda: lifecycle.reactivate_account(work, state.principal, user_id))


@router.post("/users/{user_id}/deactivate")
def api_deactivate(user_id: RowId, body: Reason, state: Manage, work: DbWork) -> Any:
    """Deactivate at once: sessions end and tokens are revoked."""
    return _answer(lambda: lifecycle.deactivate_account(work, user_id, body.reason))


@router.post("/users/{user_id}/role")
def api_change_role(user_id: RowId, body: RoleChange, state: Manage, work: DbWork) -> Any:
    """Change the role; gaining rights sends the account back for approval."""
    return _answer(lambda: lifecycle.change_role(work, user_id, body.role))


@router.post("/users/{user_id}/unlock")
def api_unlock(user_id: RowId, state: Manage, work: DbWork) -> Any:
    """Lift a lockout."""
    return _answer(lambda: lifecycle.unlock_account(work, user_id))


@router.post("/users/{user_id}/mfa-reset")
def api_reset_mfa(user_id: RowId, state: Manage, work: DbWork) -> Any:
    """Forget the user's authenticator; they enrol again at the next sign-in."""
    return _answer(lambda: lifecycle.reset_mfa(work, user_id))


@router.post("/users/{user_id}/password-reset")
def api_reset_password(user_id: RowId, state: Manage, work: DbWork) -> Any:
    """A new random password for a user who forgot theirs; in this answer only. Their sessions end."""
    return _answer(lambda: {"password": lifecycle.reset_password(work, user_id)})


@router.post("/users/{user_id}/training/{record_id}/void")
def api_void_training(user_id: RowId, record_id: RowId, body: Reason, state: Manage, work: DbWork) -> Any:
    """Void a training record entered in error (it stays on file, marked void)."""

    def void() -> dict[str, Any]:
        record = void_training_record(work, record_id, body.reason, user_id=user_id)
        return {"id": record.id, "course": record.course, "voided": True}

    return _answer(void)


@router.post("/users/{user_id}/training", status_code=201)
def api_add_training(user_id: RowId, body: TrainingIn, state: Manage, work: DbWork) -> Any:
    """Record a completed course with its date, instructor and evidence."""

    def add() -> dict[str, Any]:
        record = add_training_record(work, user_id, **body.model_dump())
        return {"id": record.id, "course": record.course, "completed_on": record.completed_on.isoformat()}

    return _answer(add)


@router.get("/training/expiring")
def api_expiring_training(state: Manage, work: DbWork) -> dict[str, Any]:
    """Required training that is missing, expired or expires within ``accounts.training_warning_days``."""
    found = expiring_training(work.session, work.settings)
    return {"courses": [{"username": u.username, **course_json(c)} for u, c in found]}


@router.get("/reviews/accounts")
def api_account_review(state: Review, work: DbWork) -> dict[str, Any]:
    """The account review as it stands now, with the last sign-off and the due date. Viewing it is audited."""
    rows = view_account_review(work)
    summary = review_summary(work.session, work.settings)
    return {
        "accounts": [r.__dict__ for r in rows],
        "last_signed_off_by": summary.last.signed_off_by if summary.last else None,
        "last_signed_off_at": summary.last.signed_off_at.isoformat() if summary.last else None,
        "due": summary.due.isoformat(),
        "overdue": summary.overdue,
    }


@router.post("/reviews/accounts", status_code=201)
def api_sign_off_review(body: SignOff, state: Review, work: DbWork) -> Any:
    """Sign off the account review with a note of what was checked and changed."""

    def sign() -> dict[str, Any]:
        review = sign_off_review(work, body.note)
        return {"id": review.id, "signed_off_by": review.signed_off_by, "accounts": len(review.accounts)}

    return _answer(sign)
