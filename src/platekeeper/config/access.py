"""Access policy (462.4, 462.5, 462.10): purposes, roles and permissions, training, case numbers and justifications,
passwords, MFA, lockout and the account lifecycle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from platekeeper.config.base import CODE_PATTERN, RegexPattern, StrictModel, section


class PurposeConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored in the audit log.")
    label: str = Field(min_length=3, max_length=120, description="What the user picks from.")
    policy_ref: str = Field("462.3", description="Policy section that authorizes it.")


class RoleConfig(StrictModel):
    label: str = Field(min_length=2, max_length=80, description="The role's job title, shown on pages and in reports.")
    description: str = Field("", max_length=400, description="What the role is for, in a sentence.")
    permissions: tuple[str, ...] = Field(default=(), description="Permission names from the catalogue.")
    maintenance_only: bool = Field(False, description="Vendor-style role: may never hold a plate-data permission.")


class CourseConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with each training record.")
    title: str = Field(min_length=3, max_length=120, description="The course's name, as on its certificate.")
    policy_ref: str = Field("462.10", max_length=40, description="Policy section that requires the course.")
    valid_months: int = Field(12, ge=1, le=60, description="A refresher is due this many months after completion.")
    required_for_roles: tuple[str, ...] = Field(default=(), description="Roles that must hold this course.")


def _default_purposes() -> tuple[PurposeConfig, ...]:
    return (
        PurposeConfig(
            code="criminal_investigation",
            label="Investigation for prosecution or exoneration of suspected criminal incidents",
        ),
        PurposeConfig(code="wanted_person", label="Identification and/or location of wanted persons"),
        PurposeConfig(code="sanctions_enforcement", label="Enforcement of sanctions, orders, or sentences"),
        PurposeConfig(code="crime_prevention", label="Crime prevention/general law enforcement purposes"),
        PurposeConfig(code="crime_analysis", label="Crime Analysis"),
    )


PLATE_USER = ("reads.search", "reads.view")


ALERT_USER = ("hotlists.view", "hotlists.entries", "alerts.view", "alerts.verify")
LIST_MANAGER = ("hotlists.manage", "alerts.figures", "alerts.close_leads")
ADMIN_PERMISSIONS = (
    *PLATE_USER,
    *ALERT_USER,
    *LIST_MANAGER,
    "audit.view",
    "audit.export",
    "users.manage",
    "users.approve",
    "users.review",
    "cameras.manage",
    "cameras.view",
    "system.health",
    "retention.view",
    "holds.request",
    "holds.approve",
    "sharing.intake",
    "sharing.register",
    "pra.manage",
    "notices.view",
    "notices.breach",
    "audits.view",
    "audits.perform",
    "transparency.preview",
)

SUPERVISOR_PERMISSIONS = (
    *PLATE_USER,
    *ALERT_USER,
    "users.approve",
    "alerts.close_leads",
    "alerts.figures",
    "holds.request",
    "notices.view",
)
RECORDS_MANAGER_PERMISSIONS = (
    *PLATE_USER,
    *ALERT_USER,
    *LIST_MANAGER,
    "audit.view",
    "audit.export",
    "users.approve",
    "retention.view",
    "holds.request",
    "holds.approve",
    "sharing.intake",
    "sharing.review",
    "sharing.register",
    "pra.manage",
    "notices.view",
    "notices.breach",
)
AUDITOR_PERMISSIONS = (
    "audit.view",
    "audit.export",
    "audit.reveal",
    "users.review",
    "alerts.figures",
    "retention.view",
    "sharing.register",
    "audits.view",
    "audits.approve",
)


def _default_roles() -> dict[str, RoleConfig]:
    return {
        "sworn_officer": RoleConfig(
            label="Sworn officer", permissions=(*PLATE_USER, *ALERT_USER), description="Trained sworn officer (462.5)."
        ),
        "supervisor": RoleConfig(
            label="Supervisor (sergeant)",
            permissions=SUPERVISOR_PERMISSIONS,
            description="A sworn sergeant: an officer's rights, plus approving officers' accounts (Records staff, "
            "who hold sharing and Public Records Act rights a sergeant lacks, are the Records Manager's), closing "
            "historical leads in bulk, the misread figures, requesting legal holds and the guards' notices about "
            "the users they supervise; the same training and MFA (462.5).",
        ),
        "records": RoleConfig(
            label="Records Section",
            permissions=(*PLATE_USER, *ALERT_USER, "holds.request", "sharing.intake", "pra.manage"),
            description="Trained Records Section personnel (462.5): records sharing and Public Records Act requests "
            "(462.7).",
        ),
        "parking_animal_control": RoleConfig(
            label="Parking & Animal Control",
            permissions=(*PLATE_USER, "hotlists.view", "alerts.view"),
            description="Trained Parking and Animal Control officer (462.5).",
        ),
        "records_manager": RoleConfig(
            label="Records Manager",
            permissions=RECORDS_MANAGER_PERMISSIONS,
            description="Reviews and approves sharing requests (462.7) and legal holds (462.9); approves Records "
            "staff accounts.",
        ),
        "alpr_admin": RoleConfig(
            label="ALPR administrator",
            permissions=ADMIN_PERMISSIONS,
            description="Runs the system day to day for the Bureau Commander (462.4).",
        ),
        "auditor": RoleConfig(
            label="Auditor",
            permissions=AUDITOR_PERMISSIONS,
            description="Reads the audit log (plates masked) and reports; reveals one plate of one event for a stated "
            "reason; no plate data outside an audit. Holds the policy-review course.",
        ),
        "partner": RoleConfig(
            label="Partner agency user",
            permissions=("sharing.partner_query",),
            description="A named user of a California partner agency: searches reads within the agency's sharing "
            "agreement, only while sharing.partner_queries is on (462.7).",
        ),
        "vendor_maintenance": RoleConfig(
            label="Vendor maintenance",
            permissions=("system.health", "cameras.view"),
            maintenance_only=True,
            description="Maintenance and repair only; never plate data (462.5).",
        ),
    }


PLATE_ROLES = ("sworn_officer", "supervisor", "records", "parking_animal_control", "records_manager", "alpr_admin")


def _default_courses() -> tuple[CourseConfig, ...]:
    return (
        CourseConfig(
            code="equipment_operation",
            title="Use and operation of the ALPR equipment",
            policy_ref="462.10(a)",
            valid_months=24,
            required_for_roles=PLATE_ROLES,
        ),
        CourseConfig(
            code="policy_review",
            title="Review of Department Policy 462",
            policy_ref="462.10(b)",
            valid_months=12,
            # the audit log records every plate searched; a partner agency's user queries under this policy
            required_for_roles=(*PLATE_ROLES, "auditor", "partner"),
        ),
    )


class PasswordHashConfig(StrictModel):
    time_cost: int = Field(3, ge=1, le=20, description="argon2id iterations.")
    memory_kib: int = Field(65536, ge=1024, le=4 * 1024 * 1024, description="argon2id memory in KiB.")
    parallelism: int = Field(4, ge=1, le=16, description="argon2id lanes.")


class AuthenticationConfig(StrictModel):
    password_min_length: int = Field(12, ge=12, le=128, description="Shortest password accepted (462.5; CJIS).")
    lockout_attempts: int = Field(
        5, ge=1, le=5, description="Consecutive failed sign-ins (password or one-time code) that lock the account."
    )
    lockout_minutes: int = Field(
        10, ge=10, le=1440, description="How long a locked account stays locked (CJIS: >= 10)."
    )
    mfa_required: Literal["all", "plate_data"] = Field(
        "all",
        description="Roles that must use TOTP: every role, or only roles that can reach plate data or the audit log.",
    )
    totp_issuer: str = Field(
        "platekeeper", min_length=1, max_length=60, description="Name shown in the authenticator app."
    )
    totp_drift_steps: int = Field(
        1, ge=0, le=2, description="30-second steps of clock drift accepted either side of now."
    )
    recovery_codes: int = Field(10, ge=5, le=20, description="One-time recovery codes issued at MFA enrolment.")
    sign_in_step_minutes: int = Field(
        5, ge=1, le=15, description="Time allowed between the password and the one-time code (or enrolment)."
    )
    token_max_days: int = Field(90, ge=1, le=365, description="Longest lifetime of a personal API token.")
    token_default_days: int = Field(30, ge=1, le=365, description="Lifetime of a personal API token if none is given.")

    @model_validator(mode="after")
    def _default_within_max(self) -> AuthenticationConfig:
        if self.token_default_days > self.token_max_days:
            raise ValueError("token_default_days must not exceed token_max_days")
        return self


class AccountsConfig(StrictModel):
    inactive_suspend_days: int = Field(
        90, ge=1, le=90, description="An account without activity for this many days is suspended (State Auditor)."
    )
    review_interval_months: int = Field(
        6, ge=1, le=6, description="The account review is due this many months after the last sign-off (CJIS)."
    )
    training_warning_days: int = Field(
        30, ge=1, le=365, description="Training expiring within this many days is shown to the administrator."
    )


class AccessPolicyConfig(StrictModel):
    purposes: tuple[PurposeConfig, ...] = Field(
        default_factory=_default_purposes, min_length=1, description="The authorized purposes (462.3)."
    )
    roles: dict[str, RoleConfig] = Field(
        default_factory=_default_roles, min_length=1, description="Roles and their permissions (462.5)."
    )
    courses: tuple[CourseConfig, ...] = Field(
        default_factory=_default_courses, description="Required training (462.10)."
    )
    case_number_pattern: RegexPattern = Field(
        r"^(19|20)[0-9]{2}-(?!0{6})[0-9]{6}$",
        description="Regular expression a case or incident number must match (upper-cased first). The default is "
        "the agency's format YYYY-NNNNNN: a year, a dash and six digits, not all zero.",
    )
    case_number_example: str = Field("2026-001234", description="Shown to users beside the case number field.")
    justification_min_length: int = Field(10, ge=1, le=500, description="Shortest justification accepted.")
    justification_min_words: int = Field(
        3,
        ge=1,
        le=20,
        description="Fewest different words of letters a justification must hold (a run of three or more of the "
        "same letter is refused too).",
    )
    generic_justifications: tuple[str, ...] = Field(
        (
            "investigation",
            "inv",
            "n/a",
            "na",
            "none",
            "test",
            "testing",
            "check",
            "lookup",
            "work",
            "official",
            "law enforcement",
            "police business",
            "see case",
        ),
        description="Justifications refused because they say nothing (compared case-insensitively).",
    )
    context_ttl_minutes: int = Field(
        240, ge=1, le=1440, description="How long a stated purpose stays attached to a web session."
    )
    bootstrap_role: str = Field("alpr_admin", description="Role given to the administrator created at first start.")
    password_hash: PasswordHashConfig = section(
        PasswordHashConfig, "argon2id cost (RFC 9106 low-memory profile by default)."
    )
    authentication: AuthenticationConfig = section(
        AuthenticationConfig, "Passwords, lockout, MFA and API tokens (CJIS)."
    )
    accounts: AccountsConfig = section(AccountsConfig, "Account lifecycle: suspension, reviews, training warnings.")

    def purpose(self, code: str) -> PurposeConfig | None:
        """The authorized purpose with this code, or None."""
        return next((p for p in self.purposes if p.code == code), None)

    def role_permissions(self, role: str) -> frozenset[str]:
        """The permissions a role holds; an unknown role holds none (deny by default)."""
        config = self.roles.get(role)
        return frozenset(config.permissions) if config else frozenset()
