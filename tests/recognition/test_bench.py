"""The benchmark: its table, its own section of docs/benchmarks.md, and the scene labels checked by eye."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from platekeeper.recognition import normalize_plate

BENCH = Path(__file__).resolve().parents[2] / "bench" / "recognition.py"


def load_bench(name: str = "recognition"):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH.parent / f"{name}.py")
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
    scene = bench.SetScore(
        "scenes/eu", total=2, detected=2, exact=1, exact_o0=1, exact_checked=2, millis=[100.0], millis_720p=[90.0]
    )
    section = bench.render(
        [("plate", [plate, scene], 300.0, 120.0), ("rapidocr", [scene], 420.0, 130.0)], "python bench/x.py", 196.4, 7
    )
    assert "Checked labels: the scene labels, except 7 that the plate in the image contradicts" in section
    assert section.startswith("## Recognition")
    assert "(onnxruntime intra-op threads 2; numpy float32 matrix product 196 GFLOP/s), with:" in section
    assert "| plate | crops/us val | 4 | - | 0.750 | 1.000 | - | 4.5 |" in section
    assert "| rapidocr | scenes/eu | 2 | 1.000 | 0.500 | 0.500 | 1.000 | 100.0 |" in section
    assert (
        "`plate`: median end-to-end time on 1280x720 scenes 90 ms over 1 images; on a 1280x720 frame without a plate "
        "(two detector looks) 120 ms; peak RSS 300 MiB"
    ) in section
    assert "| 0.95-0.98 | 1 | 0.970 | 1.000 |" in section


def test_machine_yardstick_is_a_positive_rate() -> None:
    assert 0 < load_bench().machine_gflops(size=64, repeats=2) < 1e6


def test_checked_label_takes_the_erratum_and_refuses_a_stale_one() -> None:
    bench = load_bench()
    errata = {("scenes/eu", "a.jpg"): {"label": "RKO99AN", "plate": "RK099AN"}}
    assert bench.checked_label(errata, "scenes/eu", {"file": "a.jpg", "plate": "RKO99AN"}) == "RK099AN"
    assert bench.checked_label(errata, "scenes/br", {"file": "a.jpg", "plate": "RKO99AN"}) == "RKO99AN"
    assert bench.checked_label(errata, "scenes/eu", {"file": "b.jpg", "plate": "ABC123"}) == "ABC123"
    with pytest.raises(ValueError, match=r"a\.jpg is labelled 'RK099AM' in the data set, not 'RKO99AN'"):
        bench.checked_label(errata, "scenes/eu", {"file": "a.jpg", "plate": "RK099AM"})


def test_every_erratum_names_a_label_of_the_data_set(data_dir: Path) -> None:
    """Each erratum replaces a label the data set really has, with a different normalized plate and evidence."""
    bench = load_bench()
    errata = bench.load_errata()
    assert errata
    bench.check_errata(data_dir, errata)
    for row in errata.values():
        assert normalize_plate(row["plate"]) == row["plate"] != row["label"]
        assert len(row["evidence"]) > 20


def test_bench_refuses_a_stale_erratum_before_reading_anything(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench()
    stale = {("scenes/eu", "eu5.jpg"): {"label": "OY09FEU", "plate": "OY09FEU"}}
    monkeypatch.setattr(bench, "load_errata", lambda: stale)
    monkeypatch.setattr(bench, "machine_gflops", lambda: pytest.fail("the bench ran"))
    assert bench.main(["--data", str(data_dir), "--no-write"]) == 2
    assert "eu5.jpg is labelled 'OYO9FEU' in the data set, not 'OY09FEU'" in capsys.readouterr().err
    stale = {("scenes/eu", "gone.jpg"): {"label": "ABC123", "plate": "ABC124"}}
    with pytest.raises(ValueError, match=r"gone\.jpg is labelled '\(no such image\)'"):
        bench.check_errata(data_dir, stale)


def test_network_speed_prints_one_row_per_network(capsys: pytest.CaptureFixture[str]) -> None:
    speed = load_bench("network_speed")
    assert speed.main(["--runs", "2"]) == 0
    out = capsys.readouterr().out
    for name in (
        "`plate-ocr-int8.onnx` (int8 in the pointwise convolutions of 384+ channels)",
        "`plate-ocr.onnx` (fp16)",
    ):
        row = next(line for line in out.splitlines() if line.startswith(f"| {name}"))
        assert len([float(cell) for cell in row.split("|")[2:-1]]) == 4
    assert "1 thread, 1 crop" in out and "2 threads, 8 crops" in out


@pytest.mark.parametrize(
    ("argv", "message"), [(["no-such.onnx"], "no such model: no-such.onnx"), (["--runs", "0"], "--runs must be 1")]
)
def test_network_speed_refuses_bad_arguments(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    speed = load_bench("network_speed")
    with pytest.raises(SystemExit) as stop:
        speed.main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err
