"""Shared fixtures: every database test runs on SQLite and on the local PostgreSQL server.

Each test run creates its own PostgreSQL databases (a migrated template, then one copy per test) and drops them at
the end, so parallel or repeated runs never collide. Where no PostgreSQL server answers, the PostgreSQL half is
skipped with the reason; under CI (CI=true) that is a failure instead.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyotp
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from platekeeper.access.enrolment import enrol_totp
from platekeeper.access.mfa import new_totp_secret
from platekeeper.access.service import NewAccount, create_user, needs_mfa
from platekeeper.access.training import add_training_record, required_courses
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.plates import kept_texts
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.cameras.service import create_camera
from platekeeper.config import Settings, load_settings
from platekeeper.db import Database
from platekeeper.web.app import create_app

PG_URL = os.environ.get("PLATEKEEPER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN_ID = f"pk_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
_CREATED_PG: list[str] = []
PASSWORD = "correct-horse-battery"  # test accounts only; the product has no built-in password
TEST_ACTOR = Actor.system("test")  # who the audit log says did what a test sets up through the services
FAST_HASH = {"password_hash": {"time_cost": 1, "memory_kib": 1024, "parallelism": 1}}  # argon2id, cheap for tests


def _admin_conninfo() -> str:
    url = make_url(PG_URL)
    return f"host={url.host} port={url.port or 5432} user={url.username or 'postgres'} dbname={url.database}"


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _pg_execute(sql: str) -> None:
    with psycopg.connect(_admin_conninfo(), autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files holding slow tests run first: with one file per worker (make test), a slow file started last kept
    one core busy alone at the end of the run."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each group stays


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated template database for this run, or None when no server answers (skip, or fail under CI)."""
    try:
        _pg_execute(f'CREATE DATABASE "{RUN_ID}_tmpl"')
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at {PG_URL} is not reachable ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI the PostgreSQL tests must run", pytrace=False)
        yield None
        return
    database = Database(_pg_url(f"{RUN_ID}_tmpl"))
    database.upgrade()
    database.dispose()
    yield f"{RUN_ID}_tmpl"
    for name in [*_CREATED_PG, f"{RUN_ID}_tmpl"]:
        _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated database for this test, on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "platekeeper.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    template = request.getfixturevalue("pg_template")
    if template is None:
        pytest.skip(f"PostgreSQL at {PG_URL} is not reachable; only the SQLite half ran")
    name = f"{RUN_ID}_{uuid.uuid4().hex[:8]}"
    _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    _CREATED_PG.append(name)
    return _pg_url(name)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PLATEKEEPER_* variable or platekeeper.yaml from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("PLATEKEEPER_") and name != "PLATEKEEPER_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    yield db
    db.dispose()


@dataclass
class Harness:
    """The app under test with helpers to make users, cameras and reads through the real services."""

    settings: Settings
    database: Database
    client: TestClient

    @property
    def store(self):  # the app's image store
        return self.client.app.state.platekeeper.image_store  # type: ignore[attr-defined]

    @property
    def key(self) -> bytes:
        return self.client.app.state.platekeeper.audit_key  # type: ignore[attr-defined]

    def work(self, session: Session, actor: Actor = TEST_ACTOR) -> Work:
        """A unit of audited work in ``session``, by default done by the system for the test (``system:test``)."""
        return Work(session, self.settings, self.key, actor)

    totp: dict[str, str] = field(default_factory=dict)  # username -> TOTP secret of accounts the harness enrolled
    used_steps: dict[str, int] = field(default_factory=dict)  # username -> last TOTP time step the harness sent

    def user(
        self, username: str, role: str, *, approved: bool = True, trained: bool = True, enrolled: bool | None = None
    ) -> str:
        """An account through the real services: by default approved, trained for its role and MFA-enrolled when
        the role needs MFA (ready to reach what its role grants). The keywords make the other states."""
        with self.database.session() as session:
            work = self.work(session)
            account = NewAccount(username, username.title(), role, PASSWORD)
            user = create_user(work, account, approved_by="system:test" if approved else None)
            if trained:
                for course in required_courses(self.settings, role):
                    add_training_record(
                        work, user.id, course=course.code, completed_on=date.today() - timedelta(days=1),
                        instructor="Test Instructor", evidence="recorded by the test harness",
                    )  # fmt: skip
            if enrolled if enrolled is not None else needs_mfa(self.settings, role):
                secret = new_totp_secret()
                enrol_totp(work, user, secret, int(time.time()) // 30 - 2)
                self.totp[user.username] = secret
        return username

    def code(self, username: str) -> str:
        """A fresh TOTP code for an enrolled test account (never a time step already used: replays are refused)."""
        now_step = int(time.time()) // 30
        # never the previous step: the window may roll over between here and the server's check
        step = max(now_step, self.used_steps.get(username, now_step - 1) + 1)
        if step > now_step + 1:  # a third sign-in of one account within 30 s: wait for the next step
            time.sleep(30 - time.time() % 30 + 0.1)
            return self.code(username)
        self.used_steps[username] = step
        return pyotp.TOTP(self.totp[username]).at(step * 30)

    def sign_in_body(self, username: str) -> dict[str, str]:
        """What ``POST /api/v1/session`` takes for a test account: the password and, when enrolled, a TOTP code."""
        body = {"username": username, "password": PASSWORD}
        if username in self.totp:
            body["code"] = self.code(username)
        return body

    def login(self, username: str, client: TestClient | None = None) -> TestClient:
        """Sign a client in through the API with the password and, for enrolled accounts, a TOTP code."""
        client = client or self.client
        response = client.post("/api/v1/session", json=self.sign_in_body(username))
        assert response.status_code == 200, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]  # cookie-authenticated writes need it
        client.headers["Sec-Fetch-Site"] = "same-origin"  # as a browser on platekeeper's own pages says
        return client

    def signed_in(self, role: str, username: str | None = None) -> TestClient:
        """A separate client signed in as a new user with this role."""
        name = self.user(username or f"{role.replace('_', '')}{uuid.uuid4().hex[:4]}", role)
        return self.login(name, TestClient(self.client.app))

    def camera(self, name: str = "Cam 1", kind: str = "fixed") -> tuple[int, str]:
        with self.database.session() as session:
            camera, api_key = create_camera(self.work(session), name=name, kind=kind)
        return camera.id, api_key


@pytest.fixture
def harness(settings: Settings, database: Database) -> Iterator[Harness]:
    app = create_app(settings, database)
    with TestClient(app) as client:
        yield Harness(settings=settings, database=database, client=client)


def jpeg_bytes(size: tuple[int, int] = (120, 60), color: tuple[int, int, int] = (200, 200, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_read(plate: str = "7ABC123", **overrides: Any) -> dict[str, Any]:
    """A valid read as a camera would send it."""
    read: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "plate": plate,
        "plate_raw": plate,
        "confidence": 0.91,
        "captured_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "latitude": 33.88,
        "longitude": -118.41,
        "heading": 90.0,
        "crop_image": {"base64": base64.b64encode(jpeg_bytes()).decode()},
    }
    read.update(overrides)
    return read


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry (what a browser posts back)."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


CONTEXT = {
    "purpose": "criminal_investigation",
    "case_number": "2026-001234",
    "justification": "grey sedan seen leaving the burglary on 5th St",
}


def shown_details(database: Database, event: AuditEvent) -> dict[str, Any]:
    """An audit event's details as the audit page shows them: each sealed plate digest replaced by its text."""
    with database.session() as session:
        return kept_texts(session, [event], days=730).details(event)
