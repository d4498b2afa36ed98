"""Time per crop of plate recognizer networks alone (onnxruntime only: no resize, no plate rules, no vote).

    python bench/network_speed.py [MODEL ...] [--runs 60] [--write]

Each model gets one onnxruntime session per thread count (1 and 2 intra-op threads, idle threads not spinning,
as at run time) and is fed random 48x160 inputs of 1 and of 8 crops. The runs alternate between the models, so a
slower moment of a shared machine hits every model alike; the table gives the median milliseconds per crop.
Without MODEL, the two committed networks: plate-ocr-int8.onnx (the recognizer's) and the float plate-ocr.onnx it
was rounded from. ``--write`` puts the table into docs/benchmarks.md under
"## Plate network". The whole time per crop, with the plate rules, is bench/recognition.py's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

from platekeeper.recognition.config import RuntimeConfig  # noqa: E402
from platekeeper.recognition.models import create_session, weights_path  # noqa: E402

SECTION = "Plate network"
SETTINGS = ((1, 1), (1, 8), (2, 1), (2, 8))  # (threads, crops per run)


def session(model: Path, threads: int) -> ort.InferenceSession:
    """A session as the recognizer builds it, at ``threads`` intra-op threads, idle threads not spinning."""
    return create_session(model.read_bytes(), RuntimeConfig(intra_op_threads=threads, allow_spinning=False))


def kind(meta: dict[str, str]) -> str:
    """A network's weights from its metadata: fp16, int8, or int8 in the wide pointwise convolutions only."""
    wide = int(meta.get("int8_min_channels", "0"))
    if meta.get("weights") != "int8":
        return "fp16"
    return f"int8 in the pointwise convolutions of {wide}+ channels" if wide else "int8"


def measure(models: list[Path], runs: int) -> tuple[dict[tuple[Path, int, int], float], dict[Path, str]]:
    """Median ms per crop for each model and setting (``runs`` runs of one crop, a quarter as many of eight),
    and each model's weights (``kind``)."""
    rng = np.random.default_rng(0)
    medians, kinds = {}, {}
    for threads, crops in SETTINGS:
        x = rng.standard_normal((crops, 3, 48, 160)).astype(np.float32)
        sessions = {m: session(m, threads) for m in models}
        for m, s in sessions.items():
            kinds.setdefault(m, kind(s.get_modelmeta().custom_metadata_map))
        for s in sessions.values():
            s.run(None, {s.get_inputs()[0].name: x})
        times: dict[Path, list[float]] = {m: [] for m in models}
        for _ in range(max(1, runs if crops == 1 else runs // 4)):
            for m, s in sessions.items():
                start = time.perf_counter()
                s.run(None, {s.get_inputs()[0].name: x})
                times[m].append((time.perf_counter() - start) * 1000 / crops)
        for m in models:
            medians[(m, threads, crops)] = statistics.median(times[m])
    return medians, kinds


def render(models: list[Path], medians: dict[tuple[Path, int, int], float], kinds: dict[Path, str]) -> str:
    head = "| network | " + " | ".join(f"{t} thread{'s' * (t > 1)}, {c} crop{'s' * (c > 1)}" for t, c in SETTINGS)
    lines = [head + " |", "|---|" + "---:|" * len(SETTINGS)]
    for m in models:
        cells = " | ".join(f"{medians[(m, t, c)]:.2f}" for t, c in SETTINGS)
        lines.append(f"| `{m.name}` ({kinds[m]}) | {cells} |")
    return (
        "\n".join(lines) + "\n\nMilliseconds per crop, median; the network alone (bench/recognition.py has the rest). "
        "A network other than the two committed ones is a file that `python -m platekeeper.training.train_ocr` "
        "wrote (`--keep`, `--weights int8`; docs/recognition.md, Known limits, Speed).\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", type=Path, help="ONNX plate networks (default: the two committed ones)")
    parser.add_argument("--runs", type=int, default=60, help="runs of one crop per model and thread count")
    parser.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="3 runs, write nothing: the test suite's size")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.write = 3, False
    models = args.models or [weights_path("plate-ocr-int8.onnx"), weights_path("plate-ocr.onnx")]
    missing = [str(m) for m in models if not m.is_file()]
    if missing or args.runs < 1:
        parser.error(f"no such model: {', '.join(missing)}" if missing else "--runs must be 1 or more")
    table = render(models, *measure(models, args.runs))
    print(table)
    if args.write:
        from report import write_section

        write_section(SECTION, table, "python bench/network_speed.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
