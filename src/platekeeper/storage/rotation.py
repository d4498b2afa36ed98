"""Key rotation: re-seal every image under the current key, in batches that survive interruption.

The rule: a ring holding more than one key is an unfinished rotation. ``keys rotate`` then resumes it (no new key);
with one key it adds a new one first (written to the ring before any file is touched). Each file is re-sealed on
its own (temp file, fsync, rename), so a ``kill -9`` leaves every file under the old key or the new one, both in
the ring. The old keys are dropped only at the end of a pass that failed on no file, after a second look at every
header finds them all under the current key.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from platekeeper.audit.events import KeyRotationFinished, KeyRotationStarted
from platekeeper.audit.work import Work
from platekeeper.reads.images import ImageStore, SealedFileError
from platekeeper.storage.keys import KeyRing, StorageKey

__all__ = [
    "PLAIN",
    "RotationBusy",
    "RotationPlan",
    "RotationResult",
    "census",
    "plan_rotation",
    "record_rotation",
    "reseal_images",
]

PLAIN = "plain"


class RotationBusy(RuntimeError):
    """Another ``keys rotate`` holds the rotation lock."""


@dataclass(frozen=True)
class RotationPlan:
    """The key files are re-sealed under, and whether an unfinished rotation is being resumed."""

    key: StorageKey
    resumed: bool
    new_key: bool


@dataclass
class RotationResult:
    total: int
    resealed: int = 0
    already_current: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (digest, why)
    retired: list[str] = field(default_factory=list)  # key ids dropped from the ring

    @property
    def done(self) -> int:
        return self.resealed + self.already_current + len(self.failed)


def census(store: ImageStore) -> Counter[str]:
    """Images per key id (``plain`` for files written before encryption), from each file's header only."""
    counts: Counter[str] = Counter()
    for digest in store.digests():
        try:
            counts[store.key_id(digest) or PLAIN] += 1
        except (OSError, SealedFileError):
            counts["unreadable"] += 1
    return counts


@contextmanager
def rotation_lock(ring: KeyRing) -> Iterator[None]:
    """Held for a whole rotation (released by the kernel if the process is killed): one rotation at a time."""
    lock_path = ring.path.with_name(ring.path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationBusy(f"another `platekeeper keys rotate` is running (it holds {lock_path})") from None
        yield
    finally:
        os.close(fd)


def plan_rotation(ring: KeyRing, *, keep_key: bool) -> RotationPlan:
    """Resume an unfinished rotation (more than one key in the ring), else add a new key unless ``keep_key``."""
    keys = ring.keys()
    if len(keys) > 1:
        return RotationPlan(key=keys[-1], resumed=True, new_key=False)
    if keep_key:
        return RotationPlan(key=ring.current(), resumed=False, new_key=False)
    return RotationPlan(key=ring.add_new_key(), resumed=False, new_key=True)


def reseal_images(
    store: ImageStore,
    batch_size: int,
    pause_seconds: float,
    on_batch: Callable[[RotationResult], None],
    others: Sequence[ImageStore] = (),
) -> RotationResult:
    """Re-seal every image not under the current key, ``batch_size`` at a time, then every file of the ``others``
    sealed with the same ring (the sharing request documents); retire the old keys only when the pass failed on
    nothing and every header of every store is then under the current key (a file left under a retired key could
    never be opened again). A file that cannot be opened is named in the result and left as it is, never deleted."""
    assert store.ring is not None
    stores = (store, *others)
    assert all(other.ring is store.ring for other in others), "the stores must share the image store's key ring"
    files = [(each, digest) for each in stores for digest in each.digests()]
    result = RotationResult(total=len(files))
    for start in range(0, len(files), batch_size):
        for owner, digest in files[start : start + batch_size]:
            try:
                if owner.reseal(digest):
                    result.resealed += 1
                else:
                    result.already_current += 1
            except FileNotFoundError:  # purged since the listing: nothing left to protect
                result.already_current += 1
            except (OSError, SealedFileError) as exc:
                result.failed.append((digest, str(exc)))
        on_batch(result)
        if pause_seconds and start + batch_size < len(files):
            time.sleep(pause_seconds)
    current = store.ring.current().id
    if not result.failed and all(set(census(each)) <= {current} for each in stores):
        result.retired = [key.id for key in store.ring.retire_old_keys()]
    return result


def record_rotation(work: Work, plan: RotationPlan, result: RotationResult | None) -> None:
    """Audit the start of a pass (no result yet) or its end (``storage.rotation_started`` / ``_finished``)."""
    event: KeyRotationStarted | KeyRotationFinished
    if result is None:
        event = KeyRotationStarted(key_id=plan.key.id, resumed=plan.resumed, new_key=plan.new_key)
    else:
        event = KeyRotationFinished(
            key_id=plan.key.id,
            resumed=plan.resumed,
            new_key=plan.new_key,
            files=result.total,
            resealed=result.resealed,
            already_current=result.already_current,
            failed=len(result.failed),
            retired=result.retired,
        )
    outcome = "failure" if result is not None and result.failed else "success"
    work.record(event, outcome=outcome)
