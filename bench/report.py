"""What the bench scripts share: writing one benchmark's table into docs/benchmarks.md (replacing only its own
section), running a benchmark on a fresh SQLite file or a fresh PostgreSQL database, and loading rows in bulk."""

from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import psycopg
from sqlalchemy import Table, insert
from sqlalchemy.engine import make_url

from platekeeper.db import Database

__all__ = ["bulk_insert", "run_on_engine", "write_section"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nLatest figures from the scripts in `bench/` (`make bench` runs them all).\n"


def write_section(title: str, table: str, command: str) -> None:
    """Replace (or add) the section ``## title`` with the table, the command and the machine it ran on."""
    text = DOC.read_text() if DOC.exists() else HEADER
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    body = (
        f"## {title}\n\nMeasured {when} on {platform.machine()}, {_cores()} cores, Python "
        f"{platform.python_version()}, with:\n\n```\n{command}\n```\n\n{table}\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(body + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


T = TypeVar("T")


def run_on_engine(
    engine: str, args: argparse.Namespace, bench: Callable[[str, str, Path, argparse.Namespace], T]
) -> T | None:
    """``bench(engine, url, folder, args)`` on a fresh SQLite file in a temporary folder, or on a fresh PostgreSQL
    database made on ``args.pg_admin_url`` and dropped after. None when PostgreSQL does not answer and the run asked
    for both engines (``args.engine``), so SQLite's figures still come out."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if engine == "sqlite":
            return bench(engine, f"sqlite:///{tmp}/bench.db", Path(tmp), args)
        name = f"bench_{os.getpid()}"
        try:
            _pg_database(args.pg_admin_url, name, create=True)
        except psycopg.OperationalError as exc:
            if args.engine == "postgresql":
                raise
            print(f"postgresql: skipped, {args.pg_admin_url} does not answer ({exc})".splitlines()[0])
            return None
        try:
            url = make_url(args.pg_admin_url).set(database=name).render_as_string(hide_password=False)
            return bench(engine, url, Path(tmp), args)
        finally:
            _pg_database(args.pg_admin_url, name, create=False)


def _pg_database(admin_url: str, name: str, create: bool) -> None:
    url = make_url(admin_url)
    dsn = f"host={url.host} port={url.port or 5432} user={url.username or 'postgres'} dbname={url.database}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}" if create else f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bulk_insert(database: Database, batches: list[tuple[Table, list[dict]]]) -> None:
    """Load each table's rows in one transaction, in order (a table named by a later one first): COPY on
    PostgreSQL, an executemany on SQLite."""
    if database.dialect == "postgresql":
        raw = database.engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                for table, rows in batches:
                    columns = list(rows[0])
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([row[c] for c in columns])
            raw.commit()
        finally:
            raw.close()
        return
    with database.engine.begin() as conn:
        for table, rows in batches:
            conn.execute(insert(table), rows)
