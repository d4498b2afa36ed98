"""Live alerts: an alert raised at ingest, or committed by another process, reaches a signed-in client over
Server-Sent Events after the commit, once; one the dashboard missed (raised after its page was rendered, or while it
was reconnecting) comes when its stream opens, once."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from platekeeper.access.lifecycle import deactivate_account
from platekeeper.access.models import TrainingRecord, User
from platekeeper.access.training import void_training_record
from platekeeper.alerts.models import Alert
from platekeeper.alerts.service import raise_alerts, release_alerts_for_purge
from platekeeper.alerts.stream import DeliveredAlerts, Replay, Subscriber, sse_events
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.hotlists.importers import ImportSpec
from platekeeper.hotlists.matcher import Confusables, MatchIndex
from platekeeper.hotlists.service import create_hotlist, import_entries, iter_match_targets
from tests.browser import live_server
from tests.conftest import FAST_HASH, Harness
from tests.hotlist_helpers import CSV_HEADER, hotlist_with, ingest, make_read, matcher_of


def _stolen_list_camera_and_officer(harness: Harness) -> str:
    """A list with the stolen 5SOW350, a camera (its API key returned) and dana, a sworn officer who sees alerts."""
    hotlist_with(harness, "5SOW350,CA,VEH,stolen,,HOND,CIV,GRY\n")
    _, key = harness.camera("Highland & 15th")
    harness.user("dana", "sworn_officer")
    return key


@contextmanager
def _officer_signed_in(harness: Harness) -> Iterator[httpx.Client]:
    """The app on a live server, and an HTTP client on it with dana signed in."""
    with live_server(harness.client.app) as base, httpx.Client(base_url=base, timeout=15) as client:
        harness.login("dana", client)  # type: ignore[arg-type]
        yield client


def _wait_for(predicate, timeout: float = 30.0, stream: _Stream | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``predicate()`` holds. The limit is generous (a passing test never waits that long; a loaded
    2-core CI machine may be slow). A failure says what ``stream`` got, so that a refused or broken stream is
    told apart from a slow one."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s; the stream: {stream!r}"
        time.sleep(0.02)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_alert_arrives_over_sse(harness: Harness) -> None:
    key = _stolen_list_camera_and_officer(harness)
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        assert client.get("/api/v1/alerts/stream").status_code == 406
        stream = _Stream(client)
        _wait_for(lambda: broker.subscribers == 1, stream=stream)
        ingest(harness, key, make_read("8NOPE00"), make_read("5SOW350"))
        _wait_for(lambda: len(stream.alerts) == 1, stream=stream)
        stream.close()
    assert stream.content_type.startswith("text/event-stream")
    ((_, alert),) = stream.alerts
    assert (alert["plate"], alert["match_kind"], alert["hotlist"]["name"]) == ("5SOW350", "exact", "NCIC stolen")
    assert alert["camera"]["name"] == "Highland & 15th" and alert["url"] == f"/alerts/{alert['id']}"
    _wait_for(lambda: broker.subscribers == 0)


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    """Short keep-alives, so a listening test wakes up often enough to stop on time; a small replay limit."""
    alerts = {
        "stream_keepalive_seconds": 0.3,
        "stream_poll_seconds": 0.5,
        "stream_replay_limit": 3,
        "stream_recheck_seconds": 0.5,
    }
    return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, alerts=alerts)


def _raise_elsewhere(harness: Harness, read_id: str) -> float:
    """Raise an alert the way another process would: its own session, no broker of this app involved."""
    _, targets = iter_match_targets(harness.database)
    index = MatchIndex.build(targets, Confusables(harness.settings.matching.confusable_pairs), edit_distance_one=False)
    with harness.database.session() as session:
        (message,) = raise_alerts(harness.work(session), index, [uuid.UUID(read_id)])
    committed = time.monotonic()
    assert message["plate"] == "5SOW35O"
    return committed


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_alerts_committed_by_another_process_arrive_once(harness: Harness) -> None:
    _, key = harness.camera("Highland & 15th")
    past = make_read("5SOW35O")
    ingest(harness, key, past)  # no list yet: no alert
    with harness.database.session() as session:
        work = harness.work(session)
        hotlist = create_hotlist(work, name="NCIC stolen", kind="stolen_vehicle", source="CLETS extract",
                                 refresh_hours=24)  # fmt: skip
        import_entries(work, hotlist.id, (CSV_HEADER + "5SOW350,CA,VEH,stolen,,,,\n").encode(), ImportSpec(),
                       mode="full", file_name="x.csv")  # fmt: skip
    harness.user("dana", "sworn_officer")
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        stream = _Stream(client)
        _wait_for(lambda: broker.subscribers == 1 and broker.polling, stream=stream)
        committed = _raise_elsewhere(harness, past["id"])
        _wait_for(lambda: len(stream.alerts) == 1, stream=stream)
        ((_, alert),) = stream.alerts
        assert alert["plate"] == "5SOW35O" and alert["match_kind"] == "confusable"
        assert stream.arrived[0] - committed < 5  # by the poll (every 0.5 s), not by the 30 s gap wait
        matcher_of(harness).build()
        ingest(harness, key, make_read("5SOW350"))  # in this process: pushed at commit, and seen by the poll too
        _wait_for(lambda: len(stream.alerts) == 2, stream=stream)
        time.sleep(1.5)  # three more polls: nothing is sent twice
        stream.close()
    assert [a["plate"] for _, a in stream.alerts] == ["5SOW35O", "5SOW350"]
    assert len({a["id"] for _, a in stream.alerts}) == 2
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


class _Stream:
    """Reads one alert stream in a thread, keeping every event (name, id, data), when it arrived, and the comments,
    in order; and the response's status or the error that ended the thread, for a failure's message."""

    def __init__(self, client: httpx.Client, params: dict | None = None, headers: dict | None = None) -> None:
        self.client = client
        self.params = params or {}
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.events: list[tuple[str, str | None, dict]] = []  # (event, id, data)
        self.arrived: list[float] = []  # time.monotonic() of each alert event
        self.keepalives = 0
        self.status: int | None = None
        self.content_type = ""
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def __repr__(self) -> str:
        return f"status {self.status}, {len(self.events)} events, {self.keepalives} keep-alives, error {self.error!r}"

    def _run(self) -> None:
        try:
            self._read()
        except Exception as exc:  # the test's wait names it when it times out
            self.error = exc

    def _read(self) -> None:
        with self.client.stream("GET", "/api/v1/alerts/stream", params=self.params, headers=self.headers) as stream:
            self.status, self.content_type = stream.status_code, stream.headers.get("content-type", "")
            if stream.status_code != 200:
                self.error = AssertionError(stream.read().decode(errors="replace")[:300])
                return
            fields: dict[str, str] = {}
            for line in stream.iter_lines():
                if self.stop.is_set():
                    return
                if line == ": keepalive":
                    self.keepalives += 1
                elif line.startswith(("event: ", "id: ", "data: ")):
                    name, _, value = line.partition(": ")
                    fields[name] = value
                elif not line and "data" in fields:
                    event = (fields.get("event", ""), fields.get("id"), json.loads(fields["data"]))
                    if event[0] == "alert":
                        self.arrived.append(time.monotonic())
                    self.events.append(event)
                    fields = {}
                elif not line:
                    fields = {}

    @property
    def alerts(self) -> list[tuple[str | None, dict]]:
        return [(event_id, data) for event, event_id, data in self.events if event == "alert"]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def _alert_of(harness: Harness, read: dict) -> int:
    with harness.database.session() as session:
        return int(session.scalars(select(Alert.id).where(Alert.read_id == uuid.UUID(read["id"]))).one())


def _stream_audits(harness: Harness) -> list[dict]:
    with harness.database.session() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alerts.dashboard").order_by(AuditEvent.seq)
        )
        return [dict(e.details) for e in rows if e.details.get("stream")]


def _rendered_after(client: httpx.Client) -> int:
    page = client.get("/alerts")
    assert page.status_code == 200, page.text
    match = re.search(r'id="alert-rows" data-after="(\d+)"', page.text)
    assert match, "the dashboard names the newest alert it rendered"
    return int(match.group(1))


def _replayed_then_live(harness: Harness, key: str, stream: _Stream, replayed: int) -> dict:
    """Wait for the stream's ``replayed`` alerts, raise one live alert and wait for it, give the stream time to send
    anything twice, and close it. The live read is returned."""
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    _wait_for(lambda: len(stream.alerts) == replayed and broker.subscribers == 1, stream=stream)
    live = make_read("5SOW350")
    ingest(harness, key, live)
    _wait_for(lambda: len(stream.alerts) == replayed + 1, stream=stream)
    time.sleep(1.2)  # two polls: nothing comes twice
    stream.close()
    return live


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_an_alert_raised_between_the_render_and_the_stream_arrives(harness: Harness) -> None:
    key = _stolen_list_camera_and_officer(harness)
    shown = make_read("5SOW350")
    ingest(harness, key, shown)
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        after = _rendered_after(client)
        assert after == _alert_of(harness, shown)
        missed = make_read("5SOW350")
        ingest(harness, key, missed)  # committed after the render, before the stream opens: nobody is listening
        missed_id = _alert_of(harness, missed)

        plain = _Stream(client, headers={"Last-Event-ID": "not-an-id"})  # ignored: the stream starts from now
        _wait_for(lambda: plain.keepalives > 0, stream=plain)
        assert plain.events == []  # the replay would have come before the first keep-alive
        plain.close()
        _wait_for(lambda: broker.subscribers == 0)

        stream = _Stream(client, params={"after": after})
        live = _replayed_then_live(harness, key, stream, 1)
    live_id = _alert_of(harness, live)
    assert [(i, a["id"]) for i, a in stream.alerts] == [(str(missed_id), missed_id), (str(live_id), live_id)]
    assert stream.alerts[0][1]["plate"] == "5SOW350" and stream.alerts[0][1]["camera"]["name"] == "Highland & 15th"
    assert _stream_audits(harness) == [{"stream": True}, {"stream": True, "replay_after": after}]
    _wait_for(lambda: broker.subscribers == 0)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_reconnect_replays_exactly_the_missed_alerts_once(harness: Harness) -> None:
    key = _stolen_list_camera_and_officer(harness)
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        after = _rendered_after(client)
        assert after == 0  # no alert yet
        first = _Stream(client, params={"after": after})
        _wait_for(lambda: broker.subscribers == 1, stream=first)
        ingest(harness, key, make_read("5SOW350"))
        _wait_for(lambda: len(first.alerts) == 1, stream=first)
        first.close()  # the connection drops
        _wait_for(lambda: broker.subscribers == 0)
        ((last_event_id, seen),) = first.alerts

        missed = [make_read("5SOW350"), make_read("5SOW350"), make_read("5SOW350")]
        ingest(harness, key, *missed)
        with harness.database.session() as session:  # released by the purge: off the dashboard, not replayed
            release_alerts_for_purge(harness.work(session, Actor.system("retention")), [uuid.UUID(missed[1]["id"])])
        missed_ids = sorted([_alert_of(harness, missed[0]), _alert_of(harness, missed[2])])

        # what the browser sends on its own when it reconnects: the same URL, and the last event id it got
        again = _Stream(client, params={"after": after}, headers={"Last-Event-ID": last_event_id})
        live = _replayed_then_live(harness, key, again, 2)
    assert last_event_id == str(seen["id"])
    ids = [a["id"] for _, a in again.alerts]
    assert ids == [*missed_ids, _alert_of(harness, live)]
    assert [i for i, _ in again.alerts] == [str(i) for i in ids]
    assert _stream_audits(harness)[-1] == {"stream": True, "replay_after": seen["id"]}
    _wait_for(lambda: broker.subscribers == 0)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_replay_keeps_the_newest_alerts_up_to_its_limit(harness: Harness) -> None:
    key = _stolen_list_camera_and_officer(harness)
    with _officer_signed_in(harness) as client:
        after = _rendered_after(client)
        reads = [make_read("5SOW350") for _ in range(5)]
        ingest(harness, key, *reads)
        stream = _Stream(client, params={"after": after})
        _wait_for(lambda: stream.keepalives > 0, stream=stream)
        stream.close()
    assert harness.settings.alerts.stream_replay_limit == 3
    assert stream.events[0] == ("replay-truncated", None, {"sent": 3})
    newest = sorted(_alert_of(harness, r) for r in reads)[2:]
    assert [a["id"] for _, a in stream.alerts] == newest  # the newest three, oldest first


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_bad_after_is_refused_and_changes_nothing(harness: Harness) -> None:
    key = _stolen_list_camera_and_officer(harness)
    read = make_read("5SOW350")
    ingest(harness, key, read)
    newest = _alert_of(harness, read)
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        accept = {"Accept": "text/event-stream"}
        for bad in ["abc", "-1", "", "1.5", " 1", "0x1", "\u0663", "9" * 30, str(2**63), str(newest + 1)]:
            response = client.get("/api/v1/alerts/stream", params={"after": bad}, headers=accept)
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["detail"].startswith(f"after must be an alert id from 0 to {newest}"), bad
        headers = {**accept, "Last-Event-ID": str(newest)}  # a good header does not rescue a bad query parameter
        assert client.get("/api/v1/alerts/stream", params={"after": "abc"}, headers=headers).status_code == 400
    assert _stream_audits(harness) == [] and broker.subscribers == 0 and not broker.polling


def test_the_stream_sends_a_replayed_alert_once_when_it_also_comes_live() -> None:
    """An alert committed between the subscription and the replay read comes both ways: it is sent once, and each
    event's id is the highest alert id sent so far (what a reconnect asks to continue from)."""

    async def run() -> list[str]:
        subscriber = Subscriber(asyncio.get_running_loop(), 10)
        for alert_id in (6, 4, 7):  # 6 was replayed too; 4 committed late, below the ids sent already
            subscriber.offer({"id": alert_id})
        replay = Replay(after=3, alerts=[{"id": 5}, {"id": 6}])
        chunks = []
        async for chunk in sse_events(subscriber, keepalive=0.05, replay=replay):
            chunks.append(chunk)
            if chunk.startswith(": keepalive"):
                return chunks
        return chunks

    chunks = asyncio.run(run())
    sent = [(c.split("\n")[0], json.loads(c.split("data: ")[1])["id"]) for c in chunks if "event: alert" in c]
    assert sent == [("id: 5", 5), ("id: 6", 6), ("id: 6", 4), ("id: 7", 7)]


@pytest.mark.parametrize("limit", [0, 1001])
def test_the_replay_limit_is_bounded(tmp_path: Path, limit: int) -> None:
    with pytest.raises(ConfigError, match="stream_replay_limit"):
        load_settings(data_dir=tmp_path, alerts={"stream_replay_limit": limit})


def _end_by_sign_out(harness: Harness, client: httpx.Client, token: str) -> None:
    assert client.delete("/api/v1/session").status_code == 200


def _end_by_revoking(harness: Harness, client: httpx.Client, token: str) -> None:
    (listed,) = client.get("/api/v1/account/tokens").json()["tokens"]
    assert client.delete(f"/api/v1/account/tokens/{listed['id']}").status_code == 200


def _end_by_deactivating(harness: Harness, client: httpx.Client, token: str) -> None:
    with harness.database.session() as session:
        user_id = session.scalar(select(User.id).where(User.username == "dana"))
        deactivate_account(harness.work(session), user_id, "left the department")


def _end_by_voiding_training(harness: Harness, client: httpx.Client, token: str) -> None:
    with harness.database.session() as session:
        user_id = session.scalar(select(User.id).where(User.username == "dana"))
        record = session.scalars(select(TrainingRecord).where(TrainingRecord.user_id == user_id)).first()
        void_training_record(harness.work(session), record.id, "entered for the wrong officer")


@pytest.mark.parametrize(
    ("how", "by_token", "reason"),
    [
        (_end_by_sign_out, False, "signed out"),
        (_end_by_revoking, True, "revoked"),
        (_end_by_deactivating, False, "deactivated"),
        (_end_by_deactivating, True, "deactivated"),
        (_end_by_voiding_training, True, "training"),
    ],
    ids=["sign-out", "token-revoked", "deactivated-cookie", "deactivated-token", "training-voided"],
)
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stream_closes_when_its_session_token_or_account_ends(harness: Harness, how, by_token, reason) -> None:
    """An open stream kept delivering plates after sign-out, revocation and deactivation: now it re-checks every
    ``alerts.stream_recheck_seconds`` (0.5 here) and closes with an ``ended`` event; later alerts never reach it."""
    key = _stolen_list_camera_and_officer(harness)
    broker = harness.client.app.state.alerting.broker  # type: ignore[attr-defined]
    with _officer_signed_in(harness) as client:
        made = client.post("/api/v1/account/tokens", json={"name": "dashboard", "scopes": ["alerts.view"]})
        token = made.json()["token"]
        listener = httpx.Client(base_url=client.base_url, timeout=15)
        if by_token:
            listener.headers["Authorization"] = f"Bearer {token}"
        else:
            listener.cookies = client.cookies
        stream = _Stream(listener)
        _wait_for(lambda: broker.subscribers == 1, stream=stream)
        ingest(harness, key, make_read("5SOW350"))
        _wait_for(lambda: len(stream.alerts) == 1, stream=stream)
        how(harness, client, token)
        ended = time.monotonic()
        _wait_for(lambda: not stream.thread.is_alive(), timeout=10, stream=stream)
        closed_after = time.monotonic() - ended
        ingest(harness, key, make_read("5SOW350"))  # raised after the end: never delivered
        time.sleep(0.5)
        listener.close()
    assert len(stream.alerts) == 1
    assert closed_after < 3  # within a few re-check periods of 0.5 s
    (last,) = [data for event, _, data in stream.events if event == "ended"]
    assert reason in last["reason"], last
    _wait_for(lambda: broker.subscribers == 0)


def test_the_recheck_runs_on_its_own_clock_while_the_stream_is_quiet() -> None:
    """No alert and long keep-alives: the check still runs every ``recheck_seconds``."""
    asked: list[float] = []

    async def run() -> list[str]:
        loop = asyncio.get_running_loop()

        async def check() -> str | None:
            asked.append(loop.time())
            return "the session was signed out or ended" if len(asked) >= 3 else None

        subscriber = Subscriber(loop, 10)
        return [chunk async for chunk in sse_events(subscriber, 30.0, access_ended=check, recheck_seconds=0.1)]

    chunks = asyncio.run(asyncio.wait_for(run(), timeout=5))
    assert len(asked) == 3 and chunks[-1].startswith("event: ended")
    assert not any("keepalive" in c for c in chunks)
