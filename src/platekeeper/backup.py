"""Backups of an installation, and their restore into an empty one.

A backup is a folder: the database (SQLite through its online backup API, PostgreSQL through ``pg_dump`` in one
exported snapshot, both consistent while the server runs), the image folder copied byte for byte as stored, the
audit checkpoint file, and ``manifest.json``: format version, database dialect, Alembic revision, row counts, the
audit chain's head, every file's size and SHA-256, and the fingerprints of the key files (never the keys: the
operator keeps them apart). ``manifest.sig`` is the installation's Ed25519 signature of the manifest, so a file
replaced together with its checksum is caught too.

A restore goes into an empty installation whose key files the operator has copied in first. Everything is checked
before anything is written (format version, database kind, an empty target, every checksum, the keys'
fingerprints, the signature); after writing, the row counts and the chain's head must equal the manifest's and the
audit chain must verify against its signed checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from rich.progress import Progress
from sqlalchemy import Connection, create_engine, inspect, select, table, text
from sqlalchemy import func as sql_func
from sqlalchemy.engine import make_url

from platekeeper import __version__
from platekeeper.audit.signing import InstallationKey, SigningKeyError, verify_signature
from platekeeper.config import Settings
from platekeeper.db import MIGRATIONS, Database, utcnow
from platekeeper.files import PRIVATE_DIR, KeyFile, create_private_file, key_files, write_private_text

__all__ = [
    "FORMAT_VERSION",
    "BackupError",
    "BackupResult",
    "DatabaseFacts",
    "RestoreResult",
    "check_restorable",
    "create_backup",
    "database_facts",
    "key_fingerprint",
    "restore_backup",
]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DATABASE_FILES = {"sqlite": "database/platekeeper.sqlite3", "postgresql": "database/platekeeper.pgdump"}
IMAGES = "images"
CHECKPOINTS = "audit/checkpoints.jsonl"
VERSION_TABLE = "alembic_version"
CHUNK = 1 << 20
INCOMING_PREFIX = ".incoming-"  # an image being written (ImageStore.put): not yet part of the store


class BackupError(Exception):
    """A backup or restore refused or failed; ``exit_code`` 2 for a refusal, 1 for damage or a failed check."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class DatabaseFacts:
    """What the manifest records of a database, and what a restored one must show again."""

    revision: str | None
    counts: dict[str, int]
    head: tuple[int, str] | None

    def differences(self, manifest: dict[str, Any]) -> list[str]:
        """How these facts differ from a manifest's, in words (empty when they match)."""
        problems = [
            f"{name}: {self.counts.get(name)} rows, the backup had {count}"
            for name, count in sorted(manifest["row_counts"].items())
            if self.counts.get(name) != count
        ]
        problems += [f"{name}: not in the backup" for name in sorted(set(self.counts) - set(manifest["row_counts"]))]
        head = manifest["audit_head"]
        if (self.head and {"seq": self.head[0], "hash": self.head[1]}) != (head or None):
            problems.append(f"the audit chain's head is {self.head}, the backup's was {head}")
        return problems


def database_facts(conn: Connection) -> DatabaseFacts:
    """Alembic revision, rows per table and the audit chain's head, read in the connection's transaction."""
    names = sorted(inspect(conn).get_table_names())
    counts = {name: int(conn.execute(select(sql_func.count()).select_from(table(name))).scalar_one()) for name in names}
    revision = None
    if VERSION_TABLE in names:
        revision = ",".join(conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1")).scalars())
    head = None
    if "audit_events" in names:
        row = conn.execute(text("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")).first()
        head = (int(row.seq), str(row.hash)) if row else None
    return DatabaseFacts(revision=revision or None, counts=counts, head=head)


def key_fingerprint(key: KeyFile) -> str | None:
    """How a key file is named without revealing it (see ``KeyFile``); None when the file does not exist."""
    if not key.path.is_file():
        return None
    if key.kind == "ed25519":
        try:
            return InstallationKey.load_or_create(key.path).fingerprint
        except SigningKeyError as exc:
            raise BackupError(str(exc)) from None
    return "sha256:" + hashlib.sha256(key.path.read_bytes()).hexdigest()


# ---- copying files ------------------------------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy bytes as they are into a new private file (0600, folders 0700), fsynced; (size, SHA-256)."""
    create_private_file(target)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return size, digest.hexdigest()


def _digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _stored_images(root: Path) -> Iterator[Path]:
    """Every image file under the store's root (symbolic links and images still being written are skipped)."""
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if not name.startswith(INCOMING_PREFIX) and path.is_file() and not path.is_symlink():
                yield path


# ---- backup ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    manifest: dict[str, Any]
    files: int
    bytes: int


def _sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def _pg_env(url: str) -> dict[str, str]:
    """libpq's environment for the database a SQLAlchemy URL names (the password never on a command line)."""
    parsed = make_url(url)
    values = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": parsed.port,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
        "PGSSLMODE": parsed.query.get("sslmode"),
    }
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed (or not on PATH): install the PostgreSQL client tools of the server's "
            "major version (e.g. the postgresql-client package)"
        )
    return found


def _run_pg_tool(command: list[str], url: str) -> None:
    # the tool is an absolute path found with shutil.which; arguments are a list, never a shell line
    done = subprocess.run(command, env=_pg_env(url), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}", exit_code=1)


def _dump_sqlite(database: Database, target: Path) -> DatabaseFacts:
    """One consistent copy through SQLite's online backup API (writers go on meanwhile, in WAL mode)."""
    create_private_file(target)
    source = sqlite3.connect(_sqlite_file(database.url), timeout=30)
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
    tool = _pg_tool("pg_dump")
    with database.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            create_private_file(target)
            _run_pg_tool([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"], database.url)
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
        manifest = _manifest(settings, database.dialect, facts, files)
        _write_manifest(dest, manifest, signer)
    except BaseException:
        _discard(dest, created)
        raise
    return BackupResult(manifest=manifest, files=len(files), bytes=sum(f["size"] for f in files))


def _entry(path: str, size: int, sha256: str) -> dict[str, Any]:
    return {"path": path, "size": size, "sha256": sha256}


def _copy_images(root: Path, dest: Path, progress: Progress) -> list[dict[str, Any]]:
    images = list(_stored_images(root))
    task = progress.add_task(f"images ({len(images)})", total=sum(p.stat().st_size for p in images))
    entries = []
    for image in images:
        relative = f"{IMAGES}/{image.relative_to(root).as_posix()}"
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
    return manifest, raw


def _inside(src: Path, relative: str) -> Path:
    path = (src / relative).resolve()
    if not path.is_relative_to(src.resolve()):
        raise BackupError(f"the manifest names {relative!r}, outside the backup folder", exit_code=1)
    return path


def _check_files(src: Path, manifest: dict[str, Any], progress: Progress) -> None:
    """Every file the manifest lists is there with its size and SHA-256: the first that is not is named."""
    files = manifest["files"]
    task = progress.add_task("checksums", total=sum(f["size"] for f in files))
    for entry in files:
        path = _inside(src, entry["path"])
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
    _check_files(src, manifest, progress)
    _check_keys(settings, manifest)
    signing_key = settings.data_path(settings.signing.key_file)
    if not signing_key.is_file():
        raise BackupError(f"the signing key {signing_key} is missing: copy in the key the backup was made with")
    _check_signature(src, raw, InstallationKey.load_or_create(signing_key))
    return manifest


def _restore_sqlite(database: Database, dump: Path) -> None:
    database.dispose()
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    target = sqlite3.connect(_sqlite_file(database.url), timeout=30)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _restore_postgresql(database: Database, dump: Path) -> None:
    """``pg_restore`` in one transaction; tables of an empty schema already there are replaced (``--clean``)."""
    tool = _pg_tool("pg_restore")
    database.dispose()
    name = make_url(database.url).database or ""
    command = [tool, "--no-owner", "--single-transaction", "--clean", "--if-exists", f"--dbname={name}", str(dump)]
    _run_pg_tool(command, database.url)


def restore_backup(
    settings: Settings, database: Database, src: Path, manifest: dict[str, Any], progress: Progress
) -> RestoreResult:
    """Write a checked backup (``check_restorable``) into this installation, then compare counts and head."""
    task = progress.add_task("database", total=None)
    dump = _inside(src, manifest["database"]["file"])
    (_restore_sqlite if database.dialect == "sqlite" else _restore_postgresql)(database, dump)
    progress.update(task, total=dump.stat().st_size, completed=dump.stat().st_size)
    files = [f for f in manifest["files"] if f["path"].startswith(f"{IMAGES}/")]
    task = progress.add_task(f"images ({len(files)})", total=sum(f["size"] for f in files))
    for entry in files:
        _copy(_inside(src, entry["path"]), settings.resolved_image_dir / entry["path"].removeprefix(f"{IMAGES}/"))
        progress.advance(task, entry["size"])
    if any(f["path"] == CHECKPOINTS for f in manifest["files"]):
        _copy(src / CHECKPOINTS, settings.data_path(settings.audit.checkpoint_file))
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
