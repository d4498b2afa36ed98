"""Live alert delivery: a broker that hands new alerts to every open Server-Sent Events connection.

Alerts raised in this process are published after their transaction commits (see :func:`publish_after_commit`),
from whatever thread committed. Alerts committed by other processes (``platekeeper worker run``, a CLI import's
historical hits) are found by a poller: while at least one stream is open, a thread asks the alerts table every
``alerts.stream_poll_seconds`` for ids above the last one it settled (one primary-key range query). Both paths go
through one ledger of delivered ids, so an alert is pushed once whichever path sees it first. Each subscriber lives
on the event loop that serves its connection, so delivery goes through ``call_soon_threadsafe``. A slow subscriber
loses its oldest alerts, never blocks ingest.

A stream can start with a :class:`Replay`: the alerts its dashboard missed (raised after the page was rendered, or
while the browser was reconnecting), read after the subscription, so nothing falls between the two. Each event's
``id`` is the highest alert id sent on the connection (the browser sends it back as ``Last-Event-ID``), and a live
alert that was already replayed is not sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = [
    "AccessCheck",
    "AlertBroker",
    "AlertFeed",
    "DeliveredAlerts",
    "Replay",
    "Subscriber",
    "publish_after_commit",
    "sse_events",
]

log = logging.getLogger(__name__)


AccessCheck = Callable[[], Awaitable[str | None]]
"""Asked every ``recheck_seconds`` by an open stream: why its caller may no longer listen, or None while it may."""


class AlertFeed(Protocol):
    """Where the poller reads committed alerts (the alerts table, see ``alerts.runtime``)."""

    def latest_id(self) -> int:
        """The highest alert id committed so far."""
        ...

    def after(self, alert_id: int, limit: int) -> list[dict[str, Any]]:
        """Alerts with an id above ``alert_id``, oldest first, as JSON."""
        ...


class Subscriber:
    """One open stream: a bounded queue on its own event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)

    def offer(self, message: dict[str, Any]) -> None:
        """Queue a message, dropping the oldest when full (runs on the subscriber's loop)."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(message)


class DeliveredAlerts:
    """Which alert ids were pushed: every id up to ``floor`` is settled, the ones above it are listed.

    Ids come from a sequence but may commit out of order (PostgreSQL) or never (a rolled-back transaction), so
    the floor moves past a missing id only after ``gap_seconds``; until then the poller keeps asking for it.
    """

    def __init__(self, floor: int, gap_seconds: float) -> None:
        self.floor = floor
        self.gap_seconds = gap_seconds
        self._above: dict[int, float] = {}  # id -> when it was delivered

    def claim(self, alert_id: int, now: float) -> bool:
        """True the first time an id is offered (deliver it), False for one already delivered or settled."""
        if alert_id <= self.floor or alert_id in self._above:
            return False
        self._above[alert_id] = now
        return True

    def settle(self, now: float) -> None:
        """Raise the floor over delivered ids that follow it, and over gaps waited for long enough."""
        while self._above:
            lowest = min(self._above)
            if lowest != self.floor + 1 and now - self._above[lowest] < self.gap_seconds:
                return
            self.floor = lowest
            del self._above[lowest]


class AlertBroker:
    """Fan-out of new alerts to the open streams of this process, from this process and (with a feed) others."""

    def __init__(
        self,
        queue_size: int,
        feed: AlertFeed | None = None,
        *,
        poll_seconds: float = 0.5,
        gap_seconds: float = 30.0,
    ) -> None:
        self.queue_size = queue_size
        self.feed = feed
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._delivered: DeliveredAlerts | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    def subscribe(self) -> Subscriber:
        """A new subscriber on the running event loop; the first one starts the poller."""
        subscriber = Subscriber(asyncio.get_running_loop(), self.queue_size)
        floor = self._latest_id() if self._delivered is None else 0
        with self._lock:
            self._subscribers.add(subscriber)
            if self._delivered is None:
                self._delivered = DeliveredAlerts(floor, self.gap_seconds)
            if self.feed is not None and (self._poller is None or not self._poller.is_alive() or self._stop.is_set()):
                self._stop = threading.Event()
                self._poller = threading.Thread(target=self._poll, args=(self._stop,), name="alert-poll", daemon=True)
                self._poller.start()
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a subscriber; the last one stops the poller (the next stream starts from the newest alert)."""
        with self._lock:
            self._subscribers.discard(subscriber)
            if not self._subscribers:
                self._stop.set()
                self._delivered = None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def polling(self) -> bool:
        """Whether the poller thread is running."""
        return self._poller is not None and self._poller.is_alive() and not self._stop.is_set()

    def _latest_id(self) -> int:
        if self.feed is None:
            return 0
        try:
            return self.feed.latest_id()
        except Exception:  # the database is away: start from nothing; claims keep duplicates out
            log.exception("alert stream: could not read the latest alert id")
            return 0

    def publish(self, messages: list[dict[str, Any]]) -> None:
        """Hand messages not delivered yet to every subscriber (safe from any thread)."""
        now = time.monotonic()
        with self._lock:
            if self._delivered is None:  # nobody is listening
                return
            fresh = [m for m in messages if self._delivered.claim(int(m["id"]), now)]
            self._delivered.settle(now)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            for message in fresh:
                try:
                    subscriber.loop.call_soon_threadsafe(subscriber.offer, message)
                except RuntimeError:  # its loop has closed: the connection is gone
                    self.unsubscribe(subscriber)

    def poll_once(self) -> int:
        """Read the alerts committed above the floor and publish the ones not delivered yet; returns how many."""
        with self._lock:
            cursor = self._delivered.floor if self._delivered is not None else None
        if cursor is None or self.feed is None:
            return 0
        came = 0
        while True:
            messages = self.feed.after(cursor, self.queue_size)
            self.publish(messages)
            came += len(messages)
            if len(messages) < self.queue_size:
                break
            cursor = int(messages[-1]["id"])
        with self._lock:  # let waited-for gaps expire even when nothing new came
            if self._delivered is not None:
                self._delivered.settle(time.monotonic())
        return came

    def _poll(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling; the database may be back at the next tick
                log.exception("alert stream: polling the alerts table failed")
            stop.wait(self.poll_seconds)

    def stop(self) -> None:
        """Stop the poller (app shutdown)."""
        self._stop.set()


def publish_after_commit(session: Session, broker: AlertBroker, messages: list[dict[str, Any]]) -> None:
    """Publish the messages once the session's transaction commits; nothing is sent if it rolls back."""
    if not messages:
        return
    pending: list[dict[str, Any]] = session.info.setdefault("pending_alerts", [])
    if not pending:

        def flush(_session: Session) -> None:
            broker.publish(_session.info.pop("pending_alerts", []))

        def drop(_session: Session) -> None:
            _session.info.pop("pending_alerts", None)

        event.listen(session, "after_commit", flush, once=True)
        event.listen(session, "after_soft_rollback", drop, once=True)
    pending.extend(messages)


@dataclass(frozen=True)
class Replay:
    """What a stream sends before the live alerts: the alerts above ``after`` its dashboard has not shown."""

    after: int  # the client's cursor: it has every alert up to this id
    alerts: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    truncated: bool = False  # more were missed than the replay limit: only the newest are in ``alerts``


def _alert_event(message: dict[str, Any], cursor: int) -> str:
    return f"id: {cursor}\nevent: alert\ndata: {json.dumps(message, separators=(',', ':'))}\n\n"


async def sse_events(
    subscriber: Subscriber,
    keepalive: float,
    replay: Replay | None = None,
    *,
    access_ended: AccessCheck | None = None,
    recheck_seconds: float = 5.0,
) -> AsyncIterator[str]:
    """The text/event-stream body: the replayed alerts, then one ``alert`` event per new alert, a comment when idle.

    Each event's ``id`` is the highest alert id sent so far (the alert's own id unless alerts come out of order),
    so a reconnecting browser's ``Last-Event-ID`` asks for exactly what it has not seen. When the replay was cut at
    its limit, a ``replay-truncated`` event comes first (the dashboard asks for a reload). Every ``recheck_seconds``
    (and before any alert when the last check is older than that) ``access_ended`` is asked again; once it gives a
    reason, an ``ended`` event says it and the stream closes.
    """
    yield "retry: 2000\n\n"
    clock = asyncio.get_running_loop().time
    checked = clock()

    async def ended() -> str | None:
        nonlocal checked
        checked = clock()
        return None if access_ended is None else await access_ended()

    cursor = replay.after if replay is not None else 0
    replayed: set[int] = set()
    if replay is not None:
        if replay.truncated:
            yield f"event: replay-truncated\ndata: {json.dumps({'sent': len(replay.alerts)})}\n\n"
        for missed in replay.alerts:
            replayed.add(int(missed["id"]))
            cursor = max(cursor, int(missed["id"]))
            yield _alert_event(missed, cursor)
    sent = clock()
    while True:
        due = min(sent + keepalive, checked + recheck_seconds)
        try:
            message: dict[str, Any] | None = await asyncio.wait_for(
                subscriber.queue.get(), timeout=max(0.0, due - clock())
            )
        except TimeoutError:
            message = None
        if clock() - checked >= recheck_seconds and (reason := await ended()) is not None:
            yield f"event: ended\ndata: {json.dumps({'reason': reason})}\n\n"
            return
        if message is None:
            if clock() - sent >= keepalive:
                sent = clock()
                yield ": keepalive\n\n"
            continue
        alert_id = int(message["id"])
        if alert_id in replayed:  # committed just before the replay read and published just after: sent already
            replayed.discard(alert_id)  # the broker's ledger hands each id over once, so it cannot come again
            continue
        cursor = max(cursor, alert_id)
        sent = clock()
        yield _alert_event(message, cursor)
