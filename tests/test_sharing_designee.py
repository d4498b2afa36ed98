"""A designee role holding only ``sharing.review`` (config ``sharing.designee_roles``) reviews through the pages: it
opens the queue, the request, its written request and the review form, and still cannot enter or fulfil."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import load_settings
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, Harness, csrf_of
from tests.sharing_helpers import PDF, agency, submit

SUPERVISOR = {
    "label": "Records Supervisor",
    "permissions": ["sharing.review", "sharing.register"],
    "description": "Reviews sharing requests as the Records Manager's designee.",
}


@pytest.fixture
def designees(harness: Harness) -> Iterator[Harness]:
    """The same database, served with a ``records_supervisor`` designee role."""
    roles = {**harness.settings.access.model_dump()["roles"], "records_supervisor": SUPERVISOR}
    settings = load_settings(data_dir=harness.settings.data_dir, database_url=harness.settings.database_url,
                             access={**FAST_HASH, "roles": roles},
                             sharing={"designee_roles": ["records_supervisor"]})  # fmt: skip
    with TestClient(create_app(settings, harness.database)) as client:
        yield Harness(settings=settings, database=harness.database, client=client, totp=harness.totp)


def test_a_review_only_designee_reviews_through_the_pages(designees: Harness) -> None:
    clerk = designees.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk))
    supervisor = designees.signed_in("records_supervisor", "super")
    queue = supervisor.get("/sharing/review")
    assert queue.status_code == 200 and f"/sharing/review/{made['id']}" in queue.text
    page = supervisor.get(f"/sharing/review/{made['id']}")
    assert page.status_code == 200 and "Approve the request" in page.text
    assert f"/sharing/review/{made['id']}/document" in page.text
    document = supervisor.get(f"/sharing/review/{made['id']}/document")
    assert document.status_code == 200 and document.content == PDF
    with designees.database.session() as session:  # what it asks for names plates: opening it is recorded
        opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "sharing.open")).all()
    assert [(e.username, e.details["what"]) for e in opened] == [("super", "page"), ("super", "document")]
    assert supervisor.get(f"/sharing/requests/{made['id']}").status_code == 403  # intake's page stays intake's
    assert supervisor.get("/sharing").status_code == 403
    token = csrf_of(page.text)
    approved = supervisor.post(f"/sharing/requests/{made['id']}/review",
                               data={"csrf_token": token, "decision": "approve"}, follow_redirects=False)  # fmt: skip
    assert approved.status_code == 303 and approved.headers["location"].startswith(f"/sharing/review/{made['id']}")
    after = supervisor.get(approved.headers["location"])
    assert "Request approved" in after.text and "Package and issue" not in after.text
    fulfil = supervisor.post(f"/sharing/requests/{made['id']}/fulfil", data={"csrf_token": token})
    assert fulfil.status_code == 403
    assert supervisor.get("/sharing/review/999999").status_code == 404


def test_the_clerk_cannot_open_the_review_queue(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    assert clerk.get("/sharing/review").status_code == 403


def test_narrowing_the_plates_alone_on_the_page_approves_only_those(designees: Harness) -> None:
    clerk = designees.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk), plates=["6SHR001", "6SHR002"])
    supervisor = designees.signed_in("records_supervisor", "super")
    page = supervisor.get(f"/sharing/review/{made['id']}")
    shown = dict(re.findall(r'name="(since|until)" value="([^"]*)"', page.text))
    assert shown["since"] and shown["until"]  # the window asked for, ready to narrow
    form = {"csrf_token": csrf_of(page.text), "decision": "approve", "plates": "6SHR001", **shown}
    approved = supervisor.post(f"/sharing/requests/{made['id']}/review", data=form, follow_redirects=False)
    assert approved.status_code == 303, approved.text
    scope = clerk.get(f"/api/v1/sharing/requests/{made['id']}").json()["approved_scope"]
    assert scope["plates"] == ["6SHR001"]
    assert (scope["since"], scope["until"]) == (made["since"], made["until"])  # the window as asked, to the second
