"""Checking an audit export's proof without the database (``platekeeper audit check-export``).

What an outside auditor runs on a bundle of :mod:`platekeeper.audit.proof`: the manifest and the checkpoint are
signed by the key named (by its PEM, or by the fingerprint the agency published), every file has the digest the
manifest gives, ``chain.csv`` links row to row (each ``prev_hash`` the ``hash`` before it) from before the period up
to the signed checkpoint, and the events file holds exactly the events of ``chain.csv`` inside the period under the
user and action filters, each with the same ``hash``. Each problem found is named; an empty list is a pass.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from platekeeper.audit.checkpoints import Checkpoint
from platekeeper.audit.proof import BUNDLE_TYPE, CHAIN_COLUMNS, manifest_payload
from platekeeper.audit.service import GENESIS_HASH
from platekeeper.audit.signing import fingerprint_of, verify_signature

__all__ = ["BundleError", "check_bundle", "load_public_key", "read_manifest"]

MAX_UNPACKED = 2 * 2**30  # bytes a bundle may unpack to


class BundleError(ValueError):
    """A bundle that cannot be read at all; the message says why."""


@dataclass(frozen=True)
class Row:
    """One event as the chain's rows or the events file give it."""

    seq: int
    occurred_at: datetime
    username: str
    action: str
    prev_hash: str
    hash: str


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM (what ``manifest.json`` carries as ``public_key``)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise BundleError(f"public key: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError("public key: not an Ed25519 key")
    return key


def _files(data: bytes) -> dict[str, bytes]:
    """Every file of the bundle, once its declared sizes add up to at most MAX_UNPACKED bytes (a ZIP that would
    unpack to more is refused before anything is read: the whole export sits in memory while it is checked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            if sum(info.file_size for info in bundle.infolist()) > MAX_UNPACKED:
                raise BundleError(f"the bundle would unpack to more than {MAX_UNPACKED // 2**20} MiB")
            return {name: bundle.read(name) for name in bundle.namelist()}
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise BundleError(f"not a readable ZIP ({exc})") from None


def _one(data: bytes, name: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            if bundle.getinfo(name).file_size > MAX_UNPACKED:
                raise BundleError(f"{name}: larger than {MAX_UNPACKED // 2**20} MiB")
            return bundle.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile) as exc:
        raise BundleError(f"not a readable ZIP ({exc})") from None


def read_manifest(data: bytes, files: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The bundle's manifest (its signature unchecked), read from ``files`` when the bundle is unpacked already,
    else alone from the ZIP."""
    try:
        manifest = json.loads(files["manifest.json"] if files is not None else _one(data, "manifest.json"))
    except (KeyError, ValueError):
        raise BundleError("manifest.json: missing or not JSON") from None
    if not isinstance(manifest, dict):
        raise BundleError("manifest.json: not a JSON object")
    return manifest


def _row(fields: dict[str, Any]) -> Row:
    return Row(
        seq=int(fields["seq"]),
        occurred_at=datetime.fromisoformat(str(fields["occurred_at"])),
        username=str(fields.get("username") or ""),
        action=str(fields["action"]),
        prev_hash=str(fields["prev_hash"]),
        hash=str(fields["hash"]),
    )


def _rows(name: str, content: bytes) -> list[Row]:
    text = content.decode("utf-8")
    if name.endswith(".jsonl"):
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        records = list(csv.DictReader(io.StringIO(text)))
    return [_row(record) for record in records]


def _signatures(manifest: dict[str, Any], public: Ed25519PublicKey) -> list[str]:
    named = fingerprint_of(public)
    if manifest.get("key") != named or not verify_signature(
        public, str(manifest.get("signature", "")), manifest_payload(manifest)
    ):
        return [f"manifest.json: not signed by the key {named}"]
    checkpoint = Checkpoint(**manifest["checkpoint"])
    if checkpoint.key != named or not verify_signature(public, checkpoint.signature, checkpoint.payload()):
        return [f"checkpoint: not signed by the key {named}"]
    return []


def _digests(manifest: dict[str, Any], files: dict[str, bytes]) -> list[str]:
    problems = []
    for name, digest in manifest.get("files", {}).items():
        if name not in files:
            problems.append(f"{name}: missing from the bundle")
        elif hashlib.sha256(files[name]).hexdigest() != digest:
            problems.append(f"{name}: its SHA-256 is not the one the signed manifest gives (changed)")
    if json.loads(files.get("checkpoint.json", b"null") or b"null") != manifest.get("checkpoint"):
        problems.append("checkpoint.json: not the checkpoint the signed manifest names")
    return problems


def _links(chain: list[Row], checkpoint: Checkpoint, since: datetime) -> list[str]:
    if not chain:
        return ["chain.csv: holds no rows"]
    first = chain[0]
    if first.seq == 1 and first.prev_hash != GENESIS_HASH:
        return ["chain.csv: event 1 does not start the chain"]
    if first.seq > 1 and first.occurred_at >= since:
        return [f"chain.csv: starts at event {first.seq}, inside the period: the events before it are not shown"]
    for before, row in itertools.pairwise(chain):
        if row.seq != before.seq + 1 or row.prev_hash != before.hash:
            return [f"chain.csv: event {row.seq} does not follow event {before.seq} (a row cut out or changed)"]
    last = chain[-1]
    if (last.seq, last.hash) != (checkpoint.seq, checkpoint.hash):
        return [f"chain.csv: ends at event {last.seq}, not at the signed checkpoint's event {checkpoint.seq}"]
    return []


CHECKED = ("username", "action")


def _complete(manifest: dict[str, Any], chain: list[Row], events: list[Row], name: str) -> list[str]:
    """Each event held is a row of the chain, inside the period and the filters, with the chain's hash; and, when
    only the period, the user and the action filter it, every such row of the chain is held."""
    period, filters = manifest["period"], manifest.get("filters", {})
    since, until = datetime.fromisoformat(period["since"]), datetime.fromisoformat(period["until"])
    through = int(manifest["through_seq"])

    def inside(row: Row) -> bool:
        matches = all(not filters.get(f) or getattr(row, f) == filters[f] for f in CHECKED)
        return since <= row.occurred_at < until and row.seq <= through and matches

    by_seq = {row.seq: row for row in chain}
    held = {row.seq: row for row in events}
    problems = []
    for seq, row in sorted(held.items()):
        sealed = by_seq.get(seq)
        if sealed is None or sealed.hash != row.hash:
            problems.append(f"{name}: event {seq} is not the chain's (another hash, or not in chain.csv)")
        elif not inside(sealed):
            problems.append(f"{name}: event {seq} is outside the period or the filters")
    if not set(filters) - {*CHECKED, "since", "until"}:  # a plate, case or purpose filter: the seals cannot tell
        for seq, row in sorted(by_seq.items()):
            if inside(row) and seq not in held:
                who = row.username or "the system"
                problems.append(f"event {seq} ({row.action} by {who}) is missing from {name}")
    if len(events) != int(manifest["rows"]):
        problems.append(f"{name}: holds {len(events)} events, the signed manifest says {manifest['rows']}")
    return problems


def check_bundle(data: bytes, public: Ed25519PublicKey | None = None) -> list[str]:
    """Every problem found in the bundle (empty: it is complete and unchanged). Without ``public``, the key the
    manifest carries is used: compare its fingerprint with the agency's."""
    try:
        files = _files(data)
        manifest = read_manifest(data, files)
        if manifest.get("type") != BUNDLE_TYPE:
            return [f"manifest.json: not an audit export ({manifest.get('type')!r})"]
        key = public or load_public_key(str(manifest.get("public_key", "")).encode())
    except BundleError as exc:
        return [str(exc)]
    try:  # a manifest signed by the key it carries may still be malformed: every problem is named, never raised
        problems = _signatures(manifest, key) or _digests(manifest, files)
        if problems:
            return problems
        name = f"events.{manifest['format']}"
        chain, events = _rows("chain.csv", files["chain.csv"]), _rows(name, files[name])
        checkpoint = Checkpoint(**manifest["checkpoint"])
        since = datetime.fromisoformat(manifest["period"]["since"])
        if [c for c in CHAIN_COLUMNS if c not in files["chain.csv"].decode().split("\n", 1)[0]]:
            return ["chain.csv: its header is not the chain's columns"]
        return _links(chain, checkpoint, since) or _complete(manifest, chain, events, name)
    except (KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        return [f"the bundle's files cannot be read ({type(exc).__name__}: {exc})"]
