"""The permission catalogue: every action a route or service may require, and which of them expose plate data.

Roles (in config) grant permissions from this catalogue only; a route declares exactly one of them, or one of
the special markers in :mod:`platekeeper.web.auth` (public, signed-in, camera).
"""

from __future__ import annotations

__all__ = ["PERMISSIONS", "PLATE_DATA_PERMISSIONS"]

PERMISSIONS: dict[str, str] = {
    "reads.search": "Search plate reads (needs a purpose and a case number).",
    "reads.view": "Open one read with its images (needs a purpose and a case number).",
    "audit.view": "Read the audit log.",
    "users.manage": "Create, change and deactivate user accounts.",
    "cameras.manage": "Register cameras and issue their API keys.",
    "cameras.view": "See cameras and their status, without plate data.",
    "system.health": "See system health, without plate data.",
}

PLATE_DATA_PERMISSIONS: frozenset[str] = frozenset({"reads.search", "reads.view"})
