"""Users, principals and web sessions: creating accounts, opening, resolving and ending sessions.

The access package's tables are touched only by its service modules: this one (users, sessions), ``signin``
(passwords, lockout, MFA steps), ``lifecycle`` (approval, suspension, deactivation, roles), ``training``, ``tokens``
and ``review``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from platekeeper.access.models import User, UserSession
from platekeeper.access.passwords import PasswordRejected, check_new_password, generate_password, hash_password
from platekeeper.access.principal import PermissionDenied, Principal, TrainingRequired
from platekeeper.access.training import record_training_refusal, training_gaps, training_status
from platekeeper.audit.events import PermissionRefused, SignOut, UserBootstrapped, UserCreated
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.permissions import PLATE_DATA_PERMISSIONS, TRAINED_PERMISSIONS

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SIGN_IN_FAILED",
    "NewAccount",
    "SessionState",
    "UserError",
    "create_user",
    "end_all_sessions",
    "end_session",
    "ensure_initial_admin",
    "generate_password",
    "list_users",
    "needs_mfa",
    "open_session",
    "open_session_csrf",
    "principal_for",
    "record_permission_refusal",
    "remember_access_context",
    "resolve_session",
    "session_is_live",
    "token_hash",
    "user_by_name",
]

MIN_PASSWORD_LENGTH = 12
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
SIGN_IN_FAILED = "wrong username or password, or the account is not active"
MFA_PERMISSIONS = PLATE_DATA_PERMISSIONS | {"audit.view"}  # the audit log records plates that were searched


class UserError(ValueError):
    """A user account request that breaks a rule; the message names the field."""


def token_hash(token: str) -> str:
    """What is stored for a session cookie or API token (random, high-entropy values: SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def needs_mfa(settings: Settings, role: str) -> bool:
    """Whether accounts of this role must sign in with a one-time code (every role by default)."""
    if settings.access.authentication.mfa_required == "all":
        return True
    return bool(settings.access.role_permissions(role) & MFA_PERMISSIONS)


def principal_for(user: User, settings: Settings, gaps: tuple[str, ...] = ()) -> Principal:
    """The principal for a user: their role's label and permissions from config, and any training gaps."""
    role = settings.access.roles.get(user.role)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        organization=user.organization,
        role=user.role,
        role_label=role.label if role else user.role,
        permissions=settings.access.role_permissions(user.role),
        training_gaps=gaps,
    )


def console_principal(work: Work, username: str) -> Principal | None:
    """The principal a command acts as (``--as NAME``): an active account with its training gaps, or None. A role
    that reaches plate data or the audit log is held to its training here as on the pages: the refusal is recorded
    in ``work`` (``auth.training_refused``), then :class:`TrainingRequired` is raised. The console is no way
    around policy 462.10."""
    user = user_by_name(work.session, username)
    if user is None or user.status != "active":
        return None
    principal = principal_for(user, work.settings, training_gaps(training_status(work.session, work.settings, user)))
    if TRAINED_PERMISSIONS & set(principal.permissions):
        try:
            principal.require_training("plate data" if PLATE_DATA_PERMISSIONS & principal.permissions else "audit.view")
        except TrainingRequired as refusal:
            record_training_refusal(work, principal, refusal)
            raise
    return principal


def user_by_name(session: Session, username: str) -> User | None:
    """The account with this username (case-insensitive), or None."""
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def _validate_new_user(session: Session, settings: Settings, username: str, role: str, password: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise UserError("username: use 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter")
    if role not in settings.access.roles:
        raise UserError(f"role: {role!r} is not a configured role; choose one of {sorted(settings.access.roles)}")
    try:
        check_new_password(password, settings.access.authentication.password_min_length, username=username)
    except PasswordRejected as exc:
        raise UserError(str(exc)) from None
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"username: {username!r} already exists")


@dataclass(frozen=True)
class NewAccount:
    """What an account request states: the username, the person's name, the role and the first password; the
    organization defaults to the agency's (``agency.organization``)."""

    username: str
    display_name: str
    role: str
    password: str
    organization: str | None = None


def create_user(work: Work, account: NewAccount, *, bootstrap: bool = False, approved_by: str | None = None) -> User:
    """Create an account with an argon2id password hash, and audit it.

    The account is ``requested`` and cannot sign in until someone other than the requester approves it
    (:func:`platekeeper.access.lifecycle.approve_account`). Only the system itself (first start, demo seed) passes
    ``approved_by`` to create an account that is active at once; that approval is in the audit event. The first
    administrator, created at first start, passes ``bootstrap`` and is audited as ``users.bootstrap``.
    """
    session, settings, actor = work.session, work.settings, work.actor
    username, role = account.username.strip().lower(), account.role
    _validate_new_user(session, settings, username, role, account.password)
    now = utcnow()
    status = "active" if approved_by else "requested"
    user = User(
        username=username,
        display_name=" ".join(account.display_name.split()) or username,
        organization=account.organization or settings.agency.organization,
        role=role,
        password_hash=hash_password(account.password, settings.access.password_hash),
        active=status == "active",
        status=status,
        status_changed_at=now,
        requested_by=actor.username or f"system:{actor.client}",
        approved_by=approved_by,
        approved_at=now if approved_by else None,
        password_changed_at=now,
        last_activity_at=now,
        failed_attempts=0,
    )
    session.add(user)
    session.flush()
    event_type = UserBootstrapped if bootstrap else UserCreated
    created = event_type(
        username=username,
        role=role,
        organization=user.organization,
        status=status,
        approved_by=approved_by or None,
    )
    work.record(created)
    return user


def list_users(session: Session, status: str | None = None) -> list[User]:
    """Every account (or those with one status), by username."""
    query = select(User).order_by(User.username)
    if status:
        query = query.where(User.status == status)
    return list(session.scalars(query))


def ensure_initial_admin(work: Work) -> tuple[str, str] | None:
    """At first start (no users at all) create the administrator; return (username, password) once, else None.
    The system creates it, whoever runs the work (audited as ``system:first-start``)."""
    if work.session.scalar(select(func.count(User.id))):
        return None
    password = generate_password()
    admin = NewAccount("admin", "ALPR administrator", work.settings.access.bootstrap_role, password)
    create_user(work.as_(Actor.system("first-start")), admin, bootstrap=True, approved_by="system:first-start")
    return "admin", password


@dataclass(frozen=True)
class SessionState:
    """A live web session (or API token): its principal, CSRF token and the access context last stated."""

    principal: Principal
    csrf_token: str
    session_id: int
    access_context: dict[str, str] | None
    token_id: int | None = None  # set when the request came with a personal API token instead of a session


def open_session(session: Session, settings: Settings, user: User, stage: str = "active") -> tuple[str, UserSession]:
    """Open a session row for this user and return the cookie token (only its hash is stored)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    if stage == "active":
        expires = now + timedelta(hours=settings.web.session_max_hours)
    else:
        expires = now + timedelta(minutes=settings.access.authentication.sign_in_step_minutes)
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        last_seen_at=now,
        expires_at=expires,
        stage=stage,
    )
    session.add(row)
    session.flush()
    return token, row


def session_is_live(row: UserSession, settings: Settings, now: datetime) -> bool:
    """Not ended, not past its absolute expiry, and not idle past ``web.session_idle_minutes``."""
    idle_limit = timedelta(minutes=settings.web.session_idle_minutes)
    return row.ended_at is None and row.expires_at > now and now - row.last_seen_at <= idle_limit


def resolve_session(session: Session, settings: Settings, token: str | None) -> SessionState | None:
    """The live, fully signed-in session for a cookie token, touching its last-seen time; None otherwise.

    None when the token is unknown, the session ended, idled past ``web.session_idle_minutes`` (the session lock),
    is still waiting for its one-time code, or the account is no longer active.
    """
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    now = utcnow()
    if row is None or row.stage != "active" or not session_is_live(row, settings, now):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.status != "active":
        return None
    row.last_seen_at = now
    user.last_activity_at = now
    context = row.access_context
    ttl = timedelta(minutes=settings.access.context_ttl_minutes)
    if context and (row.context_set_at is None or now - row.context_set_at > ttl):
        context = None
    gaps = training_gaps(training_status(session, settings, user))
    return SessionState(
        principal=principal_for(user, settings, gaps),
        csrf_token=row.csrf_token,
        session_id=row.id,
        access_context=context,
    )


def open_session_csrf(session: Session, token: str | None) -> str | None:
    """The CSRF token of the session (at any stage of signing in) this cookie token names, while it is open."""
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    return row.csrf_token


def remember_access_context(session: Session, session_id: int, context: dict[str, str]) -> str:
    """Keep the last stated purpose and case number with the web session, so opening a result can reuse it, under
    a fresh random id (returned): pages that name it in their links reuse this context and no later one."""
    context_id = secrets.token_urlsafe(9)
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .values(access_context={**context, "id": context_id}, context_set_at=utcnow())
    )
    return context_id


def end_session(work: Work, token: str | None) -> bool:
    """Sign out: end the session for this token and audit it (as its user, from the work's client). Returns
    whether a live session was ended."""
    if not token:
        return False
    row = work.session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = utcnow()
    user = work.session.get(User, row.user_id)
    if user is not None and row.stage == "active":
        work.by(user).record(SignOut())
    return True


def end_all_sessions(session: Session, user_id: int, *, keep_session_id: int | None = None) -> int:
    """End every open session of a user at once (deactivation, role or MFA change); return how many."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    result = session.execute(query.values(ended_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def record_permission_refusal(work: Work, refusal: PermissionDenied, where: str) -> None:
    """Audit a page, route or command refused for a permission the role lacks (CJIS logs failed access too), under
    the refused principal; ``where`` names the request (``GET /audit``) or the command."""
    if refusal.principal is None or isinstance(refusal, TrainingRequired):  # training refusals have their own record
        return
    refused = PermissionRefused(attempted=refusal.permission, role=refusal.principal.role, where=where[:200])
    work.by(refusal.principal).record(refused, outcome="denied")
