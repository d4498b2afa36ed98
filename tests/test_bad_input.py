"""Bad input found in a security review that answered 500: each is now a 4xx naming the field, and stores nothing.

Non-ASCII digits in a one-time code, integers past 64 bits in ids and filters (and, on PostgreSQL, past 32
bits: the id columns are INTEGER), a date at the end of the calendar,
JSON nested 100,000 deep, a 5,000-digit number in a read, a chunked body over the limit without a declared
length, and (on PostgreSQL) the NUL character in request text or in an imported hotlist file.
"""

from __future__ import annotations

import json
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from platekeeper.access.models import User
from platekeeper.audit.models import AuditEvent
from platekeeper.reads.models import PlateRead
from tests.browser import live_server
from tests.conftest import CONTEXT, PASSWORD, Harness, csrf_of, make_read

ARABIC_INDIC = "\u0661\u0662\u0663\u0664\u0665\u0666"  # ١٢٣٤٥٦: str.isdigit() says yes
FULL_WIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"  # full-width digits one to six
HUGE = str(2**63)  # one past the largest 64-bit signed integer
HUGER = "9" * 40
PAST_INT32 = str(2**31)  # one past PostgreSQL's INTEGER, the id columns' type


def _failures(harness: Harness, username: str) -> int:
    with harness.database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return user.failed_attempts


def _events(harness: Harness, action: str) -> int:
    with harness.database.session() as session:
        return int(session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


@pytest.mark.parametrize("code", [ARABIC_INDIC, FULL_WIDTH, "12345\u0667"])
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_code_of_non_ascii_digits_is_a_failed_attempt(harness: Harness, code: str) -> None:
    harness.user("dana", "sworn_officer")
    before = _events(harness, "auth.sign_in_failed") + _events(harness, "auth.mfa_failed")
    response = harness.client.post("/api/v1/session", json={"username": "dana", "password": PASSWORD, "code": code})
    assert response.status_code == 401, response.text
    assert _failures(harness, "dana") == 1
    browser = TestClient(harness.client.app)
    browser.post("/login", data={"username": "dana", "password": PASSWORD}, follow_redirects=False)
    page = browser.post("/login/mfa", data={"code": code, "csrf_token": csrf_of(browser.get("/login/mfa").text)})
    assert page.status_code == 401 and "one-time code is wrong" in page.text
    assert _failures(harness, "dana") == 2
    after = _events(harness, "auth.sign_in_failed") + _events(harness, "auth.mfa_failed")
    assert after - before == 2  # both attempts are in the audit log


def _ids_to_try(harness: Harness) -> list[tuple[str, str]]:
    routes = []
    for value in (PAST_INT32, HUGE, HUGER, "-" + HUGE):
        routes += [
            ("GET", f"/api/v1/reads?camera={value}&since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z"),
            ("GET", f"/search?camera={value}&since=2026-01-01T00:00&until=2026-01-02T00:00"),
            ("GET", f"/api/v1/alerts/{value}"),
            ("GET", f"/alerts/{value}"),
            ("POST", f"/api/v1/alerts/{value}/acknowledge"),
            ("GET", f"/api/v1/hotlists/{value}"),
            ("GET", f"/hotlists/{value}"),
            ("POST", f"/api/v1/hotlists/{value}/import"),
            ("GET", f"/api/v1/users/{value}"),
            ("GET", f"/users/{value}"),
            ("POST", f"/api/v1/users/{value}/unlock"),
            ("POST", f"/api/v1/users/{value}/password-reset"),
            ("POST", f"/users/{value}/unlock"),
            ("DELETE", f"/api/v1/account/tokens/{value}"),
            ("GET", f"/cameras/{value}"),
            ("POST", f"/cameras/{value}/deactivate"),
        ]
    return routes


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_ids_past_32_bits_are_a_4xx(harness: Harness) -> None:
    clients = {role: harness.signed_in(role) for role in ("alpr_admin", "sworn_officer", "records_manager")}
    failures = []
    for method, path in _ids_to_try(harness):
        for role, client in clients.items():
            params = CONTEXT if "reads" in path or "search" in path else None
            data = {"csrf_token": client.headers["X-CSRF-Token"]} if method == "POST" else None
            response = client.request(method, path, params=params, data=data, follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"{role} {method} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_date_at_the_end_of_the_calendar_is_a_4xx_or_an_empty_page(harness: Harness) -> None:
    auditor = harness.signed_in("auditor")
    for path in ("/api/v1/audit/events", "/audit"):
        for query in ({"until": "9999-12-31"}, {"since": "9999-12-31"}, {"since": "0001-01-01"}):
            response = auditor.get(path, params=query)
            assert response.status_code in (200, 400, 422), (path, query, response.status_code)
            if response.status_code != 200 and path.startswith("/api/"):
                assert "until" in response.text or "since" in response.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_json_nested_100000_deep_is_a_4xx(harness: Harness) -> None:
    _, key = harness.camera()
    body = b"[" * 100_000 + b"]" * 100_000
    for path, headers in (
        ("/api/v1/reads", {"Authorization": f"Bearer {key}"}),
        ("/api/v1/session", {}),
    ):
        response = harness.client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.status_code)
    admin = harness.signed_in("alpr_admin")
    response = admin.post("/api/v1/users", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_number_of_5000_digits_in_a_read_is_refused_for_that_read(harness: Harness) -> None:
    _, key = harness.camera()
    huge = "9" * 5000
    for field in ("confidence", "latitude", "heading"):
        read = make_read()
        raw = '{"reads": [' + _with_raw_number(read, field, huge) + "]}"
        response = harness.client.post(
            "/api/v1/reads", content=raw, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (field, response.status_code, response.text[:200])
        assert field in response.text
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(PlateRead)) == 0


def _with_raw_number(read: dict, field: str, digits: str) -> str:
    import json

    text = json.dumps({**read, field: 0.5})
    return text.replace(f'"{field}": 0.5', f'"{field}": {digits}')


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_chunked_body_over_the_limit_is_413_like_a_declared_one(harness: Harness) -> None:
    _, key = harness.camera()
    limit = harness.settings.ingest.max_request_bytes
    with live_server(harness.client.app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(
                (
                    "POST /api/v1/reads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\r\n"
                ).encode()
            )
            chunk = b"x" * (1024 * 1024)
            sent = 0
            try:
                while sent <= limit + len(chunk):
                    conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    sent += len(chunk)
                conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may close the connection once it has answered
            answer = _read_answer(conn)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "max_request_bytes" in answer


def _read_answer(conn: socket.socket) -> str:
    """The whole answer: headers, then the body up to its declared length."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _bomb_png() -> bytes:
    """49 million pixels of one grey in about 48 KB: decoding it costs a quarter of a second and 49 MB."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (7000, 7000), 128).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_decompression_bomb_is_refused_before_it_is_decoded(harness: Harness) -> None:
    """20 such PNGs in one batch took 5 s to decode: each is now refused from its header and byte size."""
    _, key = harness.camera()
    bomb = _bomb_png()
    assert len(bomb) < 100_000
    reads = [make_read(crop_image={"base64": _b64(bomb)}) for _ in range(20)]
    response = harness.client.post("/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422, response.text
    reasons = {item["reason"] for item in response.json()["results"]}
    assert len(reasons) == 1 and "ingest.max_pixels_per_byte" in reasons.pop()
    with harness.database.session() as session:
        assert session.scalar(select(func.count()).select_from(PlateRead)) == 0


def _count(harness: Harness, model: type) -> int:
    with harness.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_nul_character_in_any_text_is_a_4xx_naming_the_field(harness: Harness) -> None:
    """PostgreSQL cannot store or compare text holding U+0000: sign-in, a list's name, a token's name, a case
    number and a read's raw text answered 500 there."""
    from platekeeper.hotlists.models import Hotlist

    officer = harness.signed_in("sworn_officer")
    admin = harness.signed_in("alpr_admin")
    _, key = harness.camera()
    camera = {"Authorization": f"Bearer {key}"}
    read = make_read(plate_raw="7ABC\x00123")
    answers = {
        "username": harness.client.post("/api/v1/session", json={"username": "dana\x00", "password": PASSWORD}),
        "name": admin.post("/api/v1/hotlists", json={"name": "Stolen\x00", "kind": "stolen_vehicle", "source": "x"}),
        "scopes.0": officer.post("/api/v1/account/tokens", json={"name": "t", "scopes": ["reads.search\x00"]}),
        "case_number": officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC123", "case_number": "26\x00"}),
        "reads.0.plate_raw": harness.client.post("/api/v1/reads", json={"reads": [read]}, headers=camera),
        "the 'batch' part: reads.0.plate_raw": harness.client.post(
            "/api/v1/reads", data={"batch": json.dumps({"reads": [read]})}, files={"x": b""}, headers=camera
        ),
    }
    for field, response in answers.items():
        assert response.status_code == 422, (field, response.status_code, response.text[:200])
        assert field in response.json()["detail"], (field, response.text[:200])
    page = TestClient(harness.client.app).post("/login", data={"username": "dana\x00", "password": PASSWORD})
    assert page.status_code == 422 and "username" in page.text
    assert _count(harness, Hotlist) == 0 and _count(harness, PlateRead) == 0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_hotlist_file_with_the_nul_character_is_refused_naming_the_line(harness: Harness) -> None:
    """A NUL inside an imported file's reason or make answered 500 on PostgreSQL; the list is left as it was."""
    from platekeeper.hotlists.models import HotlistEntry
    from tests.hotlist_helpers import CSV_HEADER, make_list

    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager)
    good = "7XYZ999,CA,WAN,Felony warrant,,TOYT,CAM,BLK\n"
    for bad in ("5SOW350,CA,VEH,Sto\x00len,V123456789,HOND,CIV,GRY\n", "5SOW350,CA,VEH,Stolen,,HO\x00ND,CIV,GRY\n"):
        response = manager.post(f"/api/v1/hotlists/{hotlist_id}/import", content=(CSV_HEADER + good + bad).encode())
        assert response.status_code == 400, response.text
        assert "line 3" in response.json()["detail"] and "NUL" in response.json()["detail"]
    assert _count(harness, HotlistEntry) == 0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_import_page_refuses_the_nul_character_in_its_fields_and_file_name(harness: Harness) -> None:
    """The import page's form is multipart, which the NUL guard in front of every route does not parse: its text
    fields and the file's name are checked by the page itself."""
    from platekeeper.hotlists.models import HotlistEntry
    from tests.hotlist_helpers import CSV_HEADER, make_list

    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager)
    form = {"csrf_token": manager.headers["X-CSRF-Token"], "hotlist_id": str(hotlist_id)}
    body = (CSV_HEADER + "7XYZ999,CA,WAN,Felony warrant,,TOYT,CAM,BLK\n").encode()
    mapped = manager.post(
        "/hotlists/import", data={**form, "mapping": "plate=Plate\x00Number"}, files={"file": ("x.csv", body)}
    )
    boundary = "b0undary"  # by hand: a client library would percent-encode the NUL in the file's name
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in form.items()]
    raw = (
        "".join(parts).encode()
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="extract\x00.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    named = manager.post(
        "/hotlists/import", content=raw, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    for field, response in (("mapping", mapped), ("file", named)):
        assert response.status_code == 422, (field, response.status_code)
        assert f"{field}: contains the NUL character" in response.text
    assert _count(harness, HotlistEntry) == 0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_nul_character_is_refused_however_the_body_is_encoded(harness: Harness) -> None:
    """Found in review: a JSON media type other than application/json, JSON in UTF-16 and the sign-in page's form
    sent as multipart all reached PostgreSQL with a NUL (500 there; stored on SQLite)."""
    body = {"username": "ad\x00min", "password": PASSWORD}
    encoded = json.dumps(body)
    answers = {
        "merge-patch+json": harness.client.post(
            "/api/v1/session", content=encoded, headers={"content-type": "application/merge-patch+json"}
        ),
        "utf-16": harness.client.post(
            "/api/v1/session", content=encoded.encode("utf-16"), headers={"content-type": "application/json"}
        ),
        "multipart page": TestClient(harness.client.app).post(
            "/login", files={"username": (None, "ad\x00min"), "password": (None, PASSWORD)}
        ),
    }
    for how, response in answers.items():
        assert response.status_code == 422, (how, response.status_code, response.text[:200])
        assert "username" in response.text, how
    with harness.database.session() as session:
        assert session.scalar(select(func.count(AuditEvent.seq)).where(AuditEvent.username.like("%min%"))) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_page_for_an_id_that_cannot_exist_is_not_found(harness: Harness) -> None:
    """A mistyped or huge id in a page's address is a page that does not exist (404), not a 422 naming the route's
    internal parameter; the API still names it (422 with the field)."""
    clerk = harness.signed_in("records_manager")
    for path in ("/sharing/requests/abc", f"/sharing/requests/{2**80}", f"/pra/{2**80}", f"/holds/{2**80}"):
        page = clerk.get(path)
        assert page.status_code == 404, (path, page.status_code)
        assert "request_id" not in page.text and "hold_id" not in page.text and "path." not in page.text
    api = clerk.get(f"/api/v1/sharing/requests/{2**80}")
    assert api.status_code == 422 and api.json()["problems"][0]["field"] == "path.request_id"
