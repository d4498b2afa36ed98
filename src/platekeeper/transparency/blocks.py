"""The parts the posted policy's document is made of: sections of paragraphs, lists and tables of plain text."""

from __future__ import annotations

from typing import Any

__all__ = ["p", "period", "section", "table", "titles", "ul"]

from platekeeper.config import Settings


def p(text: str) -> dict[str, Any]:
    """A paragraph of the document."""
    return {"kind": "p", "text": text}


def ul(items: list[str]) -> dict[str, Any]:
    """A bulleted list of the document."""
    return {"kind": "list", "items": items}


def table(caption: str, head: list[str], rows: list[list[str]]) -> dict[str, Any]:
    """A table of the document (each cell text)."""
    return {"kind": "table", "caption": caption, "head": head, "rows": rows}


def section(key: str, title: str, cite: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """One section: its key (an anchor), title, the law and policy it answers, and its blocks."""
    return {"key": key, "title": title, "cite": cite, "blocks": blocks}


def titles(settings: Settings, roles: tuple[str, ...] | list[str]) -> str:
    """The job titles of these roles, for a sentence."""
    labels = [settings.access.roles[r].label for r in roles if r in settings.access.roles]
    if len(labels) < 2:
        return labels[0] if labels else "no job title"
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def period(minutes: int) -> str:
    """A period for a sentence: ``1440`` -> ``1 day``, ``90`` -> ``90 minutes``."""
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0:
            n = minutes // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{minutes} minutes"
