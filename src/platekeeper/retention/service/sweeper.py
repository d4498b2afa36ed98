"""Deleting a purge's files from disk while its next batch runs.

A file is deleted only after the transaction that removed its ``images`` row (and queued it in
``purge_file_queue``) has committed. Deleting files waits on the disk, a batch of rows waits on the database and the
CPU, so the two overlap: the purge hands each committed batch's files to the sweeper and goes on to the next batch,
and the next batch's transaction drops the queue rows of the files the sweeper has settled so far. A run killed at
any point leaves at worst queued files, which the next run deletes first (``Purger._drain_files``).

On this project's 2-core machine, a million files took about 130 s to delete 16 at a time, as long as the rows
they belonged to; one after the other, the purge took the sum of both.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from platekeeper.db import Database
from platekeeper.reads.images import ImageStore
from platekeeper.reads.purge import stored_digests

__all__ = ["FILE_WORKERS", "Sweeper", "lower_priority"]

# Files are deleted this many at a time: an unlink waits on the disk (its journal, and its discard where the
# filesystem is mounted so), not on the CPU. On a busy ext4 disk (mounted with discard) 20,000 files took 4,900
# a second one at a time and 7,700 a second 16 at once.
FILE_WORKERS = 16
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


class Sweeper:
    """Deletes the files of committed batches in the background; :meth:`settled` hands back the digests whose
    files are gone (or stay for good because their image is back), for the purge to drop from its queue."""

    def __init__(self, database: Database, store: ImageStore, nice: int = 0) -> None:
        self.database, self.store = database, store
        self._unlink = ThreadPoolExecutor(
            FILE_WORKERS, thread_name_prefix="purge-unlink", initializer=lower_priority, initargs=(nice,)
        )
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
            self._unlink.shutdown(wait=True)

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
        gone = self._unlink.map(self.store.delete_settled, todo, chunksize=16)
        done = [digest for digest, ok in zip(todo, gone, strict=True) if ok]
        with self._lock:
            self._settled.extend(back)
            self._settled.extend(done)
