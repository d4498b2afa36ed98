"""Helpers for page tests in Debian's chromium (never a downloaded browser): a live server and a browser."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from platekeeper.web.transport import server_config

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's chromium, or a skip (a failure under CI) that says how to install it."""
    import os

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (make test installs it: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@contextmanager
def live_server(app: FastAPI, *, certfile: Path | None = None, keyfile: Path | None = None) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread, configured as `platekeeper serve` configures it (HTTPS
    with a certificate); yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = server_config(app, host="127.0.0.1", port=port, certfile=certfile, keyfile=keyfile, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start within 15 s")
        time.sleep(0.05)
    try:
        yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(page: Any, base: str, username: str, password: str, code: Callable[[str], str], path: str = "/") -> None:
    """Sign a Chromium page in through the real forms (password, then the one-time code ``code(username)`` gives),
    starting from ``path`` (a page behind sign-in comes back to it), and wait until it is there."""
    page.goto(f"{base}/login" if path == "/" else f"{base}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/mfa*")
    page.fill("input[name=code]", code(username))
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def fill_search(page: Any, context: dict[str, str], plate: str) -> None:
    """Fill the search form: the recorded purpose, case number and justification from ``context``, and the plate."""
    page.select_option("select[name=purpose]", context["purpose"])
    page.fill("input[name=case_number]", context["case_number"])
    page.fill("input[name=justification]", context["justification"])
    page.fill("input[name=plate]", plate)
