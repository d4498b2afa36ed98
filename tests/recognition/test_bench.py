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


def test_render_lists_each_recognizer_with_reliability() -> None:
    bench = load_bench()
    plate = bench.SetScore("crops/us val", total=4, exact=3, exact_o0=4, millis=[4.0, 5.0], scene=False)
    plate.confidences, plate.correct = [0.99, 0.97, 0.6, 0.3], [True, True, True, False]
    scene = bench.SetScore("scenes/eu", total=2, detected=2, exact=1, exact_o0=1, millis=[100.0], millis_720p=[90.0])
    section = bench.render(
        [("plate", [plate, scene], 300.0, 120.0), ("rapidocr", [scene], 420.0, 130.0)], "python bench/x.py"
    )
    assert section.startswith("## Recognition")
    assert "| plate | crops/us val | 4 | - | 0.750 | 1.000 | 4.5 |" in section
    assert "| rapidocr | scenes/eu | 2 | 1.000 | 0.500 | 0.500 | 100.0 |" in section
    assert (
        "`plate`: median end-to-end time on 1280x720 scenes 90 ms over 1 images; on a 1280x720 frame without a plate "
        "(two detector looks) 120 ms; peak RSS 300 MiB"
    ) in section
    assert "| 0.95-0.98 | 1 | 0.970 | 1.000 |" in section
