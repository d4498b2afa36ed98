"""Printable documents of retention: a purge certificate and an evidence package's chain-of-custody record, as
self-contained HTML (no scripts, no outside resources) and as PDF rendered from that same HTML by WeasyPrint.

WeasyPrint was chosen over drawing the PDF by hand (ReportLab) so that the HTML a person reads on screen and the
PDF filed with the case come from one template and cannot say different things.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from weasyprint import HTML

from platekeeper.config import Settings
from platekeeper.retention.service.purge import COUNT_KINDS

__all__ = ["certificate_html", "certificate_pdf", "custody_documents", "custody_html", "custody_pdf"]

_ENV = Environment(
    loader=PackageLoader("platekeeper", "retention/templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def certificate_html(certificate: dict[str, Any], settings: Settings) -> str:
    """The certificate as a page: what was removed, what holds kept, the digest and the signature."""
    template = _ENV.get_template("certificate.html")
    return template.render(
        doc=certificate["document"],
        signature=certificate["signature"],
        kinds=COUNT_KINDS,
        agency=settings.agency.name,
        custodian=settings.agency.custodian_title,
    )


def certificate_pdf(certificate: dict[str, Any], settings: Settings) -> bytes:
    return HTML(string=certificate_html(certificate, settings)).write_pdf() or b""


def custody_html(record: dict[str, Any], settings: Settings) -> str:
    """An evidence package's chain-of-custody record: who exported what, when, why, under which case and booking."""
    return _ENV.get_template("custody.html").render(
        record=record, agency=settings.agency.name, custodian=settings.agency.custodian_title
    )


def custody_pdf(record: dict[str, Any], settings: Settings) -> bytes:
    return HTML(string=custody_html(record, settings)).write_pdf() or b""


def custody_documents(settings: Settings) -> Callable[[dict[str, Any]], tuple[str, bytes]]:
    """The renderer an evidence export takes: a custody record -> its HTML and PDF."""
    return lambda record: (custody_html(record, settings), custody_pdf(record, settings))
