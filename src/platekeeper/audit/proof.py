"""An export with the proof that it is complete, for an outside auditor (issue 23 item 8, policy 462.6).

A period of the audit log (filtered by user and action, say) is a handful of events out of the chain; on its own
it cannot show that none was left out. So the export can come as a ZIP holding, beside the events file:

- ``chain.csv``: the seals of *every* event from the last one before the period to the checkpoint below (``seq``,
  ``occurred_at``, ``username``, ``action``, ``prev_hash``, ``hash``), no details: each row's ``prev_hash`` is the
  row before's ``hash``, so the rows are the chain with nothing cut out;
- ``checkpoint.json``: a signed checkpoint (Ed25519, the installation's key) naming the last of those rows: a
  checkpoint written on schedule since the period ended, when one is in the checkpoint file, else one signed now
  for the newest event the export holds (and written to the checkpoint sinks, so it is kept outside the database);
- ``manifest.json``: the filters, the counts, the SHA-256 of each file, the public key, all signed with that key;
- ``README.txt``: how to check it.

:mod:`platekeeper.audit.proof_check` (``platekeeper audit check-export``) checks a bundle without the database:
the signatures, the files' digests, the chain's links up to the signed checkpoint, and that every event of the
chain inside the period and under the user and action filters is in the events file, with the same seal.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.audit.checkpoints import (
    Checkpoint,
    CheckpointError,
    read_checkpoints,
    sign_checkpoint,
    sinks_for,
)
from platekeeper.audit.export import AuditExport
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import VERIFY_BATCH, event_hashes
from platekeeper.audit.signing import InstallationKey, verify_signature
from platekeeper.audit.work import Work
from platekeeper.db import Database, json_value, utcnow

__all__ = [
    "BUNDLE_TYPE",
    "CHAIN_COLUMNS",
    "ProofPlan",
    "bundle_chunks",
    "bundle_name",
    "manifest_payload",
    "plan_proof",
    "sign_manifest",
]

log = logging.getLogger(__name__)
BUNDLE_TYPE = "platekeeper.audit-export/1"
CHAIN_COLUMNS = ("seq", "occurred_at", "username", "action", "prev_hash", "hash")
CHECKED_FILTERS = ("username", "action")
"""The filters whose completeness the chain's rows prove (besides the period); a plate, case number or purpose
filter is applied too, but the seals alone cannot show that no other event matched it."""
README = """This is an export of platekeeper's audit log with the proof that it is complete.

  events.csv / events.jsonl  the events of the period under the filters in manifest.json
  chain.csv                  the seals of every event from the last one before the period to the checkpoint
  checkpoint.json            the installation's signed checkpoint naming the last row of chain.csv
  manifest.json              the filters, the counts and each file's SHA-256, signed with the installation's key

Check it (no database needed):

  platekeeper audit check-export THIS.zip --fingerprint ed25519:...

giving the fingerprint of the agency's signing key (`platekeeper audit verify` prints it; the checkpoint file and
the syslog collector carry it on every line), or --public-key with its PEM file. It checks the signatures, every
file's digest, that each row of chain.csv links to the one before (prev_hash = hash) up to the signed checkpoint,
and that every event of chain.csv inside the period under the user and action filters is in the events file
with the same hash, and nothing else is. The seals themselves (HMAC-SHA256 over each event) can only be recomputed
with the chain's key, on the agency's side: `platekeeper audit verify`.
"""


@dataclass(frozen=True)
class ProofPlan:
    """What the proof covers: the chain's rows ``first_seq`` to ``checkpoint.seq``, and the signed checkpoint."""

    first_seq: int
    checkpoint: Checkpoint


def _stored_checkpoint(work: Work, signer: InstallationKey, low: int, high: int) -> Checkpoint | None:
    """The earliest checkpoint of the checkpoint file, signed by this installation, naming an event from ``low``
    to ``high`` with the hash the chain holds; None without one."""
    path = work.settings.data_path(work.settings.audit.checkpoint_file)
    try:
        found = read_checkpoints(path) if path.exists() else []
    except CheckpointError as exc:
        log.warning("audit export: %s; signing a new checkpoint", exc)
        return None
    mine = sorted(
        (c for _, c in found if c.key == signer.fingerprint and low <= c.seq <= high),
        key=lambda c: c.seq,
    )
    stored = event_hashes(work.session, sorted({c.seq for c in mine}))
    for checkpoint in mine:
        if stored.get(checkpoint.seq) == checkpoint.hash and verify_signature(
            signer.public, checkpoint.signature, checkpoint.payload()
        ):
            return checkpoint
    return None


def plan_proof(work: Work, signer: InstallationKey, export: AuditExport) -> ProofPlan:
    """The rows and the checkpoint that prove ``export`` complete: from the last event before its period (or the
    first event) to a checkpoint at or after the period's last event, no later than the export's newest one."""
    flt, through = export.flt, export.through_seq
    if through < 1:
        raise ValueError("the audit log is empty: there is nothing to prove")
    newest = select(AuditEvent.seq).where(AuditEvent.seq <= through)
    newest = newest.order_by(AuditEvent.occurred_at.desc(), AuditEvent.seq.desc()).limit(1)  # by the time index
    first = work.session.scalar(newest.where(AuditEvent.occurred_at < flt.since)) or 1
    last_in_period = work.session.scalar(newest.where(AuditEvent.occurred_at < flt.until)) or first
    checkpoint = _stored_checkpoint(work, signer, last_in_period, through)
    if checkpoint is None:
        head = (through, event_hashes(work.session, [through])[through])
        checkpoint = sign_checkpoint(work, signer, sinks_for(work.settings), head, "export")
    return ProofPlan(first_seq=first, checkpoint=checkpoint)


def bundle_name(export: AuditExport) -> str:
    """The ZIP's name: the events file's, with ``.zip``."""
    return export.filename + ".zip"


def manifest_payload(manifest: dict[str, Any]) -> bytes:
    """What the manifest's signature covers: every field but the signature, as canonical JSON."""
    fields = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign_manifest(signer: InstallationKey, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with the installation's key (fingerprint and PEM) and its signature."""
    keyed = {**manifest, "key": signer.fingerprint, "public_key": signer.public_pem}
    return {**keyed, "signature": signer.sign(manifest_payload(keyed))}


def _chain_lines(session: Session, first: int, last: int) -> Iterator[str]:
    """chain.csv: the header, then every event's seal from ``first`` to ``last``, in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CHAIN_COLUMNS)
    columns = [getattr(AuditEvent, name) for name in CHAIN_COLUMNS]
    after = first - 1
    while after < last:
        query = select(*columns).where(AuditEvent.seq > after, AuditEvent.seq <= last).order_by(AuditEvent.seq)
        rows = session.execute(query.limit(VERIFY_BATCH)).all()
        if not rows:
            break
        for row in rows:
            writer.writerow([json_value(value) if value is not None else "" for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        after = int(rows[-1].seq)
    if buffer.getvalue():
        yield buffer.getvalue()


class _Stream(io.RawIOBase):
    """Where the ZIP is written while it streams: the bytes since the last :meth:`take`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _manifest(export: AuditExport, plan: ProofPlan, exported_by: str | None, digests: dict[str, str]) -> dict[str, Any]:
    flt = export.flt
    return {
        "type": BUNDLE_TYPE,
        "exported_at": utcnow().isoformat(),
        "exported_by": exported_by,
        "filters": {k: json_value(v) for k, v in flt.describe().items()},
        "period": {"since": json_value(flt.since), "until": json_value(flt.until)},
        "completeness_checked_for": ["period", *(name for name in CHECKED_FILTERS if getattr(flt, name))],
        "format": export.format,
        "rows": export.rows,
        "through_seq": export.through_seq,
        "masked": export.masked,
        "chain": {"first_seq": plan.first_seq, "last_seq": plan.checkpoint.seq},
        "checkpoint": asdict(plan.checkpoint),
        "files": digests,
    }


def bundle_chunks(
    export: AuditExport, plan: ProofPlan, signer: InstallationKey, database: Database, exported_by: str | None
) -> Iterator[bytes]:
    """The ZIP, streamed as it is written, read in one read-only snapshot: the events file, chain.csv,
    checkpoint.json, README.txt, then the signed manifest.json with each file's SHA-256."""
    stream, digests = _Stream(), {}
    with (
        database.read_connection() as connection,
        Session(bind=connection) as session,
        zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as bundle,
    ):
        entries: list[tuple[str, Iterable[str]]] = [
            (f"events.{export.format}", export.lines(session)),
            ("chain.csv", _chain_lines(session, plan.first_seq, plan.checkpoint.seq)),
            ("checkpoint.json", [json.dumps(asdict(plan.checkpoint), indent=2) + "\n"]),
            ("README.txt", [README]),
        ]
        for name, chunks in entries:
            digest = hashlib.sha256()
            with bundle.open(name, "w", force_zip64=True) as entry:
                for chunk in chunks:
                    data = chunk.encode()
                    digest.update(data)
                    entry.write(data)
                    if stream.parts:
                        yield stream.take()
            digests[name] = digest.hexdigest()
        manifest = sign_manifest(signer, _manifest(export, plan, exported_by, digests))
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
    yield stream.take()
