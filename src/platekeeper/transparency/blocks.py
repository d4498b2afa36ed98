"""The parts the posted policy's document is made of: sections of paragraphs, lists and tables of plain text."""

from __future__ import annotations

from typing import Any

__all__ = ["p", "section", "table", "titles", "ul"]

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
    return ", ".join(labels) if labels else "no job title"
