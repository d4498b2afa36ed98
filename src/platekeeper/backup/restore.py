"""Restoring a backup into an empty installation: everything checked before writing, verified after."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from rich.progress import Progress
from sqlalchemy.engine import make_url

from platekeeper import __version__
from platekeeper.audit.events import BackupRestored
from platekeeper.audit.signing import InstallationKey, verify_signature
from platekeeper.audit.work import Work
from platekeeper.backup.common import (
    CHECKPOINTS,
    DATABASE_FILES,
    DOCUMENTS,
    FORMAT_VERSION,
    IMAGES,
    MANIFEST,
    SIGNATURE,
    VERSION_TABLE,
    BackupError,
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
from platekeeper.db import MIGRATIONS, Database
from platekeeper.files import key_files

# ---- restore --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    files: int
    bytes: int
    problems: list[str]
    upgrade_needed: bool


def _read_manifest(src: Path) -> tuple[dict[str, Any], bytes]:
    path = src / MANIFEST
    if not path.is_file():
        raise BackupError(f"{src} is not a platekeeper backup: it has no {MANIFEST}")
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
        version = manifest["format_version"]
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{path} is damaged: it is not a backup manifest", exit_code=1) from None
    if version != FORMAT_VERSION:
        raise BackupError(
            f"{path} is backup format version {version}; this platekeeper {__version__} restores version "
            f"{FORMAT_VERSION} only"
        )
    if not _well_formed(manifest):
        raise BackupError(f"{path} is damaged: a field of the manifest is missing or of the wrong kind", exit_code=1)
    return manifest, raw


def _well_formed(manifest: Any) -> bool:
    """The manifest has the fields a restore reads, of the kinds it reads (before its signature is checked)."""
    database, files = manifest.get("database"), manifest.get("files")
    return (
        isinstance(database, dict)
        and database.get("dialect") in DATABASE_FILES
        and database.get("file") == DATABASE_FILES[database["dialect"]]
        and isinstance(files, list)
        and all(
            isinstance(f, dict)
            and isinstance(f.get("path"), str)
            and type(f.get("size")) is int
            and isinstance(f.get("sha256"), str)
            for f in files
        )
        and database["file"] in {f["path"] for f in files}
        and isinstance(manifest.get("keys"), dict)
        and isinstance(manifest.get("row_counts"), dict)
        and isinstance(manifest.get("created_at"), str)
    )


IMAGE_ENTRY = re.compile(rf"({IMAGES}|{DOCUMENTS})/[0-9a-f]{{2}}/[0-9a-f]{{2}}/[0-9a-f]{{64}}")


def _entry_path(src: Path, relative: str, dialect: str) -> Path:
    """Where a file the manifest names lies in the backup: only the names a backup writes (the database file, the
    checkpoint file, ``images/ab/cd/<sha256>``, ``documents/ab/cd/<sha256>``), with no symbolic link on the way, so
    a crafted manifest can neither read outside the backup folder nor write outside the installation."""
    allowed = relative in (DATABASE_FILES[dialect], CHECKPOINTS) or IMAGE_ENTRY.fullmatch(relative)
    root = src.resolve()
    path = root / relative
    if not allowed or path.resolve() != path:
        raise BackupError(f"the manifest names {relative!r}, which is not a file a backup holds", exit_code=1)
    return path


def _copy_checked(source: Path, target: Path, entry: dict[str, Any]) -> None:
    """Copy a backup file and check what was copied (not what was there when checked) against the manifest."""
    if (entry["size"], entry["sha256"]) != _copy(source, target):
        target.unlink(missing_ok=True)
        raise BackupError(
            f"backup file {entry['path']} changed while it was restored; the restore stopped (restore again from "
            "a copy nobody else can write)",
            exit_code=1,
        )


def _check_files(src: Path, manifest: dict[str, Any], progress: Progress) -> None:
    """Every file the manifest lists is there with its size and SHA-256: the first that is not is named."""
    files = manifest["files"]
    task = progress.add_task("checksums", total=sum(f["size"] for f in files))
    for entry in files:
        path = _entry_path(src, entry["path"], manifest["database"]["dialect"])
        if not path.is_file():
            raise BackupError(f"backup file {entry['path']} is missing; nothing was restored", exit_code=1)
        size, sha256 = _digest(path)
        if (size, sha256) != (entry["size"], entry["sha256"]):
            raise BackupError(
                f"backup file {entry['path']} is damaged: its size or checksum differs from the manifest's; "
                "nothing was restored",
                exit_code=1,
            )
        progress.advance(task, size)


def _check_keys(settings: Settings, manifest: dict[str, Any]) -> None:
    """The key files the backup was made with are in this installation (copied in by the operator)."""
    recorded = manifest["keys"]
    for key in key_files(settings):
        expected = recorded.get(key.role, {}).get("fingerprint")
        if expected is None:
            continue
        found = key_fingerprint(key)
        if found is None:
            raise BackupError(
                f"key {key.role} ({key.description}) is missing: copy the key file the backup was made with to "
                f"{key.path} (fingerprint {expected}) before restoring"
            )
        if found != expected:
            raise BackupError(
                f"key {key.role} at {key.path} has fingerprint {found}, but the backup was made with {expected}: "
                "copy in the key file the backup was made with"
            )


def _check_signature(src: Path, raw: bytes, signer: InstallationKey) -> None:
    try:
        signature = json.loads((src / SIGNATURE).read_text())["signature"]
    except (OSError, ValueError, KeyError, TypeError):
        raise BackupError(f"{src / SIGNATURE} is missing or damaged; nothing was restored", exit_code=1) from None
    if not verify_signature(signer.public, str(signature), raw):
        raise BackupError(
            f"the manifest's signature does not match ({signer.fingerprint}): the manifest was changed after the "
            "backup was made; nothing was restored",
            exit_code=1,
        )


def _occupied(settings: Settings, database: Database) -> list[str]:
    """What the target installation already holds: tables with rows, images, a checkpoint file."""
    with database.engine.connect() as conn:
        facts = database_facts(conn)
    held = [f"{name} ({count} rows)" for name, count in facts.counts.items() if count and name != VERSION_TABLE]
    if next(_stored_images(settings.resolved_image_dir), None) is not None:
        held.append(f"images in {settings.resolved_image_dir}")
    if next(_stored_images(settings.resolved_documents_dir), None) is not None:
        held.append(f"request documents in {settings.resolved_documents_dir}")
    checkpoints = settings.data_path(settings.audit.checkpoint_file)
    if checkpoints.exists():
        held.append(f"the checkpoint file {checkpoints}")
    return held


def check_restorable(settings: Settings, database: Database, src: Path, progress: Progress) -> dict[str, Any]:
    """Every check a restore makes before writing anything; the manifest when all pass, else a BackupError."""
    manifest, raw = _read_manifest(src)
    dialect = manifest["database"]["dialect"]
    if dialect != database.dialect:
        raise BackupError(
            f"the backup holds a {dialect} database and this installation uses {database.dialect}: restore it into "
            f"a {dialect} installation"
        )
    _check_revision(manifest)
    held = _occupied(settings, database)
    if held:
        raise BackupError("this installation is not empty: it holds " + ", ".join(held) + "; restore into a new one")
    _check_keys(settings, manifest)
    signing_key = settings.data_path(settings.signing.key_file)
    if not signing_key.is_file():
        raise BackupError(f"the signing key {signing_key} is missing: copy in the key the backup was made with")
    _check_signature(src, raw, InstallationKey.load_or_create(signing_key))  # before trusting any name in it
    _check_files(src, manifest, progress)
    return manifest


def _restore_sqlite(database: Database, dump: Path) -> None:
    database.dispose()
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(sqlite_file(database.url), timeout=30)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _restore_postgresql(database: Database, dump: Path) -> None:
    """``pg_restore`` in one transaction; tables of an empty schema already there are replaced (``--clean``)."""
    tool = pg_tool("pg_restore")
    database.dispose()
    name = make_url(database.url).database or ""
    command = [tool, "--no-owner", "--single-transaction", "--clean", "--if-exists", f"--dbname={name}", str(dump)]
    run_pg_tool(command, database.url)


def restore_backup(
    settings: Settings, database: Database, src: Path, manifest: dict[str, Any], progress: Progress
) -> RestoreResult:
    """Write a checked backup (``check_restorable``) into this installation, then compare counts and head."""
    task = progress.add_task("database", total=None)
    dialect = manifest["database"]["dialect"]
    entries = {f["path"]: f for f in manifest["files"]}
    dump_entry = entries[manifest["database"]["file"]]
    with tempfile.TemporaryDirectory(dir=settings.data_dir, prefix=".restore-") as staging:
        dump = Path(staging) / "database"  # restored from this checked copy, which nobody else can change
        _copy_checked(_entry_path(src, dump_entry["path"], dialect), dump, dump_entry)
        (_restore_sqlite if database.dialect == "sqlite" else _restore_postgresql)(database, dump)
    progress.update(task, total=dump_entry["size"], completed=dump_entry["size"])
    for folder, root in ((IMAGES, settings.resolved_image_dir), (DOCUMENTS, settings.resolved_documents_dir)):
        files = [f for f in manifest["files"] if f["path"].startswith(f"{folder}/")]
        task = progress.add_task(f"{folder} ({len(files)})", total=sum(f["size"] for f in files))
        for entry in files:
            source = _entry_path(src, entry["path"], dialect)
            _copy_checked(source, root / entry["path"].removeprefix(f"{folder}/"), entry)
            progress.advance(task, entry["size"])
    if CHECKPOINTS in entries:
        source = _entry_path(src, CHECKPOINTS, dialect)
        _copy_checked(source, settings.data_path(settings.audit.checkpoint_file), entries[CHECKPOINTS])
    with database.engine.connect() as conn:
        facts = database_facts(conn)
    problems = facts.differences(manifest)
    if facts.revision != manifest["database"]["revision"]:
        problems.append(f"revision {facts.revision}, the backup's was {manifest['database']['revision']}")
    return RestoreResult(
        manifest=manifest,
        files=len(manifest["files"]),
        bytes=sum(f["size"] for f in manifest["files"]),
        problems=problems,
        upgrade_needed=facts.revision != _schema_heads(),
    )


def _schema_heads() -> str:
    return ",".join(sorted(ScriptDirectory(str(MIGRATIONS)).get_heads()))


def _check_revision(manifest: dict[str, Any]) -> None:
    """A backup from a newer platekeeper (a schema revision this one does not know) is refused."""
    revision = manifest["database"]["revision"]
    script = ScriptDirectory(str(MIGRATIONS))
    for part in (revision or "").split(","):
        try:
            known = part == "" or script.get_revision(part) is not None
        except CommandError:
            known = False
        if not known:
            raise BackupError(
                f"the backup's schema revision {part} is unknown to platekeeper {__version__}: it was made by a "
                f"newer version (platekeeper {manifest.get('platekeeper_version')}); restore it with that version"
            )


def record_restore(work: Work, src: Path, manifest: dict[str, Any], result: RestoreResult, *, ok: bool) -> None:
    """Audit a restore (``system.restore``) in the restored installation: a failure when it did not verify."""
    restored = BackupRestored(source=str(src.resolve()), created_at=manifest["created_at"], problems=result.problems)
    work.record(restored, outcome="success" if ok else "failure")
