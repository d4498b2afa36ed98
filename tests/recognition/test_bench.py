"""The benchmark replaces only its own section of docs/benchmarks.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "recognition.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_recognition", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_section_created_then_replaced_alone(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "benchmarks.md"
    bench.write_section(path, "## Recognition\n\nfirst\n")
    assert path.read_text() == "# Benchmarks\n\n## Recognition\n\nfirst\n"
    path.write_text("# Benchmarks\n\n## Web\n\nweb numbers\n\n## Recognition\n\nfirst\n\n## Audit\n\naudit\n")
    bench.write_section(path, "## Recognition\n\nsecond\n")
    text = path.read_text()
    assert "first" not in text and "second" in text
    assert text.index("## Web") < text.index("## Recognition") < text.index("## Audit")
    assert "web numbers" in text and "audit" in text
