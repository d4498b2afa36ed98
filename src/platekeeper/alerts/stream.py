"""Live alert delivery: a broker that hands new alerts to every open Server-Sent Events connection.

Alerts are published after their transaction commits (see :func:`publish_after_commit`), from whatever thread
committed; each subscriber lives on the event loop that serves its connection, so delivery goes through
``call_soon_threadsafe``. A slow subscriber loses its oldest alerts, never blocks ingest.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["AlertBroker", "Subscriber", "publish_after_commit", "sse_events"]


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


class AlertBroker:
    """Fan-out of new alerts to the open streams of this process."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> Subscriber:
        """A new subscriber on the running event loop."""
        subscriber = Subscriber(asyncio.get_running_loop(), self.queue_size)
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, messages: list[dict[str, Any]]) -> None:
        """Hand messages to every subscriber (safe from any thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            for message in messages:
                try:
                    subscriber.loop.call_soon_threadsafe(subscriber.offer, message)
                except RuntimeError:  # its loop has closed: the connection is gone
                    self.unsubscribe(subscriber)


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


async def sse_events(subscriber: Subscriber, keepalive: float) -> AsyncIterator[str]:
    """The text/event-stream body: one ``alert`` event per alert, a comment when idle."""
    yield "retry: 2000\n\n"
    while True:
        try:
            message = await asyncio.wait_for(subscriber.queue.get(), timeout=keepalive)
        except TimeoutError:
            yield ": keepalive\n\n"
            continue
        yield f"id: {message['id']}\nevent: alert\ndata: {json.dumps(message, separators=(',', ':'))}\n\n"
