"""User accounts, their web sessions, training records, MFA recovery codes, API tokens and account reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = [
    "ACCOUNT_STATUSES",
    "AccountReview",
    "ApiToken",
    "RecoveryCode",
    "TrainingRecord",
    "User",
    "UserSession",
]

ACCOUNT_STATUSES = ("requested", "active", "suspended", "deactivated")
"""requested -> (approved by someone else) active -> suspended (inactivity) / deactivated (at once)."""


DEMO_RECORDER = "system:demo"
"""``recorded_by`` of the training records the demo seeds for every active account."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    organization: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # kept equal to status == "active"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)  # AES-GCM sealed (access.mfa)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class UserSession(Base):
    """A signed-in browser or API client. Only the SHA-256 of the cookie value is stored.

    ``stage`` is ``active`` for a full session; ``mfa`` or ``enrol`` while the password is checked but the one-time
    code (or the MFA enrolment) is still to come. Such a session reaches nothing but the next sign-in step.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    access_context: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    context_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stage: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    pending_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)


class TrainingRecord(Base):
    """One completed course (policy 462.10): when, who taught it, and the evidence. Voided, never deleted."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course: Mapped[str] = mapped_column(String(41))
    completed_on: Mapped[date] = mapped_column(Date)
    instructor: Mapped[str] = mapped_column(String(120))
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

    @property
    def is_demo(self) -> bool:
        """Written by ``platekeeper demo``: no real training took place (no username holds a colon)."""
        return self.recorded_by == DEMO_RECORDER


class RecoveryCode(Base):
    """A one-time MFA recovery code; only its SHA-256 is kept (80 random bits, so a fast hash suffices)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiToken(Base):
    """A personal API token (``pkt_...``): scoped to permissions, expiring, revocable; stored as SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountReview(Base):
    """A signed-off account review (CJIS: at least every 6 months): the snapshot the reviewer saw, and their note."""

    __tablename__ = "account_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signed_off_by: Mapped[str] = mapped_column(String(64))
    signed_off_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text)
    accounts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
