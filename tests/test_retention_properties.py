"""The purge's promise as a property (462.9): over generated reads, holds, releases, jobs and clock times, a purge
removes every artifact of each read past retention that no requested or active hold covers (the row, its image
files, its alerts' plate details) and nothing of any other read. A simple model in Python says what should happen;
the installation's own Purger does it on SQLite and on PostgreSQL, in batches of ten.

Rows are written straight into a fresh installation (no HTTP), so one example costs a few tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from platekeeper.alerts.models import Alert
from platekeeper.audit.work import Work
from platekeeper.cameras.service import create_camera
from platekeeper.config import Settings, load_settings
from platekeeper.db import Database
from platekeeper.reads.images import ValidImage, validate_image
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.retention.models import (
    HOLD_STATES,
    LegalHold,
    LegalHoldRead,
    PurgeFileBatch,
    PurgeRun,
    PurgeRunBatch,
)
from platekeeper.retention.service import verify_document
from platekeeper.retention.service.purge import CERTIFICATE_TYPE
from platekeeper.services import Services, build_services
from tests.conftest import FAST_HASH, TEST_ACTOR, jpeg_bytes

PLATES = ("7ABC123", "5SOW350", "6HLD001")
CAMERAS = 3
POOL = 10  # distinct images; reads and jobs draw from them, so many share a file
PROTECTING = ("requested", "active")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _image(n: int) -> ValidImage:
    return validate_image(jpeg_bytes(color=(n * 20 % 256, 255 - n * 7 % 256, n)), load_settings().ingest)


IMAGES = [_image(n) for n in range(POOL)]


# ---------------------------------------------------------------------------------------------------- the world
@dataclass
class World:
    """A fresh installation (batch size 10) with three cameras, emptied again before each example."""

    settings: Settings
    database: Database
    services: Services
    cameras: list[int]

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"World({self.database.url})"

    def reset(self) -> None:
        with self.database.session() as session:
            for table in (Alert, LegalHoldRead, LegalHold, PlateRead, RecognitionJob, StoredImage):
                session.execute(delete(table))
            for table in (PurgeFileBatch, PurgeRunBatch, PurgeRun):
                session.execute(delete(table))
        shutil.rmtree(self.services.image_store.root, ignore_errors=True)


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    config = load_settings(
        data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, retention={"batch_size": 10}
    )
    database = Database(config.resolved_database_url, batch_size=config.query_batch_size)
    services = build_services(config, database)
    with database.session() as session:
        work = Work(session, config, services.audit_key, TEST_ACTOR)
        cameras = [create_camera(work, name=f"Cam {n}", kind="fixed")[0].id for n in range(CAMERAS)]
    yield World(config, database, services, cameras)
    database.dispose()


# ------------------------------------------------------------------------------------------------ what is made
def _settle(path: Path) -> None:
    """Date a file back past the purge's grace for uploads in progress (storage.image_grace_minutes)."""
    old = time.time() - 30 * 86400
    os.utime(path, (old, old))


def _ago(now: datetime, days: int, seconds: int) -> datetime:
    return now - timedelta(days=days, seconds=seconds)


SECONDS = st.sampled_from((0, 1, 43_200, 86_399)) | st.integers(0, 86_399)  # boundaries are likely, not rare
READ = st.fixed_dictionaries(
    {
        "plate": st.sampled_from(PLATES),
        "corrected": st.none() | st.sampled_from(PLATES),
        "camera": st.integers(0, CAMERAS - 1),
        "days": st.sampled_from((364, 365, 366)) | st.integers(0, 800),
        "seconds": SECONDS,
        "crop": st.none() | st.integers(0, POOL - 1),
        "overview": st.none() | st.integers(0, POOL - 1),
        "alert": st.booleans(),
    }
)
HOLD = st.fixed_dictionaries(
    {
        "status": st.sampled_from(HOLD_STATES),
        "scope": st.sampled_from(("reads", "plate", "camera")),
        "reads": st.lists(st.integers(0, 99), min_size=1, max_size=4),  # indexes, modulo the reads made
        "plate": st.sampled_from(PLATES),
        "camera": st.integers(0, CAMERAS - 1),
        "since_days": st.integers(0, 850),
        "since_seconds": SECONDS,
        "span_days": st.integers(0, 400),
    }
)
JOB = st.fixed_dictionaries(
    {
        "days": st.integers(0, 800),
        "seconds": SECONDS,
        "image": st.integers(0, POOL - 1),
        "state": st.sampled_from(("pending", "done", "failed")),
    }
)
NOW = st.integers(-400 * 86_400, 400 * 86_400).map(lambda s: EPOCH + timedelta(seconds=s))


@dataclass
class Made:
    """What an example stored, with the ids the database gave it."""

    now: datetime
    reads: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    jobs: list[dict[str, Any]]


def _store(world: World, now: datetime, reads: list[dict], holds: list[dict], jobs: list[dict]) -> Made:
    store = world.services.image_store
    for read in reads:
        read["id"], read["at"] = uuid.uuid4(), _ago(now, read["days"], read["seconds"])
    for job in jobs:
        job["id"], job["at"] = uuid.uuid4(), _ago(now, job["days"], job["seconds"])
    used = {n for r in reads for n in (r["crop"], r["overview"]) if n is not None} | {j["image"] for j in jobs}
    with world.database.session() as session:
        for n in sorted(used):
            image = IMAGES[n]
            store.put(image)
            _settle(store.path(image.sha256))
            session.add(
                StoredImage(
                    sha256=image.sha256,
                    media_type=image.media_type,
                    size_bytes=len(image.data),
                    width=image.width,
                    height=image.height,
                )
            )
        session.flush()
        for read in reads:
            session.add(_read_row(world, read))
        for job in jobs:
            session.add(
                RecognitionJob(
                    id=job["id"],
                    camera_id=world.cameras[0],
                    image_sha256=IMAGES[job["image"]].sha256,
                    image_kind="overview",
                    captured_at=job["at"],
                    state=job["state"],
                )
            )
        session.flush()
        for read in reads:
            if read["alert"]:
                session.add(_alert_row(world, read))
        for spec in holds:
            spec["since"] = _ago(now, spec["since_days"], spec["since_seconds"])
            spec["until"] = spec["since"] + timedelta(days=spec["span_days"], seconds=1)
            spec["named"] = sorted({i % len(reads) for i in spec["reads"]}) if reads else []
            session.add(row := _hold_row(world, spec))
            session.flush()
            if spec["scope"] == "reads":
                session.add_all(LegalHoldRead(hold_id=row.id, read_id=reads[i]["id"]) for i in spec["named"])
    return Made(now, reads, holds, jobs)


def _sha(n: int | None) -> str | None:
    return None if n is None else IMAGES[n].sha256


def _read_row(world: World, read: dict) -> PlateRead:
    return PlateRead(
        id=read["id"],
        camera_id=world.cameras[read["camera"]],
        plate=read["plate"],
        plate_raw=read["plate"],
        confidence=0.9,
        captured_at=read["at"],
        corrected_plate=read["corrected"],
        correction="corrected" if read["corrected"] else None,
        crop_sha256=_sha(read["crop"]),
        overview_sha256=_sha(read["overview"]),
    )


def _alert_row(world: World, read: dict) -> Alert:
    return Alert(
        read_id=read["id"],
        camera_id=world.cameras[read["camera"]],
        captured_at=read["at"],
        plate=read["plate"],
        matched_text=read["plate"],
        matched_via="best",
        match_confidence=0.9,
        match_kind="exact",
        priority=1,
        hotlist_name="Stolen vehicles",
        kind="stolen_vehicle",
        entry={"plate": read["plate"]},
        notes="seen",
    )


def _hold_row(world: World, spec: dict) -> LegalHold:
    windowed = spec["scope"] != "reads"
    return LegalHold(
        case_number="2026-004321",
        reason="evidence",
        description="vehicle in the robbery on Main",
        scope=spec["scope"],
        plate=spec["plate"] if spec["scope"] == "plate" else None,
        camera_id=world.cameras[spec["camera"]] if spec["scope"] == "camera" else None,
        since=spec["since"] if windowed else None,
        until=spec["until"] if windowed else None,
        status=spec["status"],
        requested_by="records1",
        requested_at=spec["since"],
    )


# ----------------------------------------------------------------------------------------------------- the model
def _covers(spec: dict, index: int, read: dict) -> bool:
    if spec["scope"] == "reads":
        return index in spec["named"]
    in_window = spec["since"] <= read["at"] < spec["until"]
    if spec["scope"] == "plate":
        return in_window and spec["plate"] in (read["plate"], read["corrected"])
    return in_window and spec["camera"] == read["camera"]


def _expected(world: World, made: Made) -> tuple[set[int], set[int], datetime]:
    """Which reads the purge removes, which of the expired ones holds keep (indexes), and the cutoff."""
    cutoff = made.now - timedelta(days=world.settings.retention.days)
    expired = {i for i, r in enumerate(made.reads) if r["at"] < cutoff}
    held = {i for i in expired if any(h["status"] in PROTECTING and _covers(h, i, made.reads[i]) for h in made.holds)}
    return expired - held, held, cutoff


def _images_of(reads: list[dict], jobs: list[dict]) -> set[str]:
    return {d for r in reads for d in (_sha(r["crop"]), _sha(r["overview"])) if d} | {_sha(j["image"]) for j in jobs}


def _ids_sha256(ids: list[uuid.UUID]) -> str:
    return hashlib.sha256("".join(f"{i}\n" for i in sorted(str(i) for i in ids)).encode()).hexdigest()


# ------------------------------------------------------------------------------------------------ the property
def check_purge(world: World, made: Made) -> None:
    purged, held, cutoff = _expected(world, made)
    kept = [r for i, r in enumerate(made.reads) if i not in purged]
    gone = [r for i, r in enumerate(made.reads) if i in purged]
    jobs_kept = [j for j in made.jobs if not (j["at"] < cutoff and j["state"] in ("done", "failed"))]
    files_before, files_after = _images_of(made.reads, made.jobs), _images_of(kept, jobs_kept)
    store = world.services.image_store

    run = world.services.purger().run(now=made.now)

    with world.database.session() as session:
        rows = {row.id: row for row in session.scalars(select(PlateRead))}
        assert set(rows) == {r["id"] for r in kept}, "expired unheld reads remain, or others were removed"
        for read in kept:  # every kept read is intact, its images readable
            row = rows[read["id"]]
            assert (row.plate, row.corrected_plate, row.camera_id, row.captured_at) == (
                read["plate"],
                read["corrected"],
                world.cameras[read["camera"]],
                read["at"],
            )
            assert (row.crop_sha256, row.overview_sha256) == (_sha(read["crop"]), _sha(read["overview"]))
            for n in (read["crop"], read["overview"]):
                if n is not None:
                    assert store.get(IMAGES[n].sha256) == IMAGES[n].data
        alerts = {a.read_id: a for a in session.scalars(select(Alert).where(Alert.read_id.is_not(None)))}
        assert set(alerts) == {r["id"] for r in kept if r["alert"]}
        assert all(a.plate == r["plate"] and a.entry for r in kept if r["alert"] for a in [alerts[r["id"]]])
        released = list(session.scalars(select(Alert).where(Alert.read_id.is_(None))))
        assert len(released) == sum(r["alert"] for r in gone)
        assert all((a.plate, a.matched_text, a.entry, a.notes) == ("", "", {}, "") for a in released)
        assert set(session.scalars(select(RecognitionJob.id))) == {j["id"] for j in jobs_kept}
        assert set(session.scalars(select(StoredImage.sha256))) == files_after
        assert session.scalars(select(PurgeFileBatch)).first() is None
        assert session.scalars(select(PurgeRunBatch)).first() is None
    assert set(store.digests()) == files_after, "an image file outlived its reads, or a kept one is gone"

    assert run.certificate is not None
    assert verify_document(run.certificate, CERTIFICATE_TYPE, world.services.signing_key.public) == []
    document = run.certificate["document"]
    assert run.cutoff == cutoff
    assert document["removed"]["reads"] == len(gone)
    assert document["removed"]["images"] == len(files_before - files_after)
    assert document["removed"]["jobs"] == len(made.jobs) - len(jobs_kept)
    assert document["removed"]["alerts"] == sum(r["alert"] for r in gone)
    assert document["purged_read_ids"] == {
        **document["purged_read_ids"],
        "count": len(gone),
        "sha256": _ids_sha256([r["id"] for r in gone]),
    }
    assert document["kept_under_hold"]["reads"] == len(held), "the certificate counts holds at another cutoff"

    again = world.services.purger().run(now=made.now)  # idempotent: nothing more goes
    assert again.counts["reads"] == 0 and again.counts["images"] == 0
    assert set(store.digests()) == files_after


PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@PROPERTY
@given(
    now=NOW,
    reads=st.lists(READ, max_size=30),
    holds=st.lists(HOLD, max_size=4),
    jobs=st.lists(JOB, max_size=3),
)
def test_a_purge_removes_exactly_the_expired_unheld_reads(
    world: World, now: datetime, reads: list[dict], holds: list[dict], jobs: list[dict]
) -> None:
    world.reset()
    check_purge(world, _store(world, now, reads, holds, jobs))


def test_the_certificate_counts_held_reads_at_its_own_cutoff(world: World) -> None:
    """A run given its clock (or resumed days after it started) counts the reads its holds kept at the run's own
    cutoff, not at the moment it finishes: here the held read is past retention only for the later clock."""
    now = datetime.now(UTC)
    reads = [{"plate": "7ABC123", "corrected": None, "camera": 0, "days": 300, "seconds": 0, "crop": 0,
              "overview": None, "alert": False}]  # fmt: skip
    holds = [{"status": "active", "scope": "reads", "reads": [0], "plate": "7ABC123", "camera": 0,
              "since_days": 0, "since_seconds": 0, "span_days": 1}]  # fmt: skip
    made = _store(world, now, reads, holds, [])
    later = world.services.purger().run(now=now + timedelta(days=100))
    assert later.certificate is not None and later.certificate["document"]["kept_under_hold"]["reads"] == 1
    earlier = world.services.purger().run(now=now - timedelta(days=100))
    assert earlier.certificate is not None and earlier.certificate["document"]["kept_under_hold"]["reads"] == 0
    assert made.reads[0]["id"] in {r.id for r in _all_reads(world)}


def _all_reads(world: World) -> list[PlateRead]:
    with world.database.session() as session:
        return list(session.scalars(select(PlateRead)))
