"""Turning audit-log filter parameters (from the page or the API) into an AuditFilter."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from platekeeper.audit.service import AUDIT_ACTIONS, AuditFilter

__all__ = ["AuditFilterError", "parse_audit_filter"]


class AuditFilterError(ValueError):
    """A filter value that cannot be used; the message names it."""


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)  # room for the day after and any time zone


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


def parse_audit_filter(
    username: str | None, action: str | None, since: str | None, until: str | None, tz: ZoneInfo
) -> AuditFilter:
    """Dates are whole days in the agency's timezone; ``until`` includes its day."""
    if action and action not in AUDIT_ACTIONS:
        raise AuditFilterError(f"action: {action!r} is not an audit action")
    start, end = _day(since, "since", tz), _day(until, "until", tz)
    if end is not None:
        end += timedelta(days=1)
    if start and end and start >= end:
        raise AuditFilterError("until: must not be before since")
    return AuditFilter(username=(username or "").strip().lower() or None, action=action or None, since=start, until=end)
