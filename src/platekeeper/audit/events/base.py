"""The base of every declared audit event: its action, its description and its typed, labelled detail fields.

An event is a frozen pydantic model in strict mode that forbids unknown fields, so a call site that misspells a
field, leaves one out or passes the wrong type is refused (by mypy before it runs, by validation when it runs)
before anything is written. Its stored ``details`` are the model's fields under their declared names.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

__all__ = ["AuditEventType", "InvalidAuditEvent", "detail", "optional_detail"]

_OMITTED = "omitted_when_none"


class InvalidAuditEvent(ValueError):
    """An event whose details do not match the fields its action declares (missing, unknown or of a wrong type)."""

    def __init__(self, action: str, problems: list[tuple[str, str]]) -> None:
        self.action, self.problems = action, problems
        said = "; ".join(f"field {name!r}: {why}" for name, why in problems)
        super().__init__(f"audit event {action!r} refused: {said}")

    @classmethod
    def from_validation(cls, action: str, exc: ValidationError) -> InvalidAuditEvent:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "(details)"
            why = "unknown field" if error["type"] == "extra_forbidden" else error["msg"].lower()
            problems.append((name, why))
        return cls(action, problems)


def detail(label: str, *, alias: str | None = None) -> Any:
    """A detail field that every event of its type carries (``None`` only where its type allows it)."""
    return Field(title=label, alias=alias)


def optional_detail(label: str, *, alias: str | None = None) -> Any:
    """A detail field that some events of the type carry: left out of the stored details when not given."""
    return Field(default=None, title=label, alias=alias, json_schema_extra={_OMITTED: True})


class AuditEventType(BaseModel):
    """One kind of audit event. Subclasses set ``action`` and document themselves (the docstring is the
    description shown in the log and in docs/audit-events.md); their fields are the event's details."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_by_name=True, validate_by_alias=True)

    action: ClassVar[str]
    plate_fields: ClassVar[tuple[str, ...]] = ()
    """The stored keys whose values are plate text (a dotted path for a key inside an object: ``query.plate``): the
    sealed details hold a keyed digest of each, and the text sits beside the event until it is forgotten
    (:mod:`platekeeper.audit.plates`). ``tests/test_audit_plates.py`` fails on a plate-like field not listed."""
    lookup_fields: ClassVar[tuple[str, ...]] = ()
    """Those of ``plate_fields`` that record a look at the audit log (an auditor's plate filter), not an access to
    the plate: digested like the others, but never matched when the log is filtered by that plate."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidAuditEvent.from_validation(self.action, exc) from None

    @classmethod
    def description(cls) -> str:
        """What the event means, in one sentence: the docstring's first paragraph (the rest is a note)."""
        return " ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split())

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Each stored detail key with its label, in declaration order."""
        return {stored_name(name, info): info.title or name for name, info in cls.model_fields.items()}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> AuditEventType:
        """The event for these stored details; :class:`InvalidAuditEvent` when they do not match the fields."""
        return cls(**details)

    def details(self) -> dict[str, Any]:
        """The details as stored: every field under its stored key, less the optional ones not given."""
        left_out = {
            name for name, info in type(self).model_fields.items() if is_optional(info) and getattr(self, name) is None
        }
        return self.model_dump(by_alias=True, exclude=left_out)


def stored_name(name: str, info: FieldInfo) -> str:
    """The key a field is stored under (its alias where the key is not a Python name, like ``from``)."""
    return info.alias or name


def is_optional(info: FieldInfo) -> bool:
    """Whether the field is left out of the stored details when not given."""
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get(_OMITTED))
