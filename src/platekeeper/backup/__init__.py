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

from platekeeper.backup.common import FORMAT_VERSION, BackupError, DatabaseFacts, database_facts, key_fingerprint
from platekeeper.backup.restore import RestoreResult, check_restorable, record_restore, restore_backup
from platekeeper.backup.write import BackupResult, create_backup, record_backup

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
    "record_backup",
    "record_restore",
    "restore_backup",
]
