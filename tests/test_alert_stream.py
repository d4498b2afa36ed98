"""Live alerts: an alert raised at ingest reaches a signed-in client over Server-Sent Events, after the commit."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests.browser import live_server
from tests.conftest import Harness
from tests.hotlist_helpers import hotlist_with, ingest, make_read


def _wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_alert_arrives_over_sse(harness: Harness) -> None:
    hotlist_with(harness, "5SOW350,CA,VEH,stolen,,HOND,CIV,GRY\n")
    _, key = harness.camera("Highland & 15th")
    harness.user("dana", "sworn_officer")
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    received: list[dict] = []
    with live_server(harness.client.app) as base, httpx.Client(base_url=base, timeout=15) as client:
        harness.login("dana", client)  # type: ignore[arg-type]
        assert client.get("/api/v1/alerts/stream").status_code == 406

        def listen() -> None:
            with client.stream("GET", "/api/v1/alerts/stream", headers={"Accept": "text/event-stream"}) as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                event = None
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "alert":
                        received.append(json.loads(line.removeprefix("data: ")))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        _wait_for(lambda: broker.subscribers == 1)
        ingest(harness, key, make_read("8NOPE00"), make_read("5SOW350"))
        listener.join(timeout=15)
    assert len(received) == 1
    alert = received[0]
    assert (alert["plate"], alert["match_kind"], alert["hotlist"]["name"]) == ("5SOW350", "exact", "NCIC stolen")
    assert alert["camera"]["name"] == "Highland & 15th" and alert["url"] == f"/alerts/{alert['id']}"
    _wait_for(lambda: broker.subscribers == 0)
