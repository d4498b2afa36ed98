"""Helpers for the guards' tests: planted notices, and searches as a signed-in officer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from platekeeper.access.models import User
from platekeeper.notices.service import NoticeDraft, raise_notice
from tests.conftest import CONTEXT, Harness


def plant_notices(harness: Harness, subject: str = "officerx") -> tuple[int, int]:
    """A guard's notice about ``subject`` (an officer made for it when no account has that name: a supervisor sees
    notices about the users they supervise) and a breach notice, raised through the real service: their ids."""
    with harness.database.session() as session:
        known = session.scalar(select(User).where(User.username == subject))
    if known is None:
        harness.user(subject, "sworn_officer")
    with harness.database.session() as session:
        work = harness.work(session)
        guard, _ = raise_notice(
            work,
            NoticeDraft(
                kind="guard",
                severity="notice",
                rule="plateless_searches",
                finding=f"{subject} ran 11 searches without a plate in the last an hour; the rule allows 10.",
                subject=subject,
                subject_role="sworn_officer",
                figures={"count": 11, "threshold": 10, "window_minutes": 60},
            ),
        )
        breach, _ = raise_notice(
            work,
            NoticeDraft(
                kind="verification",
                severity="breach",
                rule="audit_chain",
                finding="The scheduled verification found that the chain is broken at event 3.",
                dedupe_minutes=None,
            ),
        )
        return guard.id, breach.id


def search(client: TestClient, *, context: dict[str, str] | None = None, **query: Any) -> Response:
    """``GET /api/v1/reads`` under ``context`` (the test's CONTEXT by default)."""
    params = {**(context or CONTEXT), **query}
    return client.get("/api/v1/reads", params=params)


def last_hour() -> dict[str, str]:
    """A plate-less query's time range: the last hour."""
    now = datetime.now(UTC)
    return {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
