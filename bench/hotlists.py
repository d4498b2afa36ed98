#!/usr/bin/env python3
"""Hotlist import speed, historical-hit search, matcher throughput and alert latency (ingest -> dashboard over SSE).

Usage: python bench/hotlists.py [--entries 1000000] [--reads 200000] [--past-reads 200000] [--latency-samples 20]
       [--database-url URL] [--import-only] [--no-write]
Prints a table and writes it to docs/benchmarks.md (section "Hotlists and alerts") with the command line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from report import write_section  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from platekeeper.alerts.historical import search_history_for_import  # noqa: E402
from platekeeper.audit.service import Actor  # noqa: E402
from platekeeper.audit.work import Work  # noqa: E402
from platekeeper.cameras.service import create_camera  # noqa: E402
from platekeeper.config import load_settings  # noqa: E402
from platekeeper.db import Database, utcnow  # noqa: E402
from platekeeper.hotlists.importers import ImportSpec  # noqa: E402
from platekeeper.hotlists.matcher import Confusables, MatchIndex, texts_of_read  # noqa: E402
from platekeeper.hotlists.service import ImportOutcome, create_hotlist, import_entries, iter_match_targets  # noqa: E402
from platekeeper.reads.models import PlateRead  # noqa: E402
from platekeeper.web.app import create_app  # noqa: E402

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
BENCH_KEY = b"k" * 64  # the audit key of the benchmark's own database (no app holds one for it)
KINDS = ("VEH", "LIC", "WAN", "MIS", "WAR")


def _plate(rng: random.Random) -> str:
    return rng.choice("123456789") + "".join(rng.choices(LETTERS, k=3)) + f"{rng.randrange(1000):03d}"


def _csv(entries: int, rng: random.Random) -> tuple[bytes, list[str]]:
    plates = [_plate(rng) for _ in range(entries)]
    lines = ["PlateNumber,State,Category,Reason,NIC,Make,Model,Color"]
    lines += [f"{p},CA,{KINDS[i % 5]},Stolen,V{i:09d},HOND,CIV,GRY" for i, p in enumerate(plates)]
    return ("\n".join(lines) + "\n").encode(), plates


def _work(session: Session, settings: Any) -> Work:
    """The benchmark's unit of audited work (its own audit key: no app holds one here)."""
    return Work(session, settings, BENCH_KEY, Actor.system("bench"))


def _setup(tmp: Path, url: str | None) -> tuple[Any, Database]:
    settings = load_settings(data_dir=tmp / "var", database_url=url or f"sqlite:///{tmp}/bench.db")
    database = Database(settings.resolved_database_url)
    database.upgrade()
    return settings, database


def bench_import(settings: Any, database: Database, data: bytes) -> tuple[float, ImportOutcome]:
    with database.session() as session:
        hotlist = create_hotlist(
            _work(session, settings), name="Bench", kind="stolen_vehicle", source="bench", refresh_hours=24
        )
    started = time.perf_counter()
    with database.session() as session:
        outcome = import_entries(
            _work(session, settings), hotlist.id, data, ImportSpec(), mode="full", file_name="bench.csv"
        )
    return time.perf_counter() - started, outcome


def _store_past_reads(settings: Any, database: Database, plates: list[str], count: int, rng: random.Random) -> None:
    """Past reads within retention, written straight to the table (setup, not measured)."""
    with database.session() as session:
        camera, _ = create_camera(_work(session, settings), name="Bench", kind="fixed")
    now = utcnow()
    reads = _reads(plates, count, rng)
    for start in range(0, count, 10_000):
        rows = [
            {
                "id": uuid.uuid4(),
                "camera_id": camera.id,
                "plate": best,
                "plate_raw": best,
                "confidence": 0.9,
                "region": "us-ca",
                "captured_at": now - timedelta(days=rng.uniform(0, settings.retention.days - 1)),
                "received_at": now,
                "candidates": alternates,
            }
            for best, alternates in reads[start : start + 10_000]
        ]
        with database.session() as session:
            session.execute(insert(PlateRead), rows)


def bench_historical(settings: Any, database: Database, outcome: ImportOutcome) -> tuple[float, str]:
    """The historical-hit search of an import: load its new entries, index them, match every past read."""
    started = time.perf_counter()
    found = search_history_for_import(
        settings, database, BENCH_KEY, Actor.system("bench"), outcome, file_name="bench.csv"
    )
    seconds = time.perf_counter() - started
    assert found.scan is not None
    how = "prefiltered by the database" if found.scan.prefiltered else "streamed"
    return seconds, f"{found.scan.searched:,} reads {how}, {found.scan.found} hits, {found.alerts} alerts"


def _reads(plates: list[str], count: int, rng: random.Random) -> list[tuple[str, list[dict[str, Any]]]]:
    """Reads with a best text and three alternates; about 1% are hotlisted plates (some misread as O/0)."""
    reads = []
    for i in range(count):
        best = rng.choice(plates) if i % 100 == 0 else _plate(rng)
        if i % 300 == 0:
            best = best.replace("0", "O")
        alternates = [{"text": _plate(rng), "confidence": 0.3 - j * 0.05} for j in range(3)]
        reads.append((best, alternates))
    return reads


_INDEX: MatchIndex | None = None
_READS: list[tuple[str, list[dict[str, Any]]]] = []


def _match_slice(part: tuple[int, int]) -> tuple[int, float]:
    """Match every `step`-th read from `start` (the reads and index are inherited by fork, not sent)."""
    assert _INDEX is not None
    start, step = part
    began, hits = time.perf_counter(), 0
    for best, alternates in _READS[start::step]:
        hits += len(_INDEX.match(texts_of_read(best, 0.9, alternates, 3, 0.05), "us-ca", 0.0))
    return hits, time.perf_counter() - began


def bench_matcher(index: MatchIndex, reads: list[tuple[str, list[dict[str, Any]]]], workers: int) -> tuple[float, int]:
    """Reads per second matching with `workers` processes (forked, sharing the index copy-on-write).

    The rate is the reads divided by the slowest worker's matching time (process start-up is not counted: a
    server's workers are already running)."""
    global _INDEX, _READS
    _INDEX, _READS = index, reads
    if workers == 1:
        hits, seconds = _match_slice((0, 1))
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_match_slice, [(i, workers) for i in range(workers)])
        hits, seconds = sum(r[0] for r in results), max(r[1] for r in results)
    return len(reads) / seconds, hits


def _login(app: Any, database: Database, settings: Any, base: str) -> httpx.Client:
    """A dashboard client signed in as a trained, approved, MFA-enrolled officer (through the test harness)."""
    from fastapi.testclient import TestClient
    from tests.conftest import Harness

    harness = Harness(settings=settings, database=database, client=TestClient(app))
    harness.user("benchdispatch", "sworn_officer")
    client = httpx.Client(base_url=base, timeout=30)
    harness.login("benchdispatch", client)  # type: ignore[arg-type]
    return client


def bench_latency(settings: Any, database: Database, plates: list[str], samples: int) -> list[float]:
    """Seconds from the start of an upload to the alert's arrival at a dashboard stream."""
    from tests.browser import live_server

    from platekeeper.cameras.service import create_camera

    app = create_app(settings, database)
    app.state.alerting.matcher.build()
    with database.session() as session:
        work = app.state.platekeeper.services.work(session, Actor.system("bench"))
        _, api_key = create_camera(work, name="Bench cam", kind="fixed")
    latencies: list[float] = []
    with live_server(app) as base:
        client = _login(app, database, settings, base)
        arrived: list[float] = []
        ready = threading.Event()

        def listen() -> None:
            with client.stream("GET", "/api/v1/alerts/stream", headers={"Accept": "text/event-stream"}) as stream:
                ready.set()
                for line in stream.iter_lines():
                    if line.startswith("event: alert"):
                        arrived.append(time.perf_counter())
                        if len(arrived) == samples:
                            return

        threading.Thread(target=listen, daemon=True).start()
        ready.wait(10)
        time.sleep(0.3)
        camera = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {api_key}"})
        rng = random.Random(7)
        for i in range(samples):
            read = {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "plate": rng.choice(plates),
                "plate_raw": "x",
                "confidence": 0.9,
                "captured_at": utcnow().isoformat(),
            }
            sent = time.perf_counter()
            camera.post("/api/v1/reads", json={"reads": [read]})
            deadline = time.monotonic() + 10
            while len(arrived) <= i and time.monotonic() < deadline:
                time.sleep(0.001)
            latencies.append(arrived[i] - sent if len(arrived) > i else float("inf"))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--past-reads", type=int, default=200_000, help="stored reads the historical search scans")
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--import-only", action="store_true", help="measure the import alone (e.g. on PostgreSQL)")
    parser.add_argument("--quick", action="store_true", help="a small size, write nothing: the test suite's size")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.reads, args.past_reads, args.latency_samples, args.no_write = 2_000, 2_000, 2_000, 3, True
    rng = random.Random(462)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings, database = _setup(Path(tmp), args.database_url)
        data, plates = _csv(args.entries, rng)
        seconds, outcome = bench_import(settings, database, data)
        rows.append((f"import {outcome.loaded:,} entries (CSV, full replace, {database.dialect})", f"{seconds:.1f} s"))
        if args.import_only:
            print("\n".join(f"{a}: {b}" for a, b in rows))
            database.dispose()
            return
        _store_past_reads(settings, database, plates, args.past_reads, rng)
        seconds, found = bench_historical(settings, database, outcome)
        rows.append((f"historical-hit search, {len(outcome.new_plates):,} new entries", f"{seconds:.1f} s ({found})"))
        small = replace(outcome, new_plates=frozenset(plates[:100]))
        seconds, found = bench_historical(settings, database, small)
        rows.append(("historical-hit search, 100 new entries", f"{seconds:.2f} s ({found})"))
        started = time.perf_counter()
        signature, targets = iter_match_targets(database)
        confusables = Confusables(settings.matching.confusable_pairs)
        index = MatchIndex.build(targets, confusables, edit_distance_one=False, revision=signature)
        rows.append(("load + index the entries (matcher reload)", f"{time.perf_counter() - started:.1f} s"))
        reads = _reads(plates, args.reads, rng)
        for workers in (1, 2):
            rate, hits = bench_matcher(index, reads, workers)
            rows.append(
                (f"match, best text + 3 alternates, {workers} process(es)", f"{rate:,.0f} reads/s ({hits} hits)")
            )
        started = time.perf_counter()
        edit_index = MatchIndex.build(targets, confusables, edit_distance_one=True, revision=signature)
        rows.append(("index with edit distance 1", f"{time.perf_counter() - started:.1f} s"))
        few = reads[: max(1, args.reads // 4)]
        for workers in (1, 2):
            rate, hits = bench_matcher(edit_index, few, workers)
            rows.append((f"match with edit distance 1, {workers} process(es)", f"{rate:,.0f} reads/s ({hits} hits)"))
        del edit_index, index, targets
        latencies = bench_latency(settings, database, plates[:1000], args.latency_samples)
        ms = sorted(x * 1000 for x in latencies)
        rows.append(
            (
                f"ingest -> alert on a dashboard stream ({len(ms)} uploads, {args.entries:,} entries loaded)",
                f"median {statistics.median(ms):.0f} ms, p95 {ms[int(len(ms) * 0.95) - 1]:.0f} ms, max {ms[-1]:.0f} ms",
            )
        )
        database.dispose()
    table = "| measure | result |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    if not args.no_write:
        write_section("Hotlists and alerts", table, "python bench/hotlists.py " + " ".join(sys.argv[1:]))
    print(json.dumps({"peak_rss_mib": _peak_rss_mib()}))


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    os.environ.setdefault("PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB", "1024")
    main()
