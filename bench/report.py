"""Writing one benchmark's table into docs/benchmarks.md, replacing only its own section."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["write_section"]

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nLatest figures from the scripts in `bench/` (`make bench` runs them all).\n"


def write_section(title: str, table: str, command: str) -> None:
    """Replace (or add) the section ``## title`` with the table, the command and the machine it ran on."""
    text = DOC.read_text() if DOC.exists() else HEADER
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    body = (
        f"## {title}\n\nMeasured {when} on {platform.machine()}, {_cores()} cores, Python "
        f"{platform.python_version()}, with:\n\n```\n{command}\n```\n\n{table}\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(body + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + body
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))
