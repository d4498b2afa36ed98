"""The one configuration tree: agency, policy (purposes, roles, training, retention, audits) and limits.

Read from ``platekeeper.yaml`` (or the file named by ``PLATEKEEPER_CONFIG``) and overridden by
``PLATEKEEPER_*`` environment variables (nested sections with ``__``, e.g. ``PLATEKEEPER_INGEST__MAX_BATCH_READS``).
The defaults are the department policy 462; every field documents its bounds, and cross-section rules are the
small ``verify_*`` functions at the bottom.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from platekeeper.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS
from platekeeper.recognition.config import RecognitionConfig

__all__ = [
    "AccessPolicyConfig",
    "AccountsConfig",
    "AgencyConfig",
    "AlertConfig",
    "AuditConfig",
    "AuthenticationConfig",
    "ConfigError",
    "CourseConfig",
    "FilesConfig",
    "HotlistConfig",
    "HotlistKindConfig",
    "IngestConfig",
    "MatchConfig",
    "PasswordHashConfig",
    "PurposeConfig",
    "RateLimitConfig",
    "RecognitionQueueConfig",
    "RetentionConfig",
    "RoleConfig",
    "SearchConfig",
    "Settings",
    "SigningConfig",
    "StorageConfig",
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
ALERT_USER = ("hotlists.view", "hotlists.entries", "alerts.view", "alerts.verify")


def _default_roles() -> dict[str, RoleConfig]:
    return {
        "sworn_officer": RoleConfig(
            label="Sworn officer", permissions=(*PLATE_USER, *ALERT_USER), description="Trained sworn officer (462.5)."
        ),
        "records": RoleConfig(
            label="Records Section",
            permissions=(*PLATE_USER, *ALERT_USER),
            description="Trained Records Section personnel (462.5).",
        ),
        "parking_animal_control": RoleConfig(
            label="Parking & Animal Control",
            permissions=(*PLATE_USER, "hotlists.view", "alerts.view"),
            description="Trained Parking and Animal Control officer (462.5).",
        ),
        "records_manager": RoleConfig(
            label="Records Manager",
            permissions=(*PLATE_USER, "audit.view", "users.approve", *ALERT_USER, "hotlists.manage", "alerts.figures"),
            description="Reviews and approves sharing requests (462.7); approves Records staff accounts.",
        ),
        "alpr_admin": RoleConfig(
            label="ALPR administrator",
            permissions=(
                *PLATE_USER,
                *ALERT_USER,
                "hotlists.manage",
                "alerts.figures",
                "audit.view",
                "users.manage",
                "users.approve",
                "users.review",
                "cameras.manage",
                "cameras.view",
                "system.health",
            ),
            description="Runs the system day to day for the Bureau Commander (462.4).",
        ),
        "auditor": RoleConfig(
            label="Auditor",
            permissions=("audit.view", "users.review", "alerts.figures"),
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
    authentication: AuthenticationConfig = Field(
        default_factory=AuthenticationConfig, description="Passwords, lockout, MFA and API tokens (CJIS)."
    )
    accounts: AccountsConfig = Field(
        default_factory=AccountsConfig, description="Account lifecycle: suspension, reviews, training warnings."
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
    checkpoint_minutes: int = Field(
        60,
        ge=1,
        le=1440,
        description="How often `platekeeper serve` writes a signed checkpoint of the chain's head (seq, hash, time) "
        "outside the database; also at shutdown, and on demand with `platekeeper audit checkpoint`.",
    )
    checkpoint_sinks: tuple[Literal["file", "syslog"], ...] = Field(
        ("file",),
        min_length=1,
        description="Where checkpoints go: `file` (an append-only file, checkpoint_file) and/or `syslog` (to a "
        "collector on another host, syslog_address). `audit verify` reads the file, or a copy given with "
        "--checkpoints.",
    )
    checkpoint_file: Path = Field(
        Path("audit-checkpoints.jsonl"),
        description="The append-only checkpoint file, relative to data_dir unless absolute. Put it where the "
        "database's owner cannot rewrite it (another volume, `chattr +a`, or shipped to another host).",
    )
    syslog_address: str = Field(
        "/dev/log",
        max_length=200,
        description="The syslog socket path, or host:port (UDP) of a collector, for the `syslog` sink.",
    )


class SigningConfig(StrictModel):
    key_file: Path = Field(
        Path("signing.key"),
        description="The installation's Ed25519 signing key (PEM, mode 0600, created at first use), relative to "
        "data_dir unless absolute. It signs audit checkpoints; keep it off the database volume where you can.",
    )


class StorageConfig(StrictModel):
    encrypt_images: bool = Field(
        True,
        description="Seal every image file written from now on with AES-256-GCM under the storage key ring "
        "(key_file or PLATEKEEPER_STORAGE_KEY). Off: new images are written plain; sealed files still open.",
    )
    key_file: Path = Field(
        Path("storage.key"),
        description="The storage key ring (one `<id> <base64 key>` line per key, the last one current; mode 0600, "
        "created at first use), relative to data_dir unless absolute: keep it off the image volume and out of its "
        "backups. PLATEKEEPER_STORAGE_KEY (base64 of 32 bytes) overrides the current key.",
    )
    rotate_batch_size: int = Field(
        200,
        ge=1,
        le=100_000,
        description="Files `platekeeper keys rotate` re-seals per batch before it reports progress "
        "(--batch-size overrides it).",
    )
    rotate_pause_ms: int = Field(
        0,
        ge=0,
        le=60_000,
        description="Pause after each batch of `keys rotate`, leaving disk bandwidth to a running server "
        "(--pause-ms overrides it).",
    )


class FilesConfig(StrictModel):
    wide_names_shown: int = Field(
        20,
        ge=1,
        le=1000,
        description="At start-up, files and folders readable by other users are named in one warning: at most this "
        "many by name, then a count.",
    )


class IngestConfig(StrictModel):
    max_request_bytes: int = Field(32 * MiB, ge=1024, le=1024 * MiB, description="Largest request body accepted.")
    max_image_bytes: int = Field(8 * MiB, ge=1024, le=512 * MiB, description="Largest single image accepted.")
    max_image_pixels: int = Field(
        50_000_000,
        ge=10_000,
        le=500_000_000,
        description="Largest width x height accepted (decompression-bomb guard).",
    )
    max_batch_pixels: int = Field(
        250_000_000,
        ge=100_000,
        le=10_000_000_000,
        description="Most pixels (width x height, read from the headers before decoding) all the images of one "
        "request may hold together; the reads whose images go past it are rejected, so one request cannot keep "
        "the server decoding for long.",
    )
    max_pixels_per_byte: dict[str, float] = Field(
        default_factory=lambda: {"JPEG": 100.0, "PNG": 400.0, "WEBP": 1000.0},
        description="An image claiming more pixels per byte of file than this, for its format, is refused before "
        "decoding (a decompression bomb). Camera photographs hold under 30; a single flat colour reaches about 64 "
        "in JPEG, 310 in RGB PNG and 560 in WebP.",
    )
    max_batch_reads: int = Field(500, ge=1, le=10_000, description="Most reads in one batch.")

    @field_validator("max_pixels_per_byte")
    @classmethod
    def _densities(cls, value: dict[str, float]) -> dict[str, float]:
        for fmt, density in value.items():
            if fmt not in ("JPEG", "PNG", "WEBP"):
                raise ValueError(f"{fmt!r} is not an accepted image format (JPEG, PNG, WEBP)")
            if not 1 <= density <= 100_000:
                raise ValueError(f"{fmt}: {density} pixels per byte is outside 1..100000")
        return value

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
    error_log_size: int = Field(
        200, ge=10, le=10_000, description="Recent server errors kept in memory for maintenance (no plate data)."
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        max_length=64,
        description="Addresses or networks (e.g. 127.0.0.1, 10.0.0.0/24) of reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto headers are believed. Empty (the default): nobody's, so no client can write a false "
        "address into the audit log. Name only the proxy that terminates TLS in front of platekeeper.",
    )
    hsts_seconds: int = Field(
        31_536_000,
        ge=0,
        le=63_072_000,
        description="max-age of the Strict-Transport-Security header sent on every response over TLS (0: none).",
    )
    tls_certfile: Path | None = Field(
        None, description="PEM certificate (chain) `platekeeper serve` listens with over TLS; --certfile overrides."
    )
    tls_keyfile: Path | None = Field(
        None, description="PEM private key of tls_certfile (mode 0600); --keyfile overrides."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/24)") from None
        return value


RATE_LIMIT_MAX_AMOUNT = 1_000_000
RATE_LIMIT_MAX_WINDOW_SECONDS = 86_400
RATE_LIMIT_TEXT = "a count per window, like '10/minute' or '30 per 5 minutes'"


class RateLimitConfig(StrictModel):
    """Requests counted per key in a moving window; over the count the answer is 429 with ``Retry-After``.

    Each limit is one rule in the ``limits`` notation (``10/minute``, ``30 per 5 minutes``), checked at load time.
    The counters live in the memory of one server process."""

    enabled: bool = Field(True, description="Apply the limits below (off only for load tests on a closed network).")
    sign_in_per_account: str = Field(
        "10/minute",
        min_length=3,
        max_length=40,
        description="Sign-in attempts (password or one-time code) for one username as typed, from anywhere.",
    )
    sign_in_per_address: str = Field(
        "30/minute",
        min_length=3,
        max_length=40,
        description="Sign-in attempts (password or one-time code) from one client address, whatever the username.",
    )
    api_per_token: str = Field(
        "600/minute", min_length=3, max_length=40, description="API requests made with one personal API token."
    )
    api_per_camera: str = Field(
        "1200/minute", min_length=3, max_length=40, description="Uploads (reads, images) made with one camera key."
    )

    @field_validator("sign_in_per_account", "sign_in_per_address", "api_per_token", "api_per_camera")
    @classmethod
    def _one_rule(cls, value: str) -> str:
        try:
            rules = parse_many(value)
        except ValueError:
            rules = []
        if len(rules) != 1:
            raise ValueError(f"{value!r} is not {RATE_LIMIT_TEXT}")
        rule = rules[0]
        if not 1 <= rule.amount <= RATE_LIMIT_MAX_AMOUNT:
            raise ValueError(f"{value!r}: the count must be from 1 to {RATE_LIMIT_MAX_AMOUNT}")
        if rule.get_expiry() > RATE_LIMIT_MAX_WINDOW_SECONDS:
            raise ValueError(f"{value!r}: the window must be at most one day")
        return value


class RecognitionQueueConfig(StrictModel):
    in_process_worker: bool = Field(
        True, description="Run one recognition worker inside `platekeeper serve` (else run `platekeeper worker`)."
    )
    poll_seconds: float = Field(1.0, gt=0, le=60, description="How often an idle worker looks for new jobs.")
    lease_seconds: int = Field(
        120, ge=10, le=3600, description="A claimed job returns to the queue if its worker is silent this long."
    )
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts before a job is marked failed.")
    min_confidence: float = Field(
        0.3, ge=0.0, le=1.0, description="Plates read on the server below this confidence are not stored."
    )
    max_plates_per_image: int = Field(8, ge=1, le=50, description="Most plates stored from one image.")


class HotlistKindConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with lists, entries and alerts.")
    label: str = Field(min_length=3, max_length=80, description="What officers see.")
    priority: int = Field(3, ge=1, le=5, description="Alert priority for a hit on this kind: 1 is the most urgent.")
    aliases: tuple[str, ...] = Field(
        default=(), description="Category values in import files that mean this kind (compared case-insensitively)."
    )


def _default_hotlist_kinds() -> tuple[HotlistKindConfig, ...]:
    return (
        HotlistKindConfig(code="stolen_vehicle", label="Stolen vehicle", priority=1, aliases=("VEH", "SV")),
        HotlistKindConfig(code="stolen_plate", label="Stolen plate", priority=1, aliases=("LIC", "SP")),
        HotlistKindConfig(code="wanted_person", label="Wanted person", priority=1, aliases=("WAN", "WP")),
        HotlistKindConfig(code="missing_person", label="Missing person", priority=1, aliases=("MIS", "MP")),
        HotlistKindConfig(
            code="amber_silver_alert", label="AMBER / Silver alert", priority=1, aliases=("AMB", "SIL", "AMBER")
        ),
        HotlistKindConfig(code="warrant", label="Warrant", priority=2, aliases=("WAR", "WR")),
        HotlistKindConfig(code="custom", label="Custom (officer-entered)", priority=3, aliases=("CUS",)),
    )


class FixedWidthFieldConfig(StrictModel):
    name: Literal["kind", "plate", "state", "reason", "nic", "make", "model", "color", "expires_at", "notes"] = Field(
        description="Entry field this slice fills."
    )
    start: int = Field(ge=0, le=1000, description="Zero-based column where the field starts.")
    width: int = Field(ge=1, le=200, description="Characters in the field.")


def _default_fixed_width() -> tuple[FixedWidthFieldConfig, ...]:
    # NCIC-extract-like: MKE(3) LIC(10) LIS(2) NIC(10) VMA(4) VMO(3) VCO(7) OFF(20) EXP(8, YYYYMMDD)
    layout = [("kind", 3), ("plate", 10), ("state", 2), ("nic", 10), ("make", 4), ("model", 3), ("color", 7)]
    layout += [("reason", 20), ("expires_at", 8)]
    fields, start = [], 0
    for name, width in layout:
        fields.append(FixedWidthFieldConfig(name=name, start=start, width=width))
        start += width
    return tuple(fields)


class HotlistConfig(StrictModel):
    kinds: tuple[HotlistKindConfig, ...] = Field(
        default_factory=_default_hotlist_kinds, min_length=1, description="The list kinds the agency uses (462.2)."
    )
    refused_kinds: tuple[str, ...] = Field(
        ("immigration_violator",),
        description="Kinds that may never be loaded (e.g. the NCIC Immigration Violator file); refused everywhere.",
    )
    refused_categories: tuple[str, ...] = Field(
        ("IMM", "IVF", "immigration violator", "immigration_violator"),
        description="Category values in import files that are refused (whole value, case-insensitive).",
    )
    refused_terms: tuple[str, ...] = Field(
        ("immigration violator",),
        description="Text that may not appear in a list's name or source (substring, case-insensitive).",
    )
    officer_entry_days: int = Field(
        30, ge=1, le=30, description="Entries added by officers expire at most this many days after entry."
    )
    default_refresh_hours: int = Field(
        24, ge=1, le=24 * 14, description="Refresh cadence of a new imported list; not refreshed in time = stale."
    )
    watch_dir: Path | None = Field(
        None, description="Folder watched for refresh files named <list name>.csv/.txt/.dat (None: no watch)."
    )
    watch_interval_minutes: int = Field(
        15, ge=1, le=1440, description="How often `platekeeper serve` scans watch_dir for refresh files."
    )
    max_import_rows: int = Field(5_000_000, ge=1, le=50_000_000, description="Most rows one import may hold.")
    max_import_bytes: int = Field(
        512 * MiB, ge=1024, le=8192 * MiB, description="Largest import file accepted (upload or CLI)."
    )
    max_reported_errors: int = Field(50, ge=1, le=10_000, description="Bad rows listed in one refusal.")
    fixed_width: tuple[FixedWidthFieldConfig, ...] = Field(
        default_factory=_default_fixed_width, min_length=1, description="Column layout of the fixed-width format."
    )
    entries_page_size: int = Field(100, ge=10, le=1000, description="Entries shown per page of a list.")
    historical_search_purpose: str = Field(
        "wanted_person",
        description="Authorized purpose recorded when an import searches past reads for its new entries (462.3).",
    )

    def kind(self, code: str) -> HotlistKindConfig | None:
        """The configured kind with this code, or None."""
        return next((k for k in self.kinds if k.code == code), None)


class MatchConfig(StrictModel):
    confusable_pairs: tuple[str, ...] = Field(
        ("O0", "I1", "B8", "D0", "QO", "G6", "S5", "Z2"),
        description="Pairs of characters OCR confuses; matched as equal (the pairs are closed transitively).",
    )
    edit_distance_one: bool = Field(
        False, description="Also match reads one inserted, dropped or changed character away from an entry."
    )
    max_candidates: int = Field(
        3, ge=0, le=10, description="OCR alternates of a read matched besides its best text (0: best text only)."
    )
    min_candidate_confidence: float = Field(
        0.05, ge=0.0, le=1.0, description="Alternates below this confidence are not matched."
    )
    reload_check_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often ingest checks whether the lists changed and a reload is due."
    )
    historical_result_limit: int = Field(
        200, ge=1, le=10_000, description="Most historical hits shown for one officer entry (the newest)."
    )
    historical_alert_limit: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Most historical-hit alerts one import raises (the newest reads); the "
        "rest are counted in the audit log and the import's report.",
    )
    historical_batch_size: int = Field(
        5000, ge=100, le=100_000, description="Past reads fetched per batch by a historical-hit search."
    )
    historical_prefilter_entries: int = Field(
        5000,
        ge=0,
        le=20_000,
        description="A historical-hit search for at most this many new entries looks them up by plate and lets "
        "the database pick the reads whose texts fold to an entry's plate (unless edit distance 1 is on); larger "
        "ones read the whole list and stream every read within retention through the matcher.",
    )

    @field_validator("confusable_pairs")
    @classmethod
    def _pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pair in value:
            if len(pair) != 2 or not pair.isalnum() or pair.upper() != pair:
                raise ValueError(f"{pair!r}: each pair is two characters from A-Z and 0-9")
        return value


class DispositionConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with the alert.")
    label: str = Field(min_length=3, max_length=80)
    enforcement: bool = Field(
        False, description="Leads to enforcement: refused without a visual match and a CLETS confirmation (462.8)."
    )
    misread: bool = Field(False, description="Counts as a misread in the per-camera misread rate.")


def _default_dispositions() -> tuple[DispositionConfig, ...]:
    return (
        DispositionConfig(code="action_taken", label="Action taken (stop / recovery / arrest)", enforcement=True),
        DispositionConfig(code="no_action", label="No action"),
        DispositionConfig(code="misread", label="Misread: the plate was not read correctly", misread=True),
        DispositionConfig(code="wrong_state", label="Wrong state: same characters, other state", misread=True),
        DispositionConfig(code="vehicle_not_located", label="Vehicle not located"),
        DispositionConfig(code="duplicate", label="Duplicate of another alert"),
    )


class ChoiceConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=3, max_length=120)


def _default_reject_reasons() -> tuple[ChoiceConfig, ...]:
    return (
        ChoiceConfig(code="misread", label="Misread: the characters on the plate differ from the entry"),
        ChoiceConfig(code="wrong_state", label="Wrong state: the plate is from another state"),
        ChoiceConfig(code="vehicle_mismatch", label="Vehicle differs: make or color does not match the entry"),
    )


class CletsResultConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=3, max_length=120)
    confirms: bool = Field(False, description="CLETS confirms the hit is still valid for this vehicle.")


def _default_clets_results() -> tuple[CletsResultConfig, ...]:
    return (
        CletsResultConfig(code="confirmed", label="Confirmed: the record is active and matches", confirms=True),
        CletsResultConfig(code="not_on_file", label="Not on file / cleared"),
        CletsResultConfig(code="no_match", label="Record does not match this vehicle"),
    )


class AlertConfig(StrictModel):
    dispositions: tuple[DispositionConfig, ...] = Field(
        default_factory=_default_dispositions, min_length=1, description="How an alert can end (462.8)."
    )
    reject_reasons: tuple[ChoiceConfig, ...] = Field(
        default_factory=_default_reject_reasons,
        min_length=1,
        description="What a failed visual check can say (the other choice is a visual match).",
    )
    clets_results: tuple[CletsResultConfig, ...] = Field(
        default_factory=_default_clets_results, min_length=1, description="Results a CLETS check can record."
    )
    clets_reference_pattern: str = Field(
        r"^[A-Z0-9-]{4,40}$", description="Regular expression a CLETS message reference must match."
    )
    dashboard_size: int = Field(50, ge=5, le=500, description="Alerts shown on the live dashboard.")
    dashboard_purpose: str = Field(
        "wanted_person",
        description="Authorized purpose recorded when the live dashboard or its stream shows alerts (462.2, 462.3).",
    )
    stream_keepalive_seconds: float = Field(
        15.0, gt=0, le=120, description="A comment is sent on an idle alert stream this often (keeps proxies open)."
    )
    stream_queue_size: int = Field(
        200, ge=10, le=10_000, description="Alerts buffered per live connection before the oldest are dropped."
    )
    stream_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=1.0,
        description="While a stream is open, the alerts table is checked this often for alerts committed by other "
        "processes (a worker, a CLI import).",
    )
    stream_gap_seconds: float = Field(
        30.0,
        ge=1,
        le=600,
        description="How long the stream keeps looking for an alert id missing from the sequence (a transaction "
        "of another process still committing) before it stops expecting it.",
    )
    stream_recheck_seconds: float = Field(
        5.0,
        ge=0.1,
        le=30,
        description="An open alert stream asks again this often whether its session or token is still valid (not "
        "signed out, revoked, expired or idle past its limit), and whether the account is still active and trained; "
        "it closes as soon as any of that ends.",
    )
    stream_replay_limit: int = Field(
        200,
        ge=1,
        le=1000,
        description="At most this many alerts a dashboard missed (raised after its page was rendered, or while it "
        "was reconnecting) are sent when its stream opens; the newest are kept.",
    )

    @field_validator("clets_reference_pattern")
    @classmethod
    def _reference_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    def disposition(self, code: str) -> DispositionConfig | None:
        """The configured disposition with this code, or None."""
        return next((d for d in self.dispositions if d.code == code), None)


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
    signing: SigningConfig = SigningConfig()
    storage: StorageConfig = StorageConfig()
    files: FilesConfig = FilesConfig()
    ingest: IngestConfig = IngestConfig()
    search: SearchConfig = SearchConfig()
    web: WebConfig = WebConfig()
    rate_limits: RateLimitConfig = RateLimitConfig()
    hotlists: HotlistConfig = HotlistConfig()
    matching: MatchConfig = MatchConfig()
    alerts: AlertConfig = AlertConfig()
    recognition_queue: RecognitionQueueConfig = RecognitionQueueConfig()
    recognition: RecognitionConfig = Field(
        default_factory=RecognitionConfig, description="The plate recognition engine (recognition/config.py)."
    )

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
            verify_hotlist_kinds,
        ):
            rule(self)
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL actually used."""
        return self.database_url or f"sqlite:///{self.data_dir / 'platekeeper.db'}"

    def data_path(self, path: Path) -> Path:
        """A configured path: as given when absolute, else under data_dir."""
        return path if path.is_absolute() else self.data_dir / path

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
    """Purpose codes are unique, and the alert dashboard and the imports' historical search record one of them."""
    codes = [p.code for p in settings.access.purposes]
    if len(codes) != len(set(codes)):
        raise ValueError("access.purposes: purpose codes must be unique")
    for name, value in (
        ("alerts.dashboard_purpose", settings.alerts.dashboard_purpose),
        ("hotlists.historical_search_purpose", settings.hotlists.historical_search_purpose),
    ):
        if value not in codes:
            raise ValueError(f"{name}: {value!r} is not an authorized purpose ({', '.join(codes)})")


def verify_bootstrap_role(settings: Settings) -> None:
    """The first administrator's role exists and can manage users."""
    role = settings.access.roles.get(settings.access.bootstrap_role)
    if role is None or "users.manage" not in role.permissions:
        raise ValueError(
            f"access.bootstrap_role: {settings.access.bootstrap_role!r} must be a role holding users.manage"
        )


def verify_hotlist_kinds(settings: Settings) -> None:
    """Kind codes are unique, none is a refused kind (e.g. immigration violators), and alias values are unique."""
    codes = [k.code for k in settings.hotlists.kinds]
    if len(codes) != len(set(codes)):
        raise ValueError("hotlists.kinds: kind codes must be unique")
    refused = sorted(set(codes) & set(settings.hotlists.refused_kinds))
    if refused:
        raise ValueError(f"hotlists.kinds: {refused} is refused by policy (hotlists.refused_kinds)")
    aliases = [a.lower() for k in settings.hotlists.kinds for a in (k.code, *k.aliases)]
    if len(aliases) != len(set(aliases)):
        raise ValueError("hotlists.kinds: an alias names two kinds")
    codes = [d.code for d in settings.alerts.dispositions]
    if len(codes) != len(set(codes)):
        raise ValueError("alerts.dispositions: disposition codes must be unique")


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
