"""``platekeeper read``: read plates from image files.

This is the one module of ``platekeeper.recognition`` allowed to import typer and rich (it is the CLI adapter;
the engine itself stays pure). Register it with ``app.command("read")(read_command)``: importing this module is
cheap, opencv, numpy and onnxruntime load only when the command runs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from .config import RECOGNIZERS, RecognitionConfig

if TYPE_CHECKING:
    import numpy as np

    from .base import RecognizedPlate
    from .pipeline import PlatePipeline

__all__ = ["annotate_image", "read_command"]

PROGRESS_MIN_FILES = 5  # a progress bar is shown when at least this many files are read without --json
_BOX_COLOR, _TEXT_COLOR = (0, 255, 0), (0, 0, 0)


def annotate_image(image: np.ndarray, reads: list[RecognizedPlate]) -> np.ndarray:
    """A copy of ``image`` with each plate's box and text drawn on it."""
    import cv2

    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 500))
    for read in reads:
        x1, y1, x2, y2 = read.box.as_list()
        cv2.rectangle(canvas, (x1, y1), (x2, y2), _BOX_COLOR, thickness)
        label = f"{read.text} {read.confidence:.2f}"
        scale = thickness * 0.6
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y1 - th - base - 2)
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 2, top + th + base + 2), _BOX_COLOR, -1)
        cv2.putText(canvas, label, (x1 + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, _TEXT_COLOR, thickness)
    return canvas


def _read_one(pipeline: PlatePipeline, path: Path, crops: bool) -> tuple[np.ndarray, list[RecognizedPlate], float]:
    from .imageio import read_image

    image = read_image(path, pipeline.config.images)
    start = time.perf_counter()
    reads = pipeline.read_crop(image) if crops else pipeline.read(image)
    return image, reads, (time.perf_counter() - start) * 1000


def _report(path: Path, reads: list[RecognizedPlate], millis: float, as_json: bool, console: Console) -> None:
    if as_json:
        record = {"image": str(path), "ms": round(millis, 1), "plates": [r.to_dict() for r in reads]}
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        return
    texts = ", ".join(f"{r.text} ({r.confidence:.2f}{', ' + r.region if r.region else ''})" for r in reads)
    console.print(f"{escape(str(path))}: {texts or 'no plate'} [dim]{millis:.0f} ms[/dim]")


def read_command(
    images: Annotated[
        list[Path], typer.Argument(help="image files (PNG, JPEG, BMP, WebP)", exists=True, dir_okay=False)
    ],
    json_: Annotated[bool, typer.Option("--json", help="one JSON object per image per line")] = False,
    crops: Annotated[bool, typer.Option("--crops", help="inputs are already-cropped plates: skip detection")] = False,
    annotate: Annotated[
        Path | None,
        typer.Option("--annotate", metavar="OUTDIR", help="write copies with boxes and text here"),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="onnxruntime intra-op threads")] = None,
    recognizer: Annotated[
        str,
        typer.Option(
            "--recognizer",
            help="`plate`: platekeeper's plate-trained network (default); "
            "`rapidocr`: general PP-OCRv6 text OCR, slower, also reads the state name",
        ),
    ] = "plate",
    regions: Annotated[
        str | None,
        typer.Option(
            "--regions",
            metavar="CODES",
            help="where the cameras are, comma-separated (us, us-ca, eu, eu-sk, br): only those plate formats count",
        ),
    ] = None,
) -> None:
    """Read license plates from images, offline; exit 1 if any file could not be decoded as an image, 2 if a
    named file does not exist."""
    from dataclasses import replace

    from .models import ModelError
    from .pipeline import PlatePipeline

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    if recognizer not in RECOGNIZERS:
        err.print(f"[red]error:[/red] --recognizer must be one of: {', '.join(RECOGNIZERS)} (got {escape(recognizer)})")
        raise typer.Exit(code=2)
    config = replace(RecognitionConfig(), recognizer=recognizer)
    if regions is not None:
        try:
            plates = replace(config.plates, regions=tuple(r for r in regions.split(",") if r.strip()))
        except ValueError as exc:
            err.print(f"[red]error:[/red] --regions: {escape(str(exc))}")
            raise typer.Exit(code=2) from exc
        config = replace(config, plates=plates)
    if threads is not None:
        config = replace(config, runtime=replace(config.runtime, intra_op_threads=threads))
    try:
        pipeline = PlatePipeline(config)
    except ModelError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from exc
    if annotate is not None:
        annotate.mkdir(parents=True, exist_ok=True)
    failed = _read_all(pipeline, images, json_, crops, annotate, err)
    if failed:
        raise typer.Exit(code=1)


def _read_all(
    pipeline: PlatePipeline,
    images: list[Path],
    as_json: bool,
    crops: bool,
    annotate: Path | None,
    err: Console,
) -> int:
    import cv2

    from .imageio import ImageError

    out, failed = Console(soft_wrap=True, highlight=False), 0
    with Progress(console=err, transient=True, disable=as_json or len(images) < PROGRESS_MIN_FILES) as progress:
        task = progress.add_task("reading plates", total=len(images))
        for path in images:
            try:
                image, reads, millis = _read_one(pipeline, path, crops)
            except ImageError as exc:
                failed += 1
                err.print(f"[red]error:[/red] {escape(str(path))}: {escape(str(exc))}")
            else:
                _report(path, reads, millis, as_json, out)
                if annotate is not None:
                    cv2.imwrite(str(annotate / f"{path.stem}.annotated.jpg"), annotate_image(image, reads))
            progress.advance(task)
    return failed
