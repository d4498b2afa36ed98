"""Forwarded headers are believed only from web.trusted_proxies: nobody else can write the audit log's client address.

Before the fix, `platekeeper serve` ran uvicorn with its default of trusting X-Forwarded-For and X-Forwarded-Proto
from 127.0.0.1, so any process on the host (or anything relayed through a local service) could record a false
address in the audit log, and claim TLS it did not have.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.db import Database
from platekeeper.web.app import create_app
from tests.browser import live_server
from tests.conftest import FAST_HASH, Harness

FORGED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def _failed_sign_in_clients(database: Database) -> list[str | None]:
    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed").order_by(AuditEvent.seq)
        )
        return [event.client for event in events]


def _sign_in(base: str, harness: Harness, username: str, **headers: str) -> httpx.Response:
    with httpx.Client(base_url=base, headers=headers) as client:
        return client.post("/api/v1/session", json=harness.sign_in_body(username))


def _try_wrong_password(base: str) -> None:
    with httpx.Client(base_url=base, headers=FORGED) as client:
        response = client.post("/api/v1/session", json={"username": "nobody", "password": "wrong password 1"})
    assert response.status_code == 401, response.text


def test_forwarded_headers_from_an_untrusted_address_are_ignored(harness: Harness) -> None:
    assert harness.settings.web.trusted_proxies == ()
    harness.user("officer1", "sworn_officer")
    with live_server(create_app(harness.settings, harness.database)) as base:
        _try_wrong_password(base)
        signed_in = _sign_in(base, harness, "officer1", **FORGED)
    assert _failed_sign_in_clients(harness.database) == ["127.0.0.1"]  # not the forged 203.0.113.9
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"].lower()
    assert "secure" not in cookie  # plain HTTP, whatever X-Forwarded-Proto claims
    assert "strict-transport-security" not in signed_in.headers


def test_a_trusted_proxy_names_the_client_and_the_scheme(settings: Settings, database: Database) -> None:
    trusting = settings.model_copy(update={"web": settings.web.model_copy(update={"trusted_proxies": ("127.0.0.1",)})})
    app = create_app(trusting, database)
    with TestClient(app) as client, live_server(app) as base:
        harness = Harness(settings=trusting, database=database, client=client)
        harness.user("officer1", "sworn_officer")
        _try_wrong_password(base)
        signed_in = _sign_in(base, harness, "officer1", **FORGED)
    assert _failed_sign_in_clients(database) == ["203.0.113.9"]
    assert signed_in.status_code == 200
    assert "secure" in signed_in.headers["set-cookie"].lower()  # the proxy terminated TLS
    assert signed_in.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize("entry", ["localhost", "10.0.0.0/33", "not an address", "127.0.0.1; rm"])
def test_trusted_proxies_must_be_addresses_or_networks(tmp_path, entry: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(data_dir=tmp_path, access=FAST_HASH, web={"trusted_proxies": [entry]})
    assert "web.trusted_proxies" in str(caught.value)
    assert "not an IP address or network" in str(caught.value)
