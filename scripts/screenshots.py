#!/usr/bin/env python3
"""Take the README's screenshots: a demo agency in a temporary folder, then each role's main screens of the day in
Debian's chromium, at an in-car laptop's 1366 px and, where officers use them, a phone's 390 px.

Usage: python scripts/screenshots.py OUTDIR [--quick] [--role ROLE ...]

--quick seeds a small demo (the suite runs it so the script cannot break unseen); --role takes only those roles'
pictures. The agency is set up as a department would: the demo, then a stolen-vehicle list loaded with the CLI (its
plates' past reads become historical leads), two accounts waiting for approval, and a camera that sends a live hit.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM_ARGS, chromium_path, live_server, sign_in  # noqa: E402

from platekeeper.config import load_settings  # noqa: E402
from platekeeper.db import Database  # noqa: E402
from platekeeper.web.app import create_app  # noqa: E402

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CONTEXT = {
    "purpose": "criminal_investigation",
    "case_number": "2026-004512",
    "justification": "grey sedan seen leaving the burglary at Highland and 15th",
}
LIVE_PLATE = "6TRK482"  # on the stolen list, read live by Unit 7 while the officer is on shift
EXTRACT_HEADER = "PlateNumber,State,Reason,NIC,Make,Model,Color\n"


@dataclass
class Agency:
    """The demo agency being photographed: its server, its accounts' passwords and one-time codes, where to write."""

    base: str
    browser: Any
    outdir: Path
    passwords: dict[str, str]
    totp: dict[str, Any]
    camera_key: str
    app: Any
    taken: list[str] = field(default_factory=list)

    def signed_in(self, username: str) -> Any:
        """A page signed in as ``username`` through the real forms, at the laptop's width."""
        page = self.browser.new_context(viewport=LAPTOP, color_scheme="dark").new_page()
        sign_in(page, self.base, username, self.passwords[username], lambda name: self.totp[name].now())
        return page

    def shot(self, page: Any, name: str, *, phone: bool = False) -> None:
        """Save what the page shows as ``name.png`` (``name-phone.png`` at 390 px, then back to the laptop)."""
        if phone:
            page.set_viewport_size(PHONE)
            name = f"{name}-phone"
        page.screenshot(path=str(self.outdir / f"{name}.png"))
        self.taken.append(f"{name}.png")
        if phone:
            page.set_viewport_size(LAPTOP)

    def go(self, page: Any, path: str) -> None:
        page.goto(f"{self.base}{path}")


def _cli(env_dir: Path, *args: str, stdin: str | None = None) -> str:
    env = {"PLATEKEEPER_DATA_DIR": str(env_dir / "var"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        check=True,
        cwd=env_dir,
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
    )
    return done.stdout


def _listed_plates(settings: Any, count: int) -> list[str]:
    """Plates the demo read several times (not the README tour's): the extract lists them, so they become leads."""
    from sqlalchemy import func, select

    from platekeeper.reads.models import PlateRead

    database = Database(settings.resolved_database_url)
    with database.session() as session:
        rows = session.execute(
            select(PlateRead.plate).group_by(PlateRead.plate).order_by(func.count().desc()).limit(count + 3)
        ).scalars()
        return [p for p in rows if not p.startswith("7AB")][:count]


def _prepare(env_dir: Path, reads: int) -> tuple[dict[str, str], str]:
    """The demo, the morning's stolen-vehicle extract, two accounts requested; the passwords and a camera key."""
    _cli(env_dir, "db", "upgrade")
    _cli(env_dir, "demo", "--reads", str(reads))
    creds = (env_dir / "var" / "demo-credentials.txt").read_text()
    passwords = dict(re.findall(r"^(\S+)\s+(\S+)\s+\S+$", creds, re.M))
    settings = load_settings(data_dir=env_dir / "var")
    extract = env_dir / "extract.csv"
    rows = [f"{p},CA,Stolen vehicle,V{1000 + i}0,HOND,CIV,GRY" for i, p in enumerate(_listed_plates(settings, 3))]
    extract.write_text(EXTRACT_HEADER + "\n".join([*rows, f"{LIVE_PLATE},CA,Stolen vehicle,V22011487,TOYT,CAM,SIL"]))
    _cli(env_dir, "hotlists", "create", "NCIC stolen", "--kind", "stolen_vehicle", "--source", "CLETS daily extract")
    _cli(env_dir, "hotlists", "import", str(extract), "--list", "NCIC stolen")
    _cli(env_dir, "users", "add", "jlee", "--role", "sworn_officer", "--name", "Officer Jordan Lee")
    _cli(env_dir, "users", "add", "mcruz", "--role", "records", "--name", "Maria Cruz, Records Section")
    key = re.search(r"api key: (\S+)", _cli(env_dir, "cameras", "add", "Unit 7", "--kind", "mobile")).group(1)
    return passwords, key


def _enrol(app: Any, usernames: list[str]) -> dict[str, Any]:
    """Enrol each demo account in TOTP with a secret this script knows, as its owner would with an app."""
    import pyotp
    from sqlalchemy import select

    from platekeeper.access.enrolment import enrol_totp
    from platekeeper.access.mfa import new_totp_secret
    from platekeeper.access.models import User
    from platekeeper.audit.service import Actor

    codes = {}
    with app.state.platekeeper.database.session() as session:
        work = app.state.platekeeper.services.work(session, Actor.system("demo"))
        for username in usernames:
            secret = new_totp_secret()
            enrol_totp(work, session.scalars(select(User).where(User.username == username)).one(), secret, 0)
            codes[username] = pyotp.TOTP(secret)
    return codes


def _live_hit(agency: Agency) -> None:
    """Unit 7 reads a listed plate: a live P1 hit, as a camera sends it (through the API, with its key)."""
    import base64

    import httpx
    from sqlalchemy import select

    from platekeeper.alerts.models import Alert
    from platekeeper.demo.render import render_crop, render_overview

    rng = random.Random(7)
    images = {
        "crop_image": {"base64": base64.b64encode(render_crop(LIVE_PLATE, "CALIFORNIA", rng)).decode()},
        "overview_image": {"base64": base64.b64encode(render_overview(LIVE_PLATE, "CALIFORNIA", rng)).decode()},
    }
    read = {"id": str(uuid.uuid4()), "plate": LIVE_PLATE, "plate_raw": LIVE_PLATE, "confidence": 0.94, **images}
    read |= {"captured_at": datetime.now(UTC).isoformat(), "latitude": 33.8891, "longitude": -118.3987}
    headers = {"Authorization": f"Bearer {agency.camera_key}"}
    httpx.post(f"{agency.base}/api/v1/reads", json={"reads": [read]}, headers=headers).raise_for_status()
    database = agency.app.state.platekeeper.database
    for _ in range(200):  # the matcher raises it in the background
        with database.session() as session:
            if session.scalars(select(Alert).where(Alert.plate == LIVE_PLATE)).first():
                return
        time.sleep(0.05)
    raise RuntimeError(f"no live alert was raised for {LIVE_PLATE}")


def administrator(agency: Agency) -> None:
    """The administrator: accounts waiting and training due, the cameras' health, then retention after the night's
    purge (run here through the installation's own purge, as `platekeeper serve` does daily)."""
    page = agency.signed_in("admin")
    agency.go(page, "/users")
    agency.shot(page, "admin-users")
    agency.go(page, "/cameras")
    agency.shot(page, "admin-cameras")
    agency.app.state.platekeeper.services.purger().run(trigger="schedule")
    agency.go(page, "/retention")
    agency.shot(page, "admin-retention")


def officer(agency: Agency) -> None:
    """An officer's shift: the home page's open alerts, a search with its reason, a read, then the live hit."""
    page = agency.signed_in("officer")
    agency.shot(page, "officer-home")
    agency.go(page, "/search")
    page.select_option("select[name=purpose]", CONTEXT["purpose"])
    page.fill("input[name=case_number]", CONTEXT["case_number"])
    page.fill("input[name=justification]", CONTEXT["justification"])
    page.fill("input[name=plate]", "7AB*")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("section.results")
    page.locator("section.results").scroll_into_view_if_needed()
    agency.shot(page, "search")
    agency.shot(page, "search", phone=True)
    page.click("section.results td.plate a >> nth=0")
    page.wait_for_selector("h1 .plate")
    agency.shot(page, "read")
    _live_hit(agency)
    agency.go(page, "/alerts")
    page.wait_for_selector("#live-status[data-state=live]")
    agency.shot(page, "officer-alerts")
    agency.shot(page, "officer-alerts", phone=True)
    page.click(f"#alert-rows tr:not(.historical) td.plate a:text('{LIVE_PLATE}')")
    page.wait_for_selector("#workflow")
    agency.shot(page, "officer-alert")
    agency.shot(page, "officer-alert", phone=True)
    _work_the_alert(page)


def _work_the_alert(page: Any) -> None:
    """The verification steps, so the figures have a disposition to count."""
    page.click("#acknowledge")
    page.check("input[name=result][value=match]")
    page.check("input[name=attested]")
    page.click("#visual-submit")
    page.select_option("select[name=result]", "confirmed")
    page.fill("input[name=reference]", "CL-4471")
    page.click("#clets-submit")
    page.fill("input[name=notes]", "vehicle recovered on Rosecrans, owner told")
    page.click("button[name=disposition][value=action_taken]")
    page.wait_for_selector("text=Closed: action taken.")


def supervisor(agency: Agency) -> None:
    """A sergeant: the approval queue, historical leads closed in bulk, the misread figures."""
    page = agency.signed_in("sergeant")
    agency.go(page, "/users/approvals")
    agency.shot(page, "supervisor-approvals")
    agency.go(page, "/alerts?source=historical&status=open")
    agency.shot(page, "supervisor-leads")
    page.locator("#alert-rows input[name=alert_id]").first.check()
    page.fill("#close-leads input[name=reason]", "reviewed: seen weeks ago, the owner reported it recovered")
    page.click("#close-leads button[type=submit]")
    page.wait_for_selector("main p.ok")
    agency.shot(page, "supervisor-leads-closed")
    agency.go(page, "/alerts/figures")
    agency.shot(page, "supervisor-figures")


def records(agency: Agency) -> None:
    """A Records clerk answering a detective: a search, then the plate's story (timeline, map, hits)."""
    page = agency.signed_in("records")
    agency.go(page, "/search")
    page.select_option("select[name=purpose]", CONTEXT["purpose"])
    page.fill("input[name=case_number]", CONTEXT["case_number"])
    page.fill("input[name=justification]", CONTEXT["justification"])
    page.fill("input[name=plate]", "7ABC123")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("section.results")
    page.click("a:has-text('story') >> nth=0")
    page.wait_for_selector("h1 .plate")
    agency.shot(page, "records-story")


def records_manager(agency: Agency) -> None:
    """The Records Manager: the approval queue, then the hotlists."""
    page = agency.signed_in("recmgr")
    agency.go(page, "/users/approvals")
    agency.shot(page, "records-manager-approvals")
    agency.go(page, "/hotlists")
    agency.shot(page, "records-manager-hotlists")


def auditor(agency: Agency) -> None:
    """The auditor: the audit log filtered by a case number, details as labelled fields."""
    page = agency.signed_in("auditor")
    agency.go(page, "/audit")
    page.fill("input[name=case_number]", CONTEXT["case_number"])
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("main table")
    agency.shot(page, "auditor-audit")


def vendor(agency: Agency) -> None:
    """The vendor's maintenance visit: system health, then the recent server errors (no plate data anywhere)."""
    page = agency.signed_in("vendor")
    agency.shot(page, "vendor-health")
    agency.go(page, "/system/errors")
    agency.shot(page, "vendor-errors")


ROLES: dict[str, Callable[[Agency], None]] = {  # in the day's order: the officer's hit is worked before the figures
    "alpr_admin": administrator,
    "sworn_officer": officer,
    "supervisor": supervisor,
    "records": records,
    "records_manager": records_manager,
    "auditor": auditor,
    "vendor_maintenance": vendor,
}


def take(outdir: Path, *, reads: int = 800, roles: list[str] | None = None) -> list[str]:
    """Set the agency up in a temporary folder and take each role's pictures; the file names written."""
    from playwright.sync_api import sync_playwright

    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp)
        passwords, key = _prepare(env_dir, reads)
        settings = load_settings(data_dir=env_dir / "var")
        app = create_app(settings, Database(settings.resolved_database_url))
        codes = _enrol(app, list(passwords))
        with live_server(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            agency = Agency(base, browser, outdir, passwords, codes, key, app)
            for role, pictures in ROLES.items():
                if roles is None or role in roles:
                    pictures(agency)
            browser.close()
    return agency.taken


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", nargs="?", default="docs/images", type=Path)
    parser.add_argument("--quick", action="store_true", help="a small demo (60 reads): for the test suite")
    parser.add_argument("--role", action="append", choices=sorted(ROLES), help="only this role (repeatable)")
    args = parser.parse_args(argv)
    taken = take(args.outdir, reads=60 if args.quick else 800, roles=args.role)
    print(f"{len(taken)} screenshots written to {args.outdir}: {', '.join(taken)}")


if __name__ == "__main__":
    main()
