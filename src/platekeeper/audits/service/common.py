"""What the system audit's checks share: a finding before it is stored, and the audit's period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from platekeeper.config import Settings

__all__ = ["SEQS_KEPT", "AuditNotFound", "AuditPeriod", "AuditRefused", "Draft"]

SEQS_KEPT = 20  # audit events named per finding: enough to open them in the log, few enough to read


class AuditRefused(ValueError):
    """A step on a system audit that cannot be taken; the message names the field and the rule."""

    def __init__(self, field_name: str, why: str, status: int = 400) -> None:
        self.field, self.why, self.status = field_name, why, status
        super().__init__(f"{field_name}: {why}")


class AuditNotFound(LookupError):
    """No system audit (or sample item) with that id."""


@dataclass(frozen=True)
class AuditPeriod:
    """The period an audit covers, ``[since, until)``, and the configuration it is checked under."""

    since: datetime
    until: datetime
    settings: Settings

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.settings.tz)


@dataclass(frozen=True)
class Draft:
    """A finding before it is stored: the check that made it, the policy section, how serious, the user concerned,
    what was found in words, how many accesses or records, and the audit events it rests on (a few)."""

    kind: str
    section: str
    severity: str
    detail: str
    subject: str | None = None
    count: int = 1
    seqs: tuple[int, ...] = field(default=())

    def kept_seqs(self) -> list[int]:
        return list(self.seqs[:SEQS_KEPT])
