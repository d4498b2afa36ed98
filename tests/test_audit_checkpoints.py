"""Signed checkpoints: a cut tail, an emptied log or a chain rewritten and resealed with the HMAC key is named by
``audit verify``, which checks the chain against checkpoints signed with the installation's Ed25519 key and kept
outside the database. Without them each of these chains verified as intact."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from platekeeper.audit.checkpoints import (
    CheckpointFile,
    CheckpointSchedule,
    anchor_check,
    read_checkpoints,
    write_checkpoint,
)
from platekeeper.audit.models import AuditEvent, AuditPlateText
from platekeeper.audit.oversight import verify_and_record
from platekeeper.audit.service import Actor, _seal, load_or_create_key
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import Database
from tests.test_audit import _drop_guards, _fill
from tests.test_cli import _cli

KEY = b"k" * 64


def _signer(settings: Settings) -> InstallationKey:
    return InstallationKey.load_or_create(settings.data_path(settings.signing.key_file))


def _work(session: Session, settings: Settings) -> Work:
    return Work(session, settings, KEY, Actor.system("test"))


def _checkpoint(settings: Settings, database: Database) -> None:
    with database.session() as session:
        sink = CheckpointFile(settings.data_path(settings.audit.checkpoint_file))
        assert write_checkpoint(_work(session, settings), _signer(settings), [sink], "manual") is not None


def _verify(settings: Settings, database: Database, path: Path | None = None):
    with database.session() as session:
        return verify_and_record(_work(session, settings), anchor_check(settings, _signer(settings), path))


def test_an_intact_chain_matches_its_checkpoint(settings: Settings, database: Database) -> None:
    _fill(database, 5)
    _checkpoint(settings, database)
    _fill(database, 2)  # events after the checkpoint are fine
    result = _verify(settings, database)
    assert result.intact, result
    assert "event 5" in (result.anchor or "")
    line = settings.data_path(settings.audit.checkpoint_file).read_text().splitlines()[0]
    assert set(json.loads(line)) == {"seq", "hash", "at", "reason", "key", "signature"}
    assert oct(settings.data_path(settings.signing.key_file).stat().st_mode & 0o777) == "0o600"


def _checkpoint_then_cut(settings: Settings, database: Database, count: int, delete: str) -> None:
    """``count`` events and a checkpoint after the last, then ``delete`` run past the append-only guards."""
    _fill(database, count)
    _checkpoint(settings, database)
    _drop_guards(database)
    with database.engine.begin() as conn:
        conn.execute(text(delete))


def test_a_cut_tail_is_named(settings: Settings, database: Database) -> None:
    _checkpoint_then_cut(settings, database, 6, "DELETE FROM audit_events WHERE seq > 3")
    result = _verify(settings, database)
    assert result.first_bad_seq is None  # the chain alone still verifies
    assert not result.intact
    assert "newest events are missing" in result.anchor_problem and "ends at event 3" in result.anchor_problem


def test_an_emptied_log_is_named(settings: Settings, database: Database) -> None:
    _checkpoint_then_cut(settings, database, 4, "DELETE FROM audit_events")
    with database.session() as session:
        result = anchor_check(settings, _signer(settings))(session)
    assert result[1] is not None and "ends at event 0" in result[1] and "saw event 4" in result[1]


def test_a_chain_rewritten_and_resealed_with_the_hmac_key_is_named(settings: Settings, database: Database) -> None:
    """Whoever reads audit.key can change an event and reseal every event after it: the seals all verify."""
    _fill(database, 5)
    _checkpoint(settings, database)
    _drop_guards(database)
    with database.session() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        rows = [{c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns} for e in events]
        plates = [{c.name: getattr(p, c.name) for c in AuditPlateText.__table__.columns} for p in session.scalars(
            select(AuditPlateText))]  # fmt: skip
        session.expunge_all()
        session.execute(text("DELETE FROM audit_events"))
        prev = rows[0]["prev_hash"]
        rewritten = []
        for fields in rows:
            copy = AuditEvent(**fields)
            if copy.seq == 2:
                copy.details = {"plate": "REDACTED"}  # the search the insider wants gone
            copy.prev_hash = prev
            copy.hash = _seal(KEY, copy)
            prev = copy.hash
            rewritten.append(copy)
        session.add_all(rewritten)
        session.flush()
        session.add_all(AuditPlateText(**fields) for fields in plates if fields["seq"] != 2)  # the plate text too
    result = _verify(settings, database)
    assert result.first_bad_seq is None  # resealed: the chain alone verifies
    assert "no longer matches" in (result.anchor_problem or "") and "event 5" in result.anchor_problem


def test_a_checkpoint_signed_with_another_key_is_refused(settings: Settings, database: Database, tmp_path) -> None:
    _fill(database, 3)
    forged = tmp_path / "forged.jsonl"
    other = InstallationKey.load_or_create(tmp_path / "other.key")
    with database.session() as session:
        write_checkpoint(_work(session, settings), other, [CheckpointFile(forged)], "manual")
    result = _verify(settings, database, forged)
    assert "not signed by this installation's key" in (result.anchor_problem or "")
    assert "line 1" in result.anchor_problem


def test_an_edited_checkpoint_line_fails_its_signature(settings: Settings, database: Database) -> None:
    _fill(database, 3)
    _checkpoint(settings, database)
    path = settings.data_path(settings.audit.checkpoint_file)
    fields = json.loads(path.read_text())
    path.write_text(json.dumps({**fields, "seq": 2}) + "\n")  # point it at an older event
    assert "not signed" in (_verify(settings, database).anchor_problem or "")
    path.write_text("not json\n")
    assert "line 1: is not a checkpoint" in (_verify(settings, database).anchor_problem or "")


def test_the_schedule_writes_on_its_interval_job_and_at_stop(settings: Settings, database: Database) -> None:
    _fill(database, 2)
    schedule = CheckpointSchedule(settings, database, KEY, _signer(settings))
    schedule.start()
    try:
        (job,) = schedule.scheduler.get_jobs()
        assert job.trigger.interval.total_seconds() == settings.audit.checkpoint_minutes * 60
        job.func()  # what the scheduler runs every audit.checkpoint_minutes
    finally:
        schedule.stop()
    reasons = [c.reason for _, c in read_checkpoints(settings.data_path(settings.audit.checkpoint_file))]
    assert reasons == ["interval", "shutdown"]


def test_syslog_sink_sends_the_signed_line(settings: Settings, database: Database) -> None:
    from platekeeper.audit.checkpoints import SyslogSink

    _fill(database, 2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as collector:
        collector.bind(("127.0.0.1", 0))
        collector.settimeout(5)
        sink = SyslogSink(f"127.0.0.1:{collector.getsockname()[1]}")
        with database.session() as session:
            checkpoint = write_checkpoint(_work(session, settings), _signer(settings), [sink], "manual")
        message = collector.recv(65536).decode()
    assert checkpoint is not None and checkpoint.signature in message
    log = settings.data_dir / "collector.log"
    log.write_text("Dec  4 21:00:00 host other: unrelated line\n" + message + "\n")
    assert _verify(settings, database, log).intact


def test_cli_checkpoint_verify_and_serve_shutdown(tmp_path: Path, database_url: str) -> None:
    """As an operator: a checkpoint on demand, verify, cut the tail, verify again (exit 1 naming it); and
    `platekeeper serve` writes a checkpoint when it is stopped."""
    assert _cli(tmp_path, database_url, "db", "upgrade").returncode == 0
    assert _cli(tmp_path, database_url, "users", "add", "dana", "--role", "sworn_officer").returncode == 0
    made = _cli(tmp_path, database_url, "audit", "checkpoint")
    assert made.returncode == 0 and "checkpoint written" in made.stdout, made.stderr
    ok = _cli(tmp_path, database_url, "audit", "verify")
    assert ok.returncode == 0 and "matches the signed checkpoint" in ok.stdout, ok.stdout + ok.stderr
    assert _cli(tmp_path, database_url, "audit", "checkpoint").returncode == 0  # now of the verify event too
    database = Database(database_url)
    try:
        _drop_guards(database)
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq > 1"))
    finally:
        database.dispose()
    cut = _cli(tmp_path, database_url, "audit", "verify")
    assert cut.returncode == 1 and "newest events are missing" in cut.stderr, cut.stdout + cut.stderr
    missing = _cli(tmp_path, database_url, "audit", "verify", "--checkpoints", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "--checkpoints" in missing.stderr  # a typed path that is not there

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PLATEKEEPER_DATABASE_URL": database_url,
        "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
        "PLATEKEEPER_RECOGNITION_QUEUE__IN_PROCESS_WORKER": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "platekeeper", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    lines = read_checkpoints(tmp_path / "var" / "audit-checkpoints.jsonl")
    assert [c.reason for _, c in lines][-1] == "shutdown", output


def test_key_file_must_be_an_ed25519_key(tmp_path: Path) -> None:
    from platekeeper.audit.signing import SigningKeyError

    bad = tmp_path / "signing.key"
    bad.write_text("not a key")
    with pytest.raises(SigningKeyError, match=r"signing\.key"):
        InstallationKey.load_or_create(bad)
    assert load_or_create_key(tmp_path / "audit.key")  # the HMAC key is a separate file
