"""``platekeeper audits ...``: the system audits of policy 462.6(c) from the console.

``audits run --from --to --as USER`` schedules an audit of the period and runs it (the checks, the chain verified,
the sample drawn); ``review``, ``findings``, ``approve`` and ``close`` take the next steps; ``list`` and ``show``
print them; ``report`` writes the report as HTML or PDF. Each command acts as the account named by ``--as``, which
must hold the permission the step needs, as on the pages. A refused step is recorded and exits 2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from platekeeper.audit.work import Work
from platekeeper.audits.documents import report_html, report_pdf
from platekeeper.audits.models import AUDIT_STATES, RESOLUTIONS
from platekeeper.audits.schedule import AuditSchedule
from platekeeper.audits.service import (
    AuditNotFound,
    AuditRefused,
    approve_audit,
    audit_now,
    audit_report,
    close_audit,
    finding_counts,
    findings_of,
    list_audits,
    record_findings,
    review_item,
)
from platekeeper.cli_support import as_principal, fail, out, output_file, row_id, run_step, runtime

__all__ = ["audits_app"]

audits_app = typer.Typer(help="System audits (462.6(c)): run, review, approve, report.", no_args_is_help=True)
AsUser = Annotated[str, typer.Option("--as", help="The account taking this step (it must hold the permission)")]
AuditArg = Annotated[int, row_id("The audit's id")]


_REFUSALS = (AuditRefused, AuditNotFound)


def _step(step: Callable[[Work], Any]) -> Any:
    """Run one audit step (:func:`run_step`): exit 2 for a refusal or an unknown audit."""
    return run_step(step, _REFUSALS)


def _when(value: str, name: str, settings_tz: Any) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--{name}: {value!r} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)") from None
    return when if when.tzinfo else when.replace(tzinfo=settings_tz)


@audits_app.command("run")
def run(
    period_from: Annotated[str, typer.Option("--from", help="Start of the period (agency time unless zoned)")],
    period_to: Annotated[str, typer.Option("--to", help="End of the period, exclusive")],
    username: AsUser,
) -> None:
    """Schedule an audit of the period and run it now: the automatic checks, the audit chain verified, the
    random sample drawn (its seed recorded). Prints the findings by section."""
    rt = runtime()
    since, until = _when(period_from, "from", rt.settings.tz), _when(period_to, "to", rt.settings.tz)

    def step(work: Work) -> tuple[int, int, int, list[tuple[str, str, str]]]:
        principal = as_principal(work, username)
        audit = audit_now(work, principal, since, until, rt.signing_key)
        found = [(f.section, f.severity, f.detail) for f in findings_of(work.session, audit.id)]
        return audit.id, int(audit.figures["accesses"]), int(audit.figures["sample"]["size"]), found

    audit_id, accesses, sample, found = _step(step)
    out.print(f"audit {audit_id}: {accesses:,} accesses checked, {len(found)} findings, {sample} searches sampled")
    for section, severity, detail in found:
        out.print(f"  [{section}] {severity}: {detail}", highlight=False)


@audits_app.command("run-due")
def run_due() -> None:
    """Schedule and run the audit of the plan's last ended period, unless it has one (what `serve` does daily at
    audits.run_time; for cron or a systemd timer when audits.run_in_server is off)."""
    rt = runtime()
    audit = AuditSchedule(rt.settings, rt.database, rt.audit_key, rt.signing_key).run_due()
    if audit is None:
        out.print("the last ended period already has its audit: nothing to do")
        return
    period = f"{audit.period_from:%Y-%m-%d} to {audit.period_to:%Y-%m-%d}"
    out.print(f"audit {audit.id} of {period} run: {audit.figures['sample']['size']} searches wait for review")


@audits_app.command("list")
def list_command() -> None:
    """Every audit: its period, state, performer, approver and findings."""
    with runtime().work() as work:
        table = Table("id", "period", "state", "performed by", "approved by", "findings")
        counts = finding_counts(work.session)
        for audit in list_audits(work.session):
            period = f"{audit.period_from:%Y-%m-%d} to {audit.period_to:%Y-%m-%d}"
            findings = str(counts.get(audit.id, 0))
            table.add_row(str(audit.id), period, AUDIT_STATES[audit.status], audit.performed_by or "-",
                          audit.approved_by or "-", findings)  # fmt: skip
    out.print(table)


@audits_app.command("review")
def review(
    audit_id: AuditArg,
    position: Annotated[int, typer.Argument(min=1, max=100_000, help="The sampled search's number")],
    resolution: Annotated[str, typer.Option(help="One of: " + ", ".join(RESOLUTIONS))],
    finding: Annotated[str, typer.Option(help="What the purpose, case number and justification show")],
    username: AsUser,
) -> None:
    """Record the finding and resolution of one sampled search (``referred`` tells the user's supervisors)."""
    step = lambda work: review_item(  # noqa: E731
        work, as_principal(work, username), audit_id, position, finding=finding, resolution=resolution
    )
    item = _step(step)
    out.print(f"audit {audit_id}, search {position}: {item.resolution}")


@audits_app.command("findings")
def findings(audit_id: AuditArg, username: AsUser) -> None:
    """Record the findings once every sampled search is reviewed."""
    _step(lambda work: record_findings(work, as_principal(work, username), audit_id))
    out.print(f"audit {audit_id}: findings recorded; it waits for approval by someone else")


@audits_app.command("approve")
def approve(audit_id: AuditArg, username: AsUser, note: Annotated[str, typer.Option(help="What you checked")]) -> None:
    """Approve the recorded findings (never one's own audit)."""
    _step(lambda work: approve_audit(work, as_principal(work, username), audit_id, note))
    out.print(f"audit {audit_id}: approved by {username}")


@audits_app.command("close")
def close(audit_id: AuditArg, username: AsUser) -> None:
    """Close an approved audit; its records are kept for audits.record_days."""
    rt = runtime()
    audit = run_step(lambda work: close_audit(work, as_principal(work, username), audit_id), _REFUSALS, rt)
    out.print(f"audit {audit_id}: closed; kept until {rt.settings.today(audit.keep_until):%Y-%m-%d}")


@audits_app.command("report")
def report(
    audit_id: AuditArg,
    username: AsUser,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .pdf for a PDF, else HTML")],
) -> None:
    """Write an audit's report as HTML or PDF (reading it is recorded)."""
    fmt = "pdf" if output_file(output, "--output").suffix.lower() == ".pdf" else "html"

    def step(work: Work) -> bytes:
        done = audit_report(work, as_principal(work, username), audit_id, fmt)
        return report_pdf(done, work.settings) if fmt == "pdf" else report_html(done, work.settings).encode()

    data = _step(step)
    output.write_bytes(data)
    out.print(f"audit {audit_id}: report written to {output} ({len(data):,} bytes)")
