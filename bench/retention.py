#!/usr/bin/env python3
"""Retention purge (462.9): purge time, search p95 while it runs, and the dry run, on SQLite and PostgreSQL.

Usage: python bench/retention.py [--reads 1000000] [--young 0.1] [--engine sqlite|postgresql|both]
       [--pg-admin-url URL] [--batch-size N] [--pause-ms N] [--no-write] [--quick]
Loads N reads captured ~400 days ago, each with its own crop (an ``images`` row and a small file where the image
store expects it), a fraction of young reads that must survive, and one active legal hold over a few expired reads
that must survive too. Then: the dry run (``Purger.preview``); the idle search p95; the purge end to end (rows,
files, certificate) while a second process keeps searching (``search_reads`` through a Work and an AccessContext:
count and first page, audited, for an exact plate and a 3-character prefix wildcard; one search at most every
--search-interval-ms, as officers search, not back to back), and that p95. Finally it
checks the end state. Files are written plain (``storage.encrypt_images`` off): sealing does not change what the
purge does with a file (one unlink). PostgreSQL runs in a database of its own, created and dropped here.
Prints a table and writes it to docs/benchmarks.md (section "Retention purge"); --quick (2,000 reads, SQLite,
and PostgreSQL when it answers) writes nothing: the test suite runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from report import bulk_insert, run_on_engine, write_section  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from platekeeper.access.context import build_access_context  # noqa: E402
from platekeeper.access.models import User  # noqa: E402
from platekeeper.access.service import NewAccount, create_user, principal_for  # noqa: E402
from platekeeper.access.training import add_training_record, required_courses  # noqa: E402
from platekeeper.audit.service import Actor  # noqa: E402
from platekeeper.cameras.service import create_camera  # noqa: E402
from platekeeper.config import Settings, load_settings  # noqa: E402
from platekeeper.db import SQLITE_BUSY_TIMEOUT_MS, Database, utcnow  # noqa: E402
from platekeeper.reads.images import ImageStore  # noqa: E402
from platekeeper.reads.models import PlateRead, StoredImage  # noqa: E402
from platekeeper.reads.service import ReadQuery, search_reads  # noqa: E402
from platekeeper.retention.models import LegalHold, LegalHoldRead  # noqa: E402
from platekeeper.services import Services, build_services  # noqa: E402

CONTEXT = {"purpose": "crime_analysis", "case_number": "2026-000001", "justification": "benchmark of search speed"}
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
HELD = 5  # expired reads the legal hold keeps
CHUNK = 20_000  # rows per insert statement batch while loading
TARGETS = {"purge_s": 300.0, "dry_run_s": 30.0, "ratio": 2.0}


@dataclass
class Loaded:
    """What was loaded: the ids and digests to check afterwards, and plates to search for."""

    expired: list[uuid.UUID] = field(default_factory=list)
    young: list[uuid.UUID] = field(default_factory=list)
    expired_digests: list[str] = field(default_factory=list)
    young_digests: list[str] = field(default_factory=list)
    plates: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Result:
    engine: str
    reads: int
    load_s: float
    purge_s: float
    dry_run_s: float
    idle_p95: float
    during_p95: float
    searches_during: int
    batch_size: int

    def row(self) -> str:
        ratio = self.during_p95 / self.idle_p95
        checks = (
            self.purge_s <= TARGETS["purge_s"] * self.reads / 1_000_000,
            self.dry_run_s <= TARGETS["dry_run_s"],
            ratio <= TARGETS["ratio"],
        )
        marks = " | ".join("pass" if ok else "FAIL" for ok in checks)
        return (
            f"| {self.engine} | {self.reads:,} | {self.batch_size:,} | {self.load_s:.0f} | {self.purge_s:.1f} | "
            f"{self.reads / self.purge_s:,.0f} | {self.dry_run_s:.2f} | {self.idle_p95:.1f} | {self.during_p95:.1f} "
            f"({self.searches_during}) | {ratio:.2f} | {marks} |"
        )


HEADER = (
    "| engine | expired reads | batch | load s | purge s | reads/s | dry run s | idle p95 ms | during p95 ms "
    "(searches) | ratio | purge ≤ 5 min per 1M | dry run ≤ 30 s | p95 ≤ 2 x idle |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _settings(tmp: Path, url: str, args: argparse.Namespace) -> Settings:
    retention: dict[str, int] = {}
    if args.pause_ms is not None:
        retention["pause_ms"] = args.pause_ms
    if args.batch_size:
        retention["batch_size"] = args.batch_size
    return load_settings(
        data_dir=tmp / "var",
        database_url=url,
        storage={"encrypt_images": False},
        retention=retention,
        guards={"paged_results_limit": {"enabled": False}},  # one bench account searches far more than an officer
    )


def _prepare(services: Services) -> tuple[int, int]:
    """A camera for the reads and a trained, approved officer who searches; return their ids."""
    settings = services.settings
    with services.database.session() as session:
        work = services.work(session, Actor.system("bench"))
        camera, _ = create_camera(work, name="Bench retention", kind="fixed")
        account = NewAccount("benchsearch", "Bench", "sworn_officer", "benchmark-password-1")
        user = create_user(work, account, approved_by="system:bench")
        for course in required_courses(settings, user.role):
            add_training_record(
                work, user.id, course=course.code, completed_on=utcnow().date() - timedelta(days=1),
                instructor="Bench", evidence="benchmark account: no real training took place",
            )  # fmt: skip
        return camera.id, user.id


def _plate(rng: random.Random) -> str:
    return rng.choice("5678") + "".join(rng.choices(LETTERS, k=3)) + f"{rng.randrange(1000):03d}"


def _generate(total: int, young: int, rng: random.Random, camera_id: int) -> Iterator[tuple[dict, dict, bytes]]:
    """(read row, image row, file bytes) for ``total`` expired reads then ``young`` young ones."""
    now = utcnow()
    plates = [_plate(rng) for _ in range(max(20, (total + young) // 20))]
    for i in range(total + young):
        expired = i < total
        data = f"platekeeper retention bench image {i}\n".encode()
        digest = hashlib.sha256(data).hexdigest()
        # Reads arrive about in the order they were captured (a camera sends them as it makes them), a month of
        # them evenly, each up to a minute out of order: rows and time indexes grow at their ends, as they do.
        span, at = (total, i) if expired else (young, i - total)
        age = timedelta(days=400 if expired else 0, seconds=86400 * 30 * (1 - at / max(span, 1)) + rng.random() * 60)
        captured = now - age
        plate = rng.choice(plates)
        read = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4), "camera_id": camera_id, "plate": plate,
            "plate_raw": plate, "confidence": 0.9, "captured_at": captured, "received_at": captured,
            "crop_sha256": digest,
        }  # fmt: skip
        image = {"sha256": digest, "media_type": "image/jpeg", "size_bytes": len(data), "width": 1, "height": 1,
                 "stored_at": captured}  # fmt: skip
        yield read, image, data


OLD_FILE = time.time() - 400 * 86400  # the files of reads captured 400 days ago are as old as they are


def _write_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)
    os.utime(path, (OLD_FILE, OLD_FILE))  # past storage.image_grace_minutes, as a real expired read's file is


def _write_files(store: ImageStore, batch: list[tuple[str, bytes]], made: set[str]) -> None:
    """Plain files where the store looks for them, 16 at a time (each write waits on the disk, not the CPU)."""
    for digest, _ in batch:
        if digest[:4] not in made:
            store.path(digest).parent.mkdir(parents=True, exist_ok=True)
            made.add(digest[:4])
    with ThreadPoolExecutor(16) as pool:
        for _ in pool.map(lambda item: _write_file(store.path(item[0]), item[1]), batch, chunksize=64):
            pass


def _insert(database: Database, reads: list[dict], images: list[dict]) -> None:
    """One chunk (images first: the reads refer to them)."""
    bulk_insert(database, [(StoredImage.__table__, images), (PlateRead.__table__, reads)])


def _load(services: Services, total: int, young: int, camera_id: int) -> Loaded:
    """Bulk-load the reads, their image rows and files; return what to check afterwards."""
    started, loaded, rng = time.perf_counter(), Loaded(), random.Random(21)
    store, made = services.image_store, set[str]()
    reads: list[dict] = []
    images: list[dict] = []
    files: list[tuple[str, bytes]] = []
    for read, image, data in _generate(total, young, rng, camera_id):
        expired = len(loaded.expired) < total
        (loaded.expired if expired else loaded.young).append(read["id"])
        (loaded.expired_digests if expired else loaded.young_digests).append(image["sha256"])
        if not expired and len(loaded.plates) < 200:
            loaded.plates.append(read["plate"])
        reads.append(read)
        images.append(image)
        files.append((image["sha256"], data))
        if len(reads) == CHUNK:
            _write_files(store, files, made)
            _insert(services.database, reads, images)
            reads, images, files = [], [], []
    if reads:
        _write_files(store, files, made)
        _insert(services.database, reads, images)
    _hold(services, loaded.expired[:HELD])
    loaded.seconds = time.perf_counter() - started
    return loaded


def _hold(services: Services, read_ids: list[uuid.UUID]) -> None:
    """An active hold (requested by one person, approved by another) naming a few expired reads."""
    with services.database.session() as session:
        hold = LegalHold(
            case_number="2026-000099", reason="evidence", description="benchmark: kept past retention",
            scope="reads", status="active", requested_by="bench-requester", decided_by="bench-approver",
            decided_at=utcnow(),
        )  # fmt: skip
        session.add(hold)
        session.flush()
        session.add_all(LegalHoldRead(hold_id=hold.id, read_id=read_id) for read_id in read_ids)


def _searcher(url: str, data_dir: str, plan: tuple[int, list[str], int, float], pipe: Any, go: Any) -> None:
    """A second process, as the web server is: searches idle, then until the purge ends, one every ``interval``
    seconds at most (officers searching; back to back, SQLite's writers would starve the purge of its lock)."""
    user_id, plates, idle_n, interval = plan
    settings = load_settings(
        data_dir=Path(data_dir),
        database_url=url,
        storage={"encrypt_images": False},
        guards={"paged_results_limit": {"enabled": False}},  # one bench account searches far more than an officer
    )
    database = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    services = build_services(settings, database)
    with database.session() as session:
        principal = principal_for(session.get_one(User, user_id), settings)
    ctx = build_access_context(principal, settings.access, **CONTEXT)
    actor, rng = Actor.of(principal, "bench"), random.Random(5)

    def one() -> float:
        plate = rng.choice(plates)
        query = ReadQuery(plate=plate if rng.random() < 0.5 else plate[:3] + "*")
        started = time.perf_counter()
        with database.session() as session:
            search_reads(services.work(session, actor), ctx, query)
        took = time.perf_counter() - started
        time.sleep(max(0.0, interval - took))
        return took * 1000

    for _ in range(5):
        one()  # warm the caches and the connection pool
    pipe.send([one() for _ in range(idle_n)])
    go.wait()
    during: list[float] = []
    while not pipe.poll():
        try:
            during.append(one())
        except OperationalError:  # waited out the lock timeout: the worst a search can see, counted as such
            during.append(float(SQLITE_BUSY_TIMEOUT_MS))
    pipe.send(during)
    database.dispose()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def _verify(services: Services, loaded: Loaded, run: Any) -> None:
    """Expired unheld reads, their images and files are gone; young and held reads kept everything."""
    purged = len(loaded.expired) - HELD
    with services.database.session() as session:
        ids = set(session.scalars(select(PlateRead.id)))
        images = session.scalar(select(func.count()).select_from(StoredImage)) or 0
    kept = set(loaded.young) | set(loaded.expired[:HELD])
    assert ids == kept, f"{len(ids - kept)} reads should be gone, {len(kept - ids)} should be kept"
    assert images == len(kept), f"{images} image rows left, expected {len(kept)}"
    store = services.image_store
    assert not any(store.path(d).exists() for d in loaded.expired_digests[HELD:]), "a purged read's file is left"
    kept_digests = loaded.young_digests + loaded.expired_digests[:HELD]
    assert all(store.path(d).exists() for d in kept_digests), "a kept read lost its file"
    assert run.status == "finished" and run.certificate is not None, "the run has no certificate"
    assert run.counts["reads"] == purged and run.counts["images"] == purged, run.counts
    assert run.certificate["document"]["purged_read_ids"]["count"] == purged


def _bench_engine(engine: str, url: str, tmp: Path, args: argparse.Namespace) -> Result:
    settings = _settings(tmp, url, args)
    database = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    database.upgrade()
    services = build_services(settings, database)
    camera_id, user_id = _prepare(services)
    young = int(args.reads * args.young)
    loaded = _load(services, args.reads, young, camera_id)
    print(f"{engine}: loaded {args.reads:,} expired + {young:,} young reads in {loaded.seconds:.0f} s", flush=True)
    _analyze(database)
    purger = services.purger()
    started = time.perf_counter()
    preview = purger.preview()
    dry_run_s = time.perf_counter() - started
    assert preview.reads == args.reads - HELD and preview.held_reads == HELD, preview
    idle, during, purge_s, run = _purge_while_searching(services, purger, loaded, user_id, args)
    _verify(services, loaded, run)
    database.dispose()
    return Result(
        engine, args.reads, loaded.seconds, purge_s, dry_run_s, _p95(idle), _p95(during), len(during),
        settings.retention.batch_for(database.dialect),
    )  # fmt: skip


def _analyze(database: Database) -> None:
    """Statistics after a bulk load, as autovacuum (PostgreSQL) or ``PRAGMA optimize`` (SQLite) would gather."""
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def _purge_while_searching(
    services: Services, purger: Any, loaded: Loaded, user_id: int, args: argparse.Namespace
) -> tuple[list[float], list[float], float, Any]:
    """Idle searches, then the purge with the searcher running; return (idle ms, during ms, purge s, run)."""
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    go = spawn.Event()
    url = services.settings.resolved_database_url
    plan = (user_id, loaded.plates, args.idle_searches, args.search_interval_ms / 1000)
    worker = spawn.Process(
        target=_searcher,
        args=(url, str(services.settings.data_dir), plan, theirs, go),
    )
    worker.start()
    idle = ours.recv()
    last = [time.perf_counter()]

    def progress(what: str, done: int) -> None:
        if time.perf_counter() - last[0] > 15:
            print(f"  purged {done:,} {what}", file=sys.stderr, flush=True)
            last[0] = time.perf_counter()

    go.set()
    time.sleep(0.2)  # the searcher is under way before the purge begins
    started = time.perf_counter()
    run = purger.run(trigger="command", progress=progress)
    purge_s = time.perf_counter() - started
    ours.send("stop")
    during = ours.recv()
    worker.join()
    return idle, during or [float("nan")], purge_s, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000, help="expired reads to purge")
    parser.add_argument("--young", type=float, default=0.1, help="young reads, as a fraction of --reads")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--batch-size", type=int, default=None, help="retention.batch_size (default: the default)")
    parser.add_argument("--pause-ms", type=int, default=None, help="retention.pause_ms (default: the default)")
    parser.add_argument("--idle-searches", type=int, default=200)
    parser.add_argument("--search-interval-ms", type=int, default=200, help="one search at most this often")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="2,000 reads, write nothing: the test suite's size")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.idle_searches, args.search_interval_ms, args.no_write = 2_000, 30, 50, True
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results = [r for r in (run_on_engine(engine, args, _bench_engine) for engine in engines) if r is not None]
    table = HEADER + "\n" + "\n".join(r.row() for r in results)
    print(table)
    if not args.no_write:
        command = "python bench/retention.py " + " ".join(sys.argv[1:])
        write_section("Retention purge", table, command.strip())


if __name__ == "__main__":
    main()
