"""`make screenshots` runs in the suite at its --quick size, so the README's pictures can never break unseen: every
role's screens are taken from a fresh demo agency in Chromium (issue 20)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "screenshots.py"
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_readme_screenshots_are_taken_for_every_role(tmp_path: Path) -> None:
    chromium_path()  # a skip (a failure under CI) that says how to install it
    out = tmp_path / "images"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(out), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PLATEKEEPER_DATA_DIR": str(tmp_path / "var")},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    taken = {p.name for p in out.glob("*.png")}
    readme = (SCRIPT.parents[1] / "README.md").read_text()
    shown = {name for name in taken if f"docs/images/{name}" in readme}
    assert {"search.png", "read.png", "search-phone.png", "officer-alerts-phone.png"} <= taken
    for prefix in ("admin-", "officer-", "supervisor-", "records-", "records-manager-", "auditor-", "vendor-"):
        assert any(n.startswith(prefix) for n in shown), f"the README shows no picture of {prefix.rstrip('-')}"
    assert all((out / name).read_bytes().startswith(PNG) for name in taken)
    assert shown == taken, f"pictures taken that the README never shows: {sorted(taken - shown)}"
