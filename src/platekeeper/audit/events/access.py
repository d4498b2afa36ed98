"""Audit events of sign-in, accounts, training and the access policy."""

from __future__ import annotations

from typing import Any, ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "AccessPolicyChanged",
    "AccountLocked",
    "AccountUnlocked",
    "MfaEnrolled",
    "MfaReset",
    "PasswordChanged",
    "PasswordReset",
    "PermissionRefused",
    "RecoveryCodeUsed",
    "RecoveryCodesIssued",
    "SignIn",
    "SignInFailed",
    "SignInRateLimited",
    "SignOut",
    "TokenCreated",
    "TokenRevoked",
    "TrainingRecordAdded",
    "TrainingRecordVoided",
    "TrainingRefused",
    "UserApprovalRefused",
    "UserApproved",
    "UserBootstrapped",
    "UserCreated",
    "UserDeactivated",
    "UserReactivated",
    "UserRoleChanged",
    "UserSuspended",
    "UserUpdated",
    "UsersReviewSignedOff",
    "UsersReviewViewed",
]


class SignIn(AuditEventType):
    """A user signed in."""

    action: ClassVar[str] = "auth.sign_in"
    factors: str = detail("Factors")


class SignInFailed(AuditEventType):
    """A sign-in attempt failed."""

    action: ClassVar[str] = "auth.sign_in_failed"
    reason: str = detail("Reason")


class SignOut(AuditEventType):
    """A user signed out."""

    action: ClassVar[str] = "auth.sign_out"


class AccountLocked(AuditEventType):
    """An account was locked after too many failed sign-in attempts."""

    action: ClassVar[str] = "auth.lockout"
    attempts: int = detail("Failed attempts")
    locked_until: str = detail("Locked until")


class SignInRateLimited(AuditEventType):
    """Sign-in attempts were refused by a rate limit (one event per limit, key and window)."""

    action: ClassVar[str] = "auth.rate_limited"
    limit: str = detail("Limit")
    rule: str = detail("Rule")
    step: str = detail("Sign-in step")
    retry_after: int = detail("Retry after (seconds)")


class AccountUnlocked(AuditEventType):
    """An administrator lifted a lockout."""

    action: ClassVar[str] = "auth.unlock"
    username: str = detail("Account")


class MfaEnrolled(AuditEventType):
    """A user enrolled an authenticator app (TOTP) and received recovery codes."""

    action: ClassVar[str] = "auth.mfa_enrolled"
    recovery_codes: int = detail("Recovery codes issued")


class MfaReset(AuditEventType):
    """An administrator reset a user's MFA; they enrol again at the next sign-in."""

    action: ClassVar[str] = "auth.mfa_reset"
    username: str = detail("Account")
    sessions_ended: int = detail("Sessions ended")


class RecoveryCodeUsed(AuditEventType):
    """A one-time recovery code was used to sign in."""

    action: ClassVar[str] = "auth.recovery_code_used"
    codes_left: bool = detail("Codes left")


class RecoveryCodesIssued(AuditEventType):
    """A user's MFA recovery codes were replaced."""

    action: ClassVar[str] = "auth.recovery_codes_issued"
    username: str = detail("Account")


class PasswordChanged(AuditEventType):
    """A user changed their password (or tried to)."""

    action: ClassVar[str] = "auth.password_change"
    reason: str | None = optional_detail("Why it was refused")
    other_sessions_ended: int | None = optional_detail("Other sessions ended")


class PasswordReset(AuditEventType):
    """An administrator gave a user a new random password (forgotten password)."""

    action: ClassVar[str] = "auth.password_reset"
    username: str = detail("Account")
    sessions_ended: int = detail("Sessions ended")


class TrainingRefused(AuditEventType):
    """Plate data was refused because required training is missing or expired."""

    action: ClassVar[str] = "auth.training_refused"
    attempted: str = detail("Permission attempted")
    courses: list[str] = detail("Courses missing or expired")


class PermissionRefused(AuditEventType):
    """A page, an API route or a command was refused because the account's role does not grant its permission."""

    action: ClassVar[str] = "auth.permission_refused"
    attempted: str = detail("Permission attempted")
    role: str = detail("Role")
    where: str = detail("Page, route or command")


class TokenCreated(AuditEventType):
    """A user created a personal API token."""

    action: ClassVar[str] = "auth.token_created"
    token_id: int = detail("Token")
    name: str = detail("Name")
    scopes: list[str] = detail("Scopes")
    expires_at: str = detail("Expires")


class TokenRevoked(AuditEventType):
    """A user revoked a personal API token."""

    action: ClassVar[str] = "auth.token_revoked"
    token_id: int = detail("Token")
    name: str = detail("Name")


class _NewAccount(AuditEventType):
    username: str = detail("Account")
    role: str = detail("Role")
    organization: str = detail("Organization")
    status: str = detail("Status")
    approved_by: str | None = optional_detail("Approved by")


class UserCreated(_NewAccount):
    """A user account was requested (created, waiting for approval)."""

    action: ClassVar[str] = "users.create"


class UserApproved(AuditEventType):
    """A requested account was approved by someone other than its requester."""

    action: ClassVar[str] = "users.approve"
    username: str = detail("Account")
    role: str = detail("Role")
    requested_by: str | None = detail("Requested by")


class UserApprovalRefused(AuditEventType):
    """An approval was refused (own request, own account, or a more powerful role)."""

    action: ClassVar[str] = "users.approve_refused"
    username: str = detail("Account")
    role: str = detail("Role")
    reason: str = detail("Reason")


class UserSuspended(AuditEventType):
    """An account was suspended after too long without activity."""

    action: ClassVar[str] = "users.suspend"
    username: str = detail("Account")
    last_activity: str = detail("Last activity")


class UserReactivated(AuditEventType):
    """A suspended or deactivated account was returned to service."""

    action: ClassVar[str] = "users.reactivate"
    username: str = detail("Account")
    was: str = detail("Status before")


class UserRoleChanged(AuditEventType):
    """An account's role (and so its permissions) changed."""

    action: ClassVar[str] = "users.role_change"
    username: str = detail("Account")
    from_role: str = detail("From role", alias="from")
    to_role: str = detail("To role", alias="to")
    gained: list[str] = detail("Permissions gained")
    status: str = detail("Status")
    sessions_ended: int = detail("Sessions ended")


class UsersReviewViewed(AuditEventType):
    """The account review report was viewed."""

    action: ClassVar[str] = "users.review_viewed"
    accounts: int = detail("Accounts")


class UsersReviewSignedOff(AuditEventType):
    """The account review was signed off by a reviewer."""

    action: ClassVar[str] = "users.review_signed_off"
    review_id: int = detail("Review")
    accounts: int = detail("Accounts")


class TrainingRecordAdded(AuditEventType):
    """A training record was added for a user."""

    action: ClassVar[str] = "training.record_added"
    username: str = detail("Account")
    course: str = detail("Course")
    completed_on: str = detail("Completed on")
    instructor: str = detail("Instructor")
    record_id: int = detail("Record")


class TrainingRecordVoided(AuditEventType):
    """A training record was voided."""

    action: ClassVar[str] = "training.record_voided"
    username: str | None = detail("Account")
    course: str = detail("Course")
    record_id: int = detail("Record")


class AccessPolicyChanged(AuditEventType):
    """Roles, permissions or required courses in the config differ from those last recorded."""

    action: ClassVar[str] = "access.policy_changed"
    changes: dict[str, Any] = detail("Changes")
    policy: dict[str, Any] = detail("Policy now enforced")
    first: bool = detail("First record")


class UserBootstrapped(_NewAccount):
    """The first administrator account was created at first start."""

    action: ClassVar[str] = "users.bootstrap"


class UserUpdated(AuditEventType):
    """An administrator changed a user account."""

    action: ClassVar[str] = "users.update"


class UserDeactivated(AuditEventType):
    """An administrator deactivated a user account."""

    action: ClassVar[str] = "users.deactivate"
    username: str = detail("Account")
    reason: str | None = detail("Reason")
    sessions_ended: int = detail("Sessions ended")
