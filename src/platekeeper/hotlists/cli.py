"""``platekeeper hotlists ...``: list, create, import a file, and refresh from the watched folder once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from platekeeper.audit.service import Actor
from platekeeper.cli_support import Runtime, err, fail, out, runtime
from platekeeper.db import utcnow

if TYPE_CHECKING:
    from platekeeper.hotlists.importers import ImportSpec
    from platekeeper.hotlists.service import ImportOutcome

__all__ = ["hotlists_app"]

hotlists_app = typer.Typer(
    help="Hotlists: lists of plates of interest, their import and refresh.", no_args_is_help=True
)


@hotlists_app.command("list")
def hotlists_list() -> None:
    """Every list with its kind, entries, last load and whether it is stale."""
    from platekeeper.hotlists.service import list_hotlists

    rt = runtime()
    with rt.database.session() as session:
        hotlists = list_hotlists(session, rt.settings, utcnow())
        if not hotlists:
            out.print("no hotlists yet; create one with `platekeeper hotlists create NAME --kind KIND --source SOURCE`")
        for h in hotlists:
            loaded = h.loaded_at.isoformat(timespec="minutes") if h.loaded_at else "never"
            state = "STALE" if h.stale else "current"
            out.print(f"{h.id:4} {h.name:30} {h.kind:20} {h.entries:9} loaded {loaded:22} {state}", highlight=False)


@hotlists_app.command("create")
def hotlists_create(
    name: str,
    kind: Annotated[str, typer.Option(help="A kind from hotlists.kinds, e.g. stolen_vehicle")],
    source: Annotated[str, typer.Option(help="Where the list comes from, e.g. 'CLETS daily extract'")],
    refresh_hours: Annotated[int, typer.Option(min=1, max=336, help="Refresh cadence; later than this = stale")] = 24,
    manual: Annotated[bool, typer.Option(help="No refresh cadence (e.g. officer entries)")] = False,
) -> None:
    """Create an empty list."""
    from platekeeper.hotlists.service import HotlistError, create_hotlist

    with runtime().work_or_exit(HotlistError) as work:
        hotlist = create_hotlist(
            work, name=name, kind=kind, source=source, refresh_hours=None if manual else refresh_hours
        )
        out.print(f"hotlist {hotlist.id} {hotlist.name} ({hotlist.kind}) created", highlight=False)


@hotlists_app.command("import")
def hotlists_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV/TXT or fixed-width")],
    list_name: Annotated[str, typer.Option("--list", help="Name of the list to load")],
    mode: Annotated[str, typer.Option(help="full (replace: the daily refresh) or incremental (add/update)")] = "full",
    format: Annotated[str, typer.Option(help="csv (delimited text) or fixed (NCIC-like fixed width)")] = "csv",
    delimiter: Annotated[str, typer.Option(help="Field delimiter; \\t for tab")] = ",",
    header: Annotated[bool, typer.Option(help="The first line names the columns")] = True,
    mapping: Annotated[str, typer.Option("--map", help="FIELD=COLUMN,... e.g. plate=PlateNumber,state=State")] = "",
    default_kind: Annotated[
        str | None, typer.Option(help="Kind for rows without a category (default: the list's own kind)")
    ] = None,
) -> None:
    """Load a file into a list, all or nothing: any bad row loads nothing and is reported with its line number.

    Then the past reads within retention are searched for the plates new to the list; hits become historical
    alerts (past reads, not live sightings) on the dashboard.
    """
    from platekeeper.hotlists.importers import ImportSpec, parse_mapping

    if mode not in ("full", "incremental"):
        raise fail("--mode: full or incremental")
    if format not in ("csv", "fixed"):
        raise fail("--format: csv or fixed")
    try:
        spec = ImportSpec(
            format=format,  # type: ignore[arg-type]
            delimiter="\t" if delimiter == "\\t" else delimiter,
            header=header,
            mapping=parse_mapping(mapping),
            default_kind=default_kind,
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    _run_import(runtime(), file, list_name, spec, mode)  # type: ignore[arg-type]


def _run_import(
    rt: Runtime, file: Path, list_name: str, spec: ImportSpec, mode: Literal["full", "incremental"]
) -> None:
    from platekeeper.hotlists.service import HotlistError, ImportRejected, hotlist_by_name, import_entries

    started = time.monotonic()
    rejected: ImportRejected | None = None
    with rt.work_or_exit(HotlistError) as work, out.status(f"loading {file.name} into {list_name}…"):
        hotlist = hotlist_by_name(work.session, list_name)
        if hotlist is None:
            raise HotlistError(f"--list: no list named {list_name!r} (see `platekeeper hotlists list`)")
        try:
            outcome = import_entries(work, hotlist.id, file.read_bytes(), spec, mode=mode, file_name=file.name)
        except ImportRejected as exc:
            rejected = exc  # the audited refusal commits; nothing else was written
    if rejected is not None:
        for error in rejected.errors:
            err.print(f"line {error.line}: {error.message}", highlight=False)
        raise fail(f"{rejected.error_count} bad row(s) in {file.name}; nothing was loaded")
    seconds = time.monotonic() - started
    out.print(
        f"loaded {outcome.loaded} entries into {list_name} ({mode}); {outcome.removed} replaced or removed; "
        f"{len(outcome.new_plates)} plate(s) new to the list; {seconds:.1f} s",
        highlight=False,
    )
    _search_history(rt, outcome, file.name)


def _search_history(rt: Runtime, outcome: ImportOutcome, file_name: str) -> None:
    """The historical-hit search for the plates the import added, with a progress bar; exit 1 if it fails."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from platekeeper.alerts.historical import search_history_for_import

    with Progress(
        TextColumn("searching past reads for new plates"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("search", total=None)
        try:
            found = search_history_for_import(
                rt.settings, rt.database, rt.audit_key, Actor.system("cli"), outcome, file_name=file_name,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
        except Exception as exc:  # the import has committed; say so and what failed
            err.print(f"historical search FAILED ({type(exc).__name__}: {exc}); the import stands", highlight=False)
            raise typer.Exit(1) from None
    out.print(found.describe(), highlight=False)


@hotlists_app.command("refresh-watch")
def hotlists_refresh_watch(
    folder: Annotated[Path | None, typer.Option(help="Folder to scan (default: hotlists.watch_dir)")] = None,
) -> None:
    """Load every refresh file waiting in the watched folder once (<list name>.csv/.txt/.dat), then exit.

    Run it from cron for a scheduled refresh; `platekeeper serve` also scans the folder every
    hotlists.watch_interval_minutes when hotlists.watch_dir is set. Each load is followed by the historical-hit
    search for the plates new to its list. Exit 1 when a file was refused or a search failed.
    """
    from platekeeper.alerts.historical import search_history_for_import
    from platekeeper.hotlists.watch import refresh_from_watch_dir

    rt = runtime()
    settings = rt.settings
    if folder is not None:
        settings = settings.model_copy(update={"hotlists": settings.hotlists.model_copy(update={"watch_dir": folder})})
    if settings.hotlists.watch_dir is None:
        raise fail("--folder: no folder given and hotlists.watch_dir is not set")

    def search_history(actor: Actor, outcome: ImportOutcome, file_name: str) -> str:
        return search_history_for_import(
            settings, rt.database, rt.audit_key, actor, outcome, file_name=file_name
        ).describe()

    results = refresh_from_watch_dir(settings, rt.database, rt.audit_key, search_history=search_history)
    for r in results:
        done = f"REFUSED: {r.error}" if r.error else f"loaded {r.loaded} entries; {r.historical}"
        out.print(f"{r.file}: {done}", highlight=False)
    if not results:
        out.print(f"no refresh files in {settings.hotlists.watch_dir}")
    if any(r.error or r.historical_failed for r in results):
        raise typer.Exit(1)
