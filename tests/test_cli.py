"""The command line as an operator uses it, against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from platekeeper.db import Database
from platekeeper.reads.models import PlateRead


def _cli(tmp_path: Path, database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PLATEKEEPER_DATABASE_URL": database_url,
        "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
        "PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB": "1024",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        input=stdin,
        check=False,
        timeout=300,
    )


def test_operator_flow(tmp_path: Path, database_url: str) -> None:
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    added = _cli(tmp_path, database_url, "users", "add", "dana", "--role", "sworn_officer", "--name", "Dana R")
    assert added.returncode == 0 and "password:" in added.stdout
    typed = _cli(
        tmp_path,
        database_url,
        "users",
        "add",
        "sam",
        "--role",
        "records",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert typed.returncode == 0 and "password:" not in typed.stdout
    listing = _cli(tmp_path, database_url, "users", "list").stdout
    assert "dana" in listing and "sworn_officer" in listing
    camera = _cli(tmp_path, database_url, "cameras", "add", "Unit 12", "--kind", "mobile")
    assert camera.returncode == 0 and "api key: pkc_" in camera.stdout
    rotated = _cli(tmp_path, database_url, "cameras", "rotate-key", "1")
    assert rotated.returncode == 0 and "api key: pkc_" in rotated.stdout
    assert _cli(tmp_path, database_url, "cameras", "deactivate", "1").returncode == 0
    assert "inactive" in _cli(tmp_path, database_url, "cameras", "list").stdout
    assert _cli(tmp_path, database_url, "cameras", "deactivate", "99").returncode == 2
    assert "no hotlists yet" in _cli(tmp_path, database_url, "hotlists", "list").stdout
    status = _cli(tmp_path, database_url, "worker", "status")
    assert status.returncode == 0 and "pending: 0" in status.stdout
    assert "0 job(s) processed" in _cli(tmp_path, database_url, "worker", "run", "--once").stdout
    verify = _cli(tmp_path, database_url, "audit", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout


def test_operator_errors_exit_2_with_a_message(tmp_path: Path, database_url: str) -> None:
    bad_role = _cli(tmp_path, database_url, "users", "add", "x1", "--role", "sheriff")
    assert bad_role.returncode == 2 and "role" in bad_role.stderr and "sheriff" in bad_role.stderr
    short = _cli(tmp_path, database_url, "users", "add", "x2", "--role", "records", "--password-stdin", stdin="abc\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    kind = _cli(tmp_path, database_url, "cameras", "add", "Cam", "--kind", "drone")
    assert kind.returncode == 2 and "kind" in kind.stderr


def test_commands_need_a_migrated_database(tmp_path: Path) -> None:
    result = _cli(tmp_path, f"sqlite:///{tmp_path}/empty.db", "users", "list")
    assert result.returncode == 2 and "platekeeper db upgrade" in result.stderr


def test_demo_seeds_once_and_audit_verify_catches_tampering(tmp_path: Path, database_url: str) -> None:
    first = _cli(tmp_path, database_url, "demo", "--reads", "60", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "admin" in first.stdout and "officer" in first.stdout
    assert (tmp_path / "var" / "demo-credentials.txt").stat().st_mode & 0o077 == 0
    again = _cli(tmp_path, database_url, "demo", "--reads", "60", "--if-empty")
    assert "nothing seeded" in again.stdout
    database = Database(database_url)
    with database.session() as session:
        assert session.scalar(select(func.count(PlateRead.id))) == 60
    assert _cli(tmp_path, database_url, "audit", "verify").returncode == 0
    with database.engine.begin() as conn:
        trigger = (
            "audit_events_no_change ON audit_events" if database.dialect == "postgresql" else "audit_events_no_update"
        )
        conn.execute(text(f"DROP TRIGGER {trigger}"))
        conn.execute(text("UPDATE audit_events SET username = 'someone-else' WHERE seq = 2"))
    database.dispose()
    broken = _cli(tmp_path, database_url, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at event 2" in broken.stderr


def test_first_start_creates_the_administrator(tmp_path: Path, database_url: str) -> None:
    from platekeeper.cli import Runtime, _announce_admin
    from platekeeper.config import load_settings

    settings = load_settings(data_dir=tmp_path / "var", database_url=database_url)
    runtime = Runtime(settings, Database(database_url))
    _announce_admin(runtime)
    saved = (tmp_path / "var" / "initial-admin.txt").read_text()
    assert saved.startswith("username: admin\npassword: ")
    _announce_admin(runtime)  # a second start creates nothing more
    assert (tmp_path / "var" / "initial-admin.txt").read_text() == saved
    runtime.database.dispose()
