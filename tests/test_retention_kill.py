"""``kill -9`` at random points of ``platekeeper purge`` (462.9): the next run finishes the job, and the end state is
the one an uninterrupted purge reaches: the same surviving reads, the same files on disk, no orphan file, no image
row without its file, an empty file queue, a certificate that verifies and covers every expired unheld read.

One installation is prepared once (a SQLite file, its keys and its image folder) and copied for every trial; the
purge runs as an operator runs it, in a subprocess, in batches of 20. A trial kills the purge either after a random
number of its progress lines plus a few random milliseconds (inside some later batch or file drain), or after a
random delay from its start (in start-up, the run's opening or anywhere). The seed is printed; set
PLATEKEEPER_TEST_KILL_SEED to replay a failure.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from platekeeper.alerts.models import Alert
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.cameras.service import create_camera
from platekeeper.config import Settings, load_settings
from platekeeper.db import Database
from platekeeper.reads.images import ImageStore, validate_image
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.retention.models import LegalHold, LegalHoldRead, PurgeFileBatch, PurgeRun
from platekeeper.retention.service import verify_document
from platekeeper.retention.service.purge import CERTIFICATE_TYPE
from platekeeper.services import build_services
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.slow

READS = 2000
BATCH = 20
TRIALS = 20
PLATES = ("7ABC123", "5SOW350", "6HLD001", "8XYZ999")


@dataclass(frozen=True)
class Prepared:
    """The installation every trial copies, and what an uninterrupted purge of it must remove."""

    folder: Path  # holds var/ (the data dir: the database, the keys, the images)
    expired_unheld: frozenset[str]
    all_reads: frozenset[str]


def _png(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (n % 256, n // 256 % 256, 77)).save(buffer, format="PNG")
    return buffer.getvalue()


def _settings(folder: Path) -> Settings:
    data = folder / "var"
    return load_settings(data_dir=data, database_url=f"sqlite:///{data / 'platekeeper.db'}")


def _prepare(folder: Path, template: Path, rng: random.Random) -> Prepared:
    """2,000 reads on three cameras: four in five past retention; crops mostly their own, every tenth shared with
    another read (younger or not), overviews shared by runs of fifty; every 25th read with an alert; holds of
    each scope, one of them released."""
    config = _settings(folder)
    config.data_dir.mkdir(parents=True)
    shutil.copy(template, config.data_dir / "platekeeper.db")
    database = Database(config.resolved_database_url, batch_size=config.query_batch_size)
    services = build_services(config, database)
    store, now = services.image_store, datetime.now(UTC)
    images = [validate_image(_png(n), config.ingest) for n in range(READS + READS // 50)]
    with database.session() as session:
        work = Work(session, config, services.audit_key, TEST_ACTOR)
        cameras = [create_camera(work, name=f"Cam {n}", kind="fixed")[0].id for n in range(3)]
    reads = []
    for n in range(READS):
        age = rng.uniform(400, 800) if n % 5 else rng.uniform(0, 300)
        crop = images[rng.randrange(READS)] if n % 10 == 0 else images[n]
        reads.append(
            PlateRead(
                id=uuid.uuid4(), camera_id=cameras[n % 3], plate=PLATES[n % 4], plate_raw=PLATES[n % 4],
                confidence=0.9, captured_at=now - timedelta(days=age),
                crop_sha256=crop.sha256, overview_sha256=images[READS + n // 50].sha256,
            )
        )  # fmt: skip
    used = {r.crop_sha256 for r in reads} | {r.overview_sha256 for r in reads}
    with database.session() as session:
        for image in images:
            if image.sha256 in used:
                store.put(image)
                old = time.time() - 30 * 86400  # past the purge's grace for uploads in progress
                os.utime(store.path(image.sha256), (old, old))
                session.add(StoredImage(sha256=image.sha256, media_type=image.media_type, size_bytes=len(image.data),
                                        width=image.width, height=image.height))  # fmt: skip
        session.flush()
        session.add_all(reads)
        session.flush()
        session.add_all(_alert(r) for r in reads[::25])
        window = {"since": now - timedelta(days=500), "until": now - timedelta(days=450)}
        holds = [
            LegalHold(scope="camera", camera_id=cameras[1], status="active", **window, **_HOLD),
            LegalHold(scope="plate", plate="6HLD001", status="requested", **window, **_HOLD),
            LegalHold(scope="camera", camera_id=cameras[2], status="released", since=now - timedelta(days=900),
                      until=now, **_HOLD),
            LegalHold(scope="reads", status="active", **_HOLD),
        ]  # fmt: skip
        session.add_all(holds)
        session.flush()
        named = rng.sample([r for r in reads if r.captured_at < now - timedelta(days=365)], 40)
        session.add_all(LegalHoldRead(hold_id=holds[3].id, read_id=r.id) for r in named)
    named_ids = {r.id for r in named}

    def held(r: PlateRead) -> bool:
        in_window = window["since"] <= r.captured_at < window["until"]
        return r.id in named_ids or (in_window and (r.camera_id == cameras[1] or r.plate == "6HLD001"))

    cutoff = now - timedelta(days=config.retention.days)
    expired = frozenset(str(r.id) for r in reads if r.captured_at < cutoff and not held(r))
    database.dispose()  # checkpoints the WAL: the copies start from one file
    return Prepared(folder, expired, frozenset(str(r.id) for r in reads))


_HOLD = {"case_number": "2026-004321", "reason": "evidence", "description": "vehicle in the robbery on Main",
         "requested_by": "records1"}  # fmt: skip


def _alert(read: PlateRead) -> Alert:
    return Alert(
        read_id=read.id, camera_id=read.camera_id, captured_at=read.captured_at, plate=read.plate,
        matched_text=read.plate, matched_via="best", match_confidence=0.9, match_kind="exact", priority=1,
        hotlist_name="Stolen vehicles", kind="stolen_vehicle", entry={"plate": read.plate}, notes="seen",
    )  # fmt: skip


def _command(folder: Path) -> tuple[list[str], dict[str, str]]:
    config = _settings(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATEKEEPER_")}
    env.update(
        PLATEKEEPER_DATA_DIR=str(config.data_dir),
        PLATEKEEPER_DATABASE_URL=config.database_url,
        PLATEKEEPER_RETENTION__BATCH_SIZE=str(BATCH),
        PYTHONUNBUFFERED="1",
        COLUMNS="300",
    )
    return [sys.executable, "-m", "platekeeper", "purge"], env


def _purge(folder: Path) -> None:
    args, env = _command(folder)
    done = subprocess.run(args, env=env, cwd=folder, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _purge_killed(folder: Path, rng: random.Random, batches: int, full_s: float) -> str:
    """Start the purge and SIGKILL it at a random point; say where the kill was aimed."""
    args, env = _command(folder)
    child = subprocess.Popen(
        args, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert child.stderr is not None
    try:
        if rng.random() < 0.25:
            delay = rng.uniform(0, full_s)
            time.sleep(delay)
            aim = f"{delay:.3f} s after start"
        else:
            lines = rng.randrange(1, max(2, batches * 4 // 5))
            seen = 0
            while seen < lines and (line := child.stderr.readline()):
                seen += line.lstrip().startswith("reads:")
            extra = rng.uniform(0, 0.02)
            time.sleep(extra)
            aim = f"{extra * 1000:.1f} ms after batch {seen}"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stderr.close()
    return aim


@dataclass(frozen=True)
class State:
    reads: frozenset[str]
    image_rows: frozenset[str]
    files: frozenset[str]
    queued: frozenset[str]
    runs: tuple[PurgeRun, ...]


def _state(folder: Path) -> State:
    config = _settings(folder)
    database = Database(config.resolved_database_url)
    try:
        with database.session() as session:
            reads = frozenset(str(i) for i in session.scalars(select(PlateRead.id)))
            rows = frozenset(session.scalars(select(StoredImage.sha256)))
            queued = frozenset(d for row in session.scalars(select(PurgeFileBatch)) for d in row.listed())
            runs = tuple(session.scalars(select(PurgeRun).order_by(PurgeRun.id)))
            session.expunge_all()
    finally:
        database.dispose()
    files = frozenset(ImageStore.for_settings(config).digests())
    return State(reads, rows, files, queued, runs)


def _ids_sha256(ids: frozenset[str]) -> str:
    return hashlib.sha256("".join(f"{i}\n" for i in sorted(ids)).encode()).hexdigest()


def test_a_purge_killed_at_random_points_finishes_as_if_never_interrupted(
    tmp_path: Path, sqlite_template: Path
) -> None:
    seed = int(os.environ.get("PLATEKEEPER_TEST_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill -9 trials: seed {seed} (PLATEKEEPER_TEST_KILL_SEED={seed} replays it)")
    rng = random.Random(seed)
    prepared = _prepare(tmp_path / "template", sqlite_template, rng)

    reference = tmp_path / "reference"
    shutil.copytree(prepared.folder, reference)
    started = time.monotonic()
    _purge(reference)
    full_s = time.monotonic() - started  # for the kill delays only; nothing asserts on time
    expected = _state(reference)
    assert expected.reads == prepared.all_reads - prepared.expired_unheld
    assert expected.files == expected.image_rows and not expected.queued
    public = InstallationKey.load_or_create(
        _settings(reference).data_path(_settings(reference).signing.key_file)
    ).public

    batches, interrupted = len(prepared.expired_unheld) // BATCH, 0
    for trial in range(TRIALS):
        folder = tmp_path / f"trial-{trial}"
        shutil.copytree(prepared.folder, folder)
        aim = _purge_killed(folder, rng, batches, full_s)
        after_kill = _state(folder)
        running = [r for r in after_kill.runs if r.status == "running"]
        interrupted += bool(running)
        print(f"trial {trial}: killed {aim}; {len(after_kill.reads)} reads left, run open: {bool(running)}")
        where = f"trial {trial} (seed {seed}, killed {aim})"
        assert after_kill.image_rows <= after_kill.files, f"{where}: an image row lost its file"
        assert after_kill.files - after_kill.image_rows <= after_kill.queued, f"{where}: an orphan not queued"

        _purge(folder)
        end = _state(folder)
        assert end.reads == expected.reads, f"{where}: another set of reads survived"
        assert end.files == expected.files, f"{where}: another set of files is on disk"
        assert end.files == end.image_rows, f"{where}: orphan files or image rows without a file"
        assert not end.queued, f"{where}: the file queue is not empty"
        assert all(r.status == "finished" for r in end.runs), f"{where}: a run was left unfinished"
        assert all(verify_document(r.certificate, CERTIFICATE_TYPE, public) == [] for r in end.runs), where
        removing = [r.certificate["document"]["purged_read_ids"] for r in end.runs]
        assert sum(p["count"] for p in removing) == len(prepared.expired_unheld), where
        covering = [p for p in removing if p["count"]]
        assert [p["sha256"] for p in covering] == [_ids_sha256(prepared.expired_unheld)], where
        shutil.rmtree(folder)
    print(f"{interrupted} of {TRIALS} trials left a run open for the next one to finish")
    assert interrupted, "no kill landed inside a purge run: the trials tested nothing"
