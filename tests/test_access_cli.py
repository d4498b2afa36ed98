"""The account lifecycle from the command line: request, approval by someone else, training, deactivation."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from typer.testing import CliRunner

from platekeeper.cli import app


def _cli(tmp_path: Path, database_url: str, *args: str) -> SimpleNamespace:
    """Run the command in this process (much faster than a subprocess; test_cli covers the real entry point)."""
    env = {
        "PLATEKEEPER_DATABASE_URL": database_url,
        "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
        "PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB": "1024",
        "PLATEKEEPER_ACCESS__PASSWORD_HASH__TIME_COST": "1",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def test_operator_lifecycle_flow(tmp_path: Path, database_url: str) -> None:
    assert _cli(tmp_path, database_url, "demo", "--reads", "0").returncode == 0  # admin, officer, recmgr...
    added = _cli(tmp_path, database_url, "users", "add", "dana", "--role", "sworn_officer")
    assert added.returncode == 0 and "waiting for approval" in added.stdout
    assert "requested" in _cli(tmp_path, database_url, "users", "list").stdout
    refused = _cli(tmp_path, database_url, "users", "approve", "dana", "--approver", "officer")
    assert refused.returncode == 2 and "users.approve" in refused.stderr
    approved = _cli(tmp_path, database_url, "users", "approve", "dana", "--approver", "admin")
    assert approved.returncode == 0 and "approved by admin" in approved.stdout
    future = _cli(tmp_path, database_url, "users", "training", "add", "dana", "--course", "policy_review",
                  "--completed-on", "2999-01-01", "--instructor", "Lt. Chen", "--evidence", "quiz")  # fmt: skip
    assert future.returncode == 2 and "completed_on" in future.stderr
    added = _cli(tmp_path, database_url, "users", "training", "add", "dana", "--course", "policy_review",
                 "--completed-on", "2026-01-15", "--instructor", "Lt. Chen", "--evidence", "quiz 90%")  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = _cli(tmp_path, database_url, "users", "training", "list", "dana").stdout
    assert "policy_review" in listing and "equipment_operation" in listing and "missing" in listing
    gone = _cli(tmp_path, database_url, "users", "deactivate", "dana", "--reason", "left the department")
    assert gone.returncode == 0 and "deactivated" in _cli(tmp_path, database_url, "users", "list").stdout
    assert _cli(tmp_path, database_url, "users", "unlock", "nobody").returncode == 2
    verify = _cli(tmp_path, database_url, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
