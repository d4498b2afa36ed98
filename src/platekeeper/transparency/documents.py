"""The posted policy as HTML (its sections, for the page; a whole printable document) and as PDF, rendered from
that same HTML by WeasyPrint, as the retention documents are: the page, the print and the PDF say the same."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from weasyprint import HTML

from platekeeper.config import Settings
from platekeeper.transparency.models import PolicyVersion

__all__ = ["policy_body", "policy_pdf", "policy_print"]

_ENV = Environment(
    loader=PackageLoader("platekeeper", "transparency/templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def policy_body(version: PolicyVersion) -> Markup:
    """The version's sections as HTML (every text escaped), for the page to place."""
    return Markup(_ENV.get_template("policy_body.html").render(doc=version.document))  # noqa: S704 (autoescaped)


def policy_print(version: PolicyVersion, settings: Settings, *, draft: bool = False) -> str:
    """The version as one self-contained document (no scripts, no outside resources); a ``draft`` (a candidate
    config's, not stored) says that it is not in effect."""
    return _ENV.get_template("policy_print.html").render(
        draft=draft,
        doc=version.document,
        number=version.number,
        sha256=version.sha256,
        effective=version.effective_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z"),
    )


def policy_pdf(version: PolicyVersion, settings: Settings, *, draft: bool = False) -> bytes:
    return HTML(string=policy_print(version, settings, draft=draft)).write_pdf() or b""
