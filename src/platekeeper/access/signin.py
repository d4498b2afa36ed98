"""Signing in: password, lockout, the one-time code (TOTP or recovery code) and MFA enrolment at first sign-in.

Every attempt is audited. Failed passwords and failed one-time codes count towards the lockout
(``access.authentication.lockout_attempts`` in a row lock the account for ``lockout_minutes``). In the web flow the
password opens a short-lived *pending* session (stage ``mfa`` or ``enrol``) that reaches nothing but the next step;
the code turns it into a full session under a new cookie token. API clients send the code with the password.
Failures return a result instead of raising, so the caller's transaction commits the failure's audit event.
Before any step, :func:`sign_in_rate_limited` counts the attempt against the ``rate_limits`` section; a refused
attempt is answered 429 without looking at the password or the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.enrolment import enrol_totp
from platekeeper.access.lifecycle import suspend_if_inactive
from platekeeper.access.mfa import (
    hash_recovery_code,
    matching_step,
    new_totp_secret,
    normalize_code,
    open_secret,
    seal_secret,
)
from platekeeper.access.models import RecoveryCode, User, UserSession
from platekeeper.access.passwords import verify_password
from platekeeper.access.service import (
    SIGN_IN_FAILED,
    needs_mfa,
    open_session,
    token_hash,
    user_by_name,
)
from platekeeper.audit.events import AccountLocked, RecoveryCodeUsed, SignIn, SignInFailed, SignInRateLimited
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.rate_limits import RateLimitRefusal, RateLimits

__all__ = [
    "PendingSignIn",
    "SignInResult",
    "complete_enrolment",
    "complete_mfa",
    "finish_sign_in",
    "resolve_pending",
    "sign_in",
    "sign_in_rate_limited",
]

STATUS_MESSAGES = {
    "requested": "this account is waiting for approval by a supervisor or administrator",
    "suspended": "this account is suspended; ask the ALPR administrator to reactivate it",
    "deactivated": "this account is deactivated",
}


@dataclass(frozen=True)
class SignInResult:
    """What happened. ``outcome``: signed_in, mfa, enrol (web: pending token set), mfa_required, enrol_required
    (API: nothing opened), failed or locked. ``token`` is the cookie token of the (full or pending) session."""

    outcome: str
    message: str = ""
    token: str | None = None
    user: User | None = None
    recovery_codes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "signed_in"


@dataclass(frozen=True)
class PendingSignIn:
    """A session between the password and the one-time code (or the enrolment)."""

    row: UserSession
    user: User


def _locked_message(until: datetime, settings: Settings) -> str:
    local = until.astimezone(settings.tz).strftime("%H:%M %Z")
    return f"too many failed attempts: this account is locked until {local}, or until an administrator unlocks it"


def _fail(work: Work, user: User | None, name: str, reason: str) -> SignInResult:
    """Audit a failure and count it towards the lockout; lock the account when the limit is reached."""
    work = work.by(user) if user else work.as_(Actor(username=name[:64] or None, client=work.client))
    work.record(SignInFailed(reason=reason), outcome="failure")
    if user is None:
        return SignInResult("failed", SIGN_IN_FAILED)
    policy = work.settings.access.authentication
    user.failed_attempts = (user.failed_attempts or 0) + 1
    if user.failed_attempts < policy.lockout_attempts:
        return SignInResult("failed", SIGN_IN_FAILED if reason == "bad password" else "the one-time code is wrong")
    user.locked_until = utcnow() + timedelta(minutes=policy.lockout_minutes)
    user.failed_attempts = 0
    locked = AccountLocked(attempts=policy.lockout_attempts, locked_until=user.locked_until.isoformat())
    work.record(locked, outcome="failure")
    return SignInResult("locked", _locked_message(user.locked_until, work.settings))


def _refusal_for_state(work: Work, user: User) -> SignInResult | None:
    """A refusal for an account that may not sign in now (not active, or inactive too long), else None."""
    suspend_if_inactive(work, user)
    if user.status == "active":
        return None
    work.by(user).record(SignInFailed(reason=f"account {user.status}"), outcome="failure")
    return SignInResult("failed", STATUS_MESSAGES.get(user.status, SIGN_IN_FAILED))


def _second_factor(work: Work, user: User, code: str) -> str | None:
    """Check a TOTP code or a recovery code for an enrolled user; return the method used, or None."""
    assert user.totp_secret is not None
    session = work.session
    secret = open_secret(work.key, user.totp_secret)
    step = matching_step(secret, code, user.totp_last_step, work.settings.access.authentication.totp_drift_steps)
    if step is not None:
        user.totp_last_step = step
        return "totp"
    digest = hash_recovery_code(code)
    recovery = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest, RecoveryCode.used_at.is_(None)
        )
    )
    if recovery is None or len(normalize_code(code)) != 16:
        return None
    recovery.used_at = utcnow()
    left = session.scalar(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)).limit(1)
    )
    work.by(user).record(RecoveryCodeUsed(codes_left=left is not None))
    return "recovery_code"


def sign_in_rate_limited(work: Work, limits: RateLimits, username: str, step: str) -> RateLimitRefusal | None:
    """Count a sign-in attempt (any step) against the per-account and per-address limits; when one is used up,
    return the refusal and audit it (once per limit, key and window). A refused attempt checks nothing."""
    name, client = username.strip().lower(), work.client
    refusal = limits.hit(("sign_in_per_account", name), ("sign_in_per_address", client or "unknown"))
    if refusal is not None and refusal.first_in_window:
        user = user_by_name(work.session, name) if name else None
        actor = Actor.of(user, client) if user else Actor(username=name[:64] or None, client=client)
        limited = SignInRateLimited(limit=refusal.limit, rule=refusal.rule, step=step, retry_after=refusal.retry_after)
        work.as_(actor).record(limited, outcome="failure")
    return refusal


def sign_in(
    work: Work, username: str, password: str, *, code: str | None = None, interactive: bool = True
) -> SignInResult:
    """Check the password (and, for API clients, the one-time code); open a full or pending session.

    ``work``'s actor is anonymous: who is signing in is known only from here on, and each event names them."""
    session, settings = work.session, work.settings
    name = username.strip().lower()
    user = user_by_name(session, name)
    if user is not None and user.locked_until is not None and user.locked_until > utcnow():
        work.by(user).record(SignInFailed(reason="account locked"), outcome="failure")
        return SignInResult("locked", _locked_message(user.locked_until, settings))
    if not verify_password(user.password_hash if user else None, password, settings.access.password_hash):
        return _fail(work, user, name, "bad password")
    assert user is not None
    refusal = _refusal_for_state(work, user)
    if refusal is not None:
        return refusal
    if not needs_mfa(settings, user.role):
        return SignInResult("signed_in", token=finish_sign_in(work, user, "password"), user=user)
    if interactive:
        stage = "mfa" if user.totp_secret else "enrol"
        token, row = open_session(session, settings, user, stage=stage)
        row.pending_secret = None if user.totp_secret else seal_secret(work.key, new_totp_secret())
        return SignInResult(stage, token=token, user=user)
    if not user.totp_secret:
        return SignInResult("enrol_required", "this account has no MFA yet: sign in once in the web page to enrol")
    if not code:
        return SignInResult("mfa_required", "a one-time code is required: send the 6-digit code as 'code'")
    method = _second_factor(work, user, code)
    if method is None:
        return _fail(work, user, name, "bad one-time code")
    return SignInResult("signed_in", token=finish_sign_in(work, user, method), user=user)


def finish_sign_in(work: Work, user: User, method: str, pending: UserSession | None = None) -> str:
    """Open the full session (ending any pending one), reset the failure count, audit the sign-in; return the token."""
    if pending is not None:
        pending.ended_at = utcnow()
    token, _row = open_session(work.session, work.settings, user)
    now = utcnow()
    user.failed_attempts, user.locked_until = 0, None
    user.last_login_at = user.last_activity_at = now
    work.by(user).record(SignIn(factors=method))
    return token


def resolve_pending(session: Session, settings: Settings, token: str | None, stage: str) -> PendingSignIn | None:
    """The pending sign-in for this cookie token at this stage (``mfa`` or ``enrol``), if still within its time."""
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.stage != stage or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or user.status != "active" or (user.locked_until and user.locked_until > utcnow()):
        return None
    return PendingSignIn(row=row, user=user)


def complete_mfa(work: Work, pending: PendingSignIn, code: str) -> SignInResult:
    """The second step of a web sign-in: check the code; on success return the full session's token."""
    user = pending.user
    method = _second_factor(work, user, code)
    if method is None:
        result = _fail(work, user, user.username, "bad one-time code")
        if result.outcome == "locked":
            pending.row.ended_at = utcnow()
        return result
    token = finish_sign_in(work, user, method, pending.row)
    return SignInResult("signed_in", token=token, user=user)


def complete_enrolment(work: Work, pending: PendingSignIn, code: str) -> SignInResult:
    """First sign-in of an account without MFA: confirm the new secret with a code, issue recovery codes, sign in."""
    user = pending.user
    secret = open_secret(work.key, pending.row.pending_secret) if pending.row.pending_secret else None
    drift = work.settings.access.authentication.totp_drift_steps
    step = matching_step(secret, code, None, drift) if secret else None
    if step is None or secret is None:
        result = _fail(work, user, user.username, "bad one-time code at enrolment")
        if result.outcome == "locked":
            pending.row.ended_at = utcnow()
        return result
    codes = enrol_totp(work, user, secret, step)
    token = finish_sign_in(work, user, "totp", pending.row)
    return SignInResult("signed_in", token=token, user=user, recovery_codes=codes)
