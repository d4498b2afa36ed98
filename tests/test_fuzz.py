"""Fuzz the JSON API against its own OpenAPI schema (``/openapi.json``) with schemathesis.

Three runs through the real app, each after seeding a camera with reads, a hotlist with an entry and an alert so
that generated ids can find records:

- an officer's personal API token with every permission the role holds; on the plate-data routes half the cases
  carry a valid purpose, case number and justification in the ``X-Purpose`` / ``X-Case-Number`` /
  ``X-Justification`` headers (instead of the generated query values), so the search and view paths run, not only
  their refusals;
- an administrator's token on every route but the destructive ones (listed in ``ADMIN_EXCLUDED`` with the reason);
- a camera key against the two upload routes.

Each operation gets ``EXAMPLES`` cases, valid and invalid, derandomized (the same cases every run) and without an
example database. Every response must be below 500, carry a status code and content type the schema documents,
and match the documented body schema.

On SQLite by default, to keep the run short. ``PLATEKEEPER_FUZZ_DATABASE=postgresql`` runs it against the test
PostgreSQL server instead: that is where the 5xx it found lived (ids past 2^31, NUL in text), so run it that way
after changing how input reaches the database.

Not covered: the HTML pages (not in the schema; ``tests/test_bad_input.py`` walks them), cookie sessions and CSRF
(``tests/test_csrf.py``), the event stream (``GET /api/v1/alerts/stream`` is excluded: it never ends by itself).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import CONTEXT, Harness, make_read
from tests.hotlist_helpers import hotlist_with, ingest

# read when the module loads: the suite's fixtures hide PLATEKEEPER_* variables from the tests themselves
BACKEND = os.environ.get("PLATEKEEPER_FUZZ_DATABASE", "sqlite")
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", [BACKEND], indirect=True)]
EXAMPLES = 50  # generated cases per operation and run
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a request that hashes a password or writes an image may take a while on a busy machine
    derandomize=True,  # the same cases on every run: a failure in CI reproduces locally
    database=None,  # no .hypothesis/ example database in the repository
    suppress_health_check=list(HealthCheck),  # the schema's constraints, not the data, decide how cases are drawn
)
PLATE_DATA_PATHS = ("/api/v1/reads", "/api/v1/alerts", "/api/v1/hotlists/{hotlist_id}/entries")
STREAM = "/api/v1/alerts/stream"  # an event stream stays open until the client leaves: nothing to fuzz

# Destructive for the run itself or for the accounts it needs, so left out of the administrator's run (each is
# covered by its own tests):
ADMIN_EXCLUDED = [
    # revokes tokens, the fuzzer's own included (tests/test_access_tokens.py)
    ("DELETE", "/api/v1/account/tokens/{token_id}"),
    # deactivate, change role, reset password or MFA: would lock the administrator out of the rest of the run
    # (tests/test_access_lifecycle.py)
    ("POST", "/api/v1/users/{user_id}/deactivate"),
    ("POST", "/api/v1/users/{user_id}/role"),
    ("POST", "/api/v1/users/{user_id}/mfa-reset"),
    ("POST", "/api/v1/users/{user_id}/password-reset"),
    # voids the training the administrator's plate permissions need (tests/test_access_training.py)
    ("POST", "/api/v1/users/{user_id}/training/{record_id}/void"),
    # a full import replaces a whole list; imports have their own tests (tests/test_hotlists.py)
    ("POST", "/api/v1/hotlists/{hotlist_id}/import"),
]
OFFICER_EXCLUDED = [("DELETE", "/api/v1/account/tokens/{token_id}")]  # revokes the fuzzer's own token
CAMERA_ROUTES = ["/api/v1/reads", "/api/v1/images"]


def _seeded(harness: Harness) -> Harness:
    """Something for the generated ids to find: a camera with reads, a hotlist with entries, an alert (id 1 each)."""
    _, key = harness.camera("Seed cam")
    hotlist_with(harness, "5SOW350,CA,VEH,Stolen 2026-11-20,V123456789,HOND,CIV,GRY\n")
    ingest(harness, key, make_read("5SOW350"), make_read("7XYZ999"))
    return harness


def _token(harness: Harness, role: str) -> str:
    """A personal API token holding every permission of a new, ready account with this role."""
    client = harness.signed_in(role)
    permissions = client.get("/api/v1/me").json()["permissions"]
    response = client.post("/api/v1/account/tokens", json={"name": "fuzz", "scopes": permissions})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def _schema(harness: Harness) -> Any:
    config = SchemathesisConfig.from_dict({})  # explicit, so that no schemathesis.toml is looked for
    return schemathesis.openapi.from_asgi("/openapi.json", harness.client.app, config=config)


def _without(schema: Any, excluded: list[tuple[str, str]]) -> Any:
    for method, path in excluded:
        schema = schema.exclude(method=method, path=path)
    return schema.exclude(path=STREAM)


def _call(harness: Harness, case: Any, stated: bool) -> None:
    """Send the case with the run's credentials and check the answer; ``stated``: a valid context in the headers."""
    headers = {"Authorization": harness.client.headers["Authorization"]}
    if stated and case.path.startswith(PLATE_DATA_PATHS):
        for name in CONTEXT:
            (case.query or {}).pop(name, None)  # the query wins over the headers
        headers |= {"X-Purpose": CONTEXT["purpose"], "X-Case-Number": CONTEXT["case_number"]}
        headers["X-Justification"] = CONTEXT["justification"]
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS)


def _fuzz(harness: Harness, schema: Any) -> None:
    """Run every operation of the schema with valid and invalid cases; report each operation that failed.

    Each operation is its own hypothesis test (so ``max_examples`` is per operation, and its failure is shrunk
    to a small example); the failures are collected and reported together."""
    # schemathesis's own pytest integration (schema.parametrize, from_fixture) renames pytest's node ids through a
    # private attribute that pytest 9.2 no longer has, so the operations' strategies are driven by hypothesis here.
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the filters left no operation to fuzz"
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
        )

        @FUZZ_SETTINGS
        @given(case=cases, stated=st.booleans())
        def run(case: Any, stated: bool) -> None:
            _call(harness, case, stated)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports failures as a group
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_fuzz_as_an_officer(harness: Harness) -> None:
    _seeded(harness)
    harness.client.headers["Authorization"] = f"Bearer {_token(harness, 'sworn_officer')}"
    _fuzz(harness, _without(_schema(harness), OFFICER_EXCLUDED))


def test_fuzz_as_an_administrator(harness: Harness) -> None:
    _seeded(harness)
    harness.client.headers["Authorization"] = f"Bearer {_token(harness, 'alpr_admin')}"
    _fuzz(harness, _without(_schema(harness), ADMIN_EXCLUDED))


def test_fuzz_as_a_camera(harness: Harness) -> None:
    _seeded(harness)
    harness.client.headers["Authorization"] = f"Bearer {harness.camera('Fuzz cam')[1]}"
    _fuzz(harness, _schema(harness).include(method="POST", path=CAMERA_ROUTES))
