"""Writing a backup: the database snapshot, the images as stored, the checkpoints and the signed manifest."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import create_engine, text

from platekeeper import __version__
from platekeeper.audit.events import BackupWritten
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.backup.common import (
    CHECKPOINTS,
    DATABASE_FILES,
    DOCUMENTS,
    FORMAT_VERSION,
    IMAGES,
    MANIFEST,
    SIGNATURE,
    BackupError,
    DatabaseFacts,
    _copy,
    _digest,
    _stored_images,
    database_facts,
    key_fingerprint,
    pg_tool,
    run_pg_tool,
    sqlite_file,
)
from platekeeper.config import Settings
from platekeeper.db import Database, utcnow
from platekeeper.files import PRIVATE_DIR, create_private_file, key_files, write_private_text

# ---- backup ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    manifest: dict[str, Any]
    files: int
    bytes: int


def _dump_sqlite(database: Database, target: Path) -> DatabaseFacts:
    """One consistent copy through SQLite's online backup API (writers go on meanwhile, in WAL mode)."""
    create_private_file(target)
    source = sqlite3.connect(sqlite_file(database.url), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return database_facts(conn)
    finally:
        engine.dispose()


def _dump_postgresql(database: Database, target: Path) -> DatabaseFacts:
    """``pg_dump --format=custom`` of a snapshot exported by the transaction that also counts the rows."""
    tool = pg_tool("pg_dump")
    with database.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            create_private_file(target)
            run_pg_tool([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"], database.url)
            return database_facts(conn)


def _prepare_destination(dest: Path) -> bool:
    """Make the backup folder (0700); True when it was made here. A folder that holds anything is refused."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} is not empty: a backup goes into a new or empty folder")
    created = not dest.exists()
    dest.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return created


def _discard(dest: Path, created: bool) -> None:
    """Remove a half-written backup: the folder was empty (or absent) before."""
    if created:
        shutil.rmtree(dest, ignore_errors=True)
        return
    for entry in dest.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def create_backup(
    settings: Settings, database: Database, signer: InstallationKey, dest: Path, progress: Progress
) -> BackupResult:
    """Write a backup of this installation into ``dest`` (new or empty); nothing is left there if it fails."""
    created = _prepare_destination(dest)
    try:
        files: list[dict[str, Any]] = []
        checkpoints = settings.data_path(settings.audit.checkpoint_file)
        if checkpoints.is_file():  # before the database: each checkpoint copied is then in the snapshot
            files.append(_entry(CHECKPOINTS, *_copy(checkpoints, dest / CHECKPOINTS)))
        task = progress.add_task("database", total=None)
        db_file = DATABASE_FILES[database.dialect]
        dump = _dump_sqlite if database.dialect == "sqlite" else _dump_postgresql
        facts = dump(database, dest / db_file)
        files.insert(0, _entry(db_file, *_digest(dest / db_file)))
        progress.update(task, total=files[0]["size"], completed=files[0]["size"])
        files += _copy_images(settings.resolved_image_dir, dest, progress)
        files += _copy_images(settings.resolved_documents_dir, dest, progress, DOCUMENTS)
        manifest = _manifest(settings, database.dialect, facts, files)
        _write_manifest(dest, manifest, signer)
    except BaseException:
        _discard(dest, created)
        raise
    return BackupResult(manifest=manifest, files=len(files), bytes=sum(f["size"] for f in files))


def _entry(path: str, size: int, sha256: str) -> dict[str, Any]:
    return {"path": path, "size": size, "sha256": sha256}


def _copy_images(root: Path, dest: Path, progress: Progress, folder: str = IMAGES) -> list[dict[str, Any]]:
    """The files of a content-addressed store (the images, or the request documents) as stored, under ``folder``."""
    images = list(_stored_images(root))
    task = progress.add_task(f"{folder} ({len(images)})", total=sum(p.stat().st_size for p in images))
    entries = []
    for image in images:
        relative = f"{folder}/{image.relative_to(root).as_posix()}"
        size, sha256 = _copy(image, dest / relative)
        entries.append(_entry(relative, size, sha256))
        progress.advance(task, size)
    return entries


def _manifest(settings: Settings, dialect: str, facts: DatabaseFacts, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": "platekeeper-backup",
        "format_version": FORMAT_VERSION,
        "platekeeper_version": __version__,
        "created_at": utcnow().isoformat(),
        "database": {"dialect": dialect, "revision": facts.revision, "file": DATABASE_FILES[dialect]},
        "row_counts": facts.counts,
        "audit_head": {"seq": facts.head[0], "hash": facts.head[1]} if facts.head else None,
        "keys": {
            key.role: {"kind": key.kind, "fingerprint": key_fingerprint(key), "description": key.description}
            for key in key_files(settings)
        },
        "files": files,
    }


def _write_manifest(dest: Path, manifest: dict[str, Any], signer: InstallationKey) -> None:
    raw = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_private_text(dest / MANIFEST, raw)
    signature = {"key": signer.fingerprint, "signature": signer.sign(raw.encode())}
    write_private_text(dest / SIGNATURE, json.dumps(signature, indent=2) + "\n")


def record_backup(work: Work, dest: Path, result: BackupResult) -> None:
    """Audit a written backup (``system.backup``) in the source installation."""
    written = BackupWritten(
        destination=str(dest.resolve()),
        files=result.files,
        bytes=result.bytes,
        audit_head=result.manifest["audit_head"],
    )
    work.record(written)
