"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain proves that no event was changed, deleted or inserted in the middle, but not that the newest events
are all there (a shorter chain verifies), and anyone who can read the chain's HMAC key can rewrite and reseal the
whole chain. A checkpoint closes both gaps: every ``audit.checkpoint_minutes`` while ``platekeeper serve`` runs (and
at shutdown, and on demand with ``platekeeper audit checkpoint``; later at each purge and audit report) the head's
``seq`` and ``hash`` and the time are signed with the installation's Ed25519 key (``signing.key_file``) and written
to sinks outside the database: an append-only file (one JSON object per line) and/or syslog. ``platekeeper audit
verify`` then checks that every signed checkpoint's event is still in the chain with the same hash, and names a
missing tail or a chain that no longer matches.

What it does not stop: someone who can rewrite the checkpoint file *and* read the signing key. Keep the key on
another volume (or readable only by the service user) and ship the file or syslog to another host; events written
after the last checkpoint can still be cut without trace until the next one.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from platekeeper.audit.events import AuditCheckpointFailed
from platekeeper.audit.service import Actor, AnchorCheck, chain_head, event_hashes
from platekeeper.audit.signing import InstallationKey, fingerprint_of, verify_signature
from platekeeper.audit.work import Work
from platekeeper.config import AuditConfig, Settings
from platekeeper.db import Database, utcnow
from platekeeper.jobs import ScheduledJob

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "CheckpointFile",
    "CheckpointSchedule",
    "CheckpointSink",
    "SyslogSink",
    "anchor_check",
    "check_checkpoints",
    "read_checkpoints",
    "sign_checkpoint",
    "sinks_for",
    "write_checkpoint",
]

log = logging.getLogger(__name__)
SYSLOG_TAG = "platekeeper-audit-checkpoint "
REASONS = ("interval", "shutdown", "startup", "manual", "purge", "audit_report", "export")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement: at ``at``, the chain held event ``seq`` with ``hash``: its newest (for an export, the
    newest event the export holds)."""

    seq: int
    hash: str
    at: str  # ISO 8601, UTC
    reason: str
    key: str  # the signing key's fingerprint
    signature: str = ""

    def payload(self) -> bytes:
        """What the signature covers: every field but the signature, as canonical JSON."""
        fields = {k: v for k, v in asdict(self).items() if k != "signature"}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @property
    def when(self) -> str:
        return self.at.replace("T", " ")[:19] + " UTC"


class CheckpointSink(Protocol):
    """Somewhere outside the database a checkpoint is written to."""

    def write(self, checkpoint: Checkpoint) -> None: ...


class CheckpointFile:
    """An append-only file of checkpoints, one JSON object per line, each line fsynced before the write returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (checkpoint.line() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)


class SyslogSink:
    """Checkpoints sent to syslog (facility auth, priority notice), to be kept by a collector on another host."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        target: str | tuple[str, int] = (host, int(port)) if host and port.isdigit() else address
        self.handler = logging.handlers.SysLogHandler(
            address=target, facility=logging.handlers.SysLogHandler.LOG_AUTH, socktype=socket.SOCK_DGRAM
        )
        self.handler.append_nul = False

    def write(self, checkpoint: Checkpoint) -> None:
        record = logging.LogRecord("platekeeper.audit", logging.WARNING, __file__, 0, "", None, None)
        record.msg = SYSLOG_TAG + checkpoint.line()
        self.handler.emit(record)


def sinks_for(settings: Settings) -> list[CheckpointSink]:
    """The configured sinks (``audit.checkpoint_sinks``)."""
    sinks: list[CheckpointSink] = []
    for name in settings.audit.checkpoint_sinks:
        if name == "file":
            sinks.append(CheckpointFile(settings.data_path(settings.audit.checkpoint_file)))
        else:
            sinks.append(SyslogSink(settings.audit.syslog_address))
    return sinks


def write_checkpoint(
    work: Work, signer: InstallationKey, sinks: list[CheckpointSink], reason: str
) -> Checkpoint | None:
    """Sign the chain's current head and write it to every sink; None while the chain is empty.

    A sink that fails does not stop the others; its failure is logged and audited (``audit.checkpoint_failed``,
    as the system's checkpoint writer, ``system:checkpoint``, whoever asked).
    """
    head = chain_head(work.session)
    if head is None:
        return None
    return sign_checkpoint(work, signer, sinks, head, reason)


def sign_checkpoint(
    work: Work, signer: InstallationKey, sinks: list[CheckpointSink], event: tuple[int, str], reason: str
) -> Checkpoint:
    """Sign that the chain holds ``event`` (its ``seq`` and ``hash``: the head, or for an export the newest event it
    holds) and write it to every sink, as :func:`write_checkpoint` does."""
    if reason not in REASONS:
        raise ValueError(f"unknown checkpoint reason {reason!r}")
    seq, hash_ = event
    unsigned = Checkpoint(seq=seq, hash=hash_, at=utcnow().isoformat(), reason=reason, key=signer.fingerprint)
    checkpoint = Checkpoint(**{**asdict(unsigned), "signature": signer.sign(unsigned.payload())})
    for sink in sinks:
        try:
            sink.write(checkpoint)
        except OSError as exc:
            log.error("audit checkpoint: %s failed: %s", type(sink).__name__, exc)
            failed = AuditCheckpointFailed(sink=type(sink).__name__, error=str(exc)[:200], seq=checkpoint.seq)
            work.as_(Actor.system("checkpoint")).record(failed, outcome="failure")
    return checkpoint


def read_checkpoints(path: Path) -> list[tuple[int, Checkpoint]]:
    """Every checkpoint in a file with its line number; a line that is not a checkpoint is a CheckpointError.

    A collector's syslog (lines ``... platekeeper-audit-checkpoint {json}`` among other programs' lines) is read
    too.
    """
    found: list[tuple[int, Checkpoint]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"checkpoints {path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"checkpoints {path}: is not UTF-8 text") from None
    syslog = SYSLOG_TAG in text  # a collector's log: other programs' lines are skipped
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().strip("\x00")
        if not line:
            continue
        if SYSLOG_TAG in line:
            line = line.split(SYSLOG_TAG, 1)[1]
        elif syslog:
            continue
        try:
            fields: dict[str, Any] = json.loads(line)
            checkpoint = Checkpoint(
                seq=int(fields["seq"]),
                hash=str(fields["hash"]),
                at=str(fields["at"]),
                reason=str(fields["reason"]),
                key=str(fields["key"]),
                signature=str(fields["signature"]),
            )
            datetime.fromisoformat(checkpoint.at)
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"checkpoints {path}, line {number}: is not a checkpoint") from None
        found.append((number, checkpoint))
    return found


def check_checkpoints(
    session: Session, public: Ed25519PublicKey, checkpoints: list[tuple[int, Checkpoint]], source: str
) -> tuple[str | None, str | None]:
    """Compare the chain with every signed checkpoint: (the newest one it matches, in words, or None; a problem).

    A checkpoint whose signature is not this installation's is a problem (a forged line); one whose event is gone
    is a missing tail (the chain ends before it) or a hole; one whose event has another hash means the chain was
    rewritten (and resealed) after it was signed.
    """
    fingerprint = fingerprint_of(public)
    for number, checkpoint in checkpoints:
        if checkpoint.key != fingerprint or not verify_signature(public, checkpoint.signature, checkpoint.payload()):
            return None, (
                f"{source}, line {number}: the checkpoint for event {checkpoint.seq} is not signed by this "
                f"installation's key ({fingerprint})"
            )
    if not checkpoints:
        return None, None
    stored = event_hashes(session, sorted({c.seq for _, c in checkpoints}))
    head = chain_head(session)
    last_seq = head[0] if head else 0
    for _, checkpoint in sorted(checkpoints, key=lambda item: item[1].seq):
        found = stored.get(checkpoint.seq)
        if found is None and checkpoint.seq > last_seq:
            return None, (
                f"the newest events are missing: the chain ends at event {last_seq}, but the checkpoint signed "
                f"{checkpoint.when} saw event {checkpoint.seq}"
            )
        if found is None:
            return None, f"event {checkpoint.seq}, named by the checkpoint signed {checkpoint.when}, is missing"
        if found != checkpoint.hash:
            return None, (
                f"the chain no longer matches the checkpoint signed {checkpoint.when}: event {checkpoint.seq} has "
                "another hash (the chain was rewritten and resealed)"
            )
    newest = max((c for _, c in checkpoints), key=lambda c: c.seq)
    return f"matches the signed checkpoint of {newest.when} at event {newest.seq} ({len(checkpoints)} checked)", None


def anchor_check(settings: Settings, signer: InstallationKey, path: Path | None = None) -> AnchorCheck:
    """The check ``verify_and_record`` runs: against ``path``, or the configured checkpoint file."""
    source = path or settings.data_path(settings.audit.checkpoint_file)

    def check(session: Session) -> tuple[str | None, str | None]:
        if not source.exists():
            if path is not None:
                return None, f"checkpoints {source}: no such file"
            return "no checkpoint written yet", None
        try:
            checkpoints = read_checkpoints(source)
        except CheckpointError as exc:
            return None, str(exc)
        return check_checkpoints(session, signer.public, checkpoints, str(source))

    return check


class CheckpointSchedule(ScheduledJob):
    """Writes a checkpoint every ``audit.checkpoint_minutes`` in a background scheduler (APScheduler), and a last
    one when stopped (server shutdown)."""

    def __init__(self, settings: Settings, database: Database, key: bytes, signer: InstallationKey) -> None:
        self.settings, self.database, self.key, self.signer = settings, database, key, signer
        self.sinks = sinks_for(settings)
        self._lock = threading.Lock()
        super().__init__(self.job(), "audit-checkpoint", "UTC", "interval", minutes=settings.audit.checkpoint_minutes)

    @property
    def config(self) -> AuditConfig:
        return self.settings.audit

    def write(self, reason: str) -> Checkpoint | None:
        """One checkpoint now (one at a time; a failure is logged, never raised into the scheduler)."""
        with self._lock:
            try:
                with self.database.session() as session:
                    work = Work(session, self.settings, self.key, Actor.system("checkpoint"))
                    return write_checkpoint(work, self.signer, self.sinks, reason)
            except Exception:
                log.exception("audit checkpoint (%s) failed", reason)
                return None

    def job(self) -> Callable[[], Checkpoint | None]:
        return lambda: self.write("interval")

    def stop(self, wait: bool = True) -> None:
        """Stop the schedule (after a checkpoint in progress) and write the shutdown checkpoint."""
        super().stop(wait=wait)
        self.write("shutdown")
