"""Whether a session or token that was let in earlier may still use a permission: for long-lived responses.

A request is checked once, when it starts. A response that goes on for minutes or hours (the live alert stream)
asks again with :func:`access_ended` every ``alerts.stream_recheck_seconds`` and stops as soon as the session was
signed out or ended, idled past its limit, the token was revoked or expired, the account is no longer active, the
role lost the permission, or the training it needs lapsed. It only reads: asking does not keep a session alive.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from platekeeper.access.models import ApiToken, User, UserSession
from platekeeper.access.service import SessionState, principal_for, session_is_live
from platekeeper.access.training import training_gaps, training_status
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.permissions import TRAINED_PERMISSIONS

__all__ = ["access_ended"]


def access_ended(session: Session, settings: Settings, state: SessionState, permission: str) -> str | None:
    """Why ``state`` may no longer use ``permission``, in words; None while it still may."""
    now = utcnow()
    user = session.get(User, state.principal.user_id)
    if user is None or user.status != "active":
        return f"the account is {user.status if user else 'gone'}"
    if state.token_id is not None:
        token = session.get(ApiToken, state.token_id)
        if token is None or token.revoked_at is not None:
            return "the API token was revoked"
        if token.expires_at <= now:
            return "the API token expired"
    else:
        row = session.get(UserSession, state.session_id)
        if row is None or row.ended_at is not None:
            return "the session was signed out or ended"
        if not session_is_live(row, settings, now):
            return "the session expired or locked after a period without activity"
    principal = principal_for(user, settings, training_gaps(training_status(session, settings, user)))
    if not principal.can(permission):
        return f"the role ({principal.role_label}) no longer grants {permission!r}"
    if permission in TRAINED_PERMISSIONS and principal.training_gaps:
        return "required training is missing or expired: " + "; ".join(principal.training_gaps)
    return None
