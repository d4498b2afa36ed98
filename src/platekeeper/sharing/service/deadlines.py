"""Public Records Act deadlines: pure date arithmetic, no tables.

The determination is due ``sharing.pra_determination_days`` (10) calendar days after receipt; one extension makes
it ``pra_determination_days + pra_extension_days`` (24) calendar days after receipt. A deadline that falls on a
Saturday, a Sunday or a holiday in ``sharing.pra_holidays`` moves to the next business day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

__all__ = ["days_left", "pra_due_on"]


def pra_due_on(received_on: date, days: int, holidays: Iterable[date]) -> date:
    """``days`` calendar days after ``received_on``, moved past weekends and holidays to the next business day."""
    closed = set(holidays)
    due = received_on + timedelta(days=days)
    while due.weekday() >= 5 or due in closed:
        due += timedelta(days=1)
    return due


def days_left(due_on: date, today: date) -> int:
    """Calendar days from ``today`` to the deadline (negative once it has passed)."""
    return (due_on - today).days
