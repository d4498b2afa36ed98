"""The purge's file-deleting child process (``reads/unlink.py`` behind ``retention/service/sweeper.py``)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from platekeeper.reads.unlink import delete_settled_file
from platekeeper.retention.service.sweeper import _Deleter


def _file(path: Path, age_s: float) -> str:
    path.write_bytes(b"image")
    then = time.time() - age_s
    os.utime(path, (then, then))
    return str(path)


def test_a_settled_file_goes_and_a_young_one_stays(tmp_path: Path) -> None:
    old, young = _file(tmp_path / "old", 7200), _file(tmp_path / "young", 10)
    assert delete_settled_file(old, 3600) is True
    assert delete_settled_file(young, 3600) is False
    assert delete_settled_file(str(tmp_path / "missing"), 3600) is True  # gone already: settled
    assert not Path(old).exists() and Path(young).exists()


def test_the_child_deletes_in_order_and_comes_back_after_it_is_killed(tmp_path: Path) -> None:
    deleter = _Deleter()
    try:
        paths = [_file(tmp_path / f"f{i}", 7200 if i % 3 else 5) for i in range(40)]
        assert deleter.delete(paths, 3600) == [bool(i % 3) for i in range(40)]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"f{i}" for i in range(0, 40, 3))
        assert deleter._child is not None
        deleter._child.kill()
        deleter._child.wait()
        again = [_file(tmp_path / "g", 7200)]
        assert deleter.delete(again, 3600) == [True]  # a new child, started for this sweep
        assert not Path(again[0]).exists()
    finally:
        deleter.close()


def test_a_child_that_answers_short_is_an_error_not_a_silent_loss(tmp_path: Path) -> None:
    """A file the child did not report stays queued: the sweep fails (the purge stops, the next run retries) and
    the next sweep starts another child."""
    deleter = _Deleter()
    deleter._child = _Mute()  # type: ignore[assignment]
    path = _file(tmp_path / "b", 7200)
    with pytest.raises(OSError, match="file-deleting child process stopped"):
        deleter.delete([path], 3600)
    assert deleter._child is None and Path(path).exists()
    try:
        assert deleter.delete([path], 3600) == [True]
    finally:
        deleter.close()


class _Mute:
    """A child that looks alive and answers an empty line."""

    returncode = None

    def __init__(self) -> None:
        self.stdin = io.StringIO()
        self.stdout = io.StringIO("\n")

    def poll(self) -> None:
        return None

    def kill(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> int:
        return 0
