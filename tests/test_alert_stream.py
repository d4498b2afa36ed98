"""Live alerts: an alert raised at ingest, or committed by another process, reaches a signed-in client over
Server-Sent Events after the commit, once."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from platekeeper.alerts.service import raise_alerts
from platekeeper.alerts.stream import DeliveredAlerts
from platekeeper.audit.service import Actor
from platekeeper.config import Settings, load_settings
from platekeeper.hotlists.importers import ImportSpec
from platekeeper.hotlists.matcher import Confusables, MatchIndex
from platekeeper.hotlists.service import create_hotlist, import_entries, iter_match_targets
from tests.browser import live_server
from tests.conftest import FAST_HASH, Harness
from tests.hotlist_helpers import CSV_HEADER, hotlist_with, ingest, make_read, matcher_of


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


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    """Short keep-alives, so a listening test wakes up often enough to stop on time."""
    alerts = {"stream_keepalive_seconds": 0.3, "stream_poll_seconds": 0.5}
    return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, alerts=alerts)


class _Listener:
    """Reads the alert stream in a thread until told to stop."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.received: list[tuple[float, dict]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.client.stream("GET", "/api/v1/alerts/stream", headers={"Accept": "text/event-stream"}) as stream:
            event = None
            for line in stream.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "alert":
                    self.received.append((time.monotonic(), json.loads(line.removeprefix("data: "))))


def _raise_elsewhere(harness: Harness, read_id: str) -> float:
    """Raise an alert the way another process would: its own session, no broker of this app involved."""
    _, targets = iter_match_targets(harness.database)
    index = MatchIndex.build(targets, Confusables(harness.settings.matching.confusable_pairs), edit_distance_one=False)
    with harness.database.session() as session:
        (message,) = raise_alerts(session, harness.settings, harness.key, index, [uuid.UUID(read_id)])
    committed = time.monotonic()
    assert message["plate"] == "5SOW35O"
    return committed


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_alerts_committed_by_another_process_arrive_once(harness: Harness) -> None:
    _, key = harness.camera("Highland & 15th")
    past = make_read("5SOW35O")
    ingest(harness, key, past)  # no list yet: no alert
    with harness.database.session() as session:
        hotlist = create_hotlist(session, harness.settings, harness.key, Actor.system("test"), name="NCIC stolen",
                                 kind="stolen_vehicle", source="CLETS extract", refresh_hours=24)  # fmt: skip
        import_entries(session, harness.settings, harness.key, Actor.system("test"), hotlist.id,
                       (CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n").encode(), ImportSpec(), mode="full",
                       file_name="x.csv")  # fmt: skip
    harness.user("dana", "sworn_officer")
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with live_server(harness.client.app) as base, httpx.Client(base_url=base, timeout=15) as client:
        harness.login("dana", client)  # type: ignore[arg-type]
        listener = _Listener(client)
        listener.thread.start()
        _wait_for(lambda: broker.subscribers == 1 and broker.polling)
        committed = _raise_elsewhere(harness, past["id"])
        _wait_for(lambda: len(listener.received) == 1, timeout=5)
        arrived, alert = listener.received[0]
        assert alert["plate"] == "5SOW35O" and alert["match_kind"] == "confusable"
        assert arrived - committed < 1.5  # polled every 0.5 s
        matcher_of(harness).build()
        ingest(harness, key, make_read("5SOW350"))  # in this process: pushed at commit, and seen by the poll too
        _wait_for(lambda: len(listener.received) == 2, timeout=5)
        time.sleep(1.5)  # three more polls: nothing is sent twice
        listener.stop.set()
        listener.thread.join(timeout=5)
    assert [a["plate"] for _, a in listener.received] == ["5SOW35O", "5SOW350"]
    assert len({a["id"] for _, a in listener.received}) == 2
    _wait_for(lambda: broker.subscribers == 0 and not broker.polling)


@given(
    ids=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=80),
    gaps=st.sets(st.integers(min_value=1, max_value=40), max_size=10),
)
def test_each_alert_id_is_delivered_once_whatever_the_order(ids: list[int], gaps: set[int]) -> None:
    """Two paths (in-process publish, table poll) offer ids in any order, repeatedly; each is delivered once,
    and the floor only passes an id never seen after the gap wait."""
    ledger = DeliveredAlerts(floor=0, gap_seconds=10)
    offered = [i for i in ids if i not in gaps]
    delivered = [i for t, i in enumerate(offered) if ledger.claim(i, now=t * 0.001)]
    assert sorted(delivered) == sorted(set(offered))
    ledger.settle(now=1.0)
    missing = sorted(set(range(1, max(offered or [0]) + 1)) - set(offered))
    assert ledger.floor == (missing[0] - 1 if missing else max(offered or [0]))
    ledger.settle(now=100.0)  # gaps waited for long enough
    assert ledger.floor == max(offered or [0])
    assert not any(ledger.claim(i, now=100.0) for i in offered)
