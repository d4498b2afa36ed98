"""Deleting a purge's files from disk while its next batch runs.

A file is deleted only after the transaction that removed its ``images`` row (and queued it in
``purge_file_batches``) has committed. Deleting files waits on the disk, a batch of rows waits on the database and the
CPU, so the two overlap: the purge hands each committed batch's files to the sweeper and goes on to the next batch,
and the next batch's transaction drops the queue rows of the batches the sweeper has swept so far. A run killed at
any point leaves at worst queued files, which the next run deletes first (``Purger._drain_files``).

On this project's 2-core machine, a million files took about 130 s to delete 16 at a time, as long as the rows
they belonged to; one after the other, the purge took the sum of both.
The files are deleted in a child process (one for the whole process, started at the first sweep and kept for the
next): deleting threads in the purge's own process made each of its database steps wait for the interpreter lock.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import NamedTuple

from platekeeper.db import Database
from platekeeper.reads.images import ImageStore
from platekeeper.reads.purge import stored_digests

__all__ = ["Sweeper", "Swept", "lower_priority"]
# Batches of files waiting to be swept before the purge waits for the oldest (memory stays bounded when the disk
# is slower than the database).
MAX_PENDING = 4


def lower_priority(increment: int) -> None:
    """Run the calling thread ``increment`` nice levels lower (Linux schedules threads one by one: only this one
    is lowered). Where the system does not allow it, the thread stays as it was."""
    if increment:
        with contextlib.suppress(OSError, AttributeError):
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))


class Swept(NamedTuple):
    """A queued batch of files after its sweep: the files that stay queued (too young to delete yet) or none."""

    batch: int
    stays: list[str]


class _Deleter:
    """The child process that deletes files (``platekeeper.reads.unlink``), shared by every sweep of this process:
    started at the first, kept for the next, and started again after it died (killed, out of memory)."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def delete(self, paths: list[str], grace_seconds: float) -> list[bool]:
        """Delete the settled files among ``paths``; which are gone, in order. OSError when the child failed.

        The child is started from the calling thread, so it runs at that thread's priority (the sweep's, lowered
        by ``retention.nice``)."""
        with self._lock:
            child = self._child
            if child is None or child.poll() is not None:
                if child is not None:
                    _stop(child)
                command = [sys.executable, "-m", "platekeeper.reads.unlink"]
                child = self._child = subprocess.Popen(  # noqa: S603 (a fixed command: this Python, this module)
                    command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
                )
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps({"grace": grace_seconds, "paths": paths}) + "\n")
                child.stdin.flush()
                answer = child.stdout.readline().rstrip("\n")
            except OSError:
                answer = ""
            except BaseException:  # an answer left unread would be taken for the next request's
                self._child = None
                _stop(child)
                raise
            if len(answer) != len(paths):
                self._child = None
                _stop(child)
                raise OSError(f"the file-deleting child process stopped (exit status {child.returncode})")
            return [mark == "1" for mark in answer]

    def close(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            _stop(child, gently=True)


def _stop(child: subprocess.Popen[str], *, gently: bool = False) -> None:
    """End the child and close its pipes: ``gently`` closes its input first and gives it 30 s to finish."""
    with contextlib.suppress(OSError):
        if gently and child.stdin is not None:
            child.stdin.close()
    try:
        child.wait(timeout=30 if gently else 0)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


_deleter = _Deleter()


class Sweeper:
    """Deletes the files of committed batches in the background; :meth:`settled` hands back each swept batch with
    the files that stay queued (too young to delete yet), for the purge to drop or shorten its queue row. A file
    whose image is back keeps its file and leaves the queue."""

    def __init__(self, database: Database, store: ImageStore, nice: int = 0) -> None:
        self.database, self.store = database, store
        self._lead = ThreadPoolExecutor(
            1, thread_name_prefix="purge-sweep", initializer=lower_priority, initargs=(nice,)
        )
        self._pending: deque[Future[None]] = deque()
        self._settled: list[Swept] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Sweeper:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self._lead.shutdown(wait=True, cancel_futures=True)

    def submit(self, batch: int, digests: Sequence[str]) -> None:
        """Sweep the files of this queued batch (their rows are gone and committed); wait first when too many
        batches are waiting."""
        while len(self._pending) >= MAX_PENDING:
            self._pending.popleft().result()  # re-raises a sweep's error here, in the purge
        self._pending.append(self._lead.submit(self._sweep, batch, list(digests)))

    def wait(self) -> None:
        """Until every submitted file has been swept (re-raising the first error)."""
        while self._pending:
            self._pending.popleft().result()

    def settled(self) -> list[Swept]:
        """The batches swept since the last call: each queue row goes, or keeps only the files that stay queued."""
        with self._lock:
            done, self._settled = self._settled, []
        return done

    def _sweep(self, batch: int, digests: list[str]) -> None:
        with self.database.read_connection() as conn:  # an image uploaded again since keeps its file
            back = stored_digests(conn, digests)
        todo = [digest for digest in digests if digest not in back]
        paths = [str(self.store.path(digest)) for digest in todo]
        gone = _deleter.delete(paths, self.store.grace.total_seconds()) if paths else []
        stays = [digest for digest, ok in zip(todo, gone, strict=True) if not ok]
        with self._lock:
            self._settled.append(Swept(batch, stays))
