"""Rate limits: sign-in per account and per client address (API and pages, password and one-time-code steps), the
API per personal token and per camera key; 429 with Retry-After, the audit event (once per window) and the config."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import ConfigError, load_settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, PASSWORD, Harness, csrf_of, make_read

HOME = ("10.0.0.1", 40001)
ELSEWHERE = ("10.0.0.2", 40002)
HarnessFactory = Callable[..., Harness]


@pytest.fixture
def limited(tmp_path: Path, database_url: str) -> Iterator[HarnessFactory]:
    """Builds the app with these ``rate_limits`` fields; its client signs in from ``HOME``."""
    opened: list[tuple[TestClient, Database]] = []

    def make(**rate_limits: object) -> Harness:
        settings = load_settings(
            data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, rate_limits=rate_limits
        )
        database = Database(settings.resolved_database_url)
        client = TestClient(create_app(settings, database), client=HOME)
        client.__enter__()
        opened.append((client, database))
        return Harness(settings=settings, database=database, client=client)

    yield make
    for client, database in opened:
        client.__exit__(None, None, None)
        database.dispose()


def _from(harness: Harness, address: tuple[str, int]) -> TestClient:
    return TestClient(harness.client.app, client=address)


def _api(client: TestClient, username: str, password: str = "wrong-password-1", code: str | None = None):
    body = {"username": username, "password": password} | ({"code": code} if code else {})
    return client.post("/api/v1/session", json=body)


def _events(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _retry_after(response) -> int:
    return int(response.headers["retry-after"])


def test_the_address_limit_stops_other_accounts_from_the_same_address(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_address="3/minute")
    for name in ("amy", "ben", "cal"):
        assert _api(harness.client, name).status_code == 401
    refused = _api(harness.client, "dee")
    assert refused.status_code == 429
    assert refused.json()["limit"] == "sign_in_per_address"
    assert (
        "from this address" in refused.json()["detail"]
        and "rate_limits.sign_in_per_address" in refused.json()["detail"]
    )
    assert 1 <= _retry_after(refused) <= 60
    assert _api(_from(harness, ELSEWHERE), "dee").status_code == 401  # another address is not limited


def test_the_account_limit_follows_the_account_to_another_address(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="2/minute")
    assert _api(harness.client, "alice").status_code == 401
    assert _api(harness.client, " ALICE ").status_code == 401  # the username as typed, trimmed and lowercased
    refused = _api(_from(harness, ELSEWHERE), "Alice")
    assert refused.status_code == 429 and refused.json()["limit"] == "sign_in_per_account"
    assert "for this account" in refused.json()["detail"]
    assert 1 <= _retry_after(refused) <= 60
    assert _api(_from(harness, ELSEWHERE), "bob").status_code == 401  # other accounts are not limited


def test_a_limited_attempt_with_the_right_password_does_not_sign_in(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="1/minute")
    harness.user("erin", "sworn_officer")
    assert _api(harness.client, "erin").status_code == 401
    refused = _api(harness.client, "erin", PASSWORD, harness.code("erin"))
    assert refused.status_code == 429 and "pk_session" not in refused.cookies
    assert harness.client.get("/api/v1/me").status_code == 401
    assert len(_events(harness, "auth.sign_in_failed")) == 1  # the refused attempt's password was not checked
    assert _events(harness, "auth.sign_in") == []


def test_the_window_passing_lets_the_account_in_again(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="1/second")
    harness.user("finn", "sworn_officer")
    assert _api(harness.client, "finn").status_code == 401
    refused = _api(harness.client, "finn", PASSWORD, harness.code("finn"))
    assert refused.status_code == 429 and _retry_after(refused) == 1
    time.sleep(1.1)  # the one-second window slides past the counted attempt
    assert _api(harness.client, "finn", PASSWORD, harness.code("finn")).status_code == 200


def test_refusals_are_audited_once_per_limit_key_and_window(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="1/second")
    harness.user("gail", "sworn_officer")
    assert _api(harness.client, "gail").status_code == 401
    for _ in range(5):
        assert _api(harness.client, "gail", "secret-guess-99").status_code == 429
    events = _events(harness, "auth.rate_limited")
    assert len(events) == 1
    event = events[0]
    assert (event.username, event.client, event.outcome, event.role) == ("gail", HOME[0], "failure", "sworn_officer")
    assert event.details["limit"] == "sign_in_per_account" and event.details["rule"] == "1 per 1 second"
    assert "secret-guess-99" not in str(event.details) and PASSWORD not in str(event.details)
    time.sleep(1.1)  # the next window: one more event for the next flood
    assert _api(harness.client, "gail").status_code == 401
    for _ in range(3):
        assert _api(harness.client, "gail").status_code == 429
    assert len(_events(harness, "auth.rate_limited")) == 2


def test_the_sign_in_page_answers_429_with_a_plain_sentence(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_address="2/minute")
    form = {"username": "hana", "password": "wrong-password-1", "next": "/"}
    for _ in range(2):
        assert harness.client.post("/login", data=form).status_code == 401
    page = harness.client.post("/login", data={**form, "password": PASSWORD})
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "Too many sign-in attempts from this address; try again in " in page.text
    assert f"try again in {_retry_after(page)} second" in page.text
    assert _events(harness, "auth.rate_limited")[0].details["step"] == "password"


def test_the_one_time_code_step_of_the_page_counts_too(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="2/minute")
    harness.user("ivan", "sworn_officer")
    mfa_page = harness.client.post("/login", data={"username": "ivan", "password": PASSWORD, "next": "/"})
    assert mfa_page.status_code == 200 and mfa_page.url.path == "/login/mfa"
    step = {"code": "000000", "next": "/", "csrf_token": csrf_of(mfa_page.text)}
    assert harness.client.post("/login/mfa", data=step).status_code == 401
    refused = harness.client.post("/login/mfa", data={**step, "code": harness.code("ivan")})
    assert refused.status_code == 429 and "for this account" in refused.text
    assert harness.client.get("/api/v1/me").status_code == 401
    assert _events(harness, "auth.rate_limited")[0].details["step"] == "one-time code"


def test_the_enrolment_code_step_counts_too(limited: HarnessFactory) -> None:
    harness = limited(sign_in_per_account="1/minute")  # the password step uses it up
    harness.user("jade", "sworn_officer", enrolled=False)
    enrol_page = harness.client.post("/login", data={"username": "jade", "password": PASSWORD, "next": "/"})
    assert enrol_page.status_code == 200 and enrol_page.url.path == "/login/enrol"
    step = {"code": "000000", "next": "/", "csrf_token": csrf_of(enrol_page.text)}
    refused = harness.client.post("/login/enrol", data=step)
    assert refused.status_code == 429 and _retry_after(refused) >= 1
    assert _events(harness, "auth.sign_in_failed") == []  # the code was not checked
    assert _events(harness, "auth.rate_limited")[0].details["step"] == "enrolment code"


def test_a_personal_api_token_is_limited(limited: HarnessFactory) -> None:
    harness = limited(api_per_token="3/minute")
    officer = harness.signed_in("auditor")
    created = officer.post("/api/v1/account/tokens", json={"name": "report", "scopes": ["audit.view"]})
    assert created.status_code == 201, created.text
    other = officer.post("/api/v1/account/tokens", json={"name": "other", "scopes": ["audit.view"]}).json()["token"]
    bearer = TestClient(harness.client.app, headers={"Authorization": f"Bearer {created.json()['token']}"})
    for _ in range(3):
        assert bearer.get("/api/v1/me").status_code == 200
    refused = bearer.get("/api/v1/me")
    assert refused.status_code == 429 and refused.json()["limit"] == "api_per_token"
    assert "API token" in refused.json()["detail"] and 1 <= _retry_after(refused) <= 60
    assert bearer.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    assert officer.get("/api/v1/me").status_code == 200  # the cookie session is not an API token


def test_a_camera_key_is_limited_on_reads_and_images(limited: HarnessFactory) -> None:
    harness = limited(api_per_camera="2/minute")
    _, key = harness.camera("Cam 1")
    _, other = harness.camera("Cam 2")
    auth = {"Authorization": f"Bearer {key}"}
    for _ in range(2):
        assert harness.client.post("/api/v1/reads", json={"reads": [make_read()]}, headers=auth).status_code == 200
    refused = harness.client.post("/api/v1/reads", json={"reads": [make_read()]}, headers=auth)
    assert refused.status_code == 429 and refused.json()["limit"] == "api_per_camera"
    assert 1 <= _retry_after(refused) <= 60
    assert harness.client.post("/api/v1/images", json={"images": []}, headers=auth).status_code == 429
    other_auth = {"Authorization": f"Bearer {other}"}
    assert harness.client.post("/api/v1/reads", json={"reads": [make_read()]}, headers=other_auth).status_code == 200


def test_limits_can_be_turned_off(limited: HarnessFactory) -> None:
    harness = limited(enabled=False, sign_in_per_account="1/minute")
    for _ in range(3):
        assert _api(harness.client, "jo").status_code == 401


def test_the_defaults_and_a_bad_rule_in_the_config(tmp_path: Path) -> None:
    limits = load_settings(data_dir=tmp_path).rate_limits
    assert (limits.sign_in_per_account, limits.sign_in_per_address) == ("10/minute", "30/minute")
    assert (limits.api_per_token, limits.api_per_camera) == ("600/minute", "1200/minute")
    for bad, rule in (("ten a minute", "count per window"), ("0/minute", "count"), ("5/month", "window")):
        with pytest.raises(ConfigError, match=rf"rate_limits\.api_per_token: .*{rule}"):
            load_settings(data_dir=tmp_path, rate_limits={"api_per_token": bad})
