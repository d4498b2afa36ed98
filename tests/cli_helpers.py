"""Running ``platekeeper`` commands against a test's installation, as an operator at the console would."""

from __future__ import annotations

from types import SimpleNamespace

from typer.testing import CliRunner

from platekeeper.cli import app
from tests.conftest import Harness


def run_cli(harness: Harness, *args: str) -> SimpleNamespace:
    """Run a command on the harness's database and data folder; (returncode, stdout, stderr). An exception other
    than the command's own exit is raised: a traceback is never an answer to bad input."""
    env = {
        "PLATEKEEPER_DATABASE_URL": harness.settings.resolved_database_url,
        "PLATEKEEPER_DATA_DIR": str(harness.settings.data_dir),
        "PLATEKEEPER_ACCESS__PASSWORD_HASH__MEMORY_KIB": "1024",
        "PLATEKEEPER_ACCESS__PASSWORD_HASH__TIME_COST": "1",
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)
