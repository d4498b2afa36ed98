#!/usr/bin/env python3
"""Search at county scale: each query form's latency over a year of reads, on SQLite and PostgreSQL side by side.

Usage: python bench/scale.py [--reads 1000000] [--engine both|sqlite|postgresql] [--repeat 20] [--no-write] [--quick]

Loads --reads reads from 50 cameras over the last 360 days (bulk: COPY on PostgreSQL, multi-row inserts on SQLite;
no image files, which a search does not open without thumbnails), a correction on one read in a thousand. Then
times the search service's own call (``search_reads`` through a Work and an AccessContext, as the API does: the
count and the first page, audited) for each query form, --repeat times with different plates, and prints the
p50 and p95 of each, the database size per million reads, and the load rate. Writes the table to
docs/benchmarks.md ("Search at scale") with the command line. --quick (2,000 reads, 3 repeats) is the suite's size.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from report import bulk_insert, run_on_engine, write_section  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from platekeeper.access.context import build_access_context  # noqa: E402
from platekeeper.access.service import NewAccount, create_user, principal_for  # noqa: E402
from platekeeper.access.training import add_training_record, required_courses  # noqa: E402
from platekeeper.audit.service import Actor  # noqa: E402
from platekeeper.cameras.service import create_camera  # noqa: E402
from platekeeper.config import Settings, load_settings  # noqa: E402
from platekeeper.db import Database, utcnow  # noqa: E402
from platekeeper.reads.models import PlateRead  # noqa: E402
from platekeeper.reads.service import ReadQuery, search_reads  # noqa: E402
from platekeeper.services import Services, build_services  # noqa: E402

CONTEXT = {"purpose": "crime_analysis", "case_number": "2026-000001", "justification": "benchmark of search speed"}
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
CAMERAS = 50
CHUNK = 20_000
GUARD_RULES = ("plateless_searches", "paged_results", "paged_results_limit", "justification_reuse")
TARGETS_MS = {"exact": 20.0, "prefix": 200.0, "inner": 500.0, "suffix": 500.0, "range": 100.0}
FORMS: dict[str, Callable[[str], str]] = {
    "exact": lambda plate: plate,
    "prefix": lambda plate: plate[:3] + "*",  # 7AB*
    "inner": lambda plate: plate[0] + "?" + plate[2:],  # 7?BC123
    "suffix": lambda plate: "*" + plate[-4:],  # *C123
}
LABELS = {"exact": "exact plate", "prefix": "prefix `7AB*`", "inner": "inner `7?BC123`", "suffix": "suffix `*C123`",
          "range": "30-day range, all cameras"}  # fmt: skip


@dataclass
class Result:
    engine: str
    reads: int
    load_s: float
    size_mb: float
    p50: dict[str, float]
    p95: dict[str, float]

    def rows(self) -> list[str]:
        per_million = self.size_mb / (self.reads / 1_000_000)
        head = f"| {self.engine} | {self.reads:,} | {self.reads / self.load_s:,.0f} | {per_million:,.0f} |"
        cells = [f"{self.p50[f]:,.1f} / {self.p95[f]:,.1f} {'✓' if self.p95[f] <= TARGETS_MS[f] else '✗'}"
                 for f in TARGETS_MS]  # fmt: skip
        return [head + " " + " | ".join(cells) + " |"]


HEADER = (
    "| engine | reads | loaded reads/s | MB per million reads | "
    + " | ".join(f"{LABELS[f]} p50 / p95 ms (≤ {TARGETS_MS[f]:.0f})" for f in TARGETS_MS)
    + " |\n|---|---:|---:|---:|"
    + "---:|" * len(TARGETS_MS)
)


def _plate(rng: random.Random) -> str:
    return rng.choice("5678") + "".join(rng.choices(LETTERS, k=3)) + f"{rng.randrange(1000):03d}"


def _rows(total: int, cameras: list[int], rng: random.Random) -> Iterator[dict]:
    """A year of reads in about capture order, as cameras send them; a plate seen about 20 times on average."""
    now = utcnow()
    plates = [_plate(rng) for _ in range(max(20, total // 20))]
    for i in range(total):
        captured = now - timedelta(seconds=86400 * 360 * (1 - i / total) + rng.random() * 60 + 60)
        plate = rng.choice(plates)
        corrected = _plate(rng) if rng.random() < 0.001 else None
        yield {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4), "camera_id": rng.choice(cameras), "plate": plate,
            "plate_raw": plate, "confidence": round(rng.uniform(0.6, 0.99), 3), "captured_at": captured,
            "received_at": captured, "corrected_plate": corrected, "correction": "corrected" if corrected else None,
        }  # fmt: skip


def _insert(database: Database, rows: list[dict]) -> None:
    bulk_insert(database, [(PlateRead.__table__, rows)])


def _prepare(services: Services) -> tuple[list[int], object]:
    """50 cameras and a trained, approved officer's access context."""
    settings = services.settings
    with services.database.session() as session:
        work = services.work(session, Actor.system("bench"))
        cameras = [create_camera(work, name=f"Bench scale {n}", kind="fixed")[0].id for n in range(CAMERAS)]
        user = create_user(work, NewAccount("benchscale", "Bench", "sworn_officer", "benchmark-password-1"),
                           approved_by="system:bench")  # fmt: skip
        for course in required_courses(settings, user.role):
            add_training_record(
                work, user.id, course=course.code, completed_on=utcnow().date() - timedelta(days=1),
                instructor="Bench", evidence="benchmark account: no real training took place",
            )  # fmt: skip
        principal = principal_for(user, settings)
    return cameras, principal


def _size_mb(database: Database, url: str) -> float:
    if database.dialect == "sqlite":
        path = Path(make_url(url).database or "")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
    with database.engine.connect() as conn:  # the whole database, as the SQLite file is
        return float(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()) / 1e6


def _analyze(database: Database) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _time(services: Services, principal: object, query: ReadQuery) -> float:
    ctx = build_access_context(principal, services.settings.access, **CONTEXT)  # type: ignore[arg-type]
    actor = Actor.of(principal, "bench")  # type: ignore[arg-type]
    started = time.perf_counter()
    with services.database.session() as session:
        search_reads(services.work(session, actor), ctx, query)
    return (time.perf_counter() - started) * 1000


def _bench(engine: str, url: str, tmp: Path, args: argparse.Namespace) -> Result:
    settings: Settings = load_settings(
        data_dir=tmp / "var", database_url=url, storage={"encrypt_images": False},
        guards={rule: {"enabled": False} for rule in GUARD_RULES},  # one bench account searches like a hundred
    )  # fmt: skip
    database = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    database.upgrade()
    services = build_services(settings, database)
    cameras, principal = _prepare(services)
    rng, started, chunk, plates = random.Random(26), time.perf_counter(), list[dict](), list[str]()
    for row in _rows(args.reads, cameras, rng):
        chunk.append(row)
        if len(plates) < 1000 and rng.random() < 0.01:
            plates.append(row["plate"])
        if len(chunk) == CHUNK:
            _insert(database, chunk)
            chunk = []
    if chunk:
        _insert(database, chunk)
    _analyze(database)
    load_s = time.perf_counter() - started
    p50, p95, now = {}, {}, utcnow()
    for form in TARGETS_MS:
        times = []
        for n in range(args.repeat + 1):
            plate = plates[(n * 7919) % len(plates)]
            if form == "range":
                since = now - timedelta(days=rng.randrange(30, 330))
                query = ReadQuery(since=since, until=since + timedelta(days=30))
            else:
                query = ReadQuery(plate=FORMS[form](plate))
            took = _time(services, principal, query)
            if n:  # the first one warms the caches
                times.append(took)
        p50[form] = statistics.median(times)
        p95[form] = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
        print(f"  {engine} {form}: p50 {p50[form]:,.1f} ms, p95 {p95[form]:,.1f} ms", file=sys.stderr)
    result = Result(engine, args.reads, load_s, _size_mb(database, url), p50, p95)
    database.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--repeat", type=int, default=20, help="searches timed per query form")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="2,000 reads, 3 repeats, write nothing: the suite's size")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.repeat, args.no_write = 2_000, 3, True
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    results = [r for r in (run_on_engine(engine, args, _bench) for engine in engines) if r is not None]
    table = HEADER + "\n" + "\n".join(row for r in results for row in r.rows())
    print(table)
    if not args.no_write:
        write_section("Search at scale", table, ("python bench/scale.py " + " ".join(sys.argv[1:])).strip())


if __name__ == "__main__":
    main()
