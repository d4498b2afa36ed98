"""Backup and restore: a backup restored into a fresh installation verifies (audit chain, row counts, images), and
every way a restore could go wrong is refused before anything is written.

The commands run as an operator runs them (subprocesses), with a loose umask, against SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from rich.progress import Progress
from sqlalchemy import create_engine, text

from platekeeper.audit.signing import InstallationKey
from platekeeper.backup import BackupError, check_restorable, restore_backup
from platekeeper.config import load_settings
from platekeeper.db import Database
from platekeeper.files import key_files
from platekeeper.reads.images import ImageStore
from platekeeper.sharing.service.documents import check_document, store_document
from tests.conftest import PG_URL, RUN_ID, _pg_execute, _pg_url
from tests.sharing_helpers import PDF

LOOSE_UMASK = 0o022


def _cli(data_dir: Path, *args: str, database_url: str = "", **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLATEKEEPER_")}
    env.update(
        PLATEKEEPER_DATA_DIR=str(data_dir),
        PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB="1024",
        COLUMNS="300",
        **extra_env,
    )
    if database_url:
        env["PLATEKEEPER_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        check=False,
        timeout=300,
        umask=LOOSE_UMASK,
    )


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _copy_keys(source: Path, target: Path) -> None:
    """What the operator does before a restore: the key files, kept apart from the backup, go in first."""
    for source_key, target_key in zip(
        key_files(load_settings(data_dir=source)), key_files(load_settings(data_dir=target)), strict=True
    ):
        if source_key.path.exists():
            target_key.path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source_key.path, target_key.path)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
                    if engine.dialect.name == "sqlite"
                    else text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ]
            return {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in names}
    finally:
        engine.dispose()


def _actions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT action FROM audit_events ORDER BY seq")).scalars())
    finally:
        engine.dispose()


def _sqlite(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'platekeeper.db'}"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo installation on SQLite (20 reads with images), and its backup beside it in ``backup``."""
    root = tmp_path_factory.mktemp("source")
    _ok(_cli(root / "var", "db", "upgrade"))
    _ok(_cli(root / "var", "demo", "--reads", "20"))
    _ok(_cli(root / "var", "audit", "checkpoint"))
    backup = _ok(_cli(root / "var", "backup", str(root / "backup")))
    assert "keys are not in the backup" in backup.stdout
    return root


@pytest.fixture
def backup(source: Path, tmp_path: Path) -> Path:
    """A copy of the source's backup that a test may damage."""
    copy = tmp_path / "backup"
    shutil.copytree(source / "backup", copy)
    return copy


@pytest.fixture
def target(source: Path, tmp_path: Path) -> Path:
    """A fresh installation folder holding only the source's keys."""
    data_dir = tmp_path / "restored"
    _copy_keys(source / "var", data_dir)
    return data_dir


def _manifest(backup: Path) -> dict:
    return json.loads((backup / "manifest.json").read_text())


def _an_image(backup: Path) -> str:
    return next(f["path"] for f in _manifest(backup)["files"] if f["path"].startswith("images/"))


def test_round_trip_restores_a_verifiable_installation(source: Path, backup: Path, target: Path) -> None:
    manifest = _manifest(backup)
    restored = _ok(_cli(target, "restore", str(backup)))
    assert "audit chain intact" in restored.stdout and "row counts match" in restored.stdout
    assert "matches the signed checkpoint" in restored.stdout  # the checkpoint file came along, and still holds
    _ok(_cli(target, "audit", "verify"))
    counts = _counts(_sqlite(target))
    assert counts["plate_reads"] == manifest["row_counts"]["plate_reads"] == 20
    for table, count in manifest["row_counts"].items():
        if table != "audit_events":  # restore then verified the chain, which is itself recorded
            assert counts[table] == count, table
    image = _an_image(backup)
    relative = image.removeprefix("images/")
    assert (target / "images" / relative).read_bytes() == (source / "var" / "images" / relative).read_bytes()
    actions = _actions(_sqlite(target))
    assert actions[manifest["audit_head"]["seq"] :][:2] == ["audit.verify", "system.restore"]


def test_backup_holds_a_manifest_with_checksums_and_key_fingerprints_but_no_key(source: Path) -> None:
    backup = source / "backup"
    manifest = _manifest(backup)
    assert manifest["format_version"] == 1 and manifest["database"]["dialect"] == "sqlite"
    assert manifest["database"]["revision"] and manifest["audit_head"]["seq"] > 0
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(backup)) for p in backup.rglob("*") if p.is_file()}
    assert on_disk - listed == {"manifest.json", "manifest.sig"}
    assert any(p.startswith("images/") for p in listed) and "audit/checkpoints.jsonl" in listed
    assert set(manifest["keys"]) >= {"audit_hmac", "signing"}
    assert manifest["keys"]["signing"]["fingerprint"].startswith("ed25519:")
    secrets = [k.path.read_bytes() for k in key_files(load_settings(data_dir=source / "var"))]
    for path in backup.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {mode:04o}"
        if path.is_file():
            assert not any(secret.strip() in path.read_bytes() for secret in secrets), path
    assert "system.backup" in _actions(_sqlite(source / "var"))


def test_backup_refuses_a_folder_that_is_not_empty(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "old.txt").write_text("something")
    refused = _cli(source / "var", "backup", str(dest))
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert sorted(os.listdir(dest)) == ["old.txt"]


def test_restore_refuses_an_installation_that_holds_data(source: Path, backup: Path) -> None:
    refused = _cli(source / "var", "restore", str(backup))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "not empty" in refused.stderr and "plate_reads" in refused.stderr


def test_restore_refuses_a_damaged_file_before_restoring_anything(backup: Path, target: Path) -> None:
    image = _an_image(backup)
    data = bytearray((backup / image).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (backup / image).write_bytes(bytes(data))
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 1 and image in refused.stderr and "checksum" in refused.stderr
    assert not (target / "images").exists()
    assert _counts(_sqlite(target)) == {}


def test_restore_refuses_a_missing_file(backup: Path, target: Path) -> None:
    (backup / "audit" / "checkpoints.jsonl").unlink()
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 1 and "audit/checkpoints.jsonl" in refused.stderr and "missing" in refused.stderr


def test_restore_refuses_a_file_changed_with_its_checksum(backup: Path, target: Path) -> None:
    """Checksums catch damage; the manifest's signature catches a file replaced together with its checksum."""
    import hashlib

    image = _an_image(backup)
    forged = b"not the image that was backed up"
    (backup / image).write_bytes(forged)
    manifest = _manifest(backup)
    for entry in manifest["files"]:
        if entry["path"] == image:
            entry.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())
    (backup / "manifest.json").write_text(json.dumps(manifest))
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 1 and "signature" in refused.stderr
    assert _counts(_sqlite(target)) == {}


def test_restore_fails_when_the_restored_rows_differ_from_the_manifest(
    source: Path, backup: Path, target: Path
) -> None:
    """A manifest signed with the installation's key but claiming another count: the check after writing says so."""
    manifest = _manifest(backup)
    manifest["row_counts"]["plate_reads"] += 1
    raw = json.dumps(manifest).encode()
    (backup / "manifest.json").write_bytes(raw)
    signer = InstallationKey.load_or_create(load_settings(data_dir=source / "var").data_dir / "signing.key")
    (backup / "manifest.sig").write_text(json.dumps({"key": signer.fingerprint, "signature": signer.sign(raw)}))
    failed = _cli(target, "restore", str(backup))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "plate_reads: 20 rows, the backup had 21" in failed.stderr
    assert _actions(_sqlite(target))[-1] == "system.restore"  # recorded, as a failure


@pytest.mark.parametrize("problem", ["missing", "other"])
def test_restore_refuses_a_missing_or_different_key(backup: Path, target: Path, problem: str) -> None:
    key = next(k for k in key_files(load_settings(data_dir=target)) if k.role == "audit_hmac")
    if problem == "missing":
        key.path.unlink()
    else:
        key.path.write_text("ab" * 32)
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 2 and "audit_hmac" in refused.stderr and str(key.path) in refused.stderr
    assert not key.path.exists() if problem == "missing" else key.path.read_text() == "ab" * 32
    assert _counts(_sqlite(target)) == {}


def test_restore_refuses_another_format_version(backup: Path, target: Path) -> None:
    manifest = _manifest(backup)
    manifest["format_version"] = 99
    (backup / "manifest.json").write_text(json.dumps(manifest))
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 2 and "format version 99" in refused.stderr


def test_restore_refuses_a_folder_that_is_not_a_backup(tmp_path: Path, target: Path) -> None:
    (tmp_path / "nothing").mkdir()
    refused = _cli(target, "restore", str(tmp_path / "nothing"))
    assert refused.returncode == 2 and "manifest.json" in refused.stderr


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """An empty PostgreSQL database of this run, dropped afterwards (the test is skipped without a server)."""
    name = f"{RUN_ID}_bk_{uuid.uuid4().hex[:8]}"
    try:
        _pg_execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable ({exc})")
    yield _pg_url(name)
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_restore_refuses_another_database_kind(backup: Path, target: Path, empty_pg: str) -> None:
    refused = _cli(target, "restore", str(backup), database_url=empty_pg)
    assert refused.returncode == 2 and "sqlite" in refused.stderr and "postgresql" in refused.stderr
    assert _counts(empty_pg) == {}


def test_backup_without_pg_dump_is_refused_and_leaves_nothing(tmp_path: Path, empty_pg: str) -> None:
    source = tmp_path / "source" / "var"
    source.parent.mkdir()
    _ok(_cli(source, "db", "upgrade", database_url=empty_pg))
    env = {"PATH": str(tmp_path / "no-tools")}
    refused = _cli(source, "backup", str(tmp_path / "backup"), database_url=empty_pg, **env)
    assert refused.returncode == 2 and "pg_dump is not installed" in refused.stderr
    assert not (tmp_path / "backup").exists()


@pytest.fixture
def another_empty_pg() -> Iterator[str]:
    name = f"{RUN_ID}_bk_{uuid.uuid4().hex[:8]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_round_trip_on_postgresql(tmp_path: Path, empty_pg: str, another_empty_pg: str) -> None:
    source, target = tmp_path / "source" / "var", tmp_path / "restored" / "var"
    target.parent.mkdir()
    source.parent.mkdir()
    _ok(_cli(source, "db", "upgrade", database_url=empty_pg))
    _ok(_cli(source, "demo", "--reads", "20", database_url=empty_pg))
    _ok(_cli(source, "backup", str(tmp_path / "backup"), database_url=empty_pg))
    manifest = _manifest(tmp_path / "backup")
    assert manifest["database"]["dialect"] == "postgresql"
    _copy_keys(source, target)
    _ok(_cli(target, "db", "upgrade", database_url=another_empty_pg))  # an empty schema is an empty installation
    _ok(_cli(target, "restore", str(tmp_path / "backup"), database_url=another_empty_pg))
    _ok(_cli(target, "audit", "verify", database_url=another_empty_pg))
    counts = _counts(another_empty_pg)
    assert counts["plate_reads"] == 20
    assert {t: c for t, c in counts.items() if t != "audit_events"} == {
        t: c for t, c in manifest["row_counts"].items() if t != "audit_events"
    }
    image = _an_image(tmp_path / "backup").removeprefix("images/")
    assert (target / "images" / image).read_bytes() == (source / "images" / image).read_bytes()
    refused = _cli(target, "restore", str(tmp_path / "backup"), database_url=another_empty_pg)
    assert refused.returncode == 2 and "not empty" in refused.stderr


def _resign(source: Path, backup: Path, manifest: dict) -> None:
    """What only a holder of the installation's signing key could do: a manifest of its own, signed."""
    raw = json.dumps(manifest).encode()
    (backup / "manifest.json").write_bytes(raw)
    signer = InstallationKey.load_or_create(load_settings(data_dir=source / "var").data_dir / "signing.key")
    (backup / "manifest.sig").write_text(json.dumps({"key": signer.fingerprint, "signature": signer.sign(raw)}))


def test_a_crafted_manifest_cannot_write_outside_the_installation(
    source: Path, backup: Path, target: Path, tmp_path: Path
) -> None:
    """Found in review: a symbolic link inside the backup let a signed manifest's '..' path resolve inside the
    backup, and then climb out of the image folder when restored."""
    deep = backup / "images" / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h"
    deep.mkdir(parents=True)
    (backup / "images" / "zz").symlink_to(deep)
    payload = b"written by a crafted backup\n"
    escape = "images/zz/../../../../../../../../../escaped"
    (backup / "images" / "escaped").write_bytes(payload)
    manifest = _manifest(backup)
    manifest["files"].append({"path": escape, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    _resign(source, backup, manifest)
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "which is not a file a backup holds" in refused.stderr
    assert not list(tmp_path.rglob("escaped")) or all(p.is_relative_to(backup) for p in tmp_path.rglob("escaped"))
    assert _counts(_sqlite(target)) == {}  # nothing was restored


@pytest.mark.parametrize(
    "damage", [{"files": "all"}, {"database": {"dialect": "sqlite", "file": "../../etc/passwd"}}, {"keys": None}]
)
def test_a_manifest_of_the_wrong_shape_is_refused_without_a_traceback(backup: Path, target: Path, damage: dict) -> None:
    manifest = _manifest(backup) | damage
    (backup / "manifest.json").write_text(json.dumps(manifest))
    refused = _cli(target, "restore", str(backup))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "a field of the manifest is missing or of the wrong kind" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_dump_changed_after_the_checks_is_not_restored(source: Path, backup: Path, target: Path) -> None:
    """Found in review: the files were checked, then read again by name to restore; whoever could write the backup
    folder in between (a shared backup volume) could swap in a database that keeps the same row counts."""
    settings = load_settings(data_dir=target, access={"password_hash": {"memory_kib": 1024}})
    database = Database(settings.resolved_database_url)
    with Progress(disable=True) as progress:
        manifest = check_restorable(settings, database, backup, progress)
        dump = backup / manifest["database"]["file"]
        swapped = sqlite3.connect(dump)
        swapped.execute("UPDATE users SET role = 'alpr_admin'")
        swapped.commit()
        swapped.close()
        with pytest.raises(BackupError, match="changed while it was restored"):
            restore_backup(settings, database, backup, manifest, progress)
    database.dispose()
    assert _counts(_sqlite(target)) == {}


def test_round_trip_keeps_the_sharing_request_documents(tmp_path: Path) -> None:
    source = tmp_path / "var"
    _ok(_cli(source, "db", "upgrade"))
    settings = load_settings(data_dir=source)
    images = ImageStore.for_settings(settings)
    documents = ImageStore(settings.resolved_documents_dir, images.ring, encrypt=images.encrypt)
    document = check_document(settings, PDF)
    store_document(documents, document)
    assert documents.path(document.sha256).read_bytes() != PDF  # sealed at rest, as it goes into the backup
    _ok(_cli(source, "backup", str(tmp_path / "backup")))
    sha = document.sha256
    assert f"documents/{sha[:2]}/{sha[2:4]}/{sha}" in {f["path"] for f in _manifest(tmp_path / "backup")["files"]}
    target = tmp_path / "restored"
    _copy_keys(source, target)
    _ok(_cli(target, "restore", str(tmp_path / "backup")))
    restored = load_settings(data_dir=target)
    ring = ImageStore.for_settings(restored).ring
    assert ImageStore(restored.resolved_documents_dir, ring, encrypt=True).get(sha) == PDF
    again = _cli(target, "restore", str(tmp_path / "backup"))
    assert again.returncode == 2 and "not empty" in again.stderr
