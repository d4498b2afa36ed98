"""Files on disk are private to the service user: 0600 for files, 0700 for folders, whatever the caller's umask.

The database and its WAL journal, images, keys and credentials hold plate data or secrets, so no other account on
the machine may read them. Every entry point (the command line, the app factory) sets umask 0077, and the start-up
check names what is still wider (a file copied in, a folder made by hand, an installation from before the fix).
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from platekeeper.config import load_settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, Harness, make_read

LOOSE_UMASK = 0o022  # the usual login default: files 0644, folders 0755


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
            "PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB": "1024",
            "COLUMNS": "300",
            **env,
        },
        cwd=tmp_path,
        check=False,
        timeout=300,
        umask=LOOSE_UMASK,
    )


def _modes(root: Path) -> dict[str, int]:
    """Every entry under root (root included), relative path -> permission bits."""
    found = {".": stat.S_IMODE(root.lstat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _assert_private(root: Path) -> None:
    wide = {
        name: oct(mode) for name, mode in _modes(root).items() if mode != (0o700 if (root / name).is_dir() else 0o600)
    }
    assert wide == {}, f"not private under {root}: {wide}"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Run with the usual 022 umask, and give the test process back the umask it had."""
    before = os.umask(LOOSE_UMASK)
    yield
    os.umask(before)


def test_the_command_line_keeps_every_file_private(tmp_path: Path) -> None:
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    seeded = _cli(tmp_path, "demo", "--reads", "3")
    assert seeded.returncode == 0, seeded.stderr
    worker = _cli(tmp_path, "worker", "run", "--once")  # builds the app: the signing key
    assert worker.returncode == 0, worker.stderr
    assert "readable by other users" not in worker.stderr
    var = tmp_path / "var"
    names = set(_modes(var))
    assert {"platekeeper.db", "audit.key", "signing.key", "demo-credentials.txt", "images"} <= names
    assert sum(1 for p in (var / "images").rglob("*") if p.is_file()) >= 3
    _assert_private(var)

    database = Database(f"sqlite:///{var / 'platekeeper.db'}")  # this process's umask is 022: SQLite's own modes
    with database.engine.connect() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        conn.commit()
        assert {n: oct(m) for n, m in _modes(var).items() if n.startswith("platekeeper.db")} == {
            "platekeeper.db": "0o600",
            "platekeeper.db-wal": "0o600",
            "platekeeper.db-shm": "0o600",
        }
    database.dispose()


def test_the_app_factory_keeps_every_file_private(tmp_path: Path, loose_umask: None) -> None:
    """A server started some other way (uvicorn --factory, gunicorn) builds the app with create_app."""
    settings = load_settings(data_dir=tmp_path / "var", access=FAST_HASH)
    app = create_app(settings)
    database = app.state.platekeeper.database
    database.upgrade()
    with TestClient(app) as client:
        harness = Harness(settings=settings, database=database, client=client)
        _, api_key = harness.camera()
        response = client.post(
            "/api/v1/reads", json={"reads": [make_read()]}, headers={"Authorization": f"Bearer {api_key}"}
        )
        assert response.status_code == 200, response.text
        var = tmp_path / "var"
        assert (var / "platekeeper.db-wal").exists() and (var / "signing.key").exists()
        assert any(p.is_file() for p in (var / "images").rglob("*"))
        _assert_private(var)
    database.dispose()


def test_a_database_made_outside_the_entry_points_is_private(tmp_path: Path, loose_umask: None) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'platekeeper.db'}")
    database.upgrade()
    database.dispose()
    _assert_private(tmp_path / "new")


def _loosen(tmp_path: Path) -> Path:
    """A migrated installation in which someone left files and folders readable by others."""
    assert _cli(tmp_path, "db", "upgrade").returncode == 0
    var = tmp_path / "var"
    (var / "platekeeper.db").chmod(0o644)
    exports = var / "exports"
    exports.mkdir()
    exports.chmod(0o755)
    for number in range(30):
        (exports / f"export-{number:02}.csv").write_text("plate\n")
        (exports / f"export-{number:02}.csv").chmod(0o640)
    return var


def test_start_up_names_files_wider_than_private(tmp_path: Path) -> None:
    var = _loosen(tmp_path)
    keys = tmp_path / "keys"  # a key kept on another volume is checked too
    keys.mkdir(mode=0o700)
    signing = keys / "signing.key"
    started = _cli(tmp_path, "worker", "run", "--once", PLATEKEEPER_SIGNING__KEY_FILE=str(signing))
    assert started.returncode == 0, started.stderr
    assert str(signing) not in started.stderr
    signing.chmod(0o644)

    warned = _cli(
        tmp_path, "worker", "run", "--once", PLATEKEEPER_SIGNING__KEY_FILE=str(signing),
        PLATEKEEPER_FILES__WIDE_NAMES_SHOWN="3",
    )  # fmt: skip
    assert warned.returncode == 0, warned.stderr
    message = " ".join(warned.stderr.split())
    assert "33 files or folders are readable by other users" in message, message
    assert f"{var / 'platekeeper.db'} (0644)" in message
    assert f"{var / 'exports'} (0755)" in message
    assert f"{signing} (0644)" in message
    assert "and 30 more" in message
    assert f"chmod -R go= {var}" in message
    assert message.count("readable by other users") == 1  # one warning, not one per file

    for path in (var, keys):
        subprocess.run(["chmod", "-R", "go=", str(path)], check=True)
    quiet = _cli(tmp_path, "worker", "run", "--once", PLATEKEEPER_SIGNING__KEY_FILE=str(signing))
    assert quiet.returncode == 0 and "readable by other users" not in quiet.stderr, quiet.stderr


def test_the_app_start_logs_the_same_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    var = _loosen(tmp_path)
    settings = load_settings(data_dir=var, access=FAST_HASH)
    with caplog.at_level(logging.WARNING, logger="platekeeper"):
        app = create_app(settings)
    app.state.platekeeper.database.dispose()
    warnings = [r.getMessage() for r in caplog.records if "readable by other users" in r.getMessage()]
    assert len(warnings) == 1
    assert f"{var / 'platekeeper.db'} (0644)" in warnings[0]
    assert "and 12 more" in warnings[0]  # 32 in all, the first 20 named (files.wide_names_shown)
