"""Pages for user administration (approval queue, expiring training, one account's lifecycle and training), the
permission matrix and the account review. They call the same services as ``admin_api``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response

from platekeeper.access import lifecycle
from platekeeper.access.matrix import permission_matrix
from platekeeper.access.models import User
from platekeeper.access.review import ReviewError, review_summary, sign_off_review, view_account_review
from platekeeper.access.service import NewAccount, SessionState, UserError, create_user, list_users
from platekeeper.access.training import (
    TrainingError,
    add_training_record,
    expiring_training,
    training_records,
    void_training_record,
)
from platekeeper.access.training import training_status as course_statuses
from platekeeper.audit.work import Work
from platekeeper.web.deps import SIGNED_IN, DbWork, RowId, check_csrf, render, requires

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Manage = Annotated[SessionState, Depends(requires("users.manage"))]
Approve = Annotated[SessionState, Depends(requires("users.approve"))]
Review = Annotated[SessionState, Depends(requires("users.review"))]
Csrf = Annotated[str, Form()]
RULE_ERRORS = (lifecycle.AccountError, UserError, TrainingError, ReviewError)


def _users_page(request: Request, work: Work, **extra: object) -> Response:
    session, settings = work.session, work.settings
    users = list_users(session)
    context = {
        "users": users,
        "requested": [u for u in users if u.status == "requested"],
        "expiring": expiring_training(session, settings),
        "roles": settings.access.roles,
        "last_activity": lifecycle.last_activity,
        "error": None,
        "created": None,
        "form": {},
        **extra,
    }
    return render(request, "users.html", context, 400 if extra.get("error") else 200)


@router.get("/users")
def users_page(request: Request, state: Manage, work: DbWork) -> Response:
    """Every account with its status, the approval queue, expiring training, and a form to request an account."""
    return _users_page(request, work)


@router.post("/users")
def users_create(
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Csrf = "",
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Request an account; errors are shown on the form and nothing is stored."""
    check_csrf(state, csrf_token)
    form = {"username": username, "display_name": display_name, "role": role}
    try:
        user = create_user(work, NewAccount(username, display_name, role, password))
    except UserError as exc:
        return _users_page(request, work, error=str(exc), form=form)
    return _users_page(request, work, created=user.username)


def _user_page(request: Request, work: Work, user_id: RowId, **extra: object) -> Response:
    session, settings = work.session, work.settings
    user = session.get(User, user_id)
    if user is None:
        return render(request, "error.html", {"status": 404, "message": f"no account with id {user_id}"}, 404)
    context = {
        "user": user,
        "roles": settings.access.roles,
        "courses": course_statuses(session, settings, user),
        "records": training_records(session, user.id, include_voided=True),
        "course_options": settings.access.courses,
        "open_sessions": lifecycle.count_open_sessions(session, user.id),
        "last_activity": lifecycle.last_activity(user),
        "today": settings.today().isoformat(),  # the agency's date, as the service checks
        "error": None,
        "message": None,
        **extra,
    }
    return render(
        request, "user_detail.html", context, int(str(extra.get("status", 400))) if extra.get("error") else 200
    )


def _approvals_page(request: Request, work: Work, state: SessionState, **extra: object) -> Response:
    context = {
        "queue": lifecycle.approval_queue(work.session, work.settings, state.principal),
        "roles": work.settings.access.roles,
        "error": None,
        "message": None,
        **extra,
    }
    return render(request, "approvals.html", context, int(str(extra.get("status", 400))) if extra.get("error") else 200)


@router.get("/users/approvals")
def approvals_page(request: Request, state: Approve, work: DbWork) -> Response:
    """The accounts waiting for approval, for every role that holds ``users.approve`` (a Records Manager or a
    supervisor approves without managing accounts): who asked, for which role, and whether you may approve it."""
    return _approvals_page(request, work, state)


@router.get("/users/{user_id}")
def user_page(user_id: RowId, request: Request, state: Manage, work: DbWork) -> Response:
    """One account: status, approval, role, lockout, MFA and training records, with the actions on them."""
    return _user_page(request, work, user_id)


def _act(request: Request, work: Work, user_id: RowId, message: str, action: Callable[[], Any]) -> Response:
    """Run a lifecycle action and show the account again, with the message or the rule it broke."""
    try:
        action()
    except RULE_ERRORS as exc:
        return _user_page(request, work, user_id, error=str(exc), status=getattr(exc, "status", 400))
    return _user_page(request, work, user_id, message=message)


def _as_approver(
    request: Request, work: Work, state: SessionState, user_id: int, done: str, action: Callable[[], User]
) -> Response:
    """Run an approver's action. One who manages accounts sees the account again; one who only approves (a Records
    Manager, a supervisor) sees the approval queue with the outcome, never the account's details."""
    if state.principal.can("users.manage"):
        return _act(request, work, user_id, f"{done}: the account is active.", action)
    try:
        user = action()
    except RULE_ERRORS as exc:
        return _approvals_page(request, work, state, error=str(exc), status=getattr(exc, "status", 400))
    return _approvals_page(request, work, state, message=f"{done}: {user.username} is active.")


@router.post("/users/{user_id}/approve")
def user_approve(user_id: RowId, request: Request, state: Approve, work: DbWork, csrf_token: Csrf = "") -> Response:
    """Approve a requested account."""
    check_csrf(state, csrf_token)
    approve = partial(lifecycle.approve_account, work, state.principal, user_id)
    return _as_approver(request, work, state, user_id, "Approved", approve)


@router.post("/users/{user_id}/reactivate")
def user_reactivate(user_id: RowId, request: Request, state: Approve, work: DbWork, csrf_token: Csrf = "") -> Response:
    """Return a suspended account to service (a deactivated one only by those who manage accounts)."""
    check_csrf(state, csrf_token)
    reactivate = partial(lifecycle.reactivate_account, work, state.principal, user_id)
    return _as_approver(request, work, state, user_id, "Reactivated", reactivate)


@router.post("/users/{user_id}/deactivate")
def user_deactivate(
    user_id: RowId,
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Deactivate at once; open sessions end."""
    check_csrf(state, csrf_token)
    return _act(
        request,
        work,
        user_id,
        "Deactivated: open sessions ended, tokens revoked.",
        lambda: lifecycle.deactivate_account(work, user_id, reason),
    )


@router.post("/users/{user_id}/role")
def user_role(
    user_id: RowId,
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Csrf = "",
    role: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Change the role (gaining rights needs a new approval)."""
    check_csrf(state, csrf_token)
    return _act(request, work, user_id, "Role changed.", lambda: lifecycle.change_role(work, user_id, role))


@router.post("/users/{user_id}/unlock")
def user_unlock(user_id: RowId, request: Request, state: Manage, work: DbWork, csrf_token: Csrf = "") -> Response:
    """Lift a lockout."""
    check_csrf(state, csrf_token)
    return _act(request, work, user_id, "Unlocked.", lambda: lifecycle.unlock_account(work, user_id))


@router.post("/users/{user_id}/mfa-reset")
def user_mfa_reset(user_id: RowId, request: Request, state: Manage, work: DbWork, csrf_token: Csrf = "") -> Response:
    """Forget the user's authenticator app (lost phone); they enrol again at the next sign-in."""
    check_csrf(state, csrf_token)
    return _act(
        request,
        work,
        user_id,
        "MFA reset: the user enrols again at the next sign-in.",
        lambda: lifecycle.reset_mfa(work, user_id),
    )


@router.post("/users/{user_id}/password-reset")
def user_password_reset(
    user_id: RowId, request: Request, state: Manage, work: DbWork, csrf_token: Csrf = ""
) -> Response:
    """A new random password for a user who forgot theirs, shown once on this page."""
    check_csrf(state, csrf_token)
    try:
        password = lifecycle.reset_password(work, user_id)
    except RULE_ERRORS as exc:
        return _user_page(request, work, user_id, error=str(exc), status=getattr(exc, "status", 400))
    return _user_page(
        request,
        work,
        user_id,
        new_password=password,
        message="New password set; give it to its owner in person. Their sessions were ended.",
    )


@router.post("/users/{user_id}/training/{record_id}/void")
def user_training_void(
    user_id: RowId,
    record_id: RowId,
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Void a training record entered in error."""
    check_csrf(state, csrf_token)
    return _act(
        request,
        work,
        user_id,
        "Training record voided.",
        lambda: void_training_record(work, record_id, reason, user_id=user_id),
    )


@router.post("/users/{user_id}/training")
def user_training(
    user_id: RowId,
    request: Request,
    state: Manage,
    work: DbWork,
    csrf_token: Csrf = "",
    course: Annotated[str, Form(max_length=41)] = "",
    completed_on: Annotated[date | None, Form()] = None,
    instructor: Annotated[str, Form(max_length=120)] = "",
    evidence: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a completed course."""
    check_csrf(state, csrf_token)
    if completed_on is None:
        return _user_page(request, work, user_id, error="completed_on: give the date the course was completed")
    return _act(
        request,
        work,
        user_id,
        "Training recorded.",
        lambda: add_training_record(
            work, user_id, course=course, completed_on=completed_on, instructor=instructor, evidence=evidence
        ),
    )


@router.get("/access/matrix")
def matrix_page(request: Request, state: Annotated[SessionState, Depends(SIGNED_IN)], work: DbWork) -> Response:
    """The permission matrix: which role holds which permission, needs MFA and which courses."""
    return render(request, "matrix.html", {"matrix": permission_matrix(work.settings)})


def _review_page(request: Request, work: Work, **extra: object) -> Response:
    rows = view_account_review(work)
    summary = review_summary(work.session, work.settings)
    context = {"rows": rows, "summary": summary, "error": None, "signed": None, **extra}
    return render(request, "review.html", context, 400 if extra.get("error") else 200)


@router.get("/reviews/accounts")
def review_page(request: Request, state: Review, work: DbWork) -> Response:
    """The account review: who has access, the role, the approver, last activity and training; sign it off."""
    return _review_page(request, work)


@router.post("/reviews/accounts")
def review_sign_off(
    request: Request,
    state: Review,
    work: DbWork,
    csrf_token: Csrf = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Sign off the review as it stands."""
    check_csrf(state, csrf_token)
    try:
        review = sign_off_review(work, note)
    except ReviewError as exc:
        return _review_page(request, work, error=str(exc))
    return _review_page(request, work, signed=review)
