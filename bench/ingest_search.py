#!/usr/bin/env python3
"""Ingest throughput and search latency through the HTTP API, on SQLite (default) or PostgreSQL.

Usage: python bench/ingest_search.py [--reads 20000] [--batch 250] [--database-url URL] [--no-write] [--quick]
Prints a table and writes it to docs/benchmarks.md (section "Ingest and search") with the command line. --quick
runs a small size and writes nothing (the test suite runs it, so the bench cannot break unseen).
Searches go through an API token of an approved, trained officer, as an integration would.
"""

from __future__ import annotations

import argparse
import base64
import io
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from report import write_section  # noqa: E402

from platekeeper.access.service import NewAccount, create_user, principal_for  # noqa: E402
from platekeeper.access.tokens import create_token  # noqa: E402
from platekeeper.access.training import add_training_record, required_courses  # noqa: E402
from platekeeper.audit.service import Actor  # noqa: E402
from platekeeper.cameras.service import create_camera  # noqa: E402
from platekeeper.config import load_settings  # noqa: E402
from platekeeper.db import Database  # noqa: E402
from platekeeper.web.app import create_app  # noqa: E402

CONTEXT = {
    "purpose": "crime_analysis",
    "case_number": "2026-000001",
    "justification": "benchmark of search speed",
}
PASSWORD = "benchmark-password-1"


def _crop(rng: random.Random) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 60), tuple(rng.randrange(256) for _ in range(3))).save(buffer, "JPEG", quality=80)
    return base64.b64encode(buffer.getvalue()).decode()


def _plate(rng: random.Random) -> str:
    return rng.choice("5678") + "".join(rng.choices("ABCDEFGHJKLMNPRSTUVWXYZ", k=3)) + f"{rng.randrange(1000):03d}"


def _setup(tmp: Path, url: str | None):
    settings = load_settings(
        data_dir=tmp / "var",
        database_url=url or f"sqlite:///{tmp}/bench.db",
        guards={"paged_results_limit": {"enabled": False}},  # one bench account pages far more than an officer
    )
    database = Database(settings.resolved_database_url)
    database.upgrade()
    app = create_app(settings, database)
    with database.session() as session:
        work = app.state.platekeeper.services.work(session, Actor.system("bench"))
        _, camera_key = create_camera(work, name=f"Bench {uuid.uuid4().hex[:6]}", kind="fixed")
        account = NewAccount(f"bench{uuid.uuid4().hex[:6]}", "Bench", "sworn_officer", PASSWORD)
        user = create_user(work, account, approved_by="system:bench")
        for course in required_courses(settings, user.role):
            add_training_record(
                work, user.id, course=course.code, completed_on=datetime.now(UTC).date() - timedelta(days=1),
                instructor="Bench", evidence="benchmark account: no real training took place",
            )  # fmt: skip
        _, token = create_token(work, principal_for(user, settings), name="bench", scopes=["reads.search"])
    return app, camera_key, token


def _ingest(client: TestClient, camera_key: str, total: int, batch: int, rng: random.Random) -> tuple[float, list[str]]:
    crops = [_crop(rng) for _ in range(50)]
    plates = [_plate(rng) for _ in range(max(1, total // 5))]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, total, batch):
        reads = [
            {
                "id": str(uuid.uuid4()),
                "plate": rng.choice(plates),
                "confidence": 0.9,
                "captured_at": (now - timedelta(seconds=rng.randrange(30 * 86400))).isoformat(),
                "crop_image": {"base64": rng.choice(crops)},
            }
            for _ in range(min(batch, total - start))
        ]
        response = client.post(
            "/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {camera_key}"}
        )
        response.raise_for_status()
    return time.perf_counter() - started, plates


def _latency(client: TestClient, token: str, params_list: list[dict[str, str]]) -> float:
    times = []
    for params in params_list:
        started = time.perf_counter()
        client.get(
            "/api/v1/reads", params={**CONTEXT, **params}, headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--no-write", action="store_true", help="print only; do not update docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="200 reads, write nothing: the test suite's size")
    args = parser.parse_args()
    if args.quick:
        args.reads, args.batch, args.no_write = 200, 50, True
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        app, camera_key, token = _setup(Path(tmp), args.database_url)
        with TestClient(app) as client:
            seconds, plates = _ingest(client, camera_key, args.reads, args.batch, rng)
            sample = rng.sample(plates, min(50, len(plates)))
            exact = _latency(client, token, [{"plate": p} for p in sample])
            wildcard = _latency(client, token, [{"plate": p[:3] + "*"} for p in sample])
            since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            ranged = _latency(client, token, [{"since": since, "until": datetime.now(UTC).isoformat()}] * 20)
        dialect = app.state.platekeeper.database.dialect
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("database", dialect),
        ("reads ingested", f"{args.reads:,} in batches of {args.batch}"),
        ("ingest throughput", f"{args.reads / seconds:,.0f} reads/s"),
        ("search, exact plate (median of 50)", f"{exact:.1f} ms"),
        ("search, wildcard 3 chars + * (median of 50)", f"{wildcard:.1f} ms"),
        ("search, last hour, all cameras (median of 20)", f"{ranged:.1f} ms"),
        ("peak RSS", f"{rss:.0f} MiB"),
    ]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    print(table)
    if not args.no_write:
        command = "python bench/ingest_search.py " + " ".join(sys.argv[1:])
        write_section("Ingest and search", table, command.strip())


if __name__ == "__main__":
    main()
