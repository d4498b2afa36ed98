"""`platekeeper images check [--repair]`: the image folder and the `images` table checked against each other.

Each kind of defect is made on disk and in the database (both backends): orphan files, rows whose file is missing
(pointed to by a read, a pending job, a finished job, nothing), unreferenced rows and stray temp files. The check
finds them, the repair fixes them and is audited, a second repair finds nothing, and images that are pointed to
and present are never touched; nor is a file young enough to belong to an upload in progress.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor, load_or_create_key, verify_chain
from platekeeper.audit.work import Work
from platekeeper.cameras.service import create_camera
from platekeeper.config import Settings, load_settings
from platekeeper.db import Database, utcnow
from platekeeper.reads.images import ImageStore, ValidImage
from platekeeper.reads.ingest import store_images
from platekeeper.reads.integrity import MISSING_IMAGE, check_images, release_unreferenced_images
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.storage.sealing import TEMP_PREFIX

HOURS_AGO = 2 * 3600


def _image(number: int) -> ValidImage:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (7, 8, 9)).save(buffer, format="JPEG", comment=f"image {number}".encode())
    data = buffer.getvalue()
    return ValidImage(data, hashlib.sha256(data).hexdigest(), "image/jpeg", 16, 8)


def _age(path: Path, seconds: int = HOURS_AGO) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@dataclass
class Installation:
    settings: Settings
    database: Database
    store: ImageStore
    camera_id: int

    def work(self, session) -> Work:  # type: ignore[no-untyped-def]
        key = load_or_create_key(self.settings.data_dir / self.settings.audit.key_file)
        return Work(session, self.settings, key, Actor.system("test"))

    def stored(self, *images: ValidImage) -> None:
        """Files and rows, as ingest writes them, aged past the grace period."""
        with self.database.session() as session:
            store_images(session, self.store, list(images))
        for image in images:
            _age(self.store.path(image.sha256))

    def read(self, crop: str | None = None, overview: str | None = None) -> uuid.UUID:
        read_id = uuid.uuid4()
        with self.database.session() as session:
            session.add(
                PlateRead(
                    id=read_id, camera_id=self.camera_id, plate="7ABC123", plate_raw="7ABC123", confidence=0.9,
                    captured_at=utcnow(), crop_sha256=crop, overview_sha256=overview,
                )
            )  # fmt: skip
        return read_id

    def job(self, image: str, state: str = "pending") -> uuid.UUID:
        job_id = uuid.uuid4()
        with self.database.session() as session:
            session.add(
                RecognitionJob(
                    id=job_id, camera_id=self.camera_id, image_sha256=image, image_kind="overview",
                    captured_at=utcnow(), state=state,
                )
            )  # fmt: skip
        return job_id


def _installation(tmp_path: Path, database_url: str) -> Installation:
    settings = load_settings(data_dir=tmp_path / "var", database_url=database_url)
    database = Database(database_url)
    inst = Installation(settings, database, ImageStore.for_settings(settings), 0)
    with database.session() as session:
        camera, _ = create_camera(inst.work(session), name="Cam 1", kind="fixed")
        inst.camera_id = camera.id
    return inst


@dataclass
class Defects:
    kept: dict[str, ValidImage]  # pointed to and present: never touched
    orphan_file: ValidImage
    young_file: ValidImage
    missing: dict[str, ValidImage]  # by who points to them
    orphan_row: ValidImage
    temp: Path
    young_temp: Path
    unexpected: Path
    reads: dict[str, uuid.UUID]
    jobs: dict[str, uuid.UUID]


def _defects(inst: Installation) -> Defects:
    images = [_image(n) for n in range(10)]
    kept = {"crop": images[0], "overview": images[1], "job": images[2]}
    missing = {"read": images[3], "pending_job": images[4], "done_job": images[5], "nothing": images[6]}
    inst.stored(*kept.values(), *missing.values(), images[7])
    reads = {"crop": inst.read(crop=images[0].sha256), "overview": inst.read(overview=images[1].sha256)}
    reads["missing"] = inst.read(crop=missing["read"].sha256, overview=images[1].sha256)
    jobs = {"kept": inst.job(images[2].sha256), "pending": inst.job(missing["pending_job"].sha256)}
    jobs["done"] = inst.job(missing["done_job"].sha256, state="done")
    for image in missing.values():
        inst.store.path(image.sha256).unlink()
    inst.store.put(images[8])  # a file with no row: an upload cut off before its commit, long ago
    _age(inst.store.path(images[8].sha256))
    inst.store.put(images[9])  # the same, but just written: maybe an upload in progress
    folder = inst.store.path(images[0].sha256).parent
    temp, young_temp = folder / f"{TEMP_PREFIX}cut1", folder / f"{TEMP_PREFIX}cut2"
    temp.write_bytes(b"half a file")
    young_temp.write_bytes(b"being written")
    _age(temp)
    unexpected = inst.store.root / "README.txt"
    unexpected.write_text("left here by an operator")
    return Defects(kept, images[8], images[9], missing, images[7], temp, young_temp, unexpected, reads, jobs)


def test_the_check_finds_each_kind_and_the_repair_fixes_it_once(tmp_path: Path, database_url: str) -> None:
    inst = _installation(tmp_path, database_url)
    d = _defects(inst)
    report = check_images(inst.database, inst.store)
    found = {kind: (f.count, sorted(f.first)) for kind, f in report.found.items()}
    assert found == {
        "orphan_files": (1, [d.orphan_file.sha256]),
        "missing_files": (3, sorted(d.missing[k].sha256 for k in ("read", "pending_job", "nothing"))),
        "orphan_rows": (1, [d.orphan_row.sha256]),
        "stray_temp_files": (1, [str(d.temp.relative_to(inst.store.root))]),
    }
    assert (report.kept_for_jobs, report.young_files, report.unexpected_files) == (1, 2, 1)
    assert report.files_walked == 6 and report.rows_checked == 8 and report.repair is None
    assert inst.store.path(d.orphan_file.sha256).exists()  # a check alone changes nothing

    repaired = check_images(inst.database, inst.store, repair=True)
    counts = repaired.repair
    assert counts is not None and counts.failures == 0 and repaired.resolved
    assert (counts.orphan_files, counts.stray_temp_files, counts.orphan_rows) == (1, 1, 1)
    assert (counts.missing_files, counts.missing_file_rows) == (3, 2)  # the pending job's row stays: it names it
    assert (counts.references_cleared, counts.jobs_failed) == (1, 1)

    again = check_images(inst.database, inst.store, repair=True)
    assert again.problems == 0 and again.repair is not None and vars(again.repair)["failures"] == 0
    assert again.kept_for_jobs == 2 and again.young_files == 2 and again.unexpected_files == 1
    _assert_repaired(inst, d)


def _assert_repaired(inst: Installation, d: Defects) -> None:
    store = inst.store
    for image in d.kept.values():
        assert store.get(image.sha256) == image.data  # pointed to and present: untouched
    assert not store.path(d.orphan_file.sha256).exists() and not d.temp.exists()
    assert not store.path(d.orphan_row.sha256).exists()
    assert store.path(d.young_file.sha256).exists() and d.young_temp.exists() and d.unexpected.exists()
    with inst.database.session() as session:
        rows = set(session.scalars(select(StoredImage.sha256)))
        assert rows == {i.sha256 for i in d.kept.values()} | {d.missing[k].sha256 for k in ("pending_job", "done_job")}
        damaged = session.get(PlateRead, d.reads["missing"])
        assert damaged is not None and damaged.crop_sha256 is None  # the read stays, without the image it lost
        assert damaged.overview_sha256 == d.kept["overview"].sha256  # its other image is still there
        assert session.get(PlateRead, d.reads["crop"]).crop_sha256 == d.kept["crop"].sha256  # type: ignore[union-attr]
        jobs = {name: session.get(RecognitionJob, job_id) for name, job_id in d.jobs.items()}
        assert jobs["kept"].state == "pending"  # type: ignore[union-attr]
        assert jobs["pending"].state == "failed" and jobs["pending"].error == MISSING_IMAGE  # type: ignore[union-attr]
        assert jobs["pending"].finished_at is not None  # type: ignore[union-attr]
        assert jobs["done"].state == "done" and jobs["done"].error is None  # type: ignore[union-attr]


def test_released_files_go_only_after_the_commit(tmp_path: Path, database_url: str) -> None:
    inst = _installation(tmp_path, database_url)
    free, held, fresh = _image(1), _image(2), _image(3)
    inst.stored(free, held, fresh)
    inst.read(crop=held.sha256)
    inst.store.put(fresh)  # renewed by an upload in progress: its file must outlive the row
    digests = [free.sha256, held.sha256, fresh.sha256, free.sha256]
    try:
        with inst.database.session() as session:
            assert release_unreferenced_images(session, inst.store, digests) == 2
            assert inst.store.path(free.sha256).exists()  # not before the commit
            raise RuntimeError("the purge fails before it commits")
    except RuntimeError:
        pass
    assert inst.store.path(free.sha256).exists()
    with inst.database.session() as session:  # the rolled-back run left nothing to delete at this commit
        assert session.get(StoredImage, free.sha256) is not None
    with inst.database.session() as session:
        assert release_unreferenced_images(session, inst.store, digests) == 2
    assert not inst.store.path(free.sha256).exists()
    assert inst.store.get(held.sha256) == held.data and inst.store.get(fresh.sha256) == fresh.data
    with inst.database.session() as session:
        assert set(session.scalars(select(StoredImage.sha256))) == {held.sha256}
        assert release_unreferenced_images(session, inst.store, []) == 0


def test_delete_removes_a_file_and_its_emptied_folders_idempotently(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    first = _image(1)
    path = store.put(first)
    head = first.sha256[:4]
    sibling = head + ("0" if first.sha256[4] != "0" else "1") * 60  # the same leaf folder
    cousin = head[:2] + ("00" if head[2:] != "00" else "11") + "2" * 60  # the same first folder, another leaf
    for digest in (sibling, cousin):
        store.path(digest).parent.mkdir(parents=True, exist_ok=True)
        store.path(digest).write_bytes(b"another image")
    assert store.delete(first.sha256) is True and not path.exists()
    assert store.delete(first.sha256) is False  # idempotent
    assert path.parent.is_dir()  # its sibling is still there
    assert store.delete(sibling) is True and not path.parent.exists()  # the emptied leaf folder went too
    assert path.parent.parent.is_dir()  # the cousin's leaf is in it
    assert store.delete(cousin) is True
    assert list(store.root.iterdir()) == []
    assert store.put(first) == path and store.get(first.sha256) == first.data  # folders made again on the next write


def _cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLATEKEEPER_")},
        "PLATEKEEPER_DATABASE_URL": database_url,
        "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=300,
    )  # fmt: skip


def test_the_command_reports_repairs_audits_and_exits_by_what_is_left(tmp_path: Path, database_url: str) -> None:
    inst = _installation(tmp_path, database_url)
    d = _defects(inst)
    checked = _cli(tmp_path, database_url, "images", "check")
    assert checked.returncode == 1, checked.stderr
    assert "orphan files (no row)" in checked.stdout and d.orphan_file.sha256 in checked.stdout
    assert "`platekeeper images check --repair` repairs them" in checked.stdout
    as_json = _cli(tmp_path, database_url, "images", "check", "--json", "--names", "1")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["clean"] is False and report["problems"] == 6 and report["repair"] is None
    assert report["found"]["missing_files"]["count"] == 3 and len(report["found"]["missing_files"]["first"]) == 1
    assert _cli(tmp_path, database_url, "images", "check", "--names", "-1").returncode == 2
    assert _cli(tmp_path, database_url, "images", "check", "--fix").returncode == 2

    repaired = _cli(tmp_path, database_url, "images", "check", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(repaired.stdout)["repair"]["orphan_rows"] == 1
    clean = _cli(tmp_path, database_url, "images", "check")
    assert clean.returncode == 0 and "the image folder and the images table agree" in clean.stdout
    _assert_repaired(inst, d)
    with inst.database.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "storage.images_repaired")))
        assert [e.outcome for e in events] == ["success"]
        assert events[0].details == {
            "orphan_files": 1, "stray_temp_files": 1, "orphan_rows": 1, "missing_file_rows": 2,
            "references_cleared": 1, "jobs_failed": 1, "failures": 0,
        }  # fmt: skip
        key = load_or_create_key(inst.settings.data_dir / inst.settings.audit.key_file)
        assert verify_chain(session, key).first_bad_seq is None


def test_an_empty_installation_is_clean(tmp_path: Path, database_url: str) -> None:
    inst = _installation(tmp_path, database_url)
    report = check_images(inst.database, inst.store, repair=True)
    assert report.problems == 0 and report.files_walked == 0 and report.resolved
    result = _cli(tmp_path, database_url, "images", "check", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["clean"] is True


def test_repairs_in_batches_while_it_streams(tmp_path: Path, database_url: str) -> None:
    """Batches of 10 (the smallest query_batch_size): repairs commit while the streams are still being read."""
    inst = _installation(tmp_path, database_url)
    inst.database = Database(database_url, batch_size=10)
    rows, files, kept = [_image(n) for n in range(25)], [_image(n) for n in range(25, 50)], _image(50)
    inst.stored(*rows, kept)
    inst.read(crop=kept.sha256)
    for image in files:
        _age(inst.store.put(image))
    seen: list[int] = []
    report = check_images(inst.database, inst.store, repair=True, progress=lambda r: seen.append(r.files_walked))
    assert report.found["orphan_rows"].count == 25 and report.found["orphan_files"].count == 25
    assert report.repair is not None and (report.repair.orphan_rows, report.repair.orphan_files) == (25, 25)
    assert len(seen) >= 5 and seen[-1] == 51
    assert check_images(inst.database, inst.store).problems == 0
    assert [p.name for p in inst.store.root.rglob("*") if p.is_file()] == [kept.sha256]
