"""The account lifecycle (policy 462.5; State Auditor 2019-118; CJIS): requested -> approved -> active ->
suspended after inactivity or deactivated at once; role changes, unlocking, MFA resets and password changes.

Approval needs the ``users.approve`` permission, someone other than the requester and the account holder, and a
role at least as powerful as the one approved (no one grants rights they do not hold). A refused approval is
audited before the error is raised, so a caller that answers the error keeps the audit event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from platekeeper.access.enrolment import issue_recovery_codes
from platekeeper.access.models import ApiToken, RecoveryCode, User, UserSession
from platekeeper.access.passwords import (
    PasswordRejected,
    check_new_password,
    generate_password,
    hash_password,
    verify_password,
)
from platekeeper.access.principal import Principal
from platekeeper.access.service import end_all_sessions
from platekeeper.audit.events import (
    AccountUnlocked,
    MfaReset,
    PasswordChanged,
    PasswordReset,
    RecoveryCodesIssued,
    UserApprovalRefused,
    UserApproved,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
    UserSuspended,
)
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow

__all__ = [
    "AccountError",
    "approval_queue",
    "approve_account",
    "change_password",
    "change_role",
    "count_open_sessions",
    "deactivate_account",
    "last_activity",
    "reactivate_account",
    "regenerate_recovery_codes",
    "reset_mfa",
    "reset_password",
    "suspend_if_inactive",
    "suspend_inactive_accounts",
    "unlock_account",
]


class AccountError(ValueError):
    """A lifecycle change that is not allowed; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise AccountError(f"user: no account with id {user_id}", 404)
    return user


def _set_status(user: User, status: str, reason: str | None) -> None:
    user.status, user.active = status, status == "active"
    user.status_reason, user.status_changed_at = reason, utcnow()


def _approval_problem(
    settings: Settings, approver: Principal, user: User, *, requester_rule: bool = True
) -> str | None:
    if not approver.can("users.approve"):
        return f"your role ({approver.role_label}) does not grant 'users.approve'"
    if approver.username == user.username:
        return "no one may approve or reactivate their own account"
    if requester_rule and approver.username == user.requested_by:
        return "an account must be approved by someone other than the person who requested it"
    missing = settings.access.role_permissions(user.role) - approver.permissions
    if missing:
        return f"the role {user.role!r} grants {sorted(missing)}, which your role does not hold; ask an administrator"
    return None


def approval_queue(session: Session, settings: Settings, approver: Principal) -> list[tuple[User, str | None]]:
    """The accounts waiting for approval, oldest request first, each with the reason this approver may not approve
    it (``None`` when they may): the same rule ``approve_account`` enforces."""
    waiting = session.scalars(select(User).where(User.status == "requested").order_by(User.created_at, User.id))
    return [(user, _approval_problem(settings, approver, user)) for user in waiting]


def approve_account(work: Work, approver: Principal, user_id: int) -> User:
    """Approve a requested account; it becomes active. Refusals are audited, then raised."""
    user = _get(work.session, user_id)
    if user.status != "requested":
        raise AccountError(f"status: {user.username!r} is {user.status}, not waiting for approval", 409)
    problem = _approval_problem(work.settings, approver, user)
    if problem:
        refused = UserApprovalRefused(username=user.username, role=user.role, reason=problem)
        work.record(refused, outcome="denied")
        raise AccountError(problem, 403)
    _set_status(user, "active", None)
    user.approved_by, user.approved_at, user.last_activity_at = approver.username, utcnow(), utcnow()
    work.record(UserApproved(username=user.username, role=user.role, requested_by=user.requested_by))
    return user


def deactivate_account(work: Work, user_id: int, reason: str) -> User:
    """Deactivate at once (separation, misuse): open sessions end and API tokens are revoked in this transaction."""
    session = work.session
    user = _get(session, user_id)
    if work.actor.username == user.username:
        raise AccountError("user: you cannot deactivate your own account")
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise AccountError("reason: say why the account is deactivated")
    _set_status(user, "deactivated", reason[:200])
    ended = end_all_sessions(session, user.id)
    session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    work.record(UserDeactivated(username=user.username, reason=user.status_reason, sessions_ended=ended))
    return user


def reactivate_account(work: Work, approver: Principal, user_id: int) -> User:
    """Return a suspended or deactivated account to service; the same rules as an approval apply, and a
    deactivated account (a separation, or misuse) comes back only by someone who manages accounts."""
    user = _get(work.session, user_id)
    if user.status not in ("suspended", "deactivated"):
        raise AccountError(f"status: {user.username!r} is {user.status}; only suspended or deactivated accounts")
    problem = _approval_problem(work.settings, approver, user, requester_rule=False)
    if problem is None and user.status == "deactivated" and not approver.can("users.manage"):
        problem = "a deactivated account comes back only by an administrator who manages accounts (users.manage)"
    if problem:
        raise AccountError(problem, 403)
    previous = user.status
    _set_status(user, "active", None)
    user.last_activity_at, user.failed_attempts, user.locked_until = utcnow(), 0, None
    work.record(UserReactivated(username=user.username, was=previous))
    return user


def last_activity(user: User) -> datetime:
    """When the account was last used (sign-in, a request, a token), or approved or created."""
    return max(t for t in (user.last_activity_at, user.last_login_at, user.approved_at, user.created_at) if t)


def suspend_if_inactive(work: Work, user: User, now: datetime | None = None) -> bool:
    """Suspend an active account unused for ``accounts.inactive_suspend_days``; return whether it was suspended.
    The system suspends it (audited as ``system:inactivity``), whoever's work noticed."""
    settings, now = work.settings, now or utcnow()
    limit = timedelta(days=settings.access.accounts.inactive_suspend_days)
    if user.status != "active" or now - last_activity(user) <= limit:
        return False
    _set_status(user, "suspended", f"no activity for {settings.access.accounts.inactive_suspend_days} days")
    end_all_sessions(work.session, user.id)
    suspended = UserSuspended(username=user.username, last_activity=last_activity(user).isoformat())
    work.as_(Actor.system("inactivity")).record(suspended)
    return True


def suspend_inactive_accounts(work: Work, now: datetime | None = None) -> list[str]:
    """Suspend every active account past the inactivity limit (run at start-up and daily); return their names."""
    users = work.session.scalars(select(User).where(User.status == "active").order_by(User.username))
    return [u.username for u in users if suspend_if_inactive(work, u, now)]


def change_role(work: Work, user_id: int, role: str) -> User:
    """Change an account's role. A role with any right the old one lacked needs a new approval by someone else."""
    session, settings, actor = work.session, work.settings, work.actor
    user = _get(session, user_id)
    if role not in settings.access.roles:
        raise AccountError(f"role: {role!r} is not a configured role; choose one of {sorted(settings.access.roles)}")
    if role == user.role:
        raise AccountError(f"role: {user.username!r} already has the role {role!r}")
    if actor.username == user.username:
        raise AccountError("role: you cannot change your own role", 403)
    old = user.role
    gained = settings.access.role_permissions(role) - settings.access.role_permissions(old)
    user.role = role
    if gained and user.status == "active":
        _set_status(user, "requested", f"role changed to {role}; needs approval")
        user.requested_by, user.approved_by, user.approved_at = actor.username or "system", None, None
    ended = end_all_sessions(session, user.id)
    work.record(
        UserRoleChanged(
            username=user.username,
            from_role=old,
            to_role=role,
            gained=sorted(gained),
            status=user.status,
            sessions_ended=ended,
        )
    )
    return user


def unlock_account(work: Work, user_id: int) -> User:
    """Lift a lockout before it expires (after the administrator has checked who was trying)."""
    user = _get(work.session, user_id)
    user.locked_until, user.failed_attempts = None, 0
    work.record(AccountUnlocked(username=user.username))
    return user


def reset_mfa(work: Work, user_id: int) -> User:
    """Forget a user's TOTP secret and recovery codes (lost phone); they enrol again at their next sign-in."""
    session = work.session
    user = _get(session, user_id)
    user.totp_secret, user.totp_enrolled_at, user.totp_last_step = None, None, None
    for code in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(code)
    ended = end_all_sessions(session, user.id)
    work.record(MfaReset(username=user.username, sessions_ended=ended))
    return user


def reset_password(work: Work, user_id: int) -> str:
    """Give a user who forgot their password a new random one (returned once, to hand over in person).

    Their sessions end and a lockout is lifted; the one-time code is still needed at the next sign-in.
    """
    user = _get(work.session, user_id)
    if work.actor.username == user.username:
        raise AccountError("user: change your own password under My account", 403)
    password = generate_password()
    hashed = hash_password(password, work.settings.access.password_hash)
    user.password_hash, user.password_changed_at = hashed, utcnow()
    user.locked_until, user.failed_attempts = None, 0
    ended = end_all_sessions(work.session, user.id)
    work.record(PasswordReset(username=user.username, sessions_ended=ended))
    return password


def regenerate_recovery_codes(work: Work, user_id: int) -> tuple[str, ...]:
    """New recovery codes for an enrolled user (the old ones stop working); shown once."""
    user = _get(work.session, user_id)
    if not user.totp_secret:
        raise AccountError("mfa: enrol an authenticator app first")
    codes = issue_recovery_codes(work.session, work.settings, user)
    work.record(RecoveryCodesIssued(username=user.username))
    return codes


def change_password(work: Work, user_id: int, *, current: str, new: str, keep_session_id: int | None = None) -> User:
    """Change one's own password: the current one must match; other sessions of the account end."""
    session, settings = work.session, work.settings
    user = _get(session, user_id)
    if not verify_password(user.password_hash, current, settings.access.password_hash):
        work.record(PasswordChanged(reason="wrong current"), outcome="failure")
        raise AccountError("current_password: this is not your current password", 403)
    try:
        check_new_password(
            new, settings.access.authentication.password_min_length, username=user.username, field="new_password"
        )
    except PasswordRejected as exc:
        raise AccountError(str(exc)) from None
    if verify_password(user.password_hash, new, settings.access.password_hash):
        raise AccountError("new_password: must differ from the current password")
    user.password_hash, user.password_changed_at = hash_password(new, settings.access.password_hash), utcnow()
    ended = end_all_sessions(session, user.id, keep_session_id=keep_session_id)
    work.record(PasswordChanged(other_sessions_ended=ended))
    return user


def count_open_sessions(session: Session, user_id: int) -> int:
    """How many sessions of this user are open (for the administrator's page)."""
    query = select(func.count(UserSession.id)).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    return int(session.scalar(query) or 0)
