"""The one configuration tree: agency, policy (purposes, roles, training, retention, audits) and limits, one module
per domain (``base``, ``agency``, ``access``, ``system``, ``ingest``, ``hotlists``, ``alerts``; ``settings`` holds
the root, the cross-section rules and ``load_settings``).

Read from ``platekeeper.yaml`` (or the file named by ``PLATEKEEPER_CONFIG``) and overridden by
``PLATEKEEPER_*`` environment variables (nested sections with ``__``, e.g. ``PLATEKEEPER_INGEST__MAX_BATCH_READS``).
The defaults are the department policy 462; every field documents its bounds, and cross-section rules are the
small ``verify_*`` functions at the bottom.
"""

from __future__ import annotations

from platekeeper.config.access import (
    AccessPolicyConfig,
    AccountsConfig,
    AuthenticationConfig,
    CourseConfig,
    PasswordHashConfig,
    PurposeConfig,
    RoleConfig,
)
from platekeeper.config.agency import AgencyConfig
from platekeeper.config.alerts import AlertConfig
from platekeeper.config.base import ConfigError
from platekeeper.config.guards import GuardRuleConfig, GuardsConfig, ProtectedActivityConfig
from platekeeper.config.hotlists import HotlistConfig, HotlistKindConfig, MatchConfig
from platekeeper.config.ingest import CamerasConfig, IngestConfig, RecognitionQueueConfig, SearchConfig
from platekeeper.config.settings import Settings, get_settings, load_settings
from platekeeper.config.sharing import SharingConfig
from platekeeper.config.system import (
    AuditConfig,
    FilesConfig,
    RateLimitConfig,
    RetentionConfig,
    SigningConfig,
    StorageConfig,
    WebConfig,
)

__all__ = [
    "AccessPolicyConfig",
    "AccountsConfig",
    "AgencyConfig",
    "AlertConfig",
    "AuditConfig",
    "AuthenticationConfig",
    "CamerasConfig",
    "ConfigError",
    "CourseConfig",
    "FilesConfig",
    "GuardRuleConfig",
    "GuardsConfig",
    "HotlistConfig",
    "HotlistKindConfig",
    "IngestConfig",
    "MatchConfig",
    "PasswordHashConfig",
    "ProtectedActivityConfig",
    "PurposeConfig",
    "RateLimitConfig",
    "RecognitionQueueConfig",
    "RetentionConfig",
    "RoleConfig",
    "SearchConfig",
    "Settings",
    "SharingConfig",
    "SigningConfig",
    "StorageConfig",
    "WebConfig",
    "get_settings",
    "load_settings",
]
