"""Recognition benchmark on the development data (../shared/data by default).

Scores detector recall (IoU >= 0.5) and end-to-end exact plate accuracy on scenes/eu and scenes/br, recognizer
exact accuracy on the validation plates of crops/us and crops/br (the plate-string split that training holds
out; strict, and with the letter O and the digit 0 treated as equal; scenes also against the labels as checked
by eye, bench/label-errata.csv), the median milliseconds per image or
crop, the peak RSS, and a reliability table (confidence bin against accuracy). Each recognizer runs in its own
process, so its peak RSS is its own. Prints the table and writes it into docs/benchmarks.md under
"## Recognition" (only that section is replaced).

    python bench/recognition.py [--data PATH] [--limit N] [--recognizer plate|rapidocr|both] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from platekeeper.recognition import PlateBox, PlatePipeline, plate_equal, read_image  # noqa: E402
from platekeeper.recognition.config import PlateRulesConfig, RecognitionConfig  # noqa: E402
from platekeeper.training.data import is_validation_plate  # noqa: E402
from platekeeper.training.report import reliability_table  # noqa: E402

SECTION = "## Recognition"
IOU_MATCH = 0.5
FRAME_720P = (1280, 720)
BATCH = 8
NOISY_LABELS = "crops/br val"  # a quarter of crops/br labels fit no Brazilian format (docs/recognition.md)
ERRATA = REPO_ROOT / "bench" / "label-errata.csv"  # scene labels that the plate in the image contradicts


@dataclass
class SetScore:
    """Counters for one data set."""

    name: str
    total: int = 0
    detected: int = 0
    exact: int = 0
    exact_o0: int = 0
    exact_checked: int = 0
    millis: list[float] = field(default_factory=list)
    millis_720p: list[float] = field(default_factory=list)
    millis_batched: list[float] = field(default_factory=list)
    scene: bool = True
    recognizer: str = ""
    confidences: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    regional: bool = False


def sample(rows: list[dict[str, str]], limit: int | None) -> list[dict[str, str]]:
    """All rows, or ``limit`` rows spread evenly over the set."""
    if not limit or limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


Errata = dict[tuple[str, str], dict[str, str]]


def load_errata(path: Path = ERRATA) -> Errata:
    """``{(set, file): row}`` for the scene labels that the plate in the image contradicts. Each row gives the
    label it replaces, the plate as it reads, and the evidence."""
    with path.open(newline="") as handle:
        return {(r["set"], r["file"]): r for r in csv.DictReader(handle)}


def checked_label(errata: Errata, set_name: str, row: dict[str, str]) -> str:
    """The plate as checked by eye: the erratum for this image, else the data set's label. An erratum whose
    label is not the data set's is refused: the set has changed and the erratum must be checked again."""
    erratum = errata.get((set_name, row["file"]))
    if erratum is None:
        return row["plate"]
    if erratum["label"] != row["plate"]:
        where = f"{ERRATA.name}: {set_name}/{row['file']}"
        raise ValueError(f"{where} is labelled {row['plate']!r} in the data set, not {erratum['label']!r}")
    return erratum["plate"]


def check_errata(data: Path, errata: Errata) -> None:
    """Raise ValueError for an erratum whose image or label the data set under ``data`` does not have."""
    labels: dict[str, dict[str, str]] = {}
    for set_name, file in errata:
        if set_name not in labels:
            with (data / set_name / "labels.csv").open(newline="") as handle:
                labels[set_name] = {r["file"]: r["plate"] for r in csv.DictReader(handle)}
        checked_label(errata, set_name, {"file": file, "plate": labels[set_name].get(file, "(no such image)")})


def score_scenes(pipeline: PlatePipeline, folder: Path, limit: int | None, errata: Errata) -> SetScore:
    """Detector recall and end-to-end exact accuracy on labelled scenes (one plate per image)."""
    score = SetScore(f"scenes/{folder.name}")
    for row in sample(list(csv.DictReader((folder / "labels.csv").open())), limit):
        image = read_image(folder / row["file"])
        x, y, w, h = (float(row[k]) for k in "xywh")
        truth = PlateBox(x, y, x + w, y + h, 1.0)
        start = time.perf_counter()
        boxes = pipeline.detector.detect(image)
        reads = pipeline.read_boxes(image, boxes)
        elapsed = (time.perf_counter() - start) * 1000
        score.millis.append(elapsed)
        if (image.shape[1], image.shape[0]) == FRAME_720P:
            score.millis_720p.append(elapsed)
        score.total += 1
        score.detected += any(b.iou(truth) >= IOU_MATCH for b in boxes)
        matched = [r for r in reads if r.box.iou(truth) >= IOU_MATCH]
        texts = [r.text for r in matched]
        score.exact += any(plate_equal(t, row["plate"]) for t in texts)
        score.exact_o0 += any(plate_equal(t, row["plate"], o_equals_zero=True) for t in texts)
        checked = checked_label(errata, score.name, row)
        score.exact_checked += any(plate_equal(t, checked) for t in texts)
        for read in matched[:1]:  # reliability: against the plate as it is, where a label is known to be wrong
            score.confidences.append(read.confidence)
            score.correct.append(plate_equal(read.text, checked))
    return score


def score_crops(pipeline: PlatePipeline, folder: Path, limit: int | None) -> SetScore:
    """Recognizer exact accuracy on the validation plates of a crops set (never trained on)."""
    score = SetScore(f"crops/{folder.name} val", scene=False)
    rows = [r for r in csv.DictReader((folder / "labels.csv").open()) if is_validation_plate(r["plate"])]
    crops = []
    for row in sample(rows, limit):
        image = read_image(folder / row["file"])  # decoded between reads, as images arrive
        crops.append(image)
        start = time.perf_counter()
        reads = pipeline.read_crop(image)
        score.millis.append((time.perf_counter() - start) * 1000)
        score.total += 1
        text = reads[0].text if reads else ""
        if reads:
            score.confidences.append(reads[0].confidence)
            score.correct.append(plate_equal(text, row["plate"]))
        score.exact += plate_equal(text, row["plate"])
        score.exact_o0 += plate_equal(text, row["plate"], o_equals_zero=True)
    for i in range(0, len(crops), BATCH):  # as one frame's plates are read: several crops per call
        start = time.perf_counter()
        pipeline.recognizer.recognize_many(crops[i : i + BATCH])
        score.millis_batched.append((time.perf_counter() - start) * 1000 / len(crops[i : i + BATCH]))
    return score


def time_empty_frame(pipeline: PlatePipeline, repeats: int = 11) -> float:
    """Median ms to read a 1280x720 frame without a plate (a grey gradient): both detector looks run."""
    width, height = FRAME_720P
    frame = np.tile(np.linspace(90, 200, height, dtype=np.uint8)[:, None, None], (1, width, 3))
    millis = []
    for _ in range(repeats):
        start = time.perf_counter()
        if pipeline.read(frame):
            raise RuntimeError("the empty benchmark frame was read as a plate")
        millis.append((time.perf_counter() - start) * 1000)
    return statistics.median(millis)


def machine_gflops(size: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of numpy's float32 matrix product (best of ``repeats``): a yardstick for the machine's speed on the
    day, since times on a shared machine move by up to a factor of two from one day to the next."""
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), np.float32), rng.random((size, size), np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def render(
    runs: list[tuple[str, list[SetScore], float, float]], command: str, gflops: float | None = None, errata: int = 0
) -> str:
    """The markdown section: when and how it was measured, the table, 720p time, peak RSS and reliability
    (``errata``: how many scene labels were replaced by the plate as checked by eye)."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    yardstick = "" if gflops is None else f"; numpy float32 matrix product {gflops:.0f} GFLOP/s"
    lines = [
        SECTION,
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine} (onnxruntime intra-op threads 2{yardstick}), with:",
        "",
        "```",
        command,
        "```",
        "",
        "Exact = the normalized plate text equals the label; strict, and with the letter O and the digit 0",
        "treated as equal (some labels write one for the other). Scenes: a read counts when its box overlaps",
        "the labelled box with IoU >= 0.5. crops/* val: the validation plates of the plate-string split that",
        "`make train-ocr` holds out (the `plate` recognizer never saw them). Times: per scene image end to end",
        "(detection + recognition), per crop for crops (recognition + plate rules, one crop per call), image",
        "decoding excluded; votes count in every time.",
        f"Checked labels: the scene labels, except {errata} that the plate in the image contradicts",
        "(bench/label-errata.csv gives each with its evidence); strict. Crops sets are not checked by eye.",
        "`plate` is platekeeper's plate-trained recognizer (the default; it puts reads below",
        "`plate_ocr.vote_below`, or with a close runner-up, to a vote with the general OCR), `rapidocr` the general",
        "PP-OCRv6 one.",
        "Rows marked `regions=..` are scored with `plates.regions` set to the set's country, as a deployment",
        "there would set it (only that country's formats count); the others know every format.",
        "",
        "| recognizer | set | images | detector recall (IoU>=0.5) | exact (strict) | exact (O==0) "
        "| exact (checked labels) | median ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, scores, _, _ in runs:
        for s in scores:
            recall = f"{s.detected / s.total:.3f}" if s.scene and s.total else "-"
            checked = f"{s.exact_checked / s.total:.3f}" if s.scene and s.total else "-"
            lines.append(
                f"| {name} | {s.name} | {s.total} | {recall} | {s.exact / max(s.total, 1):.3f} | "
                f"{s.exact_o0 / max(s.total, 1):.3f} | {checked} | "
                f"{statistics.median(s.millis) if s.millis else 0:.1f} |"
            )
    lines.append("")
    for name, scores, peak_mib, empty_ms in runs:
        frames = [m for s in scores if not s.regional for m in s.millis_720p]
        median_720p = f"{statistics.median(frames):.0f} ms over {len(frames)} images" if frames else "n/a"
        batched = [f"{s.name} {statistics.median(s.millis_batched):.1f} ms" for s in scores if s.millis_batched]
        lines.append(
            f"- `{name}`: median end-to-end time on 1280x720 scenes {median_720p}; on a 1280x720 frame without a "
            f"plate (two detector looks) {empty_ms:.0f} ms; peak RSS {peak_mib:.0f} MiB; "
            f"per crop when read {BATCH} at a time (median over batches): {', '.join(batched)}."
        )
    for name, scores, _, _ in runs:
        plain = [s for s in scores if not s.regional]  # the regions= rows re-read the same scenes
        clean = [s for s in plain if s.name != NOISY_LABELS]
        for chosen, which in (
            (plain, "every set above"),
            (clean, f"every set but {NOISY_LABELS}, whose labels are noisy"),
        ):
            rows = reliability_table([c for s in chosen for c in s.confidences], [k for s in chosen for k in s.correct])
            lines += [
                "",
                f"Reliability of `{name}` ({which}; best read per image; confidence bin against strict accuracy, "
                "scenes against the checked labels):",
                "",
                "| confidence | reads | mean confidence | accuracy |",
                "|---|---:|---:|---:|",
            ]
            lines += [f"| {b} | {n} | {c:.3f} | {a:.3f} |" for b, n, c, a in rows]
    lines.append("")
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Create ``path`` or replace only its "## Recognition" section (up to the next "## " heading)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n") if not text.endswith(SECTION) else len(text) - len(SECTION)
    if start < 0:
        updated = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        tail = "" if end < 0 else "\n" + text[end + 1 :]
        updated = text[:start] + section.rstrip("\n") + "\n" + tail
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated.rstrip("\n") + "\n")


def run_recognizer(name: str, data: Path, limit: int | None, errata: Errata) -> tuple[list[dict], float, float]:
    """Every set with one recognizer: the scores (as dicts: they cross a process), peak RSS, empty-frame ms."""
    config = RecognitionConfig(recognizer=name)
    pipeline = PlatePipeline(config)
    scores = [score_scenes(pipeline, data / "scenes" / n, limit, errata) for n in ("eu", "br")]
    scores += [score_crops(pipeline, data / "crops" / n, limit) for n in ("us", "br")]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before a second recognizer loads
    empty_ms = time_empty_frame(pipeline)
    for region in ("eu", "br"):  # as deployed there: `plates.regions` names where the cameras are
        local = dataclasses.replace(config, plates=PlateRulesConfig(regions=(region,)))
        local_pipeline = PlatePipeline(local, detector=pipeline.detector)
        score = score_scenes(local_pipeline, data / "scenes" / region, limit, errata)
        score.name += f" (regions={region})"
        score.regional = True
        scores.append(score)
    for score in scores:
        score.recognizer = name
    return [dataclasses.asdict(s) for s in scores], peak_mib, empty_ms


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and by default record) the table."""
    parser = argparse.ArgumentParser(description="platekeeper recognition benchmark")
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set (spread evenly)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--recognizer", choices=["plate", "rapidocr", "both"], default="both")
    parser.add_argument(
        "--quick", action="store_true", help="2 images per set, the plate recognizer, write nothing: the suite's size"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.limit, args.recognizer, args.no_write = 2, "plate", True
    if not args.data.is_dir():
        print(f"error: data folder {args.data} not found (use --data)", file=sys.stderr)
        return 2
    try:
        errata = load_errata()
        check_errata(args.data, errata)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    names = ["plate", "rapidocr"] if args.recognizer == "both" else [args.recognizer]
    gflops = machine_gflops()
    context = multiprocessing.get_context("spawn")
    runs = []
    for name in names:
        with context.Pool(1) as pool:  # a fresh process per recognizer: its own peak RSS
            scores, peak_mib, empty_ms = pool.apply(run_recognizer, (name, args.data, args.limit, errata))
        runs.append((name, [SetScore(**s) for s in scores], peak_mib, empty_ms))
    command = "python bench/recognition.py" + (f" --limit {args.limit}" if args.limit else "")
    command += "" if args.recognizer == "both" else f" --recognizer {args.recognizer}"
    section = render(runs, command, gflops, len(errata))
    print(section)
    if not args.no_write:
        write_section(args.output, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
