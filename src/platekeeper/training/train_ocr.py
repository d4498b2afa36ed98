"""Train platekeeper's plate recognizer on the CPU and ship it: ``make train-ocr``.

    python -m platekeeper.training.train_ocr [--data ../shared/data] [--minutes 40] [--steps 4000] [--out DIR]
        [--keep K] [--student-minutes 40] [--student-steps 4000] [--weights fp16|int8] [--int8-minutes 15]
        [--int8-steps 1000 (0: round only)] [--int8-min-channels N] [--teacher MODEL]

1. Start from the PP-OCRv6 small recognizer in the rapidocr wheel (converted with onnx2torch, new
   blank + 0-9 + A-Z CTC head initialized from the pretrained rows; see ``convert.py``).
2. Train with CTC on a mix of real crops (crops/us and crops/br, training side of the plate-string split,
   augmented) and synthetic plates (``synth.py``, pre-rendered with a fixed seed).
3. Validate on a harder, larger mix than crops/us alone: crops/us and crops/br validation plates plus held-out
   synthetic plates; keep the best state.
4. With ``--keep`` below 1, narrow the trained network's feed-forward blocks (``prune.py``: channels chosen and
   projections refitted on training images) and train the narrowed network the same way, with the trained
   whole network's per-step output distributions as a second target (distillation).
5. With ``--weights int8``, train the network a while longer with int8 rounding simulated in its convolutions
   (``quantize.py``), again distilling the float network's outputs (``--int8-steps 0``: not at all), then export
   it as onnxruntime int8; the default, ``--weights fp16``, exports the float network with fp16 storage.
   ``--teacher`` starts step 4 or 5 from an already trained float model instead of steps 1-3. ``make
   train-ocr`` trains the float network, then rounds its wide convolutions (``--teacher .../plate-ocr.onnx
   --weights int8 --int8-steps 0 --int8-min-channels 384 --out .../plate-ocr-int8.onnx``), which keeps the
   teacher's calibration.
6. Fit the confidence calibration (Platt scaling) on the validation plates as the exported model reads them
   (onnxruntime, plate rules), store it in the model, and write the model, its SHA-256, the model card, the data
   card and the curve.

Each stage's learning-rate schedule runs on ``max(step / steps, elapsed / minutes)``, so training ends on time on
a slower machine. Everything is seeded; on another machine the curve differs only by timing and float order.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from platekeeper.recognition.ctc import ALPHABET
from platekeeper.recognition.models import rapidocr_model_path, weights_path
from platekeeper.recognition.plate_ocr import plate_input
from platekeeper.training.data import (
    BR_PRE_2018,
    LabelledCrop,
    augment_real,
    is_validation_plate,
    load_crops,
    split_counts,
)
from platekeeper.training.synth import PlateSynth, available_fonts

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
INPUT_WIDTH = 160
SEED = 462
MIX = {"us": 0.40, "br": 0.12, "synth": 0.48}  # share of each batch
KEEP = 1.0  # share of the feed-forward hidden channels the shipped network keeps (prune.py)
PRUNE_SAMPLES = 256  # training images the hidden channels are measured on (narrowing)
KD_TEMPERATURE = 2.0  # softening of both networks' outputs in the distillation term
KD_WEIGHT = 1.0  # the distillation term's weight beside CTC
NARROWED_LR = 1 / 3  # the narrowed network starts trained: smaller steps
INT8_LR = 1 / 20  # the int8 stage starts from a trained network: near where the whole one's schedule ends
WEIGHTS = "fp16"  # the shipped network's storage; "int8" is faster but read fewer plates (docs/recognition.md)


@dataclass
class Args:
    """Command-line settings."""

    data: Path
    out: Path
    docs: Path
    minutes: float
    steps: int
    batch: int
    synth_train: int
    synth_val: int
    eval_every: int
    lr: float
    threads: int
    keep: float
    student_minutes: float
    student_steps: int
    weights: str
    int8_minutes: float
    int8_steps: int
    int8_min_channels: int
    teacher: Path | None
    write: bool


@dataclass
class Curve:
    """The training log: one row per evaluation."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, **values: Any) -> None:
        self.rows.append(values)
        print("  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items()), flush=True)


def parse_args(argv: Sequence[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="development data folder")
    parser.add_argument("--out", type=Path, default=weights_path("plate-ocr.onnx"), help="where the model goes")
    parser.add_argument("--docs", type=Path, default=REPO_ROOT / "docs", help="where the cards and curve go")
    parser.add_argument("--minutes", type=float, default=40.0, help="training wall-clock budget")
    parser.add_argument("--steps", type=int, default=4000, help="most optimizer steps")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--synth-train", type=int, default=20000, help="synthetic training plates")
    parser.add_argument("--synth-val", type=int, default=600, help="synthetic validation plates")
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--keep",
        type=float,
        default=KEEP,
        help="share of each feed-forward block's hidden channels the shipped network keeps (1: all, one stage)",
    )
    parser.add_argument(
        "--student-minutes", type=float, default=40.0, help="wall-clock budget of the narrowed network's training"
    )
    parser.add_argument("--student-steps", type=int, default=4000, help="most optimizer steps of the narrowed network")
    parser.add_argument(
        "--weights",
        choices=("fp16", "int8"),
        default=WEIGHTS,
        help="fp16: ship the float network with fp16 storage; int8: train on with int8 rounding simulated and ship "
        "int8 convolutions (faster, read fewer plates so far)",
    )
    parser.add_argument(
        "--int8-minutes", type=float, default=15.0, help="wall-clock budget of the training with int8 rounding"
    )
    parser.add_argument(
        "--int8-steps",
        type=int,
        default=1000,
        help="most optimizer steps with int8 rounding; 0: only round the float network (training on with the "
        "rounding has not beaten the rounding alone so far)",
    )
    parser.add_argument(
        "--int8-min-channels",
        type=int,
        default=0,
        help="round only the pointwise convolutions with at least this many input or output channels (384: the "
        "20 of the last two stages' feed-forward blocks and the neck); 0: all 42 that onnxruntime leaves unfused",
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        default=None,
        help="a trained float plate-ocr.onnx (--weights fp16) to narrow or quantize, instead of training the whole "
        "network first (needs --keep below 1 or --weights int8)",
    )
    parser.add_argument("--no-write", action="store_true", help="train and report, but do not replace the model")
    ns = parser.parse_args(argv)
    if not 0 < ns.keep <= 1:
        parser.error(f"--keep must be in (0, 1], not {ns.keep}")
    for option in ("minutes", "steps", "student_minutes", "student_steps", "int8_minutes"):
        if getattr(ns, option) <= 0:
            parser.error(f"--{option.replace('_', '-')} must be above 0, not {getattr(ns, option)}")
    if ns.int8_steps < 0:
        parser.error(f"--int8-steps must be 0 or more, not {ns.int8_steps}")
    if ns.int8_min_channels < 0:
        parser.error(f"--int8-min-channels must be 0 or more, not {ns.int8_min_channels}")
    if ns.teacher is not None and ns.keep >= 1 and ns.weights != "int8":
        parser.error("--teacher needs --keep below 1 or --weights int8: the teacher is narrowed or quantized")
    if ns.teacher is not None and not ns.teacher.is_file():
        parser.error(f"--teacher {ns.teacher}: no such file")
    return Args(
        ns.data,
        ns.out,
        ns.docs,
        ns.minutes,
        ns.steps,
        ns.batch,
        ns.synth_train,
        ns.synth_val,
        ns.eval_every,
        ns.lr,
        ns.threads,
        ns.keep,
        ns.student_minutes,
        ns.student_steps,
        ns.weights,
        ns.int8_minutes,
        ns.int8_steps,
        ns.int8_min_channels,
        ns.teacher,
        not ns.no_write,
    )


def changed_options(args: Args) -> str:
    """The settings (other than paths) that differ from ``make train-ocr``'s, as command-line options."""
    defaults = vars(parse_args([]))
    skip = {"data", "out", "docs", "write", "teacher"}
    return " ".join(
        f"--{key.replace('_', '-')} {value}"
        for key, value in vars(args).items()
        if key not in skip and value != defaults[key]
    )


# -- data ----------------------------------------------------------------------------------------------------


def _render_chunk(job: tuple[str, int, int]) -> tuple[np.ndarray, list[str], list[str]]:
    templates, seed, count = job
    synth = PlateSynth(Path(templates), seed)
    plates = synth.batch(count)
    images = np.stack([_to_uint8_input(p.image) for p in plates])
    return images, [p.text for p in plates], [p.style for p in plates]


def _to_uint8_input(image: np.ndarray) -> np.ndarray:
    """A crop resized as the network sees it, kept as uint8 (normalized per batch)."""
    return ((plate_input(image, INPUT_WIDTH).transpose(1, 2, 0) * 0.5 + 0.5) * 255).round().astype(np.uint8)


def render_synthetic(templates: Path, seed: int, count: int, workers: int) -> tuple[np.ndarray, list[str], list[str]]:
    """``count`` synthetic plates rendered in chunks of 500 (each chunk its own seed: same result for any pool)."""
    chunk = 500
    jobs = [
        (str(templates), seed * 1000 + i, min(chunk, count - start)) for i, start in enumerate(range(0, count, chunk))
    ]
    with multiprocessing.get_context("spawn").Pool(max(1, workers)) as pool:
        parts = pool.map(_render_chunk, jobs)
    return (
        np.concatenate([p[0] for p in parts]),
        [t for p in parts for t in p[1]],
        [s for p in parts for s in p[2]],
    )


def teacher_calibration(path: Path | None) -> dict[str, float] | None:
    """The Platt calibration stored in a trained model's metadata (None when it has none)."""
    import onnx

    if path is None:
        return None
    stored = next((p.value for p in onnx.load(str(path)).metadata_props if p.key == "calibration"), None)
    return None if stored is None else {k: float(v) for k, v in json.loads(stored).items()}


def real_samples(images: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """The real training crops, not augmented, shuffled with ``seed``, as network inputs in batches of 32: the
    int8 ranges are measured on crops as the detector delivers them (augmented training batches, with synthetic
    plates, low light, infrared and blur, widen them: docs/recognition.md, Speed)."""
    order = np.random.default_rng(seed).permutation(len(images))
    inputs = np.stack([plate_input(images[i], INPUT_WIDTH) for i in order])
    return [inputs[i : i + 32] for i in range(0, len(inputs), 32)]


def load_images(rows: list[LabelledCrop]) -> list[np.ndarray]:
    images = []
    for row in rows:
        image = cv2.imread(str(row.path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{row.path}: not a readable image")
        images.append(image)
    return images


def encode_labels(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    targets = [ALPHABET.index(c) + 1 for t in texts for c in t]
    return np.array(targets, np.int64), np.array([len(t) for t in texts], np.int64)


def greedy(probs: np.ndarray) -> list[str]:
    """Best-path decode of [B, T, 37] network output."""
    out = []
    for row in probs.argmax(axis=2):
        chars, previous = [], 0
        for s in row:
            if s and s != previous:
                chars.append(ALPHABET[s - 1])
            previous = s
        out.append("".join(chars))
    return out


# -- training ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    from platekeeper.training.convert import export_onnx, load_pretrained, load_trained, narrow

    started = time.time()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(SEED)
    templates = args.data / "us-plate-templates"
    if not available_fonts():
        print("no plate fonts found: install fonts-dejavu-core and fonts-opendin (make train-deps)", file=sys.stderr)
        return 2

    teacher_net = None
    if args.teacher is not None:  # before the long data work, so that a wrong file is refused at once
        try:
            teacher_net = load_trained(args.teacher)
        except ValueError as e:
            print(f"error: --teacher: {e}", file=sys.stderr)
            return 2

    us, br_all = load_crops(args.data / "crops" / "us"), load_crops(args.data / "crops" / "br")
    br = [r for r in br_all if BR_PRE_2018.fullmatch(r.plate)]
    print(f"crops/br: {len(br_all) - len(br)} of {len(br_all)} labels fit no pre-2018 format and are left out")
    us_train = [r for r in us if not is_validation_plate(r.plate)]
    us_val = [r for r in us if is_validation_plate(r.plate)]
    br_train = [r for r in br if not is_validation_plate(r.plate)]
    br_val = [r for r in br if is_validation_plate(r.plate)]
    assert not {r.plate for r in us_train} & {r.plate for r in us_val}
    print(f"crops/us {split_counts(us)}\ncrops/br {split_counts(br)}", flush=True)
    us_images, br_images = load_images(us_train), load_images(br_train)

    t0 = time.time()
    synth_x, synth_y, synth_styles = render_synthetic(templates, SEED, args.synth_train, args.threads)
    synth_vx, synth_vy, _ = render_synthetic(templates, SEED + 1, args.synth_val, args.threads)
    render_seconds = time.time() - t0
    print(f"rendered {len(synth_y)} + {len(synth_vy)} synthetic plates in {render_seconds:.0f} s", flush=True)

    val_sets = {
        "us_val": (np.stack([plate_input(i, INPUT_WIDTH) for i in load_images(us_val)]), [r.plate for r in us_val]),
        "br_val": (np.stack([plate_input(i, INPUT_WIDTH) for i in load_images(br_val)]), [r.plate for r in br_val]),
        "synth_val": (_normalize(synth_vx), synth_vy),
    }

    run = Run(args, rng, (us_images, us_train, br_images, br_train, synth_x, synth_y), val_sets, Curve(), started)
    stages = []  # how each training stage went, for the model card
    if args.teacher is not None and teacher_net is not None:
        net = teacher_net
        digest = hashlib.sha256(args.teacher.read_bytes()).hexdigest()
        stages.append(f"the whole network: not trained here, the teacher `{args.teacher.name}` (sha256 {digest[:12]})")
    else:
        net = load_pretrained(rapidocr_model_path("PP-OCRv6_rec_small.onnx"))
        fit = train(run, net, "whole", args.minutes, args.steps, args.lr)
        stages.append(f"the whole network: {fit.summary()}")
    samples = []  # training batches that narrowing is measured on
    if args.keep < 1:
        samples = [run.batch(32)[0] for _ in range(PRUNE_SAMPLES // 32)]
    if args.keep < 1:
        t0 = time.time()
        teacher, net = net.eval(), narrow(net, args.keep, samples)
        narrow_minutes = (time.time() - t0) / 60
        print(f"narrowed to {args.keep:.0%} of the hidden channels in {narrow_minutes:.1f} min", flush=True)
        fit = train(run, net, "narrowed", args.student_minutes, args.student_steps, args.lr * NARROWED_LR, teacher)
        stages.append(
            f"narrowing {narrow_minutes:.1f} min, then the narrowed network: {fit.summary()}, with CTC plus the "
            "whole network's output distributions as targets (distillation)"
        )
    print(stages[-1], flush=True)

    from platekeeper.training import report

    if args.weights == "int8":
        from platekeeper.training.quantize import fake_quantized, int8_plan, quantize_onnx

        samples = real_samples(us_images + br_images, SEED)
        plan = int8_plan(net, samples, args.int8_min_channels)
        teacher = copy.deepcopy(net).eval()
        with fake_quantized(plan):
            fit = train(run, net, "int8", args.int8_minutes, args.int8_steps, args.lr * INT8_LR, teacher)
        which = f"the {len(plan.convs)} convolutions" + (
            f" with {args.int8_min_channels} or more channels" if args.int8_min_channels else ""
        )
        if args.int8_steps:
            stages.append(
                f"int8 rounding simulated in {which}: {fit.summary()}, with CTC plus the float network's output "
                "distributions as targets"
            )
        else:
            stages.append(
                f"int8 rounding of {which}, not trained again (`--int8-steps 0`): mean validation exact "
                f"{fit.best_score:.3f} with the rounding simulated"
            )
        print(stages[-1], flush=True)
    net.eval()
    metadata = {
        "input_width": str(INPUT_WIDTH),
        "alphabet": ALPHABET,
        "source": "PP-OCRv6_rec_small (rapidocr wheel), fine-tuned by platekeeper make train-ocr",
        "trained_steps": str(fit.steps),
        "hidden_keep": str(args.keep),
        "best_step": str(fit.best_step),
    }
    if args.weights == "int8":
        model = quantize_onnx(export_onnx(net, metadata, fp16=False), samples, args.int8_min_channels)
    else:
        model = export_onnx(net, metadata)
    inherited = None
    if teacher_net is not None and args.keep >= 1 and args.weights == "int8" and not args.int8_steps:
        inherited = teacher_calibration(args.teacher)
    model, calibration = report.calibrated(model, val_sets, inherited)
    sha = hashlib.sha256(model).hexdigest()
    context = report.Context(
        args=vars(args)
        | {"data": str(args.data), "out": str(args.out), "docs": str(args.docs), "width": INPUT_WIDTH}
        | {"teacher": str(args.teacher) if args.teacher else None},
        counts={"us": split_counts(us), "br": split_counts(br), "br_all": split_counts(br_all)},
        synth_train=len(synth_y),
        synth_styles=synth_styles,
        synth_val=len(synth_vy),
        steps=fit.steps,
        best_step=fit.best_step,
        train_minutes=fit.minutes,
        render_seconds=render_seconds,
        stages=stages,
        total_minutes=(time.time() - started) / 60,
        sha256=sha,
        size_bytes=len(model),
        calibration=calibration,
        calibration_inherited=inherited is not None,
        curve=run.curve.rows,
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {args.threads} threads",
        date=datetime.date.today().isoformat(),
        changed=changed_options(args),
    )
    if args.write:
        report.write_all(model, args.out, val_sets, context, args.docs)
        print(f"wrote {args.out} ({len(model) / 1e6:.1f} MB, sha256 {sha})")
    else:
        print(f"not written (--no-write); sha256 {sha}")
    return 0


@dataclass
class Fit:
    """How one training stage went."""

    steps: int
    best_step: int
    best_score: float
    minutes: float

    def summary(self) -> str:
        return (
            f"{self.steps} steps in {self.minutes:.1f} min, best mean validation exact {self.best_score:.3f} "
            f"at step {self.best_step}"
        )


@dataclass
class Run:
    """What every training stage of one run shares."""

    args: Args
    rng: np.random.Generator
    pools: tuple[Any, ...]  # the arguments of _batch after size and rng
    val_sets: dict[str, tuple[np.ndarray, list[str]]]
    curve: Curve
    started: float  # time.time() at the start of the run

    def batch(self, size: int) -> tuple[np.ndarray, list[str]]:
        return _batch(size, self.rng, *self.pools)


def train(run: Run, net: Any, stage: str, minutes: float, steps: int, lr: float, teacher: Any = None) -> Fit:
    """Train ``net`` with CTC (plus, given a ``teacher``, distillation of its per-step output distributions) for
    ``steps`` steps or ``minutes``, whichever ends first, at peak learning rate ``lr`` (the head's is 3 times
    that); keep the state with the best mean validation exact."""
    import torch

    args = run.args
    head = [p for n, p in net.named_parameters() if n.startswith("head.")]
    body = [p for n, p in net.named_parameters() if not n.startswith("head.")]
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head, "lr": lr * 3}], weight_decay=1e-4)
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)

    def evaluate(step: int, loss: float) -> float:
        net.eval()
        scores = {}
        with torch.no_grad():
            for name, (x, labels) in run.val_sets.items():
                probs = np.concatenate(
                    [torch.softmax(net(torch.from_numpy(x[i : i + 128])), -1).numpy() for i in range(0, len(x), 128)]
                )
                scores[name] = float(np.mean([p == t for p, t in zip(greedy(probs), labels, strict=True)]))
        net.train()
        net.freeze_batchnorm()
        minutes_so_far = round((time.time() - run.started) / 60, 2)
        run.curve.add(stage=stage, step=step, minutes=minutes_so_far, loss=loss, **scores)
        return float(np.mean(list(scores.values())))

    best_score, best_step = evaluate(0, float("nan")), 0
    best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    net.freeze_batchnorm()
    train_start, losses, step = time.time(), [], 0
    while step < steps:
        progress = max(step / steps, (time.time() - train_start) / 60 / minutes)
        if progress >= 1:
            break
        warm = min(1.0, (step + 1) / 100)
        factor = warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor
        images, texts = run.batch(args.batch)
        x = torch.from_numpy(images)
        targets, lengths = encode_labels(texts)
        logits = net(x)
        log_probs = torch.log_softmax(logits, -1).permute(1, 0, 2)  # [T, B, C]
        steps_in = torch.full((x.shape[0],), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, torch.from_numpy(targets), steps_in, torch.from_numpy(lengths))
        if teacher is not None:
            with torch.no_grad():
                goal = torch.softmax(teacher(x) / KD_TEMPERATURE, -1)
            student = torch.log_softmax(logits / KD_TEMPERATURE, -1)
            kl = torch.sum(goal * (torch.log(goal.clamp_min(1e-8)) - student), -1).mean()
            loss = loss + KD_WEIGHT * KD_TEMPERATURE**2 * kl
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % args.eval_every == 0:
            score = evaluate(step, float(np.mean(losses[-args.eval_every :])))
            if score > best_score:
                best_score, best_step = score, step
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
    if step % args.eval_every:
        score = evaluate(step, float(np.mean(losses[-args.eval_every :])))
        if score > best_score:
            best_score, best_step = score, step
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    return Fit(step, best_step, best_score, (time.time() - train_start) / 60)


def _normalize(images: np.ndarray) -> np.ndarray:
    return ((images.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2).copy()


def _batch(
    size: int,
    rng: np.random.Generator,
    us_images: list[np.ndarray],
    us_rows: list[LabelledCrop],
    br_images: list[np.ndarray],
    br_rows: list[LabelledCrop],
    synth_x: np.ndarray,
    synth_y: list[str],
) -> tuple[np.ndarray, list[str]]:
    kinds = rng.choice(list(MIX), size=size, p=list(MIX.values()))
    images, texts = [], []
    for kind in kinds:
        if kind == "synth":
            i = int(rng.integers(len(synth_y)))
            images.append(synth_x[i])
            texts.append(synth_y[i])
            continue
        pool, rows = (us_images, us_rows) if kind == "us" else (br_images, br_rows)
        i = int(rng.integers(len(rows)))
        images.append(_to_uint8_input(augment_real(pool[i], rng)))
        texts.append(rows[i].plate)
    return _normalize(np.stack(images)), texts


if __name__ == "__main__":
    sys.exit(main())
