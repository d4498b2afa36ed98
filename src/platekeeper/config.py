"""The one configuration tree: agency, policy (purposes, roles, training, retention, audits) and limits.

Read from ``platekeeper.yaml`` (or the file named by ``PLATEKEEPER_CONFIG``) and overridden by
``PLATEKEEPER_*`` environment variables (nested sections with ``__``, e.g. ``PLATEKEEPER_INGEST__MAX_BATCH_READS``).
The defaults are the department policy 462; every field documents its bounds, and cross-section rules are the
small ``verify_*`` functions at the bottom.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from platekeeper.access.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS

__all__ = [
    "AccessPolicyConfig",
    "AgencyConfig",
    "AuditConfig",
    "ConfigError",
    "CourseConfig",
    "IngestConfig",
    "PasswordHashConfig",
    "PurposeConfig",
    "RetentionConfig",
    "RoleConfig",
    "SearchConfig",
    "Settings",
    "WebConfig",
    "get_settings",
    "load_settings",
]

MiB = 1024 * 1024
CODE_PATTERN = r"^[a-z][a-z0-9_]{1,40}$"


class ConfigError(Exception):
    """The configuration is invalid; the message names each field and the rule it breaks."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgencyConfig(StrictModel):
    name: str = Field(
        "Example Police Department",
        min_length=2,
        max_length=120,
        description="The agency's name, shown on every page and in reports.",
    )
    organization: str = Field(
        "EXPD",
        min_length=2,
        max_length=40,
        description="Organization recorded with every access (Civil Code 1798.90.52).",
    )
    timezone: str = Field("America/Los_Angeles", description="IANA time zone in which times are shown.")
    custodian_title: str = Field(
        "Administration and Investigations Bureau Commander",
        description="Title of the ALPR administrator and custodian of records (462.4).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value


class PurposeConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored in the audit log.")
    label: str = Field(min_length=3, max_length=120, description="What the user picks from.")
    policy_ref: str = Field("462.3", description="Policy section that authorizes it.")


class RoleConfig(StrictModel):
    label: str = Field(min_length=2, max_length=80)
    description: str = Field("", max_length=400)
    permissions: tuple[str, ...] = Field(default=(), description="Permission names from the catalogue.")
    maintenance_only: bool = Field(False, description="Vendor-style role: may never hold a plate-data permission.")


class CourseConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=3, max_length=120)
    policy_ref: str = "462.10"
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


def _default_roles() -> dict[str, RoleConfig]:
    return {
        "sworn_officer": RoleConfig(
            label="Sworn officer", permissions=PLATE_USER, description="Trained sworn officer (462.5)."
        ),
        "records": RoleConfig(
            label="Records Section",
            permissions=PLATE_USER,
            description="Trained Records Section personnel (462.5).",
        ),
        "parking_animal_control": RoleConfig(
            label="Parking & Animal Control",
            permissions=PLATE_USER,
            description="Trained Parking and Animal Control officer (462.5).",
        ),
        "records_manager": RoleConfig(
            label="Records Manager",
            permissions=(*PLATE_USER, "audit.view"),
            description="Reviews and approves sharing requests (462.7).",
        ),
        "alpr_admin": RoleConfig(
            label="ALPR administrator",
            permissions=(
                *PLATE_USER,
                "audit.view",
                "users.manage",
                "cameras.manage",
                "cameras.view",
                "system.health",
            ),
            description="Runs the system day to day for the Bureau Commander (462.4).",
        ),
        "auditor": RoleConfig(
            label="Auditor",
            permissions=("audit.view",),
            description="Reads the audit log and reports; no plate data outside an audit.",
        ),
        "vendor_maintenance": RoleConfig(
            label="Vendor maintenance",
            permissions=("system.health", "cameras.view"),
            maintenance_only=True,
            description="Maintenance and repair only; never plate data (462.5).",
        ),
    }


PLATE_ROLES = ("sworn_officer", "records", "parking_animal_control", "records_manager", "alpr_admin")


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
            required_for_roles=PLATE_ROLES,
        ),
    )


class PasswordHashConfig(StrictModel):
    time_cost: int = Field(3, ge=1, le=20, description="argon2id iterations.")
    memory_kib: int = Field(65536, ge=1024, le=4 * 1024 * 1024, description="argon2id memory in KiB.")
    parallelism: int = Field(4, ge=1, le=16, description="argon2id lanes.")


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
    case_number_pattern: str = Field(
        r"^[A-Z0-9]{2,6}-?[0-9]{2,10}(-[A-Z0-9]{1,6})?$",
        description="Regular expression a case or incident number must match.",
    )
    case_number_example: str = Field("2026-001234", description="Shown to users beside the case number field.")
    justification_min_length: int = Field(10, ge=1, le=500, description="Shortest justification accepted.")
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
    password_hash: PasswordHashConfig = Field(
        default_factory=PasswordHashConfig,
        description="argon2id cost (RFC 9106 low-memory profile by default).",
    )

    @field_validator("case_number_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    def purpose(self, code: str) -> PurposeConfig | None:
        """The authorized purpose with this code, or None."""
        return next((p for p in self.purposes if p.code == code), None)

    def role_permissions(self, role: str) -> frozenset[str]:
        """The permissions a role holds; an unknown role holds none (deny by default)."""
        config = self.roles.get(role)
        return frozenset(config.permissions) if config else frozenset()


class RetentionConfig(StrictModel):
    days: int = Field(365, ge=30, le=3650, description="Days a read and its images are kept (462.9).")


class AuditConfig(StrictModel):
    reports_per_year: int = Field(2, ge=2, le=12, description="System audits per year; at least two (462.6c).")
    key_file: str = Field("audit.key", description="HMAC key for the audit chain, relative to data_dir.")
    page_size: int = Field(100, ge=10, le=1000, description="Audit events per page.")


class IngestConfig(StrictModel):
    max_request_bytes: int = Field(32 * MiB, ge=1024, le=1024 * MiB, description="Largest request body accepted.")
    max_image_bytes: int = Field(8 * MiB, ge=1024, le=512 * MiB, description="Largest single image accepted.")
    max_image_pixels: int = Field(
        50_000_000,
        ge=10_000,
        le=500_000_000,
        description="Largest width x height accepted (decompression-bomb guard).",
    )
    max_batch_reads: int = Field(500, ge=1, le=10_000, description="Most reads in one batch.")
    max_clock_skew_minutes: int = Field(10, ge=0, le=1440, description="How far in the future captured_at may lie.")


class SearchConfig(StrictModel):
    page_size: int = Field(50, ge=5, le=500, description="Results per page.")
    min_wildcard_characters: int = Field(
        3, ge=1, le=8, description="Known characters a wildcard query needs (caps search scope)."
    )
    max_range_days: int = Field(366, ge=1, le=3650, description="Longest time range one search may span.")


class WebConfig(StrictModel):
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535)
    session_idle_minutes: int = Field(30, ge=1, le=30, description="Idle session ends after this (CJIS: <= 30).")
    session_max_hours: int = Field(12, ge=1, le=24, description="A session ends after this regardless.")
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto", description="Secure flag on cookies: auto sets it when the request came over TLS."
    )


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="PLATEKEEPER_", env_nested_delimiter="__", extra="forbid", frozen=True)

    data_dir: Path = Field(Path("var"), description="Folder for the SQLite database, images and keys.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at data_dir/platekeeper.db.")
    image_dir: Path | None = Field(None, description="Folder for content-addressed images; default data_dir/images.")
    agency: AgencyConfig = AgencyConfig()
    access: AccessPolicyConfig = AccessPolicyConfig()
    retention: RetentionConfig = RetentionConfig()
    audit: AuditConfig = AuditConfig()
    ingest: IngestConfig = IngestConfig()
    search: SearchConfig = SearchConfig()
    web: WebConfig = WebConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("PLATEKEEPER_CONFIG", "platekeeper.yaml")
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)

    @model_validator(mode="after")
    def _verify(self) -> Settings:
        for rule in (
            verify_role_permissions,
            verify_maintenance_roles,
            verify_courses,
            verify_purposes,
            verify_bootstrap_role,
        ):
            rule(self)
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL actually used."""
        return self.database_url or f"sqlite:///{self.data_dir / 'platekeeper.db'}"

    @property
    def resolved_image_dir(self) -> Path:
        """The folder holding content-addressed images."""
        return self.image_dir or self.data_dir / "images"

    @property
    def tz(self) -> ZoneInfo:
        """The agency's time zone."""
        return ZoneInfo(self.agency.timezone)


def verify_role_permissions(settings: Settings) -> None:
    """Every permission a role names exists in the catalogue (deny by default: no typo grants anything)."""
    for name, role in settings.access.roles.items():
        unknown = sorted(set(role.permissions) - set(PERMISSIONS))
        if unknown:
            raise ValueError(
                f"access.roles.{name}.permissions: unknown permission(s) {unknown}; known: {sorted(PERMISSIONS)}"
            )


def verify_maintenance_roles(settings: Settings) -> None:
    """A maintenance-only (vendor) role never holds a plate-data permission (462.5)."""
    for name, role in settings.access.roles.items():
        leaked = sorted(set(role.permissions) & PLATE_DATA_PERMISSIONS)
        if role.maintenance_only and leaked:
            raise ValueError(
                f"access.roles.{name}.permissions: a maintenance_only role may not hold "
                f"plate-data permission(s) {leaked} (policy 462.5)"
            )


def verify_courses(settings: Settings) -> None:
    """Courses name existing roles and have unique codes."""
    codes = [c.code for c in settings.access.courses]
    if len(codes) != len(set(codes)):
        raise ValueError("access.courses: course codes must be unique")
    for course in settings.access.courses:
        missing = sorted(set(course.required_for_roles) - set(settings.access.roles))
        if missing:
            raise ValueError(f"access.courses.{course.code}.required_for_roles: unknown role(s) {missing}")


def verify_purposes(settings: Settings) -> None:
    """Purpose codes are unique."""
    codes = [p.code for p in settings.access.purposes]
    if len(codes) != len(set(codes)):
        raise ValueError("access.purposes: purpose codes must be unique")


def verify_bootstrap_role(settings: Settings) -> None:
    """The first administrator's role exists and can manage users."""
    role = settings.access.roles.get(settings.access.bootstrap_role)
    if role is None or "users.manage" not in role.permissions:
        raise ValueError(
            f"access.bootstrap_role: {settings.access.bootstrap_role!r} must be a role holding users.manage"
        )


def _format_error(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    return f"  {location}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one :class:`ConfigError` that names each field."""
    named = os.environ.get("PLATEKEEPER_CONFIG")
    if named and not Path(named).is_file():
        raise ConfigError(f"PLATEKEEPER_CONFIG names {named}, which is not a readable file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [_format_error(dict(e)) for e in exc.errors()]
        source = os.environ.get("PLATEKEEPER_CONFIG", "platekeeper.yaml")
        raise ConfigError(
            f"invalid configuration ({source} and PLATEKEEPER_* variables):\n" + "\n".join(lines)
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()
