"""``platekeeper audit export`` and ``platekeeper audit check-export``: the audit log of a period (and a user) for an
outside auditor, in a ZIP with the signed checkpoint that proves it complete, and the check of such a ZIP, which
needs neither the database nor the configuration (registered on the ``audit`` group in ``platekeeper.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from platekeeper.access.principal import Principal
from platekeeper.audit.export import AuditExport, ExportFormat
from platekeeper.audit.filters import AuditFilterError, AuditQuery, parse_audit_filter
from platekeeper.audit.oversight import export_audit_log
from platekeeper.audit.proof import ProofPlan, bundle_chunks, bundle_name, plan_proof
from platekeeper.audit.proof_check import BundleError, check_bundle, load_public_key, read_manifest
from platekeeper.audit.work import Work
from platekeeper.cli_support import as_principal, err, fail, out, output_file, run_step, runtime

__all__ = ["audit_check_export", "audit_export"]


def _query(**values: str) -> AuditQuery:
    try:
        return AuditQuery(**values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise fail(f"{'.'.join(str(p) for p in problem['loc'])}: {problem['msg']}") from None


def audit_export(
    acting: Annotated[str, typer.Option("--as", help="The account exporting (it must hold audit.export)")],
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD, agency timezone")] = "",
    until: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (default: today)")] = "",
    user: Annotated[str, typer.Option(help="Only this user's events")] = "",
    action: Annotated[str, typer.Option(help="Only this action's events (docs/audit-events.md)")] = "",
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or jsonl")] = "csv",
    out_path: Annotated[
        Path | None, typer.Option("--out", help="The ZIP to write (default: its own name, here)")
    ] = None,
) -> None:
    """Export a period of the audit log (a user's, an action's) as CSV or JSON Lines in a ZIP with the seals and the
    signed checkpoint that prove it complete; recorded in the audit log as the --as account's export, its plates
    masked when that role reaches no plate data. Check it with `platekeeper audit check-export`. Exit 2 for a bad
    filter, an account without the permission or its training."""
    query = _query(username=user, action=action, since=since, until=until)
    if out_path is not None:
        output_file(out_path, "--out")
    rt = runtime()

    def prepare(work: Work) -> tuple[Principal, AuditExport, ProofPlan]:
        principal = as_principal(work, acting)
        work = work.by(principal)
        export = export_audit_log(
            work, principal.permissions, parse_audit_filter(query, rt.settings.tz), fmt, proof=True
        )
        return principal, export, plan_proof(work, rt.signing_key, export)

    principal, export, plan = run_step(prepare, (AuditFilterError, PermissionError), rt=rt)
    path = out_path or Path(bundle_name(export))
    with path.open("wb") as handle:
        for chunk in bundle_chunks(export, plan, rt.signing_key, rt.database, principal.username):
            handle.write(chunk)
    whose = f"events of {user}" if user else "events of every user"
    out.print(
        f"{export.rows:,} {whose} written to {path}; complete up to event {plan.checkpoint.seq}, "
        f"signed by {plan.checkpoint.key}{' (plates masked)' if export.masked else ''}",
        highlight=False,
    )


def _summary(manifest: dict[str, Any]) -> str:
    filters, period, chain = manifest.get("filters", {}), manifest["period"], manifest["chain"]
    who = f"of {filters['username']}" if filters.get("username") else "of every user"
    return (
        f"complete and unchanged: {manifest['rows']:,} events {who} from {period['since']} to {period['until']}, up "
        f"to event {manifest['through_seq']}; chain.csv links events {chain['first_seq']} to {chain['last_seq']}, "
        f"closed by the checkpoint signed {manifest['checkpoint']['at']} by {manifest['key']}"
    )


def audit_check_export(
    bundle: Annotated[
        Path,
        typer.Argument(
            help="The ZIP `audit export` (or the page's link with proof) wrote", exists=True, dir_okay=False
        ),
    ],
    public_key: Annotated[
        Path | None, typer.Option(help="The agency's signing key, as a PEM public key", exists=True, dir_okay=False)
    ] = None,
    fingerprint: Annotated[
        str | None, typer.Option(help="The agency's signing key's fingerprint (ed25519:...), as it published it")
    ] = None,
) -> None:
    """Check an audit export's proof without the database: the signatures, each file's digest, the chain's links
    up to the signed checkpoint, and that the events file holds every event of the period under its user and action
    filters. Exit 0 when complete and unchanged, 1 naming each problem, 2 when a key cannot be read."""
    data = bundle.read_bytes()
    try:
        public = load_public_key(public_key.read_bytes()) if public_key else None
    except BundleError as exc:
        raise fail(str(exc)) from None
    problems = check_bundle(data, public)
    manifest = read_manifest(data) if not problems else {}
    if not problems and fingerprint and manifest.get("key") != fingerprint.strip():
        problems = [f"signed by {manifest.get('key')}, not by the key {fingerprint.strip()} given"]
    if problems:
        for problem in problems:
            err.print(f"[bold red]invalid:[/] {problem}", highlight=False)
        raise typer.Exit(1)
    out.print(_summary(manifest), highlight=False)
    if public is None and not fingerprint:
        out.print(
            f"the key came with the bundle: compare {manifest['key']} with the fingerprint the agency published",
            highlight=False,
        )
