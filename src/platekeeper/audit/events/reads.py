"""Audit events of cameras and plate reads."""

from __future__ import annotations

from typing import Any, ClassVar

from platekeeper.audit.events.base import AuditEventType, detail, optional_detail

__all__ = [
    "ACCESS_REFUSED",
    "AccessRefused",
    "AlertAccessRefused",
    "CameraCreated",
    "CameraDeactivated",
    "CameraKeyRotated",
    "HotlistAccessRefused",
    "PlateStoryViewed",
    "ReadAccessRefused",
    "ReadCorrected",
    "ReadImageViewed",
    "ReadViewed",
    "ReadsSearched",
]


class CameraCreated(AuditEventType):
    """A camera was registered and given an API key."""

    action: ClassVar[str] = "cameras.create"
    camera_id: int = detail("Camera")
    name: str = detail("Name")
    kind: str = detail("Kind")
    key_prefix: str = detail("Key prefix")


class CameraKeyRotated(AuditEventType):
    """A camera's API key was replaced."""

    action: ClassVar[str] = "cameras.rotate_key"
    camera_id: int = detail("Camera")
    name: str = detail("Name")
    key_prefix: str = detail("New key prefix")


class CameraDeactivated(AuditEventType):
    """A camera was deactivated."""

    action: ClassVar[str] = "cameras.deactivate"
    camera_id: int = detail("Camera")
    name: str = detail("Name")


class ReadsSearched(AuditEventType):
    """Plate reads were searched."""

    action: ClassVar[str] = "reads.search"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    plate: str | None = detail("Plate")
    wildcard: bool = detail("Wildcard")
    since: str | None = detail("Since")
    until: str | None = detail("Until")
    cameras: list[int] = detail("Cameras")
    page: int = detail("Page")
    sort: str | None = optional_detail("Sorted by")
    results: int = detail("Results")
    more_results: bool | None = optional_detail("More results than counted (search.count_limit)")
    thumbnails: bool = detail("Thumbnails shown")


class ReadViewed(AuditEventType):
    """One plate read was opened, with its images."""

    action: ClassVar[str] = "reads.view"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    read_id: str = detail("Read")
    plate: str | None = detail("Plate")
    found: bool = detail("Found")


class ReadCorrected(AuditEventType):
    """A person corrected a misread plate after the visual check of an alert: what it really says, or that it is
    unreadable. The reader's text stays beside it."""

    action: ClassVar[str] = "reads.correct"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate", "corrected_plate")
    read_id: str = detail("Read")
    plate: str = detail("Read as")
    corrected_plate: str | None = detail("Corrected to")
    unreadable: bool = detail("Unreadable")
    alert_id: int | None = optional_detail("Alert")


class PlateStoryViewed(AuditEventType):
    """One plate's story was opened: its reads on a timeline and a map, their crops, and its hotlist hits."""

    action: ClassVar[str] = "reads.plate_story"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    plate: str = detail("Plate")
    reads: int = detail("Reads shown")
    total_reads: int = detail("Reads in all")
    hits: int = detail("Hotlist hits")


class ReadImageViewed(AuditEventType):
    """An image of a plate read was retrieved."""

    action: ClassVar[str] = "reads.image"
    plate_fields: ClassVar[tuple[str, ...]] = ("plate",)
    read_id: str = detail("Read")
    kind: str = detail("Image")
    plate: str | None = detail("Plate")


class AccessRefused(AuditEventType):
    """What every refusal of a stated purpose, case number or justification records: the action attempted, why it
    was refused and what was asked (never the justification's text). Each domain records it under its own action."""

    plate_fields: ClassVar[tuple[str, ...]] = ("query.plate",)
    attempted: str = detail("Action attempted")
    reason: str = detail("Reason")
    query: dict[str, Any] = detail("Query")


class ReadAccessRefused(AccessRefused):
    """An access to plate data was refused."""

    action: ClassVar[str] = "reads.access_refused"


class AlertAccessRefused(AccessRefused):
    """Opening an alert was refused: no acceptable purpose, case number or justification."""

    action: ClassVar[str] = "alerts.access_refused"


class HotlistAccessRefused(AccessRefused):
    """A hotlist's entries (plate data) were refused: no acceptable purpose, case number or justification."""

    action: ClassVar[str] = "hotlists.access_refused"


ACCESS_REFUSED: dict[str, type[AccessRefused]] = {
    "reads": ReadAccessRefused,
    "alerts": AlertAccessRefused,
    "hotlists": HotlistAccessRefused,
}
"""The refusal each domain records, by the first part of the attempted action's name."""
