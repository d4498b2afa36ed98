"""Personal API tokens (``Authorization: Bearer pkt_...``): scoped, expiring, revocable, stored hashed.

A token's scopes are permission names. It acts with the permissions its owner's role grants *now* intersected with
its scopes, and only while the owner's account is active; plate data through a token still needs current training
and an access context, and is audited under the owner's name. Camera keys (``pkc_...``) are a different thing.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.lifecycle import suspend_if_inactive
from platekeeper.access.models import ApiToken, User
from platekeeper.access.principal import Principal
from platekeeper.access.service import SessionState, principal_for, token_hash
from platekeeper.access.training import training_gaps, training_status
from platekeeper.audit.events import TokenCreated, TokenRevoked
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow

__all__ = ["TOKEN_PREFIX", "TokenError", "create_token", "list_tokens", "resolve_token", "revoke_token"]

TOKEN_PREFIX = "pkt_"  # noqa: S105 (a prefix, not a secret)
NAME_MAX = 80


class TokenError(ValueError):
    """A token request that breaks a rule; the message names the field. ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _check_request(settings: Settings, principal: Principal, name: str, scopes: list[str], days: int | None) -> int:
    if not name or len(name) > NAME_MAX:
        raise TokenError(f"name: give the token a name of 1-{NAME_MAX} characters (what it is for)")
    if not scopes:
        raise TokenError(f"scopes: choose at least one of your permissions {sorted(principal.permissions)}")
    beyond = sorted(set(scopes) - principal.permissions)
    if beyond:
        raise TokenError(
            f"scopes: {beyond} are not permissions your role grants; choose from {sorted(principal.permissions)}"
        )
    policy = settings.access.authentication
    days = policy.token_default_days if days is None else days
    if not 1 <= days <= policy.token_max_days:
        raise TokenError(f"expires_in_days: must be between 1 and {policy.token_max_days}")
    return days


def create_token(
    work: Work, principal: Principal, *, name: str, scopes: list[str], expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for the signed-in user; return the row and the token itself (shown once)."""
    name = " ".join(name.split())
    scopes = sorted(set(scopes))
    days = _check_request(work.settings, principal, name, scopes, expires_in_days)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=principal.user_id,
        name=name,
        token_prefix=raw[:10],
        token_hash=token_hash(raw),
        scopes=scopes,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    work.session.add(token)
    work.session.flush()
    created = TokenCreated(token_id=token.id, name=name, scopes=scopes, expires_at=token.expires_at.isoformat())
    work.record(created)
    return token, raw


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first (revoked and expired ones too, for the record)."""
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return list(session.scalars(query))


def revoke_token(work: Work, principal: Principal, token_id: int) -> ApiToken:
    """Revoke one of the signed-in user's own tokens; it stops working at once."""
    token = work.session.get(ApiToken, token_id)
    if token is None or token.user_id != principal.user_id:
        raise TokenError(f"token: you have no token with id {token_id}", 404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        work.record(TokenRevoked(token_id=token.id, name=token.name))
    return token


def resolve_token(work: Work, raw: str | None) -> SessionState | None:
    """The session state for a valid, unexpired, unrevoked token of an active account; None otherwise.

    An account unused past the inactivity limit is suspended here too (a token does not keep a dormant account),
    and that is committed at once, with the audit event and the end of the account's sessions.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    session, settings = work.session, work.settings
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(User, token.user_id)
    if user is not None and suspend_if_inactive(work, user, now):
        session.commit()  # the request is refused (and rolled back); the suspension, its event and the ended
        return None  # sessions must stay
    if user is None or user.status != "active":
        return None
    token.last_used_at = user.last_activity_at = now
    principal = principal_for(user, settings, training_gaps(training_status(session, settings, user)))
    principal = replace(principal, permissions=principal.permissions & frozenset(token.scopes))
    return SessionState(principal=principal, csrf_token="", session_id=0, access_context=None, token_id=token.id)
