"""Refuse the NUL character (U+0000) in request text before anything reads it.

PostgreSQL can neither store nor compare text that holds NUL: a username, list name, case number or plate text
with one answered 500 (SQLite kept it, so the two databases disagreed too). No field of platekeeper takes it, so
:class:`RefuseNul` answers 422 naming the field when the path, a query parameter, a form field or a JSON string (key
or value; any ``application/*+json``, in any of the encodings JSON allows) holds one, and for pages also a
multipart form's fields and file names. The JSON batch inside the API's multipart uploads is checked where it is
parsed (``reads/api.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platekeeper.web.deps import render

__all__ = ["NUL_MESSAGE", "RefuseNul", "nul_field"]

NUL = "\x00"
NUL_MESSAGE = "contains the NUL character (U+0000), which no text field accepts"
CHECKED_BODIES = ("application/json", "application/x-www-form-urlencoded")  # and application/*+json


def nul_field(value: Any, where: str = "") -> str | None:
    """The dotted path of the first string or key in a parsed JSON value that holds NUL (``"body"`` at the top)."""
    if isinstance(value, str):
        return (where or "body") if NUL in value else None
    items: Iterator[tuple[Any, Any]]
    if isinstance(value, dict):
        items = iter(value.items())
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{where}.{key}" if where else str(key)
        if NUL in str(key):
            return path
        found = nul_field(item, path)
        if found:
            return found
    return None


def _in_pairs(text: str) -> str | None:
    for name, value in parse_qsl(text, keep_blank_values=True):
        if NUL in name or NUL in value:
            return name.replace(NUL, "\\0")
    return None


def _json_type(content_type: str) -> bool:
    """``application/json`` and every ``application/*+json``: the media types FastAPI parses as JSON."""
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _in_body(content_type: str, body: bytes) -> str | None:
    if content_type == "application/x-www-form-urlencoded":
        return _in_pairs(body.decode("latin-1"))
    if b"\\u0000" not in body and b"\x00" not in body:  # UTF-8 JSON carries NUL only escaped; UTF-16/32 has 00s
        return None
    try:
        return nul_field(json.loads(body))  # bytes: json detects UTF-8, -16 and -32 as FastAPI's parsing does
    except (ValueError, RecursionError):
        return None  # not JSON: the route's own parsing says what is wrong


async def _in_form(scope: Scope, body: bytes) -> str | None:
    """A page's multipart form: its field names and texts, and its files' names (never the files' bytes)."""
    form = await Request(scope, _replay(body, _no_more)).form()
    try:
        for name, value in form.multi_items():
            text = value if isinstance(value, str) else (value.filename or "")
            if NUL in name or NUL in text:
                return name.replace(NUL, "\\0")
        return None
    finally:
        await form.close()


async def _no_more() -> Message:
    return {"type": "http.disconnect"}


class RefuseNul:
    """ASGI middleware: 422 naming the field for NUL in the path, the query string or a JSON or form body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = "path" if NUL in unquote(scope["path"]) else _in_pairs(scope["query_string"].decode("latin-1"))
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if field is None and (content_type in CHECKED_BODIES or _json_type(content_type)):
            body = await _read_body(receive)
            field = _in_body(content_type, body)
            receive = _replay(body, receive)
        elif field is None and content_type == "multipart/form-data" and not scope["path"].startswith("/api/"):
            body = await _read_body(receive)  # the API's uploads check their JSON part where they parse it
            field = await _in_form(scope, body)
            receive = _replay(body, receive)
        if field is not None:
            await _refusal(scope, field)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _refusal(scope: Scope, field: str) -> Response:
    detail = f"{field}: {NUL_MESSAGE}"
    path = scope["path"]
    if path.startswith("/api/") or path == "/healthz":
        return JSONResponse({"detail": detail, "problems": [{"field": field, "message": NUL_MESSAGE}]}, status_code=422)
    # pages answer with the error page, as for any invalid request
    return render(Request(scope), "error.html", {"status": 422, "message": f"The request was not valid: {detail}"}, 422)
