"""``platekeeper purge``, ``purge verify``, ``holds ...``: retention from the console (policy 462.9).

``purge`` runs the purge now (or resumes an interrupted one) and prints its certificate's summary; ``--dry-run``
counts what it would remove and changes nothing. ``purge verify CERT`` checks a downloaded certificate's signature
against this installation's key (or ``--public-key``). The holds commands act as a named account (``--as``), which
must hold the permission the step needs, as on the pages.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.table import Table

from platekeeper.cli_support import as_principal, err, fail, out, row_id, run_step, runtime
from platekeeper.db import MAX_ROW_ID
from platekeeper.retention.documents import custody_documents
from platekeeper.retention.models import HOLD_REASONS
from platekeeper.retention.service import (
    COUNT_KINDS,
    DocumentInvalid,
    HoldNotFound,
    HoldRefused,
    HoldRequest,
    PackageInvalid,
    PurgeBusy,
    decide_hold,
    export_evidence,
    list_holds,
    load_public_key,
    release_hold,
    request_hold,
    verify_document,
    verify_package,
)
from platekeeper.retention.service.purge import CERTIFICATE_TYPE, DISPOSAL_KINDS
from platekeeper.services import build_services

__all__ = ["evidence_app", "holds_app", "purge_app"]

purge_app = typer.Typer(
    help="Purge the reads past retention (462.9), or check a purge certificate.", invoke_without_command=True
)
holds_app = typer.Typer(help="Legal holds: keep reads past retention for a case.", no_args_is_help=True)


@purge_app.callback()
def purge(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be removed; change nothing")] = False,
) -> None:
    """Remove every artifact of the reads past retention.days that no legal hold covers (rows, images, jobs,
    alert plate details, audit plate text past audit.plate_detail_days, the guards' activity rows past the longest
    guard window), and the sharing requests and closed system audits kept past their own date, in batches;
    resumes an interrupted purge.
    Prints the signed certificate's summary. For cron or a systemd timer when the server's own schedule is off.
    Exit 0 when done, 2 for a bad config, 3 when another purge is running."""
    if ctx.invoked_subcommand is not None:
        return
    rt = runtime()
    purger = build_services(rt.settings, rt.database).purger()
    if dry_run:
        preview = purger.preview()
        out.print(f"cutoff: reads captured before {preview.cutoff.isoformat()}", highlight=False)
        for name in ("reads", "images", "jobs", "plate_texts", "search_activity", *DISPOSAL_KINDS, "held_reads"):
            out.print(f"  {name:17} {getattr(preview, name):>12,}", highlight=False)
        out.print("dry run: nothing was removed", highlight=False)
        return
    try:
        run = purger.run(trigger="command", progress=lambda what, n: err.print(f"  {what}: {n:,}", highlight=False))
    except PurgeBusy as exc:
        raise fail(str(exc), 3) from None
    document = run.certificate["document"] if run.certificate else {}
    out.print(f"purge {run.id} finished; cutoff {run.cutoff.isoformat()}", highlight=False)
    for kind, label in COUNT_KINDS.items():
        out.print(f"  {label:70} {run.counts.get(kind, 0):>10,}", highlight=False)
    held = document.get("kept_under_hold", {})
    out.print(f"  kept under hold: {held.get('reads', 0):,} reads ({held.get('holds', 0)} holds)", highlight=False)
    out.print(f"  removed read ids SHA-256: {document.get('purged_read_ids', {}).get('sha256')}", highlight=False)


def _public_key(path: Path | None) -> Ed25519PublicKey:
    """The key a signed document is checked against: ``--public-key``'s, or this installation's."""
    if path is None:
        return runtime(migrated=False).signing_key.public
    try:
        return load_public_key(path.read_bytes())
    except OSError as exc:
        raise fail(f"--public-key: {path} cannot be read ({exc.strerror})") from None
    except DocumentInvalid as exc:
        raise fail(f"--public-key: {exc}") from None


@purge_app.command("verify")
def purge_verify(
    certificate: Annotated[Path, typer.Argument(help="A certificate downloaded as JSON", exists=False)],
    public_key: Annotated[
        Path | None, typer.Option(help="The installation's public key (PEM); default: this installation's key")
    ] = None,
) -> None:
    """Check a purge certificate's signature: exit 0 when intact, 1 when altered or signed by another key, 2 when
    the file cannot be read."""
    try:
        signed: Any = json.loads(certificate.read_bytes())
    except (OSError, ValueError) as exc:
        raise fail(f"CERTIFICATE: cannot be read as JSON ({exc})") from None
    if not isinstance(signed, dict) or not isinstance(signed.get("document"), dict):
        raise fail("CERTIFICATE: not a purge certificate (a JSON object with its signed document)")
    problems = verify_document(signed, CERTIFICATE_TYPE, _public_key(public_key))
    if problems:
        for problem in problems:
            err.print(f"[bold red]invalid:[/] {problem}", highlight=False)
        raise typer.Exit(1)
    document = signed["document"]
    out.print(
        f"certificate {document.get('run_id')} is intact: signed by {signed['signature']['key']}; cutoff "
        f"{document.get('cutoff')}; {document.get('removed', {}).get('reads', 0):,} reads removed",
        highlight=False,
    )


def _run_step(step: Any) -> Any:
    """Run one hold step (:func:`run_step`): exit 2 for a refusal or an unknown hold."""
    return run_step(step, (HoldRefused, HoldNotFound))


AsUser = Annotated[str, typer.Option("--as", help="The account taking this step (it must hold the permission)")]
HoldArg = Annotated[int, row_id("The hold's id")]


@holds_app.command("list")
def holds_list(acting: AsUser, as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False) -> None:
    """Every hold with its status, age, size and what it covers."""
    holds = _run_step(lambda work: list_holds(work, as_principal(work, acting)))
    if as_json:
        for s in holds:
            out.print_json(
                data={
                    "id": s.hold.id,
                    "case_number": s.hold.case_number,
                    "status": s.hold.status,
                    "covers": s.covers(),
                    "reads": s.reads,
                    "age_days": s.age_days,
                }
            )
        return
    table = Table("Hold", "Case", "Reason", "Covers", "Reads", "Status", "Age (days)")
    for s in holds:
        table.add_row(
            str(s.hold.id),
            s.hold.case_number,
            s.hold.reason,
            s.covers(),
            f"{s.reads:,}",
            s.hold.status,
            str(s.age_days),
        )
    out.print(table)


@holds_app.command("request")
def holds_request(
    acting: AsUser,
    case_number: Annotated[str, typer.Option(help="The case the hold keeps reads for")],
    reason: Annotated[str, typer.Option(help=f"One of {', '.join(HOLD_REASONS)}")],
    description: Annotated[str, typer.Option(help="What the hold is for")],
    plate: Annotated[str | None, typer.Option(help="Hold a plate within --since/--until")] = None,
    camera_id: Annotated[
        int | None, typer.Option(min=1, max=MAX_ROW_ID, help="Hold a camera within --since/--until")
    ] = None,
    since: Annotated[datetime | None, typer.Option(help="Window start, ISO 8601 with a timezone")] = None,
    until: Annotated[datetime | None, typer.Option(help="Window end, ISO 8601 with a timezone")] = None,
    read_id: Annotated[list[str] | None, typer.Option(help="Hold this read (repeat for several)")] = None,
) -> None:
    """Request a hold on a plate or a camera within a window, or on named reads (--read-id, repeated); it protects
    them from the purge at once and waits for another person's approval."""
    scope = "reads" if read_id else ("camera" if camera_id else "plate")
    try:
        ids = tuple(uuid.UUID(r) for r in read_id or ())
    except ValueError:
        raise fail("read-id: not a read id (a UUID)") from None
    request = HoldRequest(case_number, reason, description, scope, plate, camera_id, since, until, ids)
    hold = _run_step(lambda work: request_hold(work, as_principal(work, acting), request))
    out.print(
        f"hold {hold.id} requested for case {hold.case_number}; another person approves it: "
        f"platekeeper holds approve {hold.id} --as APPROVER",
        highlight=False,
    )


@holds_app.command("approve")
def holds_approve(hold_id: HoldArg, acting: AsUser, note: Annotated[str, typer.Option()] = "") -> None:
    """Approve a requested hold (never one's own request)."""
    _run_step(lambda work: decide_hold(work, as_principal(work, acting), hold_id, approve=True, note=note))
    out.print(f"hold {hold_id} approved", highlight=False)


@holds_app.command("refuse")
def holds_refuse(
    hold_id: HoldArg, acting: AsUser, note: Annotated[str, typer.Option(help="Why it is refused")]
) -> None:
    """Refuse a requested hold, saying why."""
    _run_step(lambda work: decide_hold(work, as_principal(work, acting), hold_id, approve=False, note=note))
    out.print(f"hold {hold_id} refused", highlight=False)


@holds_app.command("release")
def holds_release(
    hold_id: HoldArg, acting: AsUser, reason: Annotated[str, typer.Option(help="Why the hold ends")]
) -> None:
    """Release an active hold with a reason; its reads fall back under normal retention."""
    _run_step(lambda work: release_hold(work, as_principal(work, acting), hold_id, reason))
    out.print(f"hold {hold_id} released", highlight=False)


evidence_app = typer.Typer(help="Evidence packages of held reads, and their verification.", no_args_is_help=True)


@evidence_app.command("export")
def evidence_export(
    hold_id: Annotated[int, row_id("An active (approved) hold")],
    acting: AsUser,
    booking_number: Annotated[str, typer.Option(help="The property booking number")],
    to: Annotated[Path | None, typer.Option(help="A folder or mount point (default: retention.evidence_dir)")] = None,
    folder: Annotated[bool, typer.Option("--folder", help="Write a folder instead of a ZIP")] = False,
) -> None:
    """Export a hold's reads, images and the audit events about them, with a signed manifest and a chain-of-custody
    record (HTML and PDF), to portable media; the export is listed on the hold and audited."""
    rt = runtime()
    services = build_services(rt.settings, rt.database)
    destination = to or rt.settings.data_path(rt.settings.retention.evidence_dir)
    package = _run_step(
        lambda work: export_evidence(
            work, as_principal(work, acting), hold_id, booking_number, store=services.image_store,
            signer=services.signing_key, render=custody_documents(rt.settings), destination=destination,
            as_zip=not folder,
        )
    )  # fmt: skip
    out.print(f"evidence package written: {package.path} ({package.export.reads} reads)", highlight=False)
    out.print(f"manifest SHA-256: {package.export.manifest_sha256}", highlight=False)


@evidence_app.command("verify")
def evidence_verify(
    package: Annotated[Path, typer.Argument(help="A package folder or ZIP")],
    public_key: Annotated[
        Path | None, typer.Option(help="The installation's public key (PEM); default: this installation's key")
    ] = None,
) -> None:
    """Check every file's SHA-256 against the signed manifest and the signature: exit 0 when intact, 1 naming each
    file altered, added or removed (or a bad signature), 2 when the package cannot be read."""
    public = _public_key(public_key)
    try:
        problems = verify_package(package, public)
    except (OSError, PackageInvalid) as exc:
        raise fail(str(exc)) from None
    if problems:
        for problem in problems:
            err.print(f"[bold red]invalid:[/] {problem}", highlight=False)
        raise typer.Exit(1)
    out.print(f"{package}: every file is as signed", highlight=False)
