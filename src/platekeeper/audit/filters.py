"""Turning audit-log filter parameters (from the page or the API) into an AuditFilter."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from platekeeper.audit.plates import normalize_plate
from platekeeper.audit.service import AUDIT_ACTIONS, AuditFilter

__all__ = ["AuditFilterError", "AuditQuery", "export_filter", "parse_audit_filter"]


class AuditFilterError(ValueError):
    """A filter value that cannot be used; the message names it."""


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # room for the day after and any time zone
COLUMN_LENGTH = 64  # the width of the audit log's username, action, purpose and case number columns
PLATE_LENGTH = 32  # as a search takes it: room for separators around the longest plate


class AuditQuery(BaseModel):
    """The audit log's filters as the page and the API take them (query parameters); empty means not filtered.
    Longer values than these are refused (422 naming the field) before anything reads them."""

    username: str = Field("", max_length=COLUMN_LENGTH, description="Who acted: a username")
    action: str = Field("", max_length=COLUMN_LENGTH, description="An audit action (docs/audit-events.md)")
    plate: str = Field(
        "",
        max_length=PLATE_LENGTH,
        description="The plate an event concerns (searched, viewed, alerted, asked for), exactly; spaces and "
        "dashes are dropped and letters upper-cased, as a search does",
    )
    case_number: str = Field("", max_length=COLUMN_LENGTH, description="The case number the access was made under")
    purpose: str = Field("", max_length=COLUMN_LENGTH, description="The purpose code the access was made under")
    since: str = Field("", max_length=10, description="First day, YYYY-MM-DD, agency timezone")
    until: str = Field("", max_length=10, description="Last day, YYYY-MM-DD, agency timezone")

    def params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (for links that keep them)."""
        return {name: value for name, value in self.model_dump().items() if value}


def _day(value: str | None, name: str, tz: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise AuditFilterError(f"{name}: not a date (use YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise AuditFilterError(f"{name}: must be a date from {FIRST_DAY} to {LAST_DAY}")
    return datetime.combine(day, time.min, tzinfo=tz)


def parse_audit_filter(query: AuditQuery, tz: ZoneInfo) -> AuditFilter:
    """Dates are whole days in the agency's timezone; ``until`` includes its day."""
    if query.action and query.action not in AUDIT_ACTIONS:
        raise AuditFilterError(f"action: {query.action!r} is not an audit action")
    start, end = _day(query.since, "since", tz), _day(query.until, "until", tz)
    if end is not None:
        end += timedelta(days=1)
    if start and end and start >= end:
        raise AuditFilterError("until: must not be before since")
    return AuditFilter(
        username=query.username.strip().lower() or None,
        action=query.action or None,
        plate=normalize_plate(query.plate) or None,
        case_number=query.case_number.strip() or None,
        purpose=query.purpose.strip() or None,
        since=start,
        until=end,
    )


def export_filter(flt: AuditFilter, max_days: int, tz: ZoneInfo) -> AuditFilter:
    """The filter of an export: a period from ``since`` (which it needs) to ``until`` (today when not given) of at
    most ``max_days`` whole days (``audit.export_max_days``)."""
    if flt.since is None:
        raise AuditFilterError("since: an export covers a period: give its first day (YYYY-MM-DD)")
    until = flt.until or datetime.combine(datetime.now(tz).date() + timedelta(days=1), time.min, tzinfo=tz)
    if until <= flt.since:
        raise AuditFilterError("until: must not be before since (without until, the period ends today)")
    days = (until.date() - flt.since.date()).days
    if days > max_days:
        raise AuditFilterError(
            f"until: an export covers at most {max_days} days (audit.export_max_days), and this period is "
            f"{days} days: export it in parts"
        )
    return replace(flt, until=until)
