"""The root of the tree (``Settings``), the cross-section rules (``verify_*``) and ``load_settings``."""

from __future__ import annotations

import os
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
from platekeeper.config.base import ConfigError
from platekeeper.config.guards import GuardsConfig
from platekeeper.config.hotlists import HotlistConfig, MatchConfig
from platekeeper.config.ingest import CamerasConfig, IngestConfig, RecognitionQueueConfig, SearchConfig
from platekeeper.config.system import (
    AuditConfig,
    FilesConfig,
    RateLimitConfig,
    RetentionConfig,
    SigningConfig,
    StorageConfig,
    WebConfig,
)
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
    agency: AgencyConfig = Field(
        default_factory=AgencyConfig,
        description="The agency: name, organization recorded with every access, time zone, custodian.",
    )
    access: AccessPolicyConfig = Field(
        default_factory=AccessPolicyConfig,
        description="Who may reach what, and why (462.3-462.5, 462.10): purposes, roles, training, sign-in.",
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="How long reads and images are kept (462.9)."
    )
    audit: AuditConfig = Field(
        default_factory=AuditConfig,
        description="The audit log, its signed checkpoints and the audits per year (462.6).",
    )
    guards: GuardsConfig = Field(
        default_factory=GuardsConfig,
        description="Guards on every search (462.6): the rules, their thresholds and actions, who is told, and the "
        "scheduled verification of the audit chain.",
    )
    signing: SigningConfig = Field(default_factory=SigningConfig, description="The installation's Ed25519 signing key.")
    storage: StorageConfig = Field(
        default_factory=StorageConfig, description="Image files at rest: AES-256-GCM sealing and its key ring."
    )
    files: FilesConfig = Field(default_factory=FilesConfig, description="The start-up check of file modes.")
    ingest: IngestConfig = Field(
        default_factory=IngestConfig,
        description="What one camera upload may hold: sizes, pixels, reads per batch, clock skew.",
    )
    search: SearchConfig = Field(
        default_factory=SearchConfig, description="Limits on one search: page size, wildcards, time range."
    )
    cameras: CamerasConfig = Field(
        default_factory=CamerasConfig, description="Camera health: when a camera that sends nothing is silent."
    )
    web: WebConfig = Field(
        default_factory=WebConfig, description="The web server: address, sessions, cookies, TLS, proxies, headers."
    )
    rate_limits: RateLimitConfig = Field(
        default_factory=RateLimitConfig,
        description="Rate limits on sign-in and the API, answered 429 with Retry-After.",
    )
    hotlists: HotlistConfig = Field(
        default_factory=HotlistConfig, description="Hotlists: kinds, import formats, the watched folder, staleness."
    )
    matching: MatchConfig = Field(
        default_factory=MatchConfig,
        description="How reads are matched against hotlists: confusable characters, edit distance, reloads.",
    )
    alerts: AlertConfig = Field(
        default_factory=AlertConfig,
        description="Alerts and their verification (462.8): dispositions, CLETS, the live dashboard.",
    )
    recognition_queue: RecognitionQueueConfig = Field(
        default_factory=RecognitionQueueConfig, description="The server-side recognition queue and its worker."
    )
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
            verify_guards,
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
