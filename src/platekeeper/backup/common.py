"""What writing and restoring a backup share: the layout, the error, database facts, copying and key fingerprints."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, select, table, text
from sqlalchemy import func as sql_func
from sqlalchemy.engine import make_url

from platekeeper.audit.signing import InstallationKey, SigningKeyError
from platekeeper.files import KeyFile, create_private_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
DATABASE_FILES = {"sqlite": "database/platekeeper.sqlite3", "postgresql": "database/platekeeper.pgdump"}
IMAGES = "images"
DOCUMENTS = "documents"  # sharing request documents, sealed like the images (Settings.resolved_documents_dir)
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


def sqlite_file(url: str) -> Path:
    return Path(make_url(url).database or "")


def pg_env(url: str) -> dict[str, str]:
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


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed (or not on PATH): install the PostgreSQL client tools of the server's "
            "major version (e.g. the postgresql-client package)"
        )
    return found


def run_pg_tool(command: list[str], url: str) -> None:
    # the tool is an absolute path found with shutil.which; arguments are a list, never a shell line
    done = subprocess.run(command, env=pg_env(url), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}", exit_code=1)
