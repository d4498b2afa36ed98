"""The unit of audited work (``audit.work.Work``) and the request's Work built by ``web.deps.DbWork``."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.access.service import SessionState
from platekeeper.audit.events import AuditViewed
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor, verify_chain
from platekeeper.web.deps import SIGNED_IN, DbWork
from tests.conftest import Harness


def _last(harness: Harness) -> AuditEvent:
    with harness.database.session() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()


def test_work_records_under_its_actor_in_its_transaction(harness: Harness) -> None:
    officer = Actor(username="dana", organization="EXPD", role="sworn_officer", client="10.0.0.7")
    with harness.database.session() as session:
        work = harness.work(session, officer)
        work.record(AuditViewed(page=2), outcome="denied", purpose="audit")
    event = _last(harness)
    assert (event.action, event.outcome, event.purpose) == ("audit.view", "denied", "audit")
    assert (event.username, event.organization, event.role, event.client) == (
        "dana",
        "EXPD",
        "sworn_officer",
        "10.0.0.7",
    )
    with harness.database.session() as session:
        assert verify_chain(session, harness.key).intact


def test_as_and_by_change_only_the_actor(harness: Harness) -> None:
    with harness.database.session() as session:
        work = harness.work(session, Actor(username=None, client="192.0.2.1"))
        system = work.as_(Actor.system("inactivity"))
        person = work.by(Actor(username="lee", organization="EXPD", role="auditor"))
        assert (system.session, system.settings, system.key) == (work.session, work.settings, work.key)
        assert system.actor == Actor.system("inactivity")
        assert person.actor == Actor(username="lee", organization="EXPD", role="auditor", client="192.0.2.1")
        assert work.actor == Actor(username=None, client="192.0.2.1")  # frozen: the original is unchanged


def test_the_request_work_is_the_signed_in_principal_at_the_client(harness: Harness) -> None:
    app: Any = harness.client.app

    @app.get("/_test/work")
    def who(state: Annotated[SessionState, Depends(SIGNED_IN)], work: DbWork) -> dict[str, Any]:
        return {"username": work.actor.username, "role": work.actor.role, "client": work.client}

    harness.user("dana", "sworn_officer")
    client = harness.login("dana", TestClient(app))
    assert client.get("/_test/work").json() == {"username": "dana", "role": "sworn_officer", "client": "testclient"}


def test_a_work_declared_before_the_requirement_is_refused(harness: Harness) -> None:
    """Built before the requirement has resolved who is asking, a Work would audit the user as anonymous."""
    app: Any = harness.client.app

    @app.get("/_test/misordered")
    def misordered(work: DbWork, state: Annotated[SessionState, Depends(SIGNED_IN)]) -> dict[str, Any]:
        return {}

    harness.user("dana", "sworn_officer")
    client = harness.login("dana", TestClient(app))
    with pytest.raises(RuntimeError, match="requirement must come before its Work"):
        client.get("/_test/misordered")
