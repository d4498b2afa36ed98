"""Auditing permission changes made in the configuration (CJIS: log permission changes).

Roles, their permissions and the required courses live in the config file, not in the database, so a change is
noticed when the server starts: the enforced matrix is compared with the one recorded by the last
``access.policy_changed`` event, and any difference (or the first start) is recorded with what each role gained
and lost.
"""

from __future__ import annotations

from typing import Any

from platekeeper.access.training import required_courses
from platekeeper.audit.events import AccessPolicyChanged
from platekeeper.audit.service import Actor, AuditFilter, list_events
from platekeeper.audit.work import Work
from platekeeper.config import Settings

__all__ = ["enforced_policy", "record_policy_changes"]


def enforced_policy(settings: Settings) -> dict[str, dict[str, list[str]]]:
    """Each role's permissions and required courses, as recorded in the audit log."""
    return {
        code: {
            "permissions": sorted(role.permissions),
            "courses": [c.code for c in required_courses(settings, code)],
        }
        for code, role in sorted(settings.access.roles.items())
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for role in sorted(set(before) | set(after)):
        old, new = before.get(role, {}), after.get(role, {})
        gained = sorted(set(new.get("permissions", [])) - set(old.get("permissions", [])))
        lost = sorted(set(old.get("permissions", [])) - set(new.get("permissions", [])))
        courses = old.get("courses") != new.get("courses")
        if gained or lost or courses or (role in before) != (role in after):
            changes[role] = {"gained": gained, "lost": lost, "courses": new.get("courses", [])}
    return changes


def record_policy_changes(work: Work) -> dict[str, Any]:
    """Record the enforced roles if they differ from the last recorded ones; return the changes (empty if none).
    The system records them (``system:start-up``), whoever runs the work."""
    current = enforced_policy(work.settings)
    last = list_events(work.session, AuditFilter(action="access.policy_changed"), offset=0, limit=1)
    before = last[0].details.get("policy", {}) if last else {}
    changes = _diff(before, current)
    if changes:
        changed = AccessPolicyChanged(changes=changes, policy=dict(current), first=not last)
        work.as_(Actor.system("start-up")).record(changed)
    return changes
