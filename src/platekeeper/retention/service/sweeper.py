"""Deleting a purge's files from disk while its next batch runs.

A file is deleted only after the transaction that removed its ``images`` row (and queued it in
``purge_file_queue``) has committed. Deleting files waits on the disk, a batch of rows waits on the database and the
CPU, so the two overlap: the purge hands each committed batch's files to the sweeper and goes on to the next batch,
and the next batch's transaction drops the queue rows of the files the sweeper has settled so far. A run killed at
any point leaves at worst queued files, which the next run deletes first (``Purger._drain_files``).

On this project's 2-core machine, a million files took about 130 s to delete 16 at a time, as long as the rows
they belonged to; one after the other, the purge took the sum of both.
The files are deleted in a child process (one for the whole process, started at the first sweep and kept for the
next): deleting threads in the purge's own process made each of its database steps wait for the interpreter lock.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from platekeeper.db import Database
from platekeeper.reads.images import ImageStore
from platekeeper.reads.purge import stored_digests
from platekeeper.reads.unlink import delete_settled_files, lower_process_priority

__all__ = ["Sweeper", "lower_priority"]
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


class _Deleter:
    """The child process that deletes files, shared by every sweep of this process (a new one after a crash)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def delete(self, paths: list[str], grace_seconds: float, nice: int) -> list[bool]:
        with self._lock:
            if self._pool is None:  # spawned: a fork would copy this process's threads' locks in any state
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=lower_process_priority,
                    initargs=(nice,),
                )
            pool = self._pool
        try:
            return pool.submit(delete_settled_files, paths, grace_seconds).result()
        except BrokenProcessPool:  # the child died (killed, out of memory): the next sweep starts another
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


_deleter = _Deleter()


class Sweeper:
    """Deletes the files of committed batches in the background; :meth:`settled` hands back the digests whose
    files are gone (or stay for good because their image is back), for the purge to drop from its queue."""

    def __init__(self, database: Database, store: ImageStore, nice: int = 0) -> None:
        self.database, self.store, self.nice = database, store, nice
        self._lead = ThreadPoolExecutor(
            1, thread_name_prefix="purge-sweep", initializer=lower_priority, initargs=(nice,)
        )
        self._pending: deque[Future[None]] = deque()
        self._settled: list[str] = []
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

    def submit(self, digests: Sequence[str]) -> None:
        """Sweep these files (their rows are gone and committed); wait first when too many batches are waiting."""
        if not digests:
            return
        while len(self._pending) >= MAX_PENDING:
            self._pending.popleft().result()  # re-raises a sweep's error here, in the purge
        self._pending.append(self._lead.submit(self._sweep, list(digests)))

    def wait(self) -> None:
        """Until every submitted file has been swept (re-raising the first error)."""
        while self._pending:
            self._pending.popleft().result()

    def settled(self) -> list[str]:
        """The digests settled since the last call: their queue rows can go."""
        with self._lock:
            done, self._settled = self._settled, []
        return done

    def _sweep(self, digests: list[str]) -> None:
        with self.database.read_connection() as conn:  # an image uploaded again since keeps its file
            back = stored_digests(conn, digests)
        todo = [digest for digest in digests if digest not in back]
        paths = [str(self.store.path(digest)) for digest in todo]
        gone = _deleter.delete(paths, self.store.grace.total_seconds(), self.nice) if paths else []
        done = [digest for digest, ok in zip(todo, gone, strict=True) if ok]
        with self._lock:
            self._settled.extend(back)
            self._settled.extend(done)
