"""The root of the tree (``Settings``), the cross-section rules (``verify_*``) and ``load_settings``."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from platekeeper.config.access import AccessPolicyConfig
from platekeeper.config.agency import AgencyConfig
from platekeeper.config.alerts import AlertConfig
from platekeeper.config.audits import AuditPlanConfig
from platekeeper.config.base import ConfigError, section
from platekeeper.config.guards import GuardsConfig
from platekeeper.config.hotlists import HotlistConfig, MatchConfig
from platekeeper.config.ingest import CamerasConfig, IngestConfig, RecognitionQueueConfig, SearchConfig
from platekeeper.config.sharing import SharingConfig, unlawful_overrides
from platekeeper.config.system import (
    AuditConfig,
    FilesConfig,
    RateLimitConfig,
    RetentionConfig,
    SigningConfig,
    StorageConfig,
    WebConfig,
)
from platekeeper.config.transparency import TransparencyConfig
from platekeeper.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS
from platekeeper.recognition.config import RecognitionConfig


class Settings(BaseSettings):
    """The whole configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="PLATEKEEPER_", env_nested_delimiter="__", extra="forbid", frozen=True)

    data_dir: Path = Field(Path("var"), description="Folder for the SQLite database, images and keys.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at data_dir/platekeeper.db.")
    image_dir: Path | None = Field(None, description="Folder for content-addressed images; default data_dir/images.")
    query_batch_size: int = Field(
        500,
        ge=10,
        le=30_000,
        description="Most values one query names in an IN list (SQLite binds at most 32,766 variables, PostgreSQL "
        "65,535); a lookup of more reads, alerts or plates is split into queries of this many.",
    )
    agency: AgencyConfig = section(
        AgencyConfig, "The agency: name, organization recorded with every access, time zone, custodian."
    )
    access: AccessPolicyConfig = section(
        AccessPolicyConfig, "Who may reach what, and why (462.3-462.5, 462.10): purposes, roles, training, sign-in."
    )
    retention: RetentionConfig = section(RetentionConfig, "How long reads and images are kept (462.9).")
    sharing: SharingConfig = section(
        SharingConfig, "Sharing with other agencies (462.7; Civil Code 1798.90.55) and Public Records Act requests."
    )
    audit: AuditConfig = section(AuditConfig, "The audit log and its signed checkpoints (462.6).")
    audits: AuditPlanConfig = section(
        AuditPlanConfig,
        "The audit plan (462.6(c)): audits per year, who performs and who approves them, the sample, the method, "
        "how long audit records are kept, and the thresholds of the automatic checks.",
    )
    signing: SigningConfig = section(SigningConfig, "The installation's Ed25519 signing key.")
    storage: StorageConfig = section(StorageConfig, "Image files at rest: AES-256-GCM sealing and its key ring.")
    files: FilesConfig = section(FilesConfig, "The start-up check of file modes.")
    ingest: IngestConfig = section(
        IngestConfig, "What one camera upload may hold: sizes, pixels, reads per batch, clock skew."
    )
    guards: GuardsConfig = section(
        GuardsConfig,
        "Guards on every search (462.6): the rules, their thresholds and actions, who is told, and the scheduled "
        "verification of the audit chain.",
    )
    search: SearchConfig = section(SearchConfig, "Limits on one search: page size, wildcards, time range.")
    cameras: CamerasConfig = section(CamerasConfig, "Camera health: when a camera that sends nothing is silent.")
    web: WebConfig = section(WebConfig, "The web server: address, sessions, cookies, TLS, proxies, headers.")
    rate_limits: RateLimitConfig = section(
        RateLimitConfig, "Rate limits on sign-in and the API, answered 429 with Retry-After."
    )
    hotlists: HotlistConfig = section(HotlistConfig, "Hotlists: kinds, import formats, the watched folder, staleness.")
    matching: MatchConfig = section(
        MatchConfig, "How reads are matched against hotlists: confusable characters, edit distance, reloads."
    )
    alerts: AlertConfig = section(
        AlertConfig, "Alerts and their verification (462.8): dispositions, CLETS, the live dashboard."
    )
    recognition_queue: RecognitionQueueConfig = section(
        RecognitionQueueConfig, "The server-side recognition queue and its worker."
    )
    recognition: RecognitionConfig = section(RecognitionConfig, "The plate recognition engine (recognition/config.py).")
    transparency: TransparencyConfig = section(
        TransparencyConfig,
        "The public face: the transparency page's blocks, small counts, cache and camera precision (the posted "
        "policy at /policy is always public).",
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
            verify_audit_plate_days,
            verify_sharing,
            verify_guards,
            verify_audit_plan,
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
    def resolved_documents_dir(self) -> Path:
        """The folder holding sharing request documents (sealed like the images, in the backup, re-sealed by
        ``keys rotate``)."""
        return self.data_path(self.sharing.package_dir) / "documents"

    @property
    def tz(self) -> ZoneInfo:
        """The agency's time zone."""
        return ZoneInfo(self.agency.timezone)

    def today(self, now: datetime | None = None) -> date:
        """The agency's date now (or at ``now``): what a person there calls today. The server's own date is a day
        ahead of California for eight hours of each day when it runs on UTC."""
        return (now or datetime.now(UTC)).astimezone(self.tz).date()


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
    """Purpose codes are unique, and the alert dashboard, the imports' historical search and the work on each
    hotlist kind's alerts record one of them."""
    codes = [p.code for p in settings.access.purposes]
    if len(codes) != len(set(codes)):
        raise ValueError("access.purposes: purpose codes must be unique")
    for name, value in (
        ("alerts.dashboard_purpose", settings.alerts.dashboard_purpose),
        ("hotlists.historical_search_purpose", settings.hotlists.historical_search_purpose),
        *((f"hotlists.kinds.{k.code}.purpose", k.purpose) for k in settings.hotlists.kinds),
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
    lead = settings.alerts.disposition(settings.alerts.lead_disposition)
    if lead is None or lead.enforcement:
        raise ValueError(
            f"alerts.lead_disposition: {settings.alerts.lead_disposition!r} must be one of alerts.dispositions "
            "that is not an enforcement disposition"
        )


def verify_audit_plate_days(settings: Settings) -> None:
    """The audit log keeps a plate's text at least as long as the read itself is kept (issue 21)."""
    if settings.audit.plate_detail_days < settings.retention.days:
        raise ValueError(
            f"audit.plate_detail_days: {settings.audit.plate_detail_days} days is shorter than retention.days "
            f"({settings.retention.days}); the audit log must keep a plate's text at least as long as its reads"
        )


def verify_sharing(settings: Settings) -> None:
    """No sharing rule is loosened past the Civil Code (1798.90.55(b)); review stays with the Records Manager and
    the designee roles named in ``sharing.designee_roles``; partner accounts exist only for partner queries."""
    sharing, roles = settings.sharing, settings.access.roles
    problems = unlawful_overrides(sharing)
    reviewers = {"records_manager", *sharing.designee_roles}
    for name in sharing.designee_roles:
        if name not in roles or "sharing.review" not in roles[name].permissions:
            problems.append(f"sharing.designee_roles: {name!r} must be a role that grants sharing.review")
    for name, role in roles.items():
        if "sharing.review" in role.permissions and name not in reviewers:
            problems.append(
                f"access.roles.{name}.permissions: sharing.review is for the Records Manager and the roles in "
                "sharing.designee_roles (policy 462.7(b))"
            )
        if "sharing.partner_query" in role.permissions and set(role.permissions) != {"sharing.partner_query"}:
            problems.append(f"access.roles.{name}.permissions: sharing.partner_query is held alone (partner accounts)")
    if problems:
        raise ValueError("; ".join(problems))


def verify_guards(settings: Settings) -> None:
    """The roles told of guard notices exist and can see them; whoever receives breach notices can open the notices
    page; the hard limit on paged results lies above its notice."""
    for name in settings.guards.notify_roles:
        role = settings.access.roles.get(name)
        if role is None or "notices.view" not in role.permissions:
            raise ValueError(f"guards.notify_roles: {name!r} must be a role holding notices.view")
    for name, role in settings.access.roles.items():
        if "notices.breach" in role.permissions and "notices.view" not in role.permissions:
            raise ValueError(f"access.roles.{name}.permissions: notices.breach needs notices.view (the notices page)")
    notice, limit = settings.guards.paged_results, settings.guards.paged_results_limit
    if notice.enabled and limit.enabled and limit.threshold <= notice.threshold:
        raise ValueError(
            f"guards.paged_results_limit.threshold: {limit.threshold} must be above "
            f"guards.paged_results.threshold ({notice.threshold})"
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


def verify_audit_plan(settings: Settings) -> None:
    """The audit plan keeps 462.6(c): its performer and approver roles exist, hold audits.perform and audits.approve,
    and are not maintenance-only (a vendor never audits the system); an audit is never approved by its performer,
    so the approver role holds audits.approve."""
    plan, roles = settings.audits, settings.access.roles
    problems = []
    for field, name, permission in (
        ("performer_role", plan.performer_role, "audits.perform"),
        ("approver_role", plan.approver_role, "audits.approve"),
    ):
        role = roles.get(name)
        if role is None or permission not in role.permissions or role.maintenance_only:
            problems.append(
                f"audits.{field}: {name!r} must be a role (not maintenance-only) holding {permission}; the audit "
                "plan of policy 462.6(c) names who performs the audits and who approves them"
            )
    if plan.checks.bulk_results > settings.search.count_limit:  # a search records at most count_limit results
        problems.append(
            f"audits.checks.bulk_results: {plan.checks.bulk_results} is more than search.count_limit "
            f"({settings.search.count_limit}), the most results a search counts; the bulk check could never fire"
        )
    if problems:
        raise ValueError("; ".join(problems))
