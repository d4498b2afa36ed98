"""``platekeeper policy``: the posted usage and privacy policy from the console.

``policy versions`` lists the versions with their effective dates. ``policy preview FILE [--config CANDIDATE]``
renders the policy a candidate config would post (HTML or PDF, by the file's suffix) and names the sections that
would change, so the administrator reads the new policy before the config change goes live; nothing is stored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from platekeeper.cli_support import fail, out, output_file, runtime
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.transparency.documents import policy_pdf, policy_print
from platekeeper.transparency.service import changed_sections, draft_policy, policy_versions

__all__ = ["policy_app"]

policy_app = typer.Typer(help="The posted usage and privacy policy: its versions, and a draft to read first.")
SUFFIXES = (".html", ".htm", ".pdf")


def _candidate(config: Path) -> Settings:
    """The settings a candidate config file makes (with this environment's PLATEKEEPER_* variables), or exit 2
    naming each field it gets wrong."""
    if not config.is_file():
        raise fail(f"--config: {config} is not a readable file")
    before = os.environ.get("PLATEKEEPER_CONFIG")
    os.environ["PLATEKEEPER_CONFIG"] = str(config)
    try:
        return load_settings()
    except ConfigError as exc:
        raise fail(f"--config: {exc}") from None
    finally:
        if before is None:
            os.environ.pop("PLATEKEEPER_CONFIG", None)
        else:
            os.environ["PLATEKEEPER_CONFIG"] = before


@policy_app.command("preview")
def preview(
    output: Annotated[Path, typer.Argument(help="Where to write the draft: a .html or .pdf file")],
    config: Annotated[
        Path | None, typer.Option("--config", help="The candidate config (YAML); default: the running one")
    ] = None,
) -> None:
    """Write the policy a config would post, not yet in effect, and name the sections that would change."""
    if output.suffix.lower() not in SUFFIXES:
        raise fail(f"OUTPUT: {output.name} must end in .html or .pdf")
    output_file(output, "OUTPUT")
    rt = runtime()
    settings = _candidate(config) if config else rt.settings
    with rt.work() as work:
        draft, newest = draft_policy(work, settings)
    if output.suffix.lower() == ".pdf":
        output.write_bytes(policy_pdf(draft, settings, draft=True))
    else:
        output.write_text(policy_print(draft, settings, draft=True), encoding="utf-8")
    changed = changed_sections(draft, newest)
    if newest is not None and not changed:
        out.print(f"wrote {output}: the same policy as version {newest.number}, in effect; nothing would change")
        return
    against = f"version {newest.number}" if newest else "no posted version yet"
    out.print(f"wrote {output}: it would become version {draft.number}. Sections that differ from {against}:")
    for title in changed:
        out.print(f"  - {title}")


@policy_app.command("versions")
def versions() -> None:
    """Every version of the posted policy, newest first, with the date it took effect."""
    rt = runtime()
    table = Table("version", "in effect from", "sha256")
    with rt.work() as work:
        for version in policy_versions(work):
            when = version.effective_at.astimezone(rt.settings.tz).strftime("%Y-%m-%d %H:%M %Z")
            table.add_row(str(version.number), when, version.sha256)
    out.print(table)
