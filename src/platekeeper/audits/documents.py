"""A system audit's report as self-contained HTML (no scripts, no outside resources) and as PDF rendered from that
same HTML by WeasyPrint, as the retention documents are: the page read on screen and the PDF filed cannot differ.
Its charts are the web pages' own server-drawn SVG charts (``web/templates/_charts.html``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from weasyprint import HTML

from platekeeper.audits.models import AUDIT_STATES, RESOLUTIONS, SEVERITIES
from platekeeper.audits.service.report import AuditReport
from platekeeper.config import Settings

__all__ = ["report_html", "report_pdf"]

_ENV = Environment(
    loader=ChoiceLoader(
        [PackageLoader("platekeeper", "audits/templates"), PackageLoader("platekeeper", "web/templates")]
    ),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _local(settings: Settings) -> Any:
    def local(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
        if value is None:
            return "—"
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return when.astimezone(settings.tz).strftime(fmt)

    return local


def report_html(report: AuditReport, settings: Settings) -> str:
    """The report as a page: the period, the plan, the figures with charts, the findings by policy section, the
    sample and its review, the account review it links to, and the approval."""
    return _ENV.get_template("audit_report.html").render(
        report=report,
        audit=report.audit,
        figures=report.figures,
        agency=settings.agency.name,
        custodian=settings.agency.custodian_title,
        states=AUDIT_STATES,
        severities=SEVERITIES,
        resolutions=RESOLUTIONS,
        local=_local(settings),
    )


def report_pdf(report: AuditReport, settings: Settings) -> bytes:
    return HTML(string=report_html(report, settings)).write_pdf() or b""
