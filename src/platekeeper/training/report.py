"""After training: calibration, held-out metrics with the runtime code path, and the model and data cards."""

from __future__ import annotations

import csv
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from platekeeper.recognition.config import RuntimeConfig
from platekeeper.recognition.ctc import CharPosteriors
from platekeeper.recognition.models import create_session, read_sha256sums
from platekeeper.recognition.plate_ocr import Calibration
from platekeeper.recognition.plates import PlateRanker

__all__ = ["RELIABILITY_BINS", "Context", "calibrated", "fit_platt", "record_sha256", "reliability_table", "write_all"]

RELIABILITY_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0001)
ValSets = dict[str, tuple[np.ndarray, list[str]]]


@dataclass
class Context:
    """What the cards report about one training run."""

    args: dict[str, Any]
    counts: dict[str, dict[str, int]]
    synth_train: int
    synth_styles: list[str]
    synth_val: int
    steps: int
    best_step: int
    train_minutes: float
    render_seconds: float
    total_minutes: float
    sha256: str
    size_bytes: int
    calibration: dict[str, float]
    calibration_inherited: bool
    curve: list[dict[str, Any]]
    machine: str
    date: str
    changed: str = ""  # the command-line settings that differ from make train-ocr's, as options
    stages: Sequence[str] = ()  # how each training stage went, in order


def _readings(probs: np.ndarray, ranker: PlateRanker) -> list[tuple[str, float]]:
    floor = ranker.config.min_char_logprob
    out = []
    for p in probs:
        plate = ranker.rank(CharPosteriors.of(p, floor))
        out.append(("", 0.0) if plate is None else (plate.text, plate.confidence))
    return out


def fit_platt(confidences: np.ndarray, correct: np.ndarray, iterations: int = 100) -> dict[str, float]:
    """Logistic regression of correctness on logit(confidence): Newton steps with backtracking, lightly regularized."""
    c = np.clip(confidences, 1e-6, 1 - 1e-6)
    x = np.log(c / (1 - c))
    y = correct.astype(np.float64)

    def loss(params: np.ndarray) -> float:
        z = params[0] * x + params[1]
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 5e-4 * np.sum((params - [1.0, 0.0]) ** 2))

    params = np.array([1.0, 0.0])
    for _ in range(iterations):
        z = params[0] * x + params[1]
        p = 0.5 * (1 + np.tanh(0.5 * z))  # sigmoid without overflow
        grad = np.array([np.sum((p - y) * x), np.sum(p - y)]) + 1e-3 * (params - [1.0, 0.0])
        w = p * (1 - p)
        hess = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-3 * np.eye(2)
        step, scale, current = np.linalg.solve(hess, grad), 1.0, loss(params)
        while scale > 1e-6 and loss(params - scale * step) > current:
            scale /= 2
        params = params - scale * step
        if np.abs(scale * step).max() < 1e-9:
            break
    return {"a": round(float(params[0]), 6), "b": round(float(params[1]), 6)}


def _session(model: bytes) -> ort.InferenceSession:
    """A session as the recognizer builds one (default runtime settings: 2 threads, no spinning)."""
    return create_session(model, RuntimeConfig())


def _probs(session: ort.InferenceSession, x: np.ndarray) -> np.ndarray:
    return np.concatenate([session.run(None, {"x": x[i : i + 64]})[0] for i in range(0, len(x), 64)])


def calibrated(
    model: bytes, val_sets: ValSets, inherited: dict[str, float] | None = None
) -> tuple[bytes, dict[str, float]]:
    """The exported model with Platt scaling in its metadata (``calibration``), fitted on every validation plate
    as the runtime reads it: this very model through onnxruntime, then the plate rules. ``inherited``: store that
    calibration instead of fitting one (a network rounded from a teacher, not trained again, keeps the
    teacher's, so that both files give one reading the same confidence: docs/recognition.md, Speed)."""
    from platekeeper.training.convert import put_metadata

    if inherited is not None:
        calibration = dict(inherited)
    else:
        session, ranker = _session(model), PlateRanker()
        confidences, correct = [], []
        for x, labels in val_sets.values():
            for (text, conf), truth in zip(_readings(_probs(session, x), ranker), labels, strict=True):
                confidences.append(conf)
                correct.append(float(text == truth))
        calibration = fit_platt(np.array(confidences), np.array(correct))
    proto = onnx.load_from_string(model)
    put_metadata(proto, {"calibration": json.dumps(calibration)})
    return proto.SerializeToString(), calibration


def reliability_table(confidences: list[float], correct: list[bool]) -> list[tuple[str, int, float, float]]:
    """(bin, count, mean confidence, accuracy) per confidence bin."""
    rows = []
    for low, high in itertools.pairwise(RELIABILITY_BINS):
        idx = [i for i, c in enumerate(confidences) if low <= c < high]
        if idx:
            rows.append(
                (
                    f"{low:.2f}-{min(high, 1.0):.2f}",
                    len(idx),
                    float(np.mean([confidences[i] for i in idx])),
                    float(np.mean([correct[i] for i in idx])),
                )
            )
    return rows


def evaluate_model(model: bytes, val_sets: ValSets, calibration: Calibration) -> dict[str, Any]:
    """Exact accuracy (strict and O=0), reliability and ms per crop of the exported model on each set."""
    session, ranker = _session(model), PlateRanker()
    results: dict[str, Any] = {}
    all_conf: list[float] = []
    all_ok: list[bool] = []
    for name, (x, labels) in val_sets.items():
        readings = _readings(_probs(session, x), ranker)
        conf = [calibration(c) for _, c in readings]
        ok = [t == truth for (t, _), truth in zip(readings, labels, strict=True)]
        ok_o0 = [t.replace("O", "0") == truth.replace("O", "0") for (t, _), truth in zip(readings, labels, strict=True)]
        results[name] = {"n": len(labels), "exact": float(np.mean(ok)), "exact_o0": float(np.mean(ok_o0))}
        results[name]["reliability"] = reliability_table(conf, ok)
        all_conf += conf
        all_ok += ok
    results["all"] = {"reliability": reliability_table(all_conf, all_ok)}
    x1 = next(iter(val_sets.values()))[0][:1]
    for _ in range(5):
        session.run(None, {"x": x1})
    start, runs = time.perf_counter(), 100
    for _ in range(runs):
        session.run(None, {"x": x1})
    results["ms_per_crop"] = (time.perf_counter() - start) * 1000 / runs
    return results


def _table(rows: list[tuple[str, int, float, float]]) -> str:
    lines = ["| confidence bin | plates | mean confidence | accuracy |", "|---|---|---|---|"]
    lines += [f"| {b} | {n} | {c:.3f} | {a:.3f} |" for b, n, c, a in rows]
    return "\n".join(lines)


def _narrowed(keep: float) -> str:
    if keep >= 1:
        return "no: every feed-forward block keeps all its hidden channels"
    return (
        f"each of the 13 feed-forward blocks keeps the {keep:.0%} of its hidden channels that matter most on "
        "256 training images, chosen and refitted after the whole network is trained (`training/prune.py`)"
    )


def _training(ctx: Context) -> str:
    if len(ctx.stages) < 2:
        return (
            f"{ctx.steps} steps of batch {ctx.args['batch']} in {ctx.train_minutes:.1f} min "
            f"(best at step {ctx.best_step})"
        )
    return f"batches of {ctx.args['batch']}; " + "; ".join(
        f"stage {i}, {stage}" for i, stage in enumerate(ctx.stages, 1)
    )


def _calibration(ctx: Context) -> str:
    fitted = f"a = {ctx.calibration['a']}, b = {ctx.calibration['b']}"
    if ctx.calibration_inherited:
        return (
            f"the teacher's Platt scaling, {fitted}: this network is the teacher rounded, not trained again, and "
            "keeps its calibration so that both give a reading the same confidence"
        )
    return f"Platt scaling on validation plates: {fitted}"


def _took(ctx: Context) -> str:
    teacher = ctx.args.get("teacher")
    if teacher:
        return (
            f"{ctx.total_minutes:.0f} minutes on 2 CPU cores for this network, made from `{Path(teacher).name}` "
            "after `make train-ocr` has trained that"
        )
    return f"about {ctx.total_minutes:.0f} minutes on 2 CPU cores"


def _storage(ctx: Context) -> str:
    if ctx.args.get("weights") == "int8":
        wide = ctx.args.get("int8_min_channels")
        which = f"the pointwise convolutions with {wide} or more channels" if wide else "the convolutions"
        return f"int8 in {which} (onnxruntime QDQ, per-channel weights), the rest float32; onnxruntime only"
    return "fp16 weights, fp32 compute"


def record_sha256(sums: Path, name: str, digest: str) -> None:
    """Set ``name``'s line in the SHA256SUMS file ``sums`` to ``digest``, keeping the other files' lines."""
    entries = read_sha256sums(sums) | {name: digest}
    sums.write_text("".join(f"{entries[file]}  {file}\n" for file in sorted(entries)))


SET_DESCRIPTIONS = {
    "us_val": "real US plate photos held out by plate number (OpenALPR benchmark crops)",
    "br_val": "real Brazilian plate photos held out by plate number",
    "synth_val": "synthetic plates rendered with another seed than the training plates",
}


def write_metrics(out: Path, metrics: dict[str, Any], ctx: Context) -> None:
    """The held-out figures beside the model (``plate-ocr-int8.metrics.json``), shipped in the package: the posted
    policy states the accuracy of the model the running config reads with, measured when and on what."""
    sets = [
        {"name": name, "description": SET_DESCRIPTIONS.get(name, name), "plates": m["n"], "exact": round(m["exact"], 3)}
        for name, m in metrics.items()
        if isinstance(m, dict) and "n" in m
    ]
    document = {
        "model": out.name,
        "measured_on": ctx.date,
        "card": f"docs/{out.stem}-model-card.md",
        "metric": "exact: every character of the plate read correctly (strict: O and 0 differ)",
        "sets": sets,
    }
    (out.parent / f"{out.stem}.metrics.json").write_text(json.dumps(document, indent=2) + "\n")


def write_all(model: bytes, out: Path, val_sets: ValSets, ctx: Context, docs: Path) -> None:
    """Write the model, its line in SHA256SUMS beside it (other files' lines are kept), the model card and the
    training curve, named after the model (``plate-ocr-int8.onnx``: ``plate-ocr-int8-model-card.md``), its held-out
    figures beside it (``plate-ocr-int8.metrics.json``), and the data card."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model)
    record_sha256(out.parent / "SHA256SUMS", out.name, ctx.sha256)
    metrics = evaluate_model(model, val_sets, Calibration(ctx.calibration["a"], ctx.calibration["b"]))
    write_metrics(out, metrics, ctx)
    docs.mkdir(parents=True, exist_ok=True)
    stem = out.stem
    with (docs / f"{stem}-training.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ctx.curve[0]))
        writer.writeheader()
        writer.writerows(ctx.curve)
    curve = [
        "| network | step | minutes | train loss | crops/us val | crops/br val | synthetic val |",
        "|---|---|---|---|---|---|---|",
    ]
    curve += [
        f"| {r['stage']} | {int(r['step'])} | {r['minutes']:.1f} | {r['loss']:.3f} | {r['us_val']:.3f} | {r['br_val']:.3f} "
        f"| {r['synth_val']:.3f} |"
        for r in ctx.curve
    ]
    sets = ["| validation set | plates | exact, strict | exact, O = 0 |", "|---|---|---|---|"]
    sets += [
        f"| {name} | {m['n']} | {m['exact']:.3f} | {m['exact_o0']:.3f} |"
        for name, m in metrics.items()
        if isinstance(m, dict) and "n" in m
    ]
    command = "make train-ocr" + (f"  (python -m platekeeper.training.train_ocr {ctx.changed})" if ctx.changed else "")
    card = f"""# Model card: platekeeper plate recognizer (`{out.name}`)

Generated by `{command}` on {ctx.date}; edit the generator (`src/platekeeper/training/report.py`), not this file.

| | |
|---|---|
| file | `src/platekeeper/recognition/weights/{out.name}` ({ctx.size_bytes / 1e6:.1f} MB, {_storage(ctx)}) |
| SHA-256 | `{ctx.sha256}` (checked at load against `weights/SHA256SUMS`) |
| task | read the plate number (A-Z0-9) of one plate crop; CTC over blank + 0-9 + A-Z |
| input | `x`: [batch, 3, 48, {ctx.args["width"]}] BGR, (pixel/255 - 0.5)/0.5; output `probs`: [batch, {ctx.args["width"] // 8}, 37] |
| starting point | PP-OCRv6 small text recognizer from the rapidocr wheel (Apache-2.0), converted with onnx2torch |
| narrowed | {_narrowed(ctx.args.get("keep", 1.0))} |
| training | {_training(ctx)}; {ctx.total_minutes:.1f} min in all incl. rendering ({ctx.render_seconds:.0f} s) |
| machine | {ctx.machine}, CPU only, torch 2.13.0 |
| calibration | {_calibration(ctx)} |
| speed | {metrics["ms_per_crop"]:.1f} ms per crop (onnxruntime, 2 threads, batch 1) |

## Intended use and limits
Reads crops from platekeeper's plate detector (or a camera's own crop) in the US, EU and Brazilian styles
it was trained on. It does not read the state or country name (the `rapidocr` recognizer does); it may
misread plate styles it never saw (other countries, motorcycle plates, heavily damaged plates). Alerts
built on its readings are checked by a person before any action (policy 462.8); confidences are calibrated
so that those checks can be prioritized, not skipped.

## Held-out metrics (exported model, runtime decoding with plate rules)
Validation plates are held out by plate string (see the data card); synthetic validation plates come from a
different seed than the training plates.

{chr(10).join(sets)}

## Reliability (all validation plates, calibrated confidence)
{_table(metrics["all"]["reliability"])}

crops/us validation only:

{_table(metrics["us_val"]["reliability"])}

## Training curve (greedy decoding, before plate rules; `docs/{stem}-training.csv`)
{chr(10).join(curve)}

## Reproduce
`make train-deps` (fonts from Debian, `pip install -e '.[train]'`) then `make train-ocr`: {_took(ctx)}; the budgets are `--minutes` for the whole network,
`--student-minutes` for a narrowed one (default 40 each) and `--int8-minutes` for the training with int8
rounding (default 15), and each stage's learning-rate schedule follows its budget. Settings: {", ".join(f"{k}={v}" for k, v in ctx.args.items() if k not in ("data", "out", "docs", "write"))}.
"""
    (docs / f"{stem}-model-card.md").write_text(card)
    styles = Counter(ctx.synth_styles)
    data_card = f"""# Data card: training data of the plate recognizer

Generated by `make train-ocr` on {ctx.date}.

## Real crops (../shared/data, AGPL-3.0, from the OpenALPR benchmark and training sets)
Split by plate string: a stable hash of the normalized plate decides its side (20 % validation), so every
photo of one plate is on one side and no validation plate is ever trained on.

| set | train files | train plates | validation files | validation plates | states |
|---|---|---|---|---|---|
| crops/us | {ctx.counts["us"]["train_files"]} | {ctx.counts["us"]["train_plates"]} | {ctx.counts["us"]["val_files"]} | {ctx.counts["us"]["val_plates"]} | {ctx.counts["us"]["states"]} |
| crops/br | {ctx.counts["br"]["train_files"]} | {ctx.counts["br"]["train_plates"]} | {ctx.counts["br"]["val_files"]} | {ctx.counts["br"]["val_plates"]} | {ctx.counts["br"]["states"]} |

crops/br: {ctx.counts["br_all"]["train_files"] + ctx.counts["br_all"]["val_files"] - ctx.counts["br"]["train_files"] - ctx.counts["br"]["val_files"]}
of {ctx.counts["br_all"]["train_files"] + ctx.counts["br_all"]["val_files"]} labels fit no pre-2018 Brazilian format (`LLLNNNN`; the set shows only those
plates) and are left out of training and model selection: they write a zero for a leading letter O (`0KK7448`)
or a D for a 1 (`HDV2D20`), exactly the misreads training would otherwise learn. `bench/recognition.py`
still scores every crops/br validation label, so its crops/br figure is capped by them.

Labels follow the data sets' convention: the plate number only, without separators, state names, stickers
or stacked small characters. Some labels write O for 0 (and the reverse); metrics report both strict and
O = 0. scenes/eu and scenes/br are never used in training: they measure the whole pipeline.
Training batches draw crops/us {int(100 * 0.40)} %, crops/br {int(100 * 0.12)} %, synthetic {int(100 * 0.48)} %;
real crops are augmented (crop jitter, tilt, light, grey, blur, low resolution, JPEG).

## Synthetic plates (`src/platekeeper/training/synth.py`, seed 462)
{ctx.synth_train} training plates and {ctx.synth_val} validation plates (another seed), by style:

| style | training plates |
|---|---|
{chr(10).join(f"| {s} | {n} |" for s, n in sorted(styles.items()))}

US plates use the {len(list(Path(ctx.args["data"]).glob("us-plate-templates/*.jpg")))} blank state templates
and the per-state serial patterns in `us-plate-templates/us.patterns`; fonts are free fonts from Debian
(fonts-dejavu, fonts-opendin, fonts-liberation2, fonts-freefont-ttf, fonts-roboto-unhinted). 15 % of US
plates carry stacked small characters, most carry stickers and some a dealer frame; 7 % of all plates are
two-line plates. Every plate is put through perspective and rotation, detector-like crop jitter, glare,
shadows, low light, infrared grayscale, blur or motion blur, low resolution, noise and JPEG.

No pseudo-labelled crops are used.
"""
    (docs / "plate-ocr-data-card.md").write_text(data_card)  # one data set for every network made from it
