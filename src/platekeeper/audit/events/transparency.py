"""Audit events of the public face: a new version of the posted usage and privacy policy took effect."""

from __future__ import annotations

from typing import ClassVar

from platekeeper.audit.events.base import AuditEventType, detail

__all__ = ["PolicyVersionRecorded"]


class PolicyVersionRecorded(AuditEventType):
    """A new version of the posted usage and privacy policy took effect: the config it states changed (Civil Code
    1798.90.51(b)); the older versions stay readable at /policy/versions."""

    action: ClassVar[str] = "transparency.policy_version"
    number: int = detail("Version")
    sha256: str = detail("SHA-256 of the policy document")
