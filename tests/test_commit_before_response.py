"""A request's transaction commits before its response leaves the server.

A client that was told "200" must find what it was told about on its very next request (the session it just
signed in with), and a write whose commit fails must not be reported as done. Only a real server shows this:
the test client waits for the whole app, so the order of commit and response is invisible to it.
"""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import event, func, select

from platekeeper.access.models import UserSession
from tests.browser import live_server
from tests.conftest import Harness


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_slow_commit_is_done_before_the_sign_in_answer(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    body = harness.sign_in_body("dana")

    def slow(_conn) -> None:  # type: ignore[no-untyped-def]
        time.sleep(0.5)

    with live_server(harness.client.app) as base, httpx.Client(base_url=base, timeout=15) as client:
        event.listen(harness.database.engine, "commit", slow)
        try:
            assert client.post("/api/v1/session", json=body).status_code == 200
            me = client.get("/api/v1/me")  # at once: the session must be there
        finally:
            event.remove(harness.database.engine, "commit", slow)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "dana"


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_failed_commit_is_an_error_not_a_sign_in(harness: Harness) -> None:
    harness.user("dana", "sworn_officer")
    body = harness.sign_in_body("dana")

    def fail(_conn) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the disk is full")

    with harness.database.session() as session:
        before = session.scalar(select(func.count()).select_from(UserSession))
    with live_server(harness.client.app) as base, httpx.Client(base_url=base, timeout=15) as client:
        event.listen(harness.database.engine, "commit", fail)
        try:
            response = client.post("/api/v1/session", json=body)
        finally:
            event.remove(harness.database.engine, "commit", fail)
    assert response.status_code == 500
    assert response.json()["detail"] == "internal server error; it was recorded for maintenance"
    assert [e.error for e in harness.client.app.state.error_log.recent()] == ["RuntimeError"]  # type: ignore[attr-defined]
    assert "set-cookie" not in response.headers  # no session handed out
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == before
