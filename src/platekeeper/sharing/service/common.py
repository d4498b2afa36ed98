"""What the sharing services share: the refusal naming a field, the scope of a request and its checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.access.principal import Principal
from platekeeper.audit.events import SharingStepRefused
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.config import Settings

__all__ = [
    "MAX_WINDOW_DAYS",
    "RequestScope",
    "SharingNotFound",
    "SharingRefused",
    "clean_text",
    "refuse_step",
    "validate_scope",
]

PLATE = re.compile(r"^[A-Z0-9]{1,12}$")
MAX_WINDOW_DAYS = 3660


class SharingRefused(ValueError):
    """A request or step that cannot be taken; ``field`` names the field or the rule (``status``: the request is
    not in the state the step needs; ``reviewer``: self-approval or a reviewer who is not one)."""

    def __init__(self, field_name: str, why: str) -> None:
        self.field, self.why = field_name, why
        super().__init__(f"{field_name}: {why}")


class SharingNotFound(LookupError):
    """No agency, request or release with that id."""


@dataclass(frozen=True)
class RequestScope:
    """What a request asks for: plates (none: every plate), a time window, cameras (none: every camera)."""

    plates: tuple[str, ...]
    since: datetime
    until: datetime
    camera_ids: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "plates": list(self.plates),
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "camera_ids": list(self.camera_ids),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RequestScope:
        return cls(
            plates=tuple(value["plates"]),
            since=datetime.fromisoformat(value["since"]),
            until=datetime.fromisoformat(value["until"]),
            camera_ids=tuple(value["camera_ids"]),
        )

    @property
    def days(self) -> float:
        return (self.until - self.since) / timedelta(days=1)


def clean_text(value: str | None, field_name: str, low: int, high: int) -> str:
    """``value`` with its whitespace collapsed, between ``low`` and ``high`` characters; refused otherwise."""
    text = " ".join((value or "").split())
    if not low <= len(text) <= high:
        raise SharingRefused(field_name, f"give {low} to {high} characters")
    return text


def validate_scope(session: Session, settings: Settings, scope: RequestScope) -> RequestScope:
    """The scope with its plates normalized; :class:`SharingRefused` naming the field otherwise."""
    plates = tuple(dict.fromkeys(re.sub(r"[\s-]", "", p).upper() for p in scope.plates if p.strip()))
    for number, plate in enumerate(plates, start=1):
        if not PLATE.fullmatch(plate):  # named by its place, not quoted: the refusal is kept in the audit log
            why = f"plate {number} of {len(plates)}: letters and digits only, at most 12 (no wildcards)"
            raise SharingRefused("plates", why)
    if len(plates) > settings.sharing.max_plates:
        raise SharingRefused("plates", f"at most {settings.sharing.max_plates} plates (sharing.max_plates)")
    for name, value in (("since", scope.since), ("until", scope.until)):
        if value.tzinfo is None:
            raise SharingRefused(name, "give a timezone (e.g. 2026-01-31T08:00:00-08:00)")
    if scope.until <= scope.since:
        raise SharingRefused("until", "must be after since")
    if scope.days > MAX_WINDOW_DAYS:
        raise SharingRefused("until", f"a window may span at most {MAX_WINDOW_DAYS} days")
    cameras = tuple(sorted(set(scope.camera_ids)))
    if cameras:
        known = session.scalar(select(func.count(Camera.id)).where(Camera.id.in_(cameras))) or 0
        if known != len(cameras):
            raise SharingRefused("camera_ids", "name registered cameras only")
    return RequestScope(plates, scope.since, scope.until, cameras)


def check_received_on(received_on: date, today: date) -> date:
    """The date a request arrived: not in the future, not older than ten years."""
    if received_on > today:
        raise SharingRefused("received_on", "is in the future")
    if received_on < today - timedelta(days=3660):
        raise SharingRefused("received_on", "is more than ten years ago")
    return received_on


def refuse_step(work: Work, principal: Principal, request_id: int, step: str, error: SharingRefused) -> SharingRefused:
    """Record a refused step in the audit log (it commits: the route answers instead of raising) and return it."""
    work.by(principal).record(SharingStepRefused(request_id=request_id, step=step, why=str(error)), outcome="refused")
    return error
