"""Sharing with other agencies (policy 462.7; Civil Code 1798.90.55): the rules, review, fulfilment, the link."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from platekeeper.audit.models import AuditEvent
from platekeeper.config import ConfigError, load_settings
from platekeeper.retention.service import verify_package
from platekeeper.sharing.models import SharingLink, SharingRelease
from tests.conftest import Harness
from tests.retention_helpers import age, ingest_reads, read_with
from tests.sharing_helpers import agency, package_reads, submit, window


def _actions(harness: Harness, action: str) -> list[AuditEvent]:
    with harness.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@pytest.mark.parametrize(
    ("kind", "jurisdiction", "rule"),
    [
        ("law_enforcement", "other_state", "recipient_not_californian"),
        ("law_enforcement", "federal", "recipient_federal"),
        ("private", "none", "recipient_private"),
    ],
)
def test_recipients_outside_california_public_agencies_are_refused(
    harness: Harness, kind: str, jurisdiction: str, rule: str
) -> None:
    clerk = harness.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk, "Elsewhere", kind=kind, jurisdiction=jurisdiction, ori=None))
    assert made["status"] == "refused"
    fired = {d["rule"]: d for d in made["decisions"]}
    assert fired[rule]["action"] == "refuse" and "1798.90.55(b)" in fired[rule]["message"]
    manager = harness.signed_in("records_manager", "boss")
    review = manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    assert review.status_code == 409 and review.json()["field"] == "status"
    (entered,) = _actions(harness, "sharing.request")
    assert entered.outcome == "refused" and any(rule in r for r in entered.details["rules"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"description": "locate a person for ICE removal proceedings"},
        {"legal_basis": "8 U.S.C. 1357 immigration detainer"},
        {"description": "assist Border Patrol with a deportation order"},
    ],
)
def test_an_immigration_enforcement_purpose_is_refused(harness: Harness, overrides: dict[str, str]) -> None:
    clerk = harness.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk), **overrides)
    assert made["status"] == "refused"
    assert [d["rule"] for d in made["decisions"] if d["action"] == "refuse"] == ["immigration_enforcement"]


def test_police_is_not_mistaken_for_ice_and_broad_scopes_are_warned(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk), plates=[], description="police pursuit of a stolen vehicle", **window(40))
    assert made["status"] == "pending_review"
    assert {d["rule"]: d["action"] for d in made["decisions"]} == {
        "no_plate": "warn",
        "long_window": "warn",
        "many_cameras": "warn",
    }


@pytest.mark.parametrize(
    "rules",
    [
        {"recipient_federal": "allow"},
        {"recipient_not_californian": "warn"},
        {"recipient_private": "allow"},
        {"immigration_enforcement": "warn"},
    ],
)
def test_a_config_that_loosens_a_rule_unlawfully_fails_at_start_up(tmp_path: Path, rules: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(data_dir=tmp_path, sharing={"rules": rules})
    assert "Civil Code 1798.90.55(b)" in str(raised.value) and f"sharing.rules.{next(iter(rules))}" in str(raised.value)


def test_lawful_config_changes_start(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, sharing={"rules": {"recipient_not_law_enforcement": "warn", "no_plate": "refuse"}}
    )
    assert settings.sharing.action("recipient_not_law_enforcement") == "warn"
    with pytest.raises(ConfigError, match="may add terms but not remove"):
        load_settings(data_dir=tmp_path, sharing={"immigration_terms": ["immigration"]})
    roles = {name: role.model_dump() for name, role in settings.access.roles.items()}
    roles["records"]["permissions"] = [*roles["records"]["permissions"], "sharing.review"]
    with pytest.raises(ConfigError, match=r"sharing\.review is for the Records Manager"):
        load_settings(data_dir=tmp_path, access={"roles": roles})
    with pytest.raises(ConfigError, match=r"must be a role that grants sharing\.review"):
        load_settings(data_dir=tmp_path, sharing={"designee_roles": ["records"]})
    designee = load_settings(data_dir=tmp_path, access={"roles": roles}, sharing={"designee_roles": ["records"]})
    assert designee.sharing.designee_roles == ("records",)


def test_self_approval_is_refused(harness: Harness) -> None:
    manager = harness.signed_in("records_manager", "boss")
    made = submit(manager, agency(manager))
    own = manager.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    assert own.status_code == 403 and "never approved by the account that entered it" in own.json()["detail"]
    (refused,) = _actions(harness, "sharing.refused")
    assert refused.outcome == "refused" and refused.details["step"] == "review"
    clerk = harness.signed_in("records", "clerk")  # records may enter and fulfil, never review
    assert clerk.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"}).status_code == 403
    other = harness.signed_in("records_manager", "other")
    denied = other.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "deny"})
    assert denied.status_code == 400 and denied.json()["field"] == "note"
    approved = other.post(f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["retain_until"] > datetime.now(UTC).date().isoformat()


def _shared_case(harness: Harness) -> tuple[list[str], dict]:
    _, key = harness.camera("Pier Ave")
    young, other_time, other_plate, old = (
        read_with("6SHR001", (10, 20, 30)),
        read_with("6SHR001", (40, 50, 60)),
        read_with("6SHR002", (70, 80, 90)),
        read_with("6SHR001", (15, 25, 35)),
    )
    ids = ingest_reads(harness, key, young, other_time, other_plate, old)
    age(harness, [ids[1]], 3)  # inside the window asked, outside the window approved
    age(harness, [ids[3]], 400)  # inside the window asked, past retention
    clerk = harness.signed_in("records", "clerk")
    made = submit(clerk, agency(clerk), plates=["6SHR001", "6SHR002"], **window(500))
    manager = harness.signed_in("records_manager", "boss")
    narrowed = {"plates": ["6SHR001"], **window(1, 0.5), "camera_ids": []}
    decided = manager.post(
        f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve", "scope": narrowed}
    )
    assert decided.status_code == 200, decided.text
    return ids, {"clerk": clerk, "request": made}


def test_the_fulfilment_holds_exactly_the_approved_scope_and_nothing_past_retention(
    harness: Harness, tmp_path: Path
) -> None:
    ids, case = _shared_case(harness)
    clerk, made = case["clerk"], case["request"]
    done = clerk.post(f"/api/v1/sharing/requests/{made['id']}/fulfil", json={})
    assert done.status_code == 200, done.text
    assert done.json()["reads"] == 1
    token_path = done.json()["link"].split("://", 1)[1].split("/", 1)[1]
    data = harness.client.post(f"/{token_path}").content
    assert [row["id"] for row in package_reads(data)] == [ids[0]]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(tmp_path / "unzipped")
    (folder,) = (tmp_path / "unzipped").iterdir()
    assert verify_package(folder, harness.client.app.state.platekeeper.signing_key.public) == []
    record = json.loads((folder / "request.json").read_text())
    assert record["approved_by"] == "boss" and record["approved_scope"]["plates"] == ["6SHR001"]
    (fulfilled,) = _actions(harness, "sharing.fulfil")
    assert fulfilled.purpose == "criminal_investigation" and fulfilled.case_number == "HB-26-0412"
    assert fulfilled.username == "clerk" and fulfilled.details["reads"] == 1
    again = clerk.post(f"/api/v1/sharing/requests/{made['id']}/fulfil", json={})
    assert again.status_code == 409


def test_the_download_link_works_once_and_expires(harness: Harness) -> None:
    _, case = _shared_case(harness)
    link = case["clerk"].post(f"/api/v1/sharing/requests/{case['request']['id']}/fulfil", json={}).json()["link"]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    page = harness.client.get(path)
    assert page.status_code == 200 and "works once" in page.text
    first = harness.client.post(path)
    assert first.status_code == 200 and first.headers["content-type"] == "application/zip"
    second = harness.client.post(path)
    assert second.status_code == 410 and "already used" in second.text
    downloads = _actions(harness, "sharing.download")
    assert [e.outcome for e in downloads] == ["success", "refused"]
    assert downloads[0].details["address"] == "testclient" and downloads[0].details["recipient"]
    assert harness.client.post("/share/" + "x" * 43).status_code == 404
    # a second request whose link is left to expire
    made = submit(case["clerk"], agency(case["clerk"], "Redondo Beach Police Department", ori=None))
    harness.signed_in("records_manager", "boss2").post(
        f"/api/v1/sharing/requests/{made['id']}/review", json={"decision": "approve"}
    )
    late = case["clerk"].post(f"/api/v1/sharing/requests/{made['id']}/fulfil", json={}).json()["link"]
    with harness.database.session() as session:
        session.execute(update(SharingLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with harness.database.session() as session:
        (location,) = session.scalars(select(SharingRelease.location).where(SharingRelease.delivered_at.is_(None)))
    assert Path(location).is_file()
    expired = harness.client.post("/" + late.split("://", 1)[1].split("/", 1)[1])
    assert expired.status_code == 410 and "expired" in expired.text
    assert not Path(location).exists()  # plate data never waits on the server past its link


def test_bad_requests_name_the_field(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    agency_id = agency(clerk)
    cases = {
        "document": {"document_base64": "aGVsbG8gd29ybGQ="},  # "hello world": neither PDF nor image
        "document_base64": {"document_base64": "not base64!"},
        "plates": {"plates": ["6SHR*"]},
        "purpose": {"purpose": "immigration"},
        "until": {"since": window()["until"], "until": window()["since"]},
        "camera_ids": {"camera_ids": [999999]},
        "received_on": {"received_on": "2999-01-01"},
        "description": {"description": "short"},
    }
    for field, overrides in cases.items():
        made = submit(clerk, agency_id, status=400, **overrides)
        assert made["field"] == field, (field, made)
    assert submit(clerk, 999999, status=400)["field"] == "agency_id"
    wrong = clerk.post("/api/v1/sharing/requests", json={"agency_id": "x"})
    assert wrong.status_code == 422
    assert clerk.post("/api/v1/sharing/agencies", json={"name": "X Y", "kind": "law_enforcement",
                      "jurisdiction": "california", "ori": "bad"}).json()["field"] == "ori"  # fmt: skip


def test_agency_changes_are_audited(harness: Harness) -> None:
    clerk = harness.signed_in("records", "clerk")
    agency_id = agency(clerk)
    body = {"name": "Hermosa Beach Police Department", "kind": "law_enforcement", "jurisdiction": "california",
            "ori": "CA0191100", "address": "1315 Valley Dr", "contacts": "Records: 310-555-0100"}  # fmt: skip
    assert clerk.put(f"/api/v1/sharing/agencies/{agency_id}", json=body).status_code == 200
    added, changed = _actions(harness, "sharing.agency")
    assert changed.details["changes"] == {"address": ["540 Pier Ave, Hermosa Beach", "1315 Valley Dr"]}
    assert added.details["changes"]["name"][1] == "Hermosa Beach Police Department"
