"""Users, passwords (argon2id), sign-in and web sessions. The only module that touches the user tables."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from platekeeper.access.models import User, UserSession
from platekeeper.access.principal import Principal
from platekeeper.audit.service import Actor, record_event
from platekeeper.config import PasswordHashConfig, Settings
from platekeeper.db import utcnow

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SIGN_IN_FAILED",
    "SessionState",
    "UserError",
    "create_user",
    "end_session",
    "ensure_initial_admin",
    "generate_password",
    "list_users",
    "principal_for",
    "remember_access_context",
    "resolve_session",
    "sign_in",
]

MIN_PASSWORD_LENGTH = 12
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


@lru_cache(maxsize=4)
def _hasher(cost: PasswordHashConfig) -> tuple[PasswordHasher, str]:
    """An argon2id hasher for these costs, and a dummy hash that equalizes timing for unknown usernames."""
    hasher = PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism, type=Type.ID
    )
    return hasher, hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user account request that breaks a rule; the message names the field."""


SIGN_IN_FAILED = "wrong username or password, or the account is not active"


def generate_password() -> str:
    """A random password for a new account, to be changed by its owner."""
    return secrets.token_urlsafe(15)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_for(user: User, settings: Settings) -> Principal:
    """The principal for a user: their role's label and permissions from config."""
    role = settings.access.roles.get(user.role)
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        organization=user.organization,
        role=user.role,
        role_label=role.label if role else user.role,
        permissions=settings.access.role_permissions(user.role),
    )


def _validate_new_user(session: Session, settings: Settings, username: str, role: str, password: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise UserError("username: use 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter")
    if role not in settings.access.roles:
        raise UserError(f"role: {role!r} is not a configured role; choose one of {sorted(settings.access.roles)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"username: {username!r} already exists")


def create_user(
    session: Session,
    settings: Settings,
    key: bytes,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    organization: str | None = None,
    action: str = "users.create",
) -> User:
    """Create an active account with an argon2id password hash, and audit it."""
    username = username.strip().lower()
    _validate_new_user(session, settings, username, role, password)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        organization=organization or settings.agency.organization,
        role=role,
        password_hash=_hasher(settings.access.password_hash)[0].hash(password),
        active=True,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        key,
        action,
        actor,
        details={"username": username, "role": role, "organization": user.organization},
    )
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def ensure_initial_admin(session: Session, settings: Settings, key: bytes) -> tuple[str, str] | None:
    """At first start (no users at all) create the administrator; return (username, password) once, else None."""
    if session.scalar(select(func.count(User.id))):
        return None
    password = generate_password()
    create_user(
        session,
        settings,
        key,
        Actor.system("first-start"),
        username="admin",
        display_name="ALPR administrator",
        role=settings.access.bootstrap_role,
        password=password,
        action="users.bootstrap",
    )
    return "admin", password


@dataclass(frozen=True)
class SessionState:
    """A live web session: its principal, CSRF token and the access context the user last stated."""

    principal: Principal
    csrf_token: str
    session_id: int
    access_context: dict[str, str] | None


def _password_ok(user: User | None, password: str, cost: PasswordHashConfig) -> bool:
    hasher, dummy = _hasher(cost)
    try:
        return hasher.verify(user.password_hash if user else dummy, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def sign_in(
    session: Session, settings: Settings, key: bytes, username: str, password: str, client: str | None
) -> tuple[str, User] | None:
    """Check the password and open a session; return the cookie token and the user, or None. Audited either way.

    A failure returns None instead of raising so that the caller's transaction commits the failure's audit event.
    """
    username = username.strip().lower()
    user = session.scalar(select(User).where(User.username == username))
    if not _password_ok(user, password, settings.access.password_hash) or user is None or not user.active:
        record_event(
            session,
            key,
            "auth.sign_in_failed",
            Actor(username=username[:64] or None, client=client),
            outcome="failure",
            details={"reason": "bad credentials or inactive account"},
        )
        return None
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.web.session_max_hours),
        )
    )
    user.last_login_at = now
    record_event(
        session,
        key,
        "auth.sign_in",
        Actor(username=user.username, organization=user.organization, role=user.role, client=client),
    )
    return token, user


def _live(row: UserSession, settings: Settings, now: datetime) -> bool:
    idle_limit = timedelta(minutes=settings.web.session_idle_minutes)
    return row.ended_at is None and row.expires_at > now and now - row.last_seen_at <= idle_limit


def resolve_session(session: Session, settings: Settings, token: str | None) -> SessionState | None:
    """The live session for a cookie token, touching its last-seen time; None if absent, ended or idle too long."""
    if not token:
        return None
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    now = utcnow()
    if row is None or not _live(row, settings, now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_seen_at = now
    context = row.access_context
    ttl = timedelta(minutes=settings.access.context_ttl_minutes)
    if context and (row.context_set_at is None or now - row.context_set_at > ttl):
        context = None
    return SessionState(
        principal=principal_for(user, settings),
        csrf_token=row.csrf_token,
        session_id=row.id,
        access_context=context,
    )


def remember_access_context(session: Session, session_id: int, context: dict[str, str]) -> None:
    """Keep the last stated purpose and case number with the web session, so opening a result can reuse it."""
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(access_context=context, context_set_at=utcnow())
    )


def end_session(session: Session, key: bytes, token: str | None, client: str | None) -> bool:
    """Sign out: end the session for this token and audit it. Returns whether a live session was ended."""
    if not token:
        return False
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = utcnow()
    user = session.get(User, row.user_id)
    if user is not None:
        record_event(
            session,
            key,
            "auth.sign_out",
            Actor(username=user.username, organization=user.organization, role=user.role, client=client),
        )
    return True
