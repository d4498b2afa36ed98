"""Who is asking: a signed-in user with the permissions their role grants."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PermissionDenied", "Principal", "TrainingRequired"]


class PermissionDenied(Exception):
    """The principal's role does not grant the permission; the message says which one."""

    def __init__(self, permission: str, role: str, principal: Principal | None = None) -> None:
        super().__init__(f"your role ({role}) does not grant the permission {permission!r}")
        self.permission = permission
        self.principal = principal  # who was refused, for the audit record of the refusal
        self.role = role


class TrainingRequired(PermissionDenied):
    """The role grants the permission, but required training is missing or expired (policy 462.10)."""

    def __init__(self, permission: str, role: str, gaps: tuple[str, ...]) -> None:
        super().__init__(permission, role)
        self.gaps = gaps
        what = "the audit log" if permission.startswith(("audit.", "audits.")) else "plate data"
        self.args = (f"{what} needs current training (policy 462.10): " + "; ".join(gaps),)


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    organization: str
    role: str
    role_label: str
    permissions: frozenset[str]
    training_gaps: tuple[str, ...] = ()  # each names a required course that is missing or expired

    def can(self, permission: str) -> bool:
        """Whether the role grants ``permission``."""
        return permission in self.permissions

    def require(self, permission: str) -> None:
        """Raise :class:`PermissionDenied` unless the role grants ``permission``."""
        if permission not in self.permissions:
            raise PermissionDenied(permission, self.role, self)

    def require_training(self, permission: str) -> None:
        """Raise :class:`TrainingRequired` when a required course is missing or expired (gates all plate data)."""
        if self.training_gaps:
            raise TrainingRequired(permission, self.role, self.training_gaps)
