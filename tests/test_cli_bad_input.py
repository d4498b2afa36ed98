"""Bad input on the command line gets exit 2 and a message naming the argument or option, never a traceback, and
changes nothing: huge and unknown ids, output files in missing folders, a run refused before it schedules anything,
and a JSON file that is not a certificate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from platekeeper.audits.models import SystemAudit
from tests.audit_helpers import APPROVER, PERFORMER, accounts
from tests.cli_helpers import run_cli
from tests.conftest import Harness

HUGE = "99999999999999999999"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ids_out_of_range_or_unknown_exit_2_naming_them(harness: Harness) -> None:
    harness.user("ada", "alpr_admin")
    for args in (
        ("holds", "approve", HUGE, "--as", "ada"),
        ("holds", "release", HUGE, "--as", "ada", "--reason", "case closed"),
        ("audits", "close", HUGE, "--as", "ada"),
        ("sharing", "fulfil", HUGE, "--as", "ada", "--to", "."),
        ("cameras", "deactivate", HUGE),
    ):
        done = run_cli(harness, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "_id'" in done.stderr and "2147483647" in done.stderr, done.stderr
    for args in (
        ("holds", "approve", "999999", "--as", "ada"),
        ("sharing", "fulfil", "999999", "--as", "ada", "--to", "."),
    ):
        done = run_cli(harness, *args)
        assert done.returncode == 2 and "999999" in done.stderr, (args, done.stderr)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_output_file_in_a_missing_folder_or_on_a_folder_exits_2_before_any_work(
    harness: Harness, tmp_path: Path
) -> None:
    harness.user("audrey", "auditor")
    harness.user("rita", "records_manager")
    since = (datetime.now(harness.settings.tz).date() - timedelta(days=1)).isoformat()
    missing, folder = tmp_path / "nowhere" / "out.zip", tmp_path
    for option, args in (
        ("--out", ("audit", "export", "--as", "audrey", "--since", since, "--out")),
        ("--output", ("sharing", "register", "--as", "rita", "--output")),
        ("--output", ("audits", "report", "1", "--as", "audrey", "--output")),
        ("OUTPUT", ("policy", "preview")),
    ):
        for path, why in ((missing, "does not exist"), (folder / "x.html" if option == "OUTPUT" else folder, "")):
            target = str(path if option != "OUTPUT" else (missing.with_suffix(".html") if why else path))
            if option == "OUTPUT" and not why:
                (tmp_path / "x.html").mkdir(exist_ok=True)
            done = run_cli(harness, *args, target)
            assert done.returncode == 2, (args, target, done.stderr)
            assert option in done.stderr and (why or "is a folder") in done.stderr, done.stderr
    assert not missing.parent.exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_refused_audit_run_schedules_nothing(harness: Harness) -> None:
    accounts(harness)
    since = (datetime.now(harness.settings.tz).date() - timedelta(days=3)).isoformat()
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    for _ in range(2):
        done = run_cli(harness, "audits", "run", "--from", since, "--to", until, "--as", PERFORMER)
        assert done.returncode == 2 and "to: the period has not ended yet" in done.stderr
    with harness.database.session() as session:
        assert session.scalar(select(func.count(SystemAudit.id))) == 0
    assert APPROVER  # the approver is seeded too: the refusal is the performer's, not a missing account


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_file_that_is_not_a_certificate_exits_2(harness: Harness, tmp_path: Path) -> None:
    for body in ("{}", "[1, 2, 3]", json.dumps({"signature": 5, "reads": "many"})):
        path = tmp_path / "cert.json"
        path.write_text(body)
        done = run_cli(harness, "purge", "verify", str(path))
        assert done.returncode == 2 and "CERTIFICATE: not a purge certificate" in done.stderr, done.stderr
    path.write_text(json.dumps({"document": {}, "signature": {}}))
    garbage = tmp_path / "key.pem"
    garbage.write_text("not a key")
    done = run_cli(harness, "purge", "verify", str(path), "--public-key", str(garbage))
    assert done.returncode == 2 and done.stderr.count("public key") == 1 and "--public-key:" in done.stderr
