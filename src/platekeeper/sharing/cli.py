"""``platekeeper sharing ...``: sharing (policy 462.7) from the console.

``requests`` lists agency and PRA requests; ``fulfil REQUEST --to /media/usb`` writes an approved request's signed
package to media (instead of a download link) and records the release in the register; ``register`` exports the
register (CSV or JSON Lines) and ``summary`` prints the public transparency figures (counts and agency names). Steps
act as a named account (``--as``), which must hold the permission the step needs, as on the pages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from platekeeper.audit.work import Work
from platekeeper.cli_support import as_principal, fail, out, output_file, row_id, run_step, runtime
from platekeeper.services import build_services
from platekeeper.sharing.models import REQUEST_STATES
from platekeeper.sharing.service import (
    SharingNotFound,
    SharingRefused,
    fulfil_request,
    list_requests,
    public_summary,
    register_export,
    remove_expired_packages,
)

__all__ = ["sharing_app"]

sharing_app = typer.Typer(help="Sharing with other agencies and PRA requests (462.7).", no_args_is_help=True)
AsUser = Annotated[str, typer.Option("--as", help="The account taking this step (it must hold the permission)")]


def _run_step(step: Any) -> Any:
    """Run one sharing step (:func:`run_step`): exit 2 for a refusal or an unknown request."""
    return run_step(step, (SharingRefused, SharingNotFound))


@sharing_app.command("requests")
def requests_list(
    acting: AsUser, pra: Annotated[bool, typer.Option("--pra", help="Public Records Act requests")] = False
) -> None:
    """Agency requests (or PRA requests) with their status, newest first."""
    channel = "pra" if pra else "agency"

    def rows(work: Work) -> list[tuple[str, ...]]:
        principal = as_principal(work, acting)
        principal.require("pra.manage" if pra else "sharing.intake")
        return [
            (str(r.id), r.requester_name, str(r.received_on), REQUEST_STATES[r.status], str(r.pra_due_on or ""))
            for r in list_requests(work, channel)
        ]

    table = Table("Request", "Requester", "Received", "Status", "PRA due")
    for row in _run_step(rows):
        table.add_row(*row)
    out.print(table)


@sharing_app.command("fulfil")
def fulfil(
    request_id: Annotated[int, row_id("An approved agency request or a determined PRA request")],
    acting: AsUser,
    to: Annotated[Path, typer.Option(help="A folder or mount point (the media handed to the recipient)")],
    folder: Annotated[bool, typer.Option("--folder", help="Write a folder instead of a ZIP")] = False,
) -> None:
    """Write the request's signed package (exactly the approved scope, within retention) to media; the release is
    recorded in the register and audited."""
    rt = runtime()
    services = build_services(rt.settings, rt.database)
    done = _run_step(
        lambda work: fulfil_request(
            work, as_principal(work, acting), request_id, store=services.image_store, signer=services.signing_key,
            destination=to, method="media", as_zip=not folder,
        )
    )  # fmt: skip
    out.print(f"package written: {done.path} ({done.release.reads} reads)", highlight=False)
    out.print(f"manifest SHA-256: {done.release.manifest_sha256}", highlight=False)


@sharing_app.command("register")
def register(
    acting: AsUser,
    format: Annotated[str, typer.Option(help="csv or jsonl")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output")] = None,
) -> None:
    """The whole sharing register (agency sharing and PRA releases), for the audits. Audited."""
    if format not in ("csv", "jsonl"):
        raise fail("--format: csv or jsonl")
    if output is not None:
        output_file(output, "--output")
    text = _run_step(lambda work: "".join(register_export(work, as_principal(work, acting), format)))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        out.print(f"register written: {output}", highlight=False)


@sharing_app.command("summary")
def summary(acting: AsUser) -> None:
    """The public transparency figures: counts of requests and releases, and the agencies' names."""

    def figures(work: Work) -> dict[str, Any]:
        as_principal(work, acting).require("sharing.register")
        return public_summary(work)

    typer.echo(json.dumps(_run_step(figures), indent=2))


@sharing_app.command("clean")
def clean() -> None:
    """Delete the packages whose download links expired unused (run it daily from cron with the purge)."""
    with runtime().work() as work:
        removed = remove_expired_packages(work)
    out.print(f"{removed} expired package(s) removed", highlight=False)
