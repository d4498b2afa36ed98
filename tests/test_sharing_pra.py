"""Public Records Act requests and the sharing register (policy 462.7)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from platekeeper.audit.models import AuditEvent
from platekeeper.config import load_settings
from platekeeper.retention.service import Disposal
from platekeeper.sharing.models import SharingRequest
from platekeeper.sharing.service import days_left, pra_due_on
from tests.conftest import Harness
from tests.retention_helpers import ingest_reads, read_with
from tests.sharing_helpers import PDF, agency, agency_today, package_reads, submit, window

HOLIDAYS = load_settings().sharing.pra_holidays


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        ("2026-03-02", 10, "2026-03-12"),  # Monday + 10 = Thursday: stays
        ("2026-03-04", 10, "2026-03-16"),  # + 10 = Saturday: moves to Monday
        ("2026-03-07", 10, "2026-03-17"),  # received on a Saturday: calendar days still count from it
        ("2026-03-21", 10, "2026-04-01"),  # + 10 = Tuesday 31 March, Cesar Chavez Day: Wednesday
        ("2026-11-17", 10, "2026-11-30"),  # + 10 = the day after Thanksgiving, then the weekend: Monday
        ("2026-12-15", 10, "2026-12-28"),  # + 10 = Christmas Day (Friday), then the weekend: Monday
        ("2026-03-04", 24, "2026-03-30"),  # extended: 10 + 14 = Saturday 28 March: Monday
        ("2026-11-03", 24, "2026-11-30"),  # extended: + 24 = Friday 27 November, a holiday: Monday 30
    ],
)
def test_pra_deadlines_across_weekends_holidays_and_the_extension(received: str, days: int, due: str) -> None:
    assert pra_due_on(date.fromisoformat(received), days, HOLIDAYS).isoformat() == due


def test_days_left() -> None:
    assert days_left(date(2026, 3, 16), date(2026, 3, 4)) == 12
    assert days_left(date(2026, 3, 16), date(2026, 3, 17)) == -1


def _pra(client, received: date, **overrides) -> dict:
    body = {"requester_name": "Jane Reporter", "requester_contact": "jane@news.example",
            "description": "ALPR reads of my own car last week", "plates": ["7PRA001"],
            "received_on": received.isoformat(), **window(), **overrides}  # fmt: skip
    response = client.post("/api/v1/pra", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_pra_request_gets_its_deadline_an_extension_once_and_days_left(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    today = datetime.now(UTC).astimezone(harness.settings.tz).date()
    made = _pra(clerk, today - timedelta(days=2))
    expected = pra_due_on(today - timedelta(days=2), 10, harness.settings.sharing.pra_holidays)
    assert made["pra_due_on"] == expected.isoformat() and made["days_left"] == (expected - today).days
    short = clerk.post(f"/api/v1/pra/{made['id']}/extend", json={"reason": "busy"})
    assert short.status_code == 400 and short.json()["field"] == "reason"
    extended = clerk.post(f"/api/v1/pra/{made['id']}/extend", json={"reason": "records span several cameras"})
    longer = pra_due_on(today - timedelta(days=2), 24, harness.settings.sharing.pra_holidays)
    assert extended.json()["pra_due_on"] == longer.isoformat() and extended.json()["status"] == "extended"
    twice = clerk.post(f"/api/v1/pra/{made['id']}/extend", json={"reason": "records span several cameras"})
    assert twice.status_code == 409


def test_a_deadline_that_has_passed_is_not_extended_and_reads_overdue(harness: Harness) -> None:
    """Notice of an extension goes out within the first period (Gov. Code 7922.535): once the determination is
    overdue, the request is determined, not extended; its page says how many days overdue."""
    clerk = harness.signed_in("records", "clerk")
    made = _pra(clerk, agency_today() - timedelta(days=40))
    assert made["days_left"] < 0
    late = clerk.post(f"/api/v1/pra/{made['id']}/extend", json={"reason": "records span several cameras"})
    assert late.status_code == 409 and late.json()["field"] == "status" and "was due on" in late.json()["detail"]
    page = clerk.get(f"/pra/{made['id']}")
    assert f"overdue by {-made['days_left']} days" in page.text and "days left" not in page.text


def test_plate_data_is_released_only_after_redactions_are_recorded(harness: Harness) -> None:
    _, key = harness.camera("Highland")
    (read_id,) = ingest_reads(harness, key, read_with("7PRA001", (1, 2, 3)))
    clerk = harness.signed_in("records", "clerk")
    made = _pra(clerk, agency_today())
    assert clerk.post(f"/api/v1/pra/{made['id']}/release").status_code == 409  # not determined yet
    answer = {"determination": "release", "response": "records will be released redacted"}
    determined = clerk.post(f"/api/v1/pra/{made['id']}/determination", json=answer)
    assert determined.status_code == 200 and determined.json()["status"] == "determined"
    early = clerk.post(f"/api/v1/pra/{made['id']}/release")
    assert early.status_code == 400 and early.json()["field"] == "redactions"
    partial = clerk.post(f"/api/v1/pra/{made['id']}/redactions", json={"decisions": {"plate": "redact"}})
    assert partial.status_code == 400 and "captured_at" in partial.json()["detail"]
    decisions = {"plate": "redact", "captured_at": "release", "camera": "release", "coordinates": "redact",
                 "crop_image": "redact", "overview_image": "redact"}  # fmt: skip
    assert clerk.post(f"/api/v1/pra/{made['id']}/redactions", json={"decisions": decisions}).status_code == 200
    released = clerk.post(f"/api/v1/pra/{made['id']}/release")
    assert released.status_code == 200 and released.json()["reads"] == 1 and released.json()["images"] == 0
    data = harness.client.post("/" + released.json()["link"].split("://", 1)[1].split("/", 1)[1]).content
    (row,) = package_reads(data)
    assert row["id"] == read_id and row["plate"] == "[redacted]" and row["latitude"] == "[redacted]"
    assert row["camera"] == "Highland"


def _fulfilled(harness: Harness, clerk, manager, name: str, plate: str) -> int:
    made = submit(clerk, agency(clerk, name, ori=None), plates=[plate])
    assert (
        manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"}).status_code == 200
    )
    assert clerk.post(f"/api/v1/sharing/requests/{made['id']}/fulfil", json={}).status_code == 200
    return int(made["id"])


def test_the_register_is_complete(harness: Harness) -> None:
    _, key = harness.camera("Manhattan Ave")
    ingest_reads(harness, key, read_with("6REG001", (5, 5, 5)), read_with("6REG001", (6, 6, 6)),
                 read_with("6REG002", (7, 7, 7)))  # fmt: skip
    clerk, manager = harness.signed_in("records", "clerk"), harness.signed_in("records_manager", "boss")
    first = _fulfilled(harness, clerk, manager, "Torrance Police Department", "6REG001")
    second = _fulfilled(harness, clerk, manager, "LA County District Attorney", "6REG002")
    waiting = submit(clerk, agency(clerk, "El Segundo Police Department", ori=None))
    manager.post(f"/api/v1/sharing/requests/{waiting['id']}/review", json={"decision": "approve"})
    submit(clerk, agency(clerk, "US Customs", kind="law_enforcement", jurisdiction="federal", ori=None))
    auditor = harness.signed_in("auditor", "audit")
    register = auditor.get("/api/v1/sharing/register").json()
    assert sorted((r["request_id"], r["reads"]) for r in register["releases"]) == [(first, 2), (second, 1)]
    assert register["counts"]["releases"] == {"agency": 2} and register["counts"]["reads"] == {"agency": 3}
    assert register["counts"]["requests"]["agency"] == {"fulfilled": 2, "approved": 1, "refused": 1}
    lines = auditor.get("/api/v1/sharing/register?format=jsonl").text.splitlines()
    assert sorted(json.loads(line)["request_id"] for line in lines) == [first, second]
    rows = auditor.get("/sharing/register?format=csv").text.splitlines()
    assert len(rows) == 3 and rows[0].startswith("release_id,channel,request_id")
    summary = auditor.get("/api/v1/sharing/summary").json()
    assert summary["agencies"] == ["LA County District Attorney", "Torrance Police Department"]
    assert summary["agency_releases"] == 2 and summary["agency_reads_shared"] == 3
    assert set(summary) == {"agency_requests", "agency_requests_refused", "agency_releases", "agency_reads_shared",
                            "pra_requests", "pra_releases", "agencies", "recipients"}  # fmt: skip
    assert summary["recipients"] == [{"agency": "LA County District Attorney", "releases": 1, "reads": 1},
                                     {"agency": "Torrance Police Department", "releases": 1, "reads": 2}]  # fmt: skip
    page = auditor.get("/sharing/register")
    assert page.status_code == 200 and "Torrance Police Department" in page.text
    assert auditor.get("/api/v1/sharing/requests").status_code == 403  # the auditor sees the register, no plates


def test_requests_are_kept_on_file_apart_from_the_reads(harness: Harness) -> None:
    clerk, manager = harness.signed_in("records", "clerk"), harness.signed_in("records_manager", "boss")
    made = submit(clerk, agency(clerk))
    manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    with harness.database.session() as session:  # reads far older than retention do not take the request along
        session.execute(update(SharingRequest).values(received_on=agency_today() - timedelta(days=3000)))
    harness.client.app.state.platekeeper.services.purger().run(trigger="command")
    kept = clerk.get(f"/api/v1/sharing/requests/{made['id']}").json()
    retain = agency_today() + timedelta(days=harness.settings.sharing.retention_days)
    assert kept["status"] == "approved" and kept["retain_until"] == retain.isoformat()


def test_the_purge_disposes_of_requests_past_retain_until_and_the_register_keeps_the_count(
    harness: Harness,
) -> None:
    clerk, manager = harness.signed_in("records", "clerk"), harness.signed_in("records_manager", "boss")
    agency_id = agency(clerk)
    old, other, young = (submit(clerk, agency_id) for _ in range(3))  # the same PDF bytes: one stored document
    for made in (old, other, young):
        manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    documents = harness.client.app.state.platekeeper.services.documents
    (digest,) = {p.name for p in documents.root.rglob("*") if p.is_file()}
    yesterday = agency_today() - timedelta(days=1)
    with harness.database.session() as session:
        session.execute(update(SharingRequest).where(SharingRequest.id == old["id"]).values(retain_until=yesterday))
    run = harness.client.app.state.platekeeper.services.purger().run(trigger="command")
    assert run.counts["sharing_requests"] == 1
    assert clerk.get(f"/api/v1/sharing/requests/{old['id']}").status_code == 404
    assert clerk.get(f"/api/v1/sharing/requests/{young['id']}").status_code == 200
    assert documents.get(digest) == PDF  # still named by the requests kept
    with harness.database.session() as session:
        session.execute(update(SharingRequest).values(retain_until=yesterday))
    run = harness.client.app.state.platekeeper.services.purger().run(trigger="command")
    assert run.counts["sharing_requests"] == 2
    assert not documents.path(digest).exists()  # the last request naming it went: the document goes too
    assert run.certificate is not None and "sharing_requests" in json.dumps(run.certificate)
    auditor = harness.signed_in("auditor", "audit")
    register = auditor.get("/api/v1/sharing/register").json()
    assert register["counts"]["disposed"] == 3 and register["counts"]["requests"] == {}
    assert "Requests disposed after their retention" in auditor.get("/sharing/register").text
    with harness.database.session() as session:
        finished = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")).all()
    assert [e.details["sharing_requests"] for e in finished] == [1, 2]


def test_a_purge_killed_after_a_disposal_commits_still_deletes_its_files(harness: Harness) -> None:
    """A disposed request's document is deleted from disk after its batch commits. A purge killed between the two
    leaves the file, listed in the same transaction as the request's deletion; the next purge deletes it."""
    clerk, manager = harness.signed_in("records", "clerk"), harness.signed_in("records_manager", "boss")
    made = submit(clerk, agency(clerk))
    manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    documents = harness.client.app.state.platekeeper.services.documents
    (digest,) = {p.name for p in documents.root.rglob("*") if p.is_file()}
    with harness.database.session() as session:
        session.execute(update(SharingRequest).values(retain_until=agency_today() - timedelta(days=1)))
    killed = harness.client.app.state.platekeeper.services.purger()
    sharing = killed.disposals["sharing_requests"]

    calls: list[int] = []

    def dies_after_commit(work, today, limit):  # type: ignore[no-untyped-def]
        if calls:  # the batch after the one that committed: the process was killed before it
            raise KeyboardInterrupt
        calls.append(1)
        return sharing.remove(work, today, limit)  # commits; the kill comes before the next batch's file deletion

    killed.disposals["sharing_requests"] = Disposal(sharing.count, dies_after_commit)
    with pytest.raises(KeyboardInterrupt):
        killed.run(trigger="command")
    assert documents.path(digest).exists()  # left behind by the kill
    with harness.database.session() as session:
        assert session.scalar(select(SharingRequest.id)) is None  # the request itself is gone
    harness.client.app.state.platekeeper.services.purger().run(trigger="command")
    assert not documents.path(digest).exists()
