"""The permission matrix as data (policy 462.5): built from the config, so what is shown is what is enforced."""

from __future__ import annotations

from typing import Any

from platekeeper.access.service import needs_mfa
from platekeeper.access.training import required_courses
from platekeeper.config import Settings
from platekeeper.permissions import PERMISSIONS, PLATE_DATA_PERMISSIONS

__all__ = ["permission_matrix"]


def permission_matrix(settings: Settings) -> dict[str, Any]:
    """Every permission (with whether it reaches plate data) and every role with what it holds and needs."""
    return {
        "permissions": [
            {"name": name, "description": text, "plate_data": name in PLATE_DATA_PERMISSIONS}
            for name, text in PERMISSIONS.items()
        ],
        "roles": [
            {
                "code": code,
                "label": role.label,
                "description": role.description,
                "maintenance_only": role.maintenance_only,
                "permissions": sorted(role.permissions),
                "mfa_required": needs_mfa(settings, code),
                "courses": [c.code for c in required_courses(settings, code)],
            }
            for code, role in settings.access.roles.items()
        ],
        "courses": [
            {"code": c.code, "title": c.title, "policy_ref": c.policy_ref, "valid_months": c.valid_months}
            for c in settings.access.courses
        ],
    }
