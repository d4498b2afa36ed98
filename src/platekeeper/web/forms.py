"""What the pages share when they read a form: a ``datetime-local`` value in the agency's time zone."""

from __future__ import annotations

from datetime import datetime, tzinfo

__all__ = ["MISSING_TIME", "NOT_A_TIME", "local_datetime", "required_datetime"]

NOT_A_TIME = "not a date and time (use YYYY-MM-DDTHH:MM)"
MISSING_TIME = "missing: give a date and time (YYYY-MM-DDTHH:MM)"


def local_datetime(value: str | None, tz: tzinfo) -> datetime | None:
    """A ``datetime-local`` form value (no zone) read in ``tz``; None when empty. ValueError(:data:`NOT_A_TIME`)
    when it is not a date and time: the caller names the field."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(NOT_A_TIME) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def required_datetime(value: str | None, tz: tzinfo) -> datetime:
    """:func:`local_datetime` for a field that must be given: ValueError(:data:`MISSING_TIME`) when empty."""
    when = local_datetime(value, tz)
    if when is None:
        raise ValueError(MISSING_TIME)
    return when
