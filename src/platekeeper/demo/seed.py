"""``platekeeper demo``: a demo agency with cameras, users of several roles and synthetic reads.

Reads go through the real ingest path (camera key, batch, images), so the demo exercises what cameras do.
Passwords are random and written, readable by the owner only, to ``data_dir/demo-credentials.txt``.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from platekeeper.access.models import User
from platekeeper.access.service import NewAccount, create_user, ensure_initial_admin, generate_password
from platekeeper.access.training import add_training_record, required_courses, training_records
from platekeeper.audit.events import DemoSeeded
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.cameras.service import create_camera
from platekeeper.cli_support import Runtime
from platekeeper.db import Database, utcnow
from platekeeper.demo.render import render_crop, render_overview
from platekeeper.files import write_private_text
from platekeeper.reads.images import ImageStore
from platekeeper.reads.ingest import ingest_batch
from platekeeper.reads.models import PlateRead

__all__ = ["DEMO_CAMERAS", "DEMO_USERS", "seed_demo"]

DEMO_CAMERAS = [
    ("Sepulveda & Rosecrans NB", "fixed", "Sepulveda Blvd at Rosecrans Ave, northbound", 33.9016, -118.3953),
    ("Highland & 15th", "fixed", "Highland Ave at 15th St", 33.8869, -118.4101),
    ("Marine Ave EB", "fixed", "Marine Ave east of Aviation Blvd", 33.8940, -118.3790),
    ("Unit 12", "mobile", "Patrol vehicle 12", None, None),
]
DEMO_USERS = [
    ("officer", "Officer Dana Reyes", "sworn_officer"),
    ("sergeant", "Sgt. Robin Vale", "supervisor"),
    ("records", "Sam Ito, Records Section", "records"),
    ("recmgr", "Pat Quinn, Records Manager", "records_manager"),
    ("auditor", "Lee Park, Auditor", "auditor"),
    ("vendor", "Vendor Maintenance Tech", "vendor_maintenance"),
]
STATES = ["CALIFORNIA"] * 8 + ["NEVADA", "ARIZONA", "OREGON"]
REGIONS = {"CALIFORNIA": "us-ca", "NEVADA": "us-nv", "ARIZONA": "us-az", "OREGON": "us-or"}
VEHICLES = 400
TOUR_PLATES = (("7ABC123", "CALIFORNIA"), ("7ABD123", "CALIFORNIA"), ("7ABC128", "NEVADA"))
"""Plates the README's tour searches for (exact ``7ABC123``, ``7AB*``, ``7?BC123``): always among the first reads,
so the tour finds them with any ``--reads``, a few times each over the 30 days."""
DAYS = 30
BATCH = 250
DEMO = Actor.system("demo")  # who the audit log says seeded the demo data


def _plate(rng: random.Random, state: str) -> str:
    digits, letters = string.digits, string.ascii_uppercase.replace("O", "").replace("I", "")
    if state == "CALIFORNIA":
        return rng.choice("5678") + "".join(rng.choices(letters, k=3)) + "".join(rng.choices(digits, k=3))
    return "".join(rng.choices(letters, k=3)) + "".join(rng.choices(digits, k=4 if state == "NEVADA" else 3))


def _b64(data: bytes) -> dict[str, str]:
    return {"base64": base64.b64encode(data).decode()}


def _vehicles(rng: random.Random) -> list[tuple[str, str, bytes, bytes]]:
    """The tour's vehicles first, then random ones for the other plates."""
    vehicles = [
        (text, state, render_crop(text, state, rng), render_overview(text, state, rng)) for text, state in TOUR_PLATES
    ]
    for _ in range(VEHICLES - len(TOUR_PLATES)):
        state = rng.choice(STATES)
        text = _plate(rng, state)
        vehicles.append((text, state, render_crop(text, state, rng), render_overview(text, state, rng)))
    return vehicles


def _is_empty(database: Database) -> bool:
    with database.session() as session:
        users = session.scalar(select(func.count(User.id))) or 0
        reads = session.scalar(select(func.count(PlateRead.id))) or 0
    return reads == 0 and users <= 1


def _seed_people(work: Work) -> list[tuple[str, str, str]]:
    credentials = []
    admin = ensure_initial_admin(work)
    if admin:
        credentials.append((admin[0], admin[1], work.settings.access.bootstrap_role))
    existing = set(work.session.scalars(select(User.username)))
    for username, name, role in DEMO_USERS:
        if username in existing or role not in work.settings.access.roles:
            continue
        password = generate_password()
        create_user(work, NewAccount(username, name, role, password), approved_by="system:demo")
        credentials.append((username, password, role))
    _seed_training(work)
    return credentials


def _seed_training(work: Work) -> None:
    """Record the required courses for demo accounts (and the first administrator) that have none; audited."""
    session, settings = work.session, work.settings
    for user in session.scalars(select(User).where(User.status == "active")):
        if training_records(session, user.id):
            continue
        for course in required_courses(settings, user.role):
            add_training_record(
                work,
                user.id,
                course=course.code,
                completed_on=settings.today() - timedelta(days=7),
                instructor="Demo Training Officer",
                evidence="demo data: no real training took place",
            )


def _seed_cameras(work: Work) -> list[Camera]:
    existing = {c.name: c for c in work.session.scalars(select(Camera))}
    cameras = []
    for name, kind, location, lat, lon in DEMO_CAMERAS:
        if name in existing:
            cameras.append(existing[name])
            continue
        camera, _key = create_camera(work, name=name, kind=kind, location=location, latitude=lat, longitude=lon)
        cameras.append(camera)
    return cameras


def _read(rng: random.Random, vehicle: tuple[str, str, bytes, bytes], camera: Camera) -> dict[str, object]:
    text, state, crop, overview = vehicle
    captured = utcnow() - timedelta(seconds=rng.randint(60, DAYS * 86400))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "plate": text,
        "plate_raw": text,
        "confidence": round(rng.uniform(0.62, 0.99), 3),
        "captured_at": captured.isoformat(),
        "region": REGIONS[state],
        "latitude": camera.latitude,
        "longitude": camera.longitude,
        "heading": round(rng.uniform(0, 359), 1),
        "crop_image": _b64(crop),
        "overview_image": _b64(overview),
    }


def _write_credentials(path: Path, credentials: list[tuple[str, str, str]]) -> None:
    lines = [f"{user:10} {password:24} {role}" for user, password, role in credentials]
    write_private_text(path, "\n".join(lines) + "\n", append=True)


def seed_demo(rt: Runtime, *, reads: int, if_empty: bool, console: Console) -> None:
    """Create the demo agency; with ``if_empty``, only when the database holds no reads and at most one user.
    Accounts, cameras and the summary are audited as ``system:demo``, each in its own transaction."""
    settings, database = rt.settings, rt.database
    if if_empty and not _is_empty(database):
        console.print("demo: the database already holds data; nothing seeded")
        return
    rng = random.Random(462)  # noqa: S311 - synthetic demo data, not secrets
    with rt.work(DEMO) as work:
        credentials = _seed_people(work)
    with rt.work(DEMO) as work:
        cameras = _seed_cameras(work)
    vehicles = _vehicles(rng)
    store = ImageStore.for_settings(settings)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding demo reads", total=reads)
        for start in range(0, reads, BATCH):
            count = min(BATCH, reads - start)
            with database.session() as session:
                camera = session.get_one(Camera, cameras[start // BATCH % len(cameras)].id)  # each camera in turn
                chosen = [
                    vehicles[start + i] if start + i < len(TOUR_PLATES) else rng.choice(vehicles) for i in range(count)
                ]
                payload = {"reads": [_read(rng, vehicle, camera) for vehicle in chosen]}
                ingest_batch(session, settings, store, camera, payload)
            progress.advance(task, count)
    with rt.work(DEMO) as work:
        work.record(DemoSeeded(reads=reads, cameras=len(cameras), users=len(credentials)))
    path = settings.data_dir / "demo-credentials.txt"
    if credentials:
        _write_credentials(path, credentials)
    console.print(f"demo: {len(cameras)} cameras, {reads} reads, {len(credentials)} new accounts")
    for user, password, role in credentials:
        console.print(f"  {user:10} {password:24} {role}", highlight=False)
    console.print(f"  (saved in {path}, readable by you only)")
    console.print(
        "  At its first sign-in each account sets up an authenticator app (TOTP) from a QR code.\n"
        "  Every active account, the administrator included, holds DEMO training records: no real training took"
        " place. They are marked DEMO on every page that shows them; record real training before real use."
    )
