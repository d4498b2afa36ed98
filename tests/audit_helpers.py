"""Helpers for the system audits' tests: accounts approved and trained a month ago, accesses to plate data
written through the real audit service at chosen times (the audit log's clock set for the write), the daily purges,
a signed-off account review, and each planted problem of issue 23.

An access is written as its door writes it (``work.by(principal).record(ReadsSearched(...))``), so the audit's
checks read exactly what a real search leaves in the log; the clock is set because a night-time burst or a search two
days ago cannot be made at the time the test runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import update

from platekeeper.access.models import TrainingRecord, User
from platekeeper.access.review import sign_off_review
from platekeeper.access.service import principal_for, user_by_name
from platekeeper.audit.events import ReadsSearched
from platekeeper.audit.service import Actor
from platekeeper.retention.models import LegalHold, PurgeRun
from platekeeper.sharing.models import SharingRelease, SharingRequest
from tests.conftest import Harness

PERFORMER, APPROVER = "ada", "audrey"
CLEAN_USERS = ("olive", "oscar")
GOOD = "grey sedan seen leaving the burglary on 5th St"
COLOURS = ("grey", "white", "black", "red", "blue", "green", "silver")


@dataclass(frozen=True)
class Clock:
    """The audit log's clock for the writes a test plants (the rest of the app keeps the real time)."""

    monkeypatch: pytest.MonkeyPatch

    @contextmanager
    def at(self, when: datetime) -> Iterator[None]:
        with self.monkeypatch.context() as patch:
            patch.setattr("platekeeper.audit.service.utcnow", lambda: when)
            yield


def local(harness: Harness, day: date, hour: int, minute: int = 0) -> datetime:
    """A time of day in the agency's time zone, in UTC."""
    return datetime.combine(day, time(hour, minute), harness.settings.tz).astimezone(UTC)


def accounts(harness: Harness, *, untrained: tuple[str, ...] = (), more: tuple[str, ...] = ()) -> None:
    """The performer, the approver, the clean officers and every account a plant names, approved and trained (the
    ``untrained`` ones not) a month ago, so that accesses in the last days fall within their approval."""
    harness.user(PERFORMER, "alpr_admin")
    harness.user(APPROVER, "auditor")
    for name in (*CLEAN_USERS, "nocase", "rita", "nina", "bob", *more):
        harness.user(name, "sworn_officer")
    for name in untrained:
        harness.user(name, "sworn_officer", trained=False)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with harness.database.session() as session:
        session.execute(update(User).values(approved_at=month_ago, created_at=month_ago))
        session.execute(update(TrainingRecord).values(completed_on=month_ago.date()))


def access(
    harness: Harness,
    clock: Clock,
    username: str,
    when: datetime,
    *,
    plate: str | None = "7ABC123",
    case_number: str | None = "2026-001234",
    justification: str | None = GOOD,
    purpose: str = "criminal_investigation",
    page: int = 1,
    results: int = 3,
    client: str = "10.0.0.5",
) -> None:
    """One search of plate reads by ``username`` at ``when``, recorded as the search's door records it."""
    event = ReadsSearched(
        plate=plate, wildcard=False, since=None, until=None, cameras=[], page=page, results=results, thumbnails=True
    )
    with harness.database.session() as session, clock.at(when):
        user = user_by_name(session, username)
        assert user is not None
        work = harness.work(session).as_(Actor.of(principal_for(user, harness.settings), client))
        work.record(event, purpose=purpose, case_number=case_number, justification=justification)


def clean_day(harness: Harness, clock: Clock, day: date) -> int:
    """An ordinary working day of the clean officers: a few searches each, by day, distinct plates. How many."""
    n = 0
    for i, name in enumerate(CLEAN_USERS):
        for j in range(3):
            case = f"2026-1{i}{j}{day.day:03d}"
            when = local(harness, day, 9 + 2 * j, 10 * i)
            why = f"{COLOURS[i]} sedan seen leaving the burglary at {day.day * 10 + j} Elm St"
            access(harness, clock, name, when, plate=f"7CL{i}{j}{day.day:02d}", case_number=case, justification=why)
            n += 1
    return n


def purges(harness: Harness, days: list[date]) -> None:
    """A finished daily purge on each of ``days`` at 03:00 agency time."""
    with harness.database.session() as session:
        for day in days:
            done = local(harness, day, 3)
            session.add(
                PurgeRun(
                    cutoff=done - timedelta(days=365),
                    plate_text_cutoff=done - timedelta(days=365),
                    started_at=done - timedelta(minutes=1),
                    finished_at=done,
                    status="finished",
                    trigger="schedule",
                    counts={"reads": 0},
                )
            )


def review_signed_off(harness: Harness) -> None:
    """The 6-monthly account review, signed off now by the administrator."""
    with harness.database.session() as session:
        user = user_by_name(session, PERFORMER)
        assert user is not None
        work = harness.work(session).by(principal_for(user, harness.settings))
        sign_off_review(work, "checked every account, role, approver and training record")


def expired_hold(harness: Harness) -> None:
    """An active legal hold requested 400 days ago (past audits.checks.hold_age_days)."""
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with harness.database.session() as session:
        session.add(
            LegalHold(
                case_number="2025-000777",
                reason="evidence",
                description="robbery series evidence",
                scope="plate",
                plate="7HLD001",
                since=long_ago - timedelta(days=30),
                until=long_ago,
                status="active",
                requested_by=PERFORMER,
                requested_at=long_ago,
                decided_by=APPROVER,
                decided_at=long_ago + timedelta(hours=2),
            )
        )


def unapproved_release(harness: Harness, when: datetime) -> None:
    """A sharing release whose request was never reviewed (462.7(b) broken)."""
    with harness.database.session() as session:
        request = SharingRequest(
            channel="agency",
            requester_name="Det. Vance",
            requester_contact="vance@example.gov",
            purpose="criminal_investigation",
            description="reads of a suspect vehicle",
            case_number="2026-004321",
            plates=["7SHR001"],
            since=when - timedelta(days=5),
            until=when - timedelta(days=1),
            received_on=when.date(),
            entered_by="olive",
            entered_at=when - timedelta(hours=1),
            status="pending_review",
        )
        session.add(request)
        session.flush()
        session.add(
            SharingRelease(
                request_id=request.id,
                channel="agency",
                recipient="Neighbouring PD",
                approved_by=PERFORMER,
                released_by=PERFORMER,
                created_at=when,
                method="media",
                reads=12,
                images=12,
                manifest_sha256=uuid.uuid4().hex * 2,
                location="evidence locker 4",
            )
        )
