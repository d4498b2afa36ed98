#!/usr/bin/env python3
"""Take the README's screenshots: a demo agency in a temporary folder, an officer's search and a read, in chromium.

Usage: python scripts/screenshots.py OUTDIR
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server  # noqa: E402

from platekeeper.config import load_settings  # noqa: E402
from platekeeper.db import Database  # noqa: E402
from platekeeper.web.app import create_app  # noqa: E402

CONTEXT = {
    "purpose": "criminal_investigation",
    "case_number": "2026-004512",
    "justification": "grey sedan seen leaving the burglary at Highland and 15th",
}


def _busiest_plate(settings) -> str:
    from sqlalchemy import func, select

    from platekeeper.reads.models import PlateRead

    database = Database(settings.resolved_database_url)
    with database.session() as session:
        return session.execute(
            select(PlateRead.plate).group_by(PlateRead.plate).order_by(func.count().desc()).limit(1)
        ).scalar_one()


def _enrol(settings, app, username: str):
    """Enrol the demo account in TOTP with a secret this script knows, as its owner would with an app."""
    import time

    import pyotp
    from sqlalchemy import select

    from platekeeper.access.enrolment import enrol_totp
    from platekeeper.access.mfa import new_totp_secret
    from platekeeper.access.models import User
    from platekeeper.audit.service import Actor

    secret = new_totp_secret()
    database = app.state.platekeeper.database
    with database.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        work = app.state.platekeeper.services.work(session, Actor.system("demo"))
        enrol_totp(work, user, secret, int(time.time()) // 30 - 2)
    return pyotp.TOTP(secret)


def main(outdir: Path) -> None:
    from playwright.sync_api import sync_playwright

    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp)
        run = [sys.executable, "-m", "platekeeper"]
        env = {"PLATEKEEPER_DATA_DIR": str(env_dir / "var"), "PATH": "/usr/bin:/bin"}
        subprocess.run([*run, "db", "upgrade"], check=True, cwd=env_dir, env=env)
        subprocess.run([*run, "demo", "--reads", "800"], check=True, cwd=env_dir, env=env, capture_output=True)
        creds = (env_dir / "var" / "demo-credentials.txt").read_text()
        password = re.search(r"^officer\s+(\S+)", creds, re.M).group(1)
        settings = load_settings(data_dir=env_dir / "var")
        app = create_app(settings, Database(settings.resolved_database_url))
        totp = _enrol(settings, app, "officer")
        with live_server(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme="dark")
            page.goto(f"{base}/login")
            page.screenshot(path=str(outdir / "sign-in.png"))
            page.fill("input[name=username]", "officer")
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_selector("input[name=code]")
            page.fill("input[name=code]", totp.now())
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{base}/search?plate=5*")
            page.screenshot(path=str(outdir / "search-refused.png"))
            query = "&".join(f"{k}={v.replace(' ', '+')}" for k, v in CONTEXT.items())
            page.goto(f"{base}/search?{query}&plate={_busiest_plate(settings)}")
            page.screenshot(path=str(outdir / "search.png"), full_page=False)
            page.click("td.plate a >> nth=0")
            page.wait_for_selector("h1 .plate")
            page.screenshot(path=str(outdir / "read.png"))
            browser.close()
    print(f"screenshots written to {outdir}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
