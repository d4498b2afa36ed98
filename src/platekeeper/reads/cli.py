"""``platekeeper images ...``: the image folder and the ``images`` table, checked against each other and repaired."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from platekeeper.cli_support import err, fail, out, runtime
from platekeeper.reads.images import ImageStore
from platekeeper.reads.integrity import KINDS, IntegrityReport, check_images, record_repair
from platekeeper.storage.keys import StorageKeyError

__all__ = ["images_app"]

images_app = typer.Typer(help="The image folder and its table: check that they agree, and repair them.")

LABELS = {
    "orphan_files": "orphan files (no row)",
    "missing_files": "rows whose file is missing",
    "orphan_rows": "unreferenced rows",
    "stray_temp_files": "stray temp files",
}


@images_app.callback(no_args_is_help=True)
def _images() -> None:
    """The image folder and its table: check that they agree, and repair them."""


@images_app.command("check")
def images_check(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Delete orphan files, stray temp files and unreferenced rows; for a missing file, clear the reads' "
            "reference, fail the pending jobs that would read it and delete its row. Audited.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object")] = False,
    names: Annotated[int, typer.Option(min=0, max=1000, help="Names shown per kind of problem")] = 10,
) -> None:
    """Check that the image folder and the images table agree: files with no row, rows whose file is missing, rows
    no read or job points to, temp files of cut-off writes. It streams, in batches, and can run beside the server;
    files younger than storage.image_grace_minutes are left alone (an upload may be under way).

    Exit 0 when nothing is wrong (or --repair repaired all of it), 1 when problems were found and not repaired (or
    a repair failed on some), 2 for a usage error."""
    rt = runtime()
    try:
        store = ImageStore.for_settings(rt.settings)
    except StorageKeyError as exc:
        raise fail(str(exc)) from None
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("checking the image folder", total=None)

        def advance(report: IntegrityReport) -> None:
            what = f"{report.files_walked:,} files and {report.rows_checked:,} rows checked"
            progress.update(task, description=f"{what}, {report.problems:,} problems")

        report = check_images(rt.database, store, repair=repair, names_shown=names, progress=advance)
    if repair:
        with rt.work() as work:
            record_repair(work, report)
    if as_json:
        out.print_json(json.dumps(report.as_json()))
    else:
        _print(report)
    if not report.resolved:
        raise typer.Exit(1)


def _print(report: IntegrityReport) -> None:
    table = Table("problem", "found", *(["repaired"] if report.repair else []), "first names", box=None)
    repaired = _repaired(report)
    for kind in KINDS:
        finding = report.found[kind]
        first = ", ".join(finding.first) + (", ..." if finding.count > len(finding.first) else "")
        extra = [str(repaired[kind])] if report.repair else []
        table.add_row(LABELS[kind], str(finding.count), *extra, first or "-")
    out.print(table)
    out.print(f"{report.files_walked:,} files and {report.rows_checked:,} rows checked", highlight=False)
    notes = [
        (report.kept_for_jobs, "rows of missing files kept as the record of finished recognition jobs"),
        (report.young_files, "unreferenced files younger than storage.image_grace_minutes, left for a later run"),
        (report.unexpected_files, "other files in the image folder, not touched"),
    ]
    for count, what in notes:
        if count:
            out.print(f"{count:,} {what}", highlight=False)
    if report.repair:
        counts = report.repair
        out.print(
            f"repair: {counts.references_cleared:,} read image references cleared, {counts.jobs_failed:,} "
            "recognition jobs failed",
            highlight=False,
        )
        for why in counts.failed:
            err.print(f"[bold red]could not repair:[/] {why}", highlight=False)
    if report.problems == 0:
        out.print("the image folder and the images table agree")
    elif not report.repair:
        out.print(f"{report.problems:,} problems found: `platekeeper images check --repair` repairs them")


def _repaired(report: IntegrityReport) -> dict[str, int]:
    counts = report.repair
    if counts is None:
        return {}
    return {
        "orphan_files": counts.orphan_files,
        "missing_files": counts.missing_files,
        "orphan_rows": counts.orphan_rows,
        "stray_temp_files": counts.stray_temp_files,
    }
