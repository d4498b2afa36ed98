"""What every response carries, whom the app believes about the client, and how the server listens (TLS).

- ``SecurityHeaders``: the security headers on every response the app makes (pages, API, static files, 404s, 413s
  from the body limit), and HSTS whenever the request came over TLS.
- Forwarded headers (``X-Forwarded-For`` / ``-Proto``) rewrite the client address and scheme only when the
  connection comes from an address in ``web.trusted_proxies`` (empty by default: nobody; ``create_app`` adds
  uvicorn's ``ProxyHeadersMiddleware`` for those addresses). The audit log records that address, so believing the
  header from anyone would let anyone write a false one.
- ``document_response``: a self-contained document page whose policy admits its own inline style by hash.
- ``server_config``: the uvicorn configuration ``platekeeper serve`` runs (and the tests serve with): uvicorn's own
  proxy-header handling off (the app does it, from the config), no ``server`` banner, and with a certificate TLS
  1.2 or later.
"""

from __future__ import annotations

import base64
import hashlib
import re
import ssl
from pathlib import Path

import uvicorn
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SECURITY_HEADERS",
    "SecurityHeaders",
    "TlsError",
    "document_response",
    "header_pairs",
    "server_config",
]

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
CACHEABLE_PREFIX = "/static/"  # the vendored CSS and scripts hold no data: the browser may cache them


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def document_response(html: str) -> HTMLResponse:
    """A self-contained document (a purge certificate, an audit report: the same HTML that becomes its PDF, with its
    style inline) as a page. Its policy lets exactly its own style blocks in, by their SHA-256; nothing else inline
    (``style-src 'self'`` alone blocked them, and the page showed unstyled)."""
    head = html.split("<body", 1)[0]  # only the document's own style: nothing in its body is ever admitted
    digests = (base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() for block in _STYLE.findall(head))
    hashes = " ".join(f"'sha256-{digest}'" for digest in digests)
    policy = SECURITY_HEADERS["content-security-policy"].replace("style-src 'self'", f"style-src 'self' {hashes}")
    return HTMLResponse(html, headers={"content-security-policy": policy})


def header_pairs(path: str, scheme: str, hsts_seconds: int) -> list[tuple[str, str]]:
    """The security headers for a response to this path, over this scheme."""
    pairs = [
        (name, value)
        for name, value in SECURITY_HEADERS.items()
        if not (name == "cache-control" and path.startswith(CACHEABLE_PREFIX))
    ]
    if scheme == "https" and hsts_seconds:
        pairs.append(("strict-transport-security", f"max-age={hsts_seconds}; includeSubDomains"))
    return pairs


class SecurityHeaders:
    """Add the security headers to every HTTP response that does not set its own value of one."""

    def __init__(self, app: ASGIApp, hsts_seconds: int) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pairs = header_pairs(scope.get("path", ""), scope.get("scheme", "http"), self.hsts_seconds)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n.encode(), v.encode()) for n, v in pairs if n.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class TlsError(Exception):
    """The certificate or key cannot be used; the message says which file and why."""


def _tls_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for path in (certfile, keyfile):
        if not path.is_file():
            raise TlsError(f"{path}: no such file")
    try:
        context.load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"the certificate {certfile} and key {keyfile} cannot be used together: {exc}") from None
    return context


def server_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    log_level: str = "info",
) -> uvicorn.Config:
    """The server's configuration: plain HTTP, or TLS 1.2+ when a certificate and its key are given."""
    if (certfile is None) != (keyfile is None):
        raise TlsError("give both the certificate (--certfile) and its private key (--keyfile), or neither")
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,  # forwarded headers are believed by the app, from web.trusted_proxies only
        server_header=False,
        date_header=True,
    )
    if certfile is not None and keyfile is not None:
        context = _tls_context(certfile, keyfile)  # checked now, so a bad file is an error before listening
        config.load()
        config.ssl = context  # uvicorn's own context has no minimum version: this one refuses TLS 1.0 and 1.1
        config.ssl_certfile = str(certfile)
    return config
