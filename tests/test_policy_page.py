"""The posted usage and privacy policy (issue 24; Civil Code 1798.90.51(b)): public, generated from the running
config section by section, every policy field on the page, versioned as the config changes, printable as PDF."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import Settings, load_settings
from platekeeper.transparency.documents import policy_body
from platekeeper.transparency.models import PolicyVersion
from platekeeper.transparency.policy import POLICY_FIELDS, document_sha256, policy_document
from platekeeper.web.app import create_app
from tests.conftest import FAST_HASH, Harness
from tests.pdf_helpers import assert_pdf_not_blank

BASE = load_settings()


def _plus(items: Any, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items] + list(extra)


RECORDS_SUPERVISOR = {
    "label": "Records Supervisor",
    "permissions": ["sharing.review", "sharing.register"],
    "description": "Reviews sharing requests as the Records Manager's designee.",
}
AUDIT_LEAD = {
    "label": "Audit Lead",
    "permissions": ["audits.view", "audits.perform", "audits.approve"],
    "description": "Performs or approves the system audits.",
}
CHANGES: dict[str, tuple[dict[str, Any], str]] = {
    "agency.name": ({"agency": {"name": "Redondo Beach Police Department"}}, "Redondo Beach Police Department"),
    "agency.organization": ({"agency": {"organization": "RBPD"}}, "organization (RBPD)"),
    "agency.timezone": ({"agency": {"timezone": "America/Denver"}}, "America/Denver"),
    "agency.custodian_title": ({"agency": {"custodian_title": "Chief of Police"}}, "The Chief of Police of the"),
    "access.purposes": (
        {"access": {"purposes": _plus(BASE.access.purposes, {"code": "missing_person", "label": "Missing person"})}},
        "Missing person",
    ),
    "access.roles": (
        {
            "access": {
                "roles": {
                    **BASE.access.model_dump()["roles"],
                    "dispatch": {"label": "Dispatcher", "permissions": ["alerts.view"]},
                }
            }
        },
        "Dispatcher",
    ),
    "access.courses": (
        {
            "access": {
                "courses": _plus(
                    BASE.access.courses,
                    {
                        "code": "privacy_refresher",
                        "title": "Privacy law refresher",
                        "valid_months": 18,
                        "required_for_roles": ["sworn_officer"],
                    },
                )
            }
        },
        "every 18 months",
    ),
    "access.case_number_example": ({"access": {"case_number_example": "2026-777777"}}, "2026-777777"),
    "access.justification_min_words": ({"access": {"justification_min_words": 5}}, "at least 5 different words"),
    "access.authentication.password_min_length": (
        {"access": {"authentication": {"password_min_length": 16}}},
        "at least 16 characters",
    ),
    "access.authentication.mfa_required": (
        {"access": {"authentication": {"mfa_required": "plate_data"}}},
        "every account that reaches plate data or the audit log also signs in",
    ),
    "access.authentication.lockout_attempts": (
        {"access": {"authentication": {"lockout_attempts": 3}}},
        "After 3 failed sign-ins",
    ),
    "access.authentication.lockout_minutes": (
        {"access": {"authentication": {"lockout_minutes": 45}}},
        "locked for 45 minutes",
    ),
    "access.accounts.inactive_suspend_days": (
        {"access": {"accounts": {"inactive_suspend_days": 60}}},
        "activity for 60 days is suspended",
    ),
    "access.accounts.review_interval_months": (
        {"access": {"accounts": {"review_interval_months": 3}}},
        "at least every 3 months",
    ),
    "web.session_idle_minutes": ({"web": {"session_idle_minutes": 15}}, "idle for 15 minutes"),
    "web.session_max_hours": ({"web": {"session_max_hours": 8}}, "ends after 8 hours"),
    "audits.per_year": ({"audits": {"per_year": 4}}, "audited 4 times a year"),
    "audits.performer_role": (
        {
            "access": {"roles": {**BASE.access.model_dump()["roles"], "audit_lead": AUDIT_LEAD}},
            "audits": {"performer_role": "audit_lead"},
        },
        "by the Audit Lead; the findings",
    ),
    "audits.approver_role": (
        {
            "access": {"roles": {**BASE.access.model_dump()["roles"], "audit_lead": AUDIT_LEAD}},
            "audits": {"approver_role": "audit_lead"},
        },
        "approved by the Audit Lead, never",
    ),
    "audits.sample_size": ({"audits": {"sample_size": 40}}, "reviews 40 searches"),
    "audits.method": (
        {"audits": {"method": "Every search of the period is compared with its case file by the auditor."}},
        "compared with its case file by the auditor",
    ),
    "audits.record_days": ({"audits": {"record_days": 2000}}, "kept 2000 days after"),
    "audit.checkpoint_minutes": ({"audit": {"checkpoint_minutes": 7}}, "checkpoints every 7 minutes"),
    "audit.plate_detail_days": ({"audit": {"plate_detail_days": 900}}, "for 900 days"),
    "guards": ({"guards": {"plateless_searches": {"threshold": 17}}}, "more than 17 in 1 hour"),
    "sharing.rules": (
        {"sharing": {"rules": {"no_plate": "refuse"}}},
        '(every vehicle seen)</th><td data-label="The request is">refused</td>',
    ),
    "sharing.designee_roles": (
        {
            "access": {"roles": {**BASE.access.model_dump()["roles"], "records_supervisor": RECORDS_SUPERVISOR}},
            "sharing": {"designee_roles": ["records_supervisor"]},
        },
        "by the Records Manager and Records Supervisor before",
    ),
    "sharing.warn_window_days": ({"sharing": {"warn_window_days": 45}}, "more than 45 days"),
    "sharing.warn_cameras": ({"sharing": {"warn_cameras": 9}}, "more than 9 cameras"),
    "sharing.max_plates": ({"sharing": {"max_plates": 250}}, "at most 250 plates"),
    "sharing.link_hours": ({"sharing": {"link_hours": 24}}, "valid 24 hours"),
    "sharing.retention_days": ({"sharing": {"retention_days": 3650}}, "kept on file 3650 days"),
    "sharing.partner_queries": ({"sharing": {"partner_queries": True}}, "Named users of California partner agencies"),
    "sharing.pra_determination_days": ({"sharing": {"pra_determination_days": 7}}, "within 7 calendar days"),
    "sharing.pra_extension_days": ({"sharing": {"pra_extension_days": 10}}, "once by 10 days"),
    "alerts.reject_reasons": (
        {
            "alerts": {
                "reject_reasons": _plus(BASE.alerts.reject_reasons, {"code": "obscured", "label": "Plate hidden"})
            }
        },
        "Plate hidden",
    ),
    "alerts.clets_results": (
        {"alerts": {"clets_results": _plus(BASE.alerts.clets_results, {"code": "late", "label": "Pending at DOJ"})}},
        "Pending at DOJ",
    ),
    "alerts.dispositions": (
        {"alerts": {"dispositions": _plus(BASE.alerts.dispositions, {"code": "cited", "label": "Citation issued"})}},
        "Citation issued",
    ),
    "matching.confusable_pairs": ({"matching": {"confusable_pairs": ["O0", "I1"]}}, "(O/0, I/1)"),
    "recognition.recognizer": ({"recognition": {"recognizer": "rapidocr"}}, "by the rapidocr recognizer"),
    "retention.days": ({"retention": {"days": 400}}, "images are kept 400 days"),
    "retention.purge_time": ({"retention": {"purge_time": "02:15"}}, "every day at 02:15"),
    "retention.purge_in_server": ({"retention": {"purge_in_server": False}}, "the agency's scheduled purge"),
}


def _page(settings: Settings) -> str:
    document = policy_document(settings)
    version = PolicyVersion(
        number=1, sha256=document_sha256(document), effective_at=datetime.now(UTC), document=document
    )
    return html.unescape(str(policy_body(version)))


def test_every_policy_field_is_tested() -> None:
    assert set(CHANGES) == set(POLICY_FIELDS)


@pytest.mark.parametrize("field", POLICY_FIELDS)
def test_each_policy_field_appears_and_changing_it_changes_the_page(field: str) -> None:
    overrides, expected = CHANGES[field]
    before, after = _page(BASE), _page(load_settings(**overrides))
    assert expected not in before, f"{field}: the default page already says {expected!r}"
    assert expected in after, f"{field}: the page does not say {expected!r} once it changes"


def test_the_sections_follow_the_civil_code_in_order() -> None:
    document = policy_document(BASE)
    keys = [s["key"] for s in document["sections"]]
    assert keys == ["purposes", "people", "monitoring", "sharing", "pra", "custodian", "accuracy", "retention"]
    letters = [re.search(r"1798\.90\.51\(b\)\(2\)\(([A-G])\)", s["cite"]) for s in document["sections"]]
    assert [m.group(1) for m in letters if m] == list("ABCDEFG")


def test_the_default_policy_states_the_enforced_config() -> None:
    page = _page(BASE)
    for purpose in BASE.access.purposes:
        assert purpose.label in page
    for role in BASE.access.roles.values():
        assert role.label in page
    assert "Search plate reads (needs a purpose and a case number)" in page  # permissions in words
    assert "Use and operation of the ALPR equipment" in page and "every 24 months" in page
    assert "Administration and Investigations Bureau Commander" in page
    assert "kept 365 days" in page and "audited 2 times a year" in page
    assert "locked for 10 minutes" in page and "idle for 30 minutes" in page
    assert "measured on 2026-11-29" in page and "99.3 %" in page  # the int8 recognizer's model card
    assert "within 10 calendar days" in page


def _app(settings_dir: Path, database_url: str, harness: Harness, **overrides: Any) -> TestClient:
    settings = load_settings(data_dir=settings_dir, database_url=database_url, access=FAST_HASH, **overrides)
    return TestClient(create_app(settings, harness.database))


def _policy_events(harness: Harness) -> list[AuditEvent]:
    with harness.database.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == "transparency.policy_version")
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def test_anonymous_reads_the_policy_and_its_versions_follow_the_config(
    harness: Harness, tmp_path: Path, database_url: str
) -> None:
    anonymous = TestClient(harness.client.app)
    first = anonymous.get("/policy")
    assert first.status_code == 200 and not anonymous.cookies
    assert (
        "Version 1, in effect from" in first.text and "Administration and Investigations Bureau Commander" in first.text
    )
    assert anonymous.get("/policy").text.count("Version 1") == 1 and len(_policy_events(harness)) == 1
    with _app(tmp_path / "var", database_url, harness, agency={"custodian_title": "Chief of Police"}) as changed:
        second = changed.get("/policy")
        assert "Version 2, in effect from" in second.text and "Chief of Police" in second.text
        listing = changed.get("/policy/versions").text
        assert 'href="/policy/versions/1"' in listing and "Version 2</a> (in effect)" in listing
        old = changed.get("/policy/versions/1")
        assert old.status_code == 200 and "Administration and Investigations Bureau Commander" in old.text
        assert "an earlier version" in old.text
        assert changed.get("/policy/versions/3").status_code == 404
        as_json = changed.get("/policy/versions/1", params={"format": "json"}).json()
        assert as_json["version"] == 1 and as_json["current"] is False
    events = _policy_events(harness)
    assert [e.details["number"] for e in events] == [1, 2] and events[0].username is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_policy_downloads_as_a_pdf(harness: Harness) -> None:
    response = TestClient(harness.client.app).get("/policy", params={"format": "pdf"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert_pdf_not_blank(response.content)
    assert 'filename="alpr-policy-v1.pdf"' in response.headers["content-disposition"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_page_prints_cleanly(harness: Harness) -> None:
    css = TestClient(harness.client.app).get("/static/app.css").text
    print_rules = css[css.index("@media print") :]
    assert "header.top" in print_rules and ".policy-actions" in print_rules


@pytest.mark.parametrize("model", ["plate-ocr-int8", "plate-ocr"])
def test_the_stated_accuracy_is_the_model_cards(model: str) -> None:
    """The metrics file beside the weights (what the policy states) says what the model card says."""
    root = Path(__file__).resolve().parents[1]
    metrics = json.loads((root / "src/platekeeper/recognition/weights" / f"{model}.metrics.json").read_text())
    card = (root / "docs" / f"{model}-model-card.md").read_text()
    assert f"on {metrics['measured_on']};" in card
    for measured in metrics["sets"]:
        assert f"| {measured['name']} | {measured['plates']} | {measured['exact']:.3f} |" in card


def _cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLATEKEEPER_DATABASE_URL": database_url, "PLATEKEEPER_DATA_DIR": str(tmp_path / "var")}
    command = [sys.executable, "-m", "platekeeper", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=300)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_administrator_reads_a_candidate_configs_policy_before_it_goes_live(
    harness: Harness, tmp_path: Path, database_url: str
) -> None:
    assert TestClient(harness.client.app).get("/policy").status_code == 200  # version 1 is posted
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text("agency:\n  custodian_title: Chief of Police\nretention:\n  days: 180\n")
    done = _cli(tmp_path, database_url, "policy", "preview", str(tmp_path / "draft.html"), "--config", str(candidate))
    assert done.returncode == 0, done.stderr
    assert "would become version 2" in done.stdout
    assert "Custodian of the data" in done.stdout and "Retention, and when data is destroyed" in done.stdout
    assert "Authorized purposes" not in done.stdout
    draft = (tmp_path / "draft.html").read_text()
    assert "Draft, not in effect" in draft and "Chief of Police" in draft and "kept 180 days" in draft
    pdf = _cli(tmp_path, database_url, "policy", "preview", str(tmp_path / "draft.pdf"), "--config", str(candidate))
    assert pdf.returncode == 0 and (tmp_path / "draft.pdf").read_bytes().startswith(b"%PDF")
    same = _cli(tmp_path, database_url, "policy", "preview", str(tmp_path / "same.html"))
    assert "nothing would change" in same.stdout
    listed = _cli(tmp_path, database_url, "policy", "versions")
    versions = [line.split("│")[1].strip() for line in listed.stdout.splitlines() if line.count("│") >= 3]
    assert listed.returncode == 0 and versions == ["1"]  # nothing stored (a time like 20:52 held "2 ": read the column)
    candidate.write_text("retention:\n  days: 5\n")
    bad = _cli(tmp_path, database_url, "policy", "preview", str(tmp_path / "bad.html"), "--config", str(candidate))
    assert bad.returncode == 2 and "retention.days" in bad.stderr
    wrong = _cli(tmp_path, database_url, "policy", "preview", str(tmp_path / "draft.txt"))
    assert wrong.returncode == 2 and "must end in .html or .pdf" in wrong.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_addresses_are_answered_4xx_naming_the_parameter(harness: Harness) -> None:
    anonymous = TestClient(harness.client.app)
    wrong = anonymous.get("/policy", params={"format": "docx"})
    assert wrong.status_code == 422 and "format" in wrong.text
    for path in ("/policy/versions/0", "/policy/versions/abc", "/policy/versions/99999999999"):
        answer = anonymous.get(path)  # a version no number can name: a page that is not there
        assert answer.status_code == 404 and "no page at this address" in answer.text, path
