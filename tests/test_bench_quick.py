"""Every script in bench/ runs at its --quick size in the suite, so a benchmark can never break unseen.

A bench that fails here would have printed stale figures into docs/benchmarks.md the next time someone ran it
(bench/ingest_search.py once signed in with an account that was never approved).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
DATA = BENCH.parents[1] / "shared" / "data"  # what bench/recognition.py reads by default
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if p.name != "report.py")  # report.py is their shared writer


def test_every_bench_script_is_covered() -> None:
    expected = ["hotlists.py", "ingest_search.py", "network_speed.py", "recognition.py", "retention.py", "scale.py"]
    assert expected == SCRIPTS


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_runs_at_its_quick_size(script: str, tmp_path: Path) -> None:
    if script == "recognition.py" and not (DATA / "scenes").is_dir():
        pytest.skip(f"development data not found at {DATA} (check out ../shared/data)")
    docs = BENCH.parent / "docs" / "benchmarks.md"
    before = docs.read_text()
    result = subprocess.run(
        [sys.executable, str(BENCH / script), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PLATEKEEPER_DATA_DIR": str(tmp_path / "var")},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "|---" in result.stdout  # it printed its table
    assert docs.read_text() == before  # --quick writes nothing
