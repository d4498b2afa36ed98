"""The stored side of MFA: a confirmed TOTP secret and the one-time recovery codes (``mfa.py`` is the pure side).

Sign-in (enrolment at first sign-in) and the account lifecycle (an administrator's MFA reset) both issue codes
through here, so neither imports the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.access.mfa import generate_recovery_codes, hash_recovery_code, seal_secret
from platekeeper.access.models import RecoveryCode, User
from platekeeper.audit.events import MfaEnrolled
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow

__all__ = ["enrol_totp", "issue_recovery_codes"]


def issue_recovery_codes(session: Session, settings: Settings, user: User) -> tuple[str, ...]:
    """Replace a user's recovery codes with new ones; return them (shown once, stored hashed)."""
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    session.flush()
    codes = generate_recovery_codes(settings.access.authentication.recovery_codes)
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(c), created_at=utcnow()) for c in codes)
    return tuple(codes)


def enrol_totp(work: Work, user: User, secret: str, step: int) -> tuple[str, ...]:
    """Store a confirmed TOTP secret (``step``: the time step of the code that confirmed it), issue recovery codes
    and audit the enrolment as the user (from the work's client); return the codes (shown once)."""
    user.totp_secret, user.totp_enrolled_at, user.totp_last_step = seal_secret(work.key, secret), utcnow(), step
    codes = issue_recovery_codes(work.session, work.settings, user)
    work.by(user).record(MfaEnrolled(recovery_codes=len(codes)))
    return codes
