"""Guards while it happens (policy 462.6, issue 23 item 5): each rule fires on its planted case, a stop refuses the
search naming the rule and leaves no search behind, and the notices reach the supervisors and the administrator.

The rules run here with small thresholds (``search.page_size`` 5) so that a planted case takes a few searches; a
normal day under the default rules is in ``test_guards_quiet.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from platekeeper.access.context import build_access_context
from platekeeper.access.principal import Principal
from platekeeper.audit.models import AuditEvent
from platekeeper.config import Settings, load_settings
from platekeeper.guards.models import SearchActivity
from platekeeper.guards.rules import protected_terms
from platekeeper.notices.models import Notice
from tests.conftest import CONTEXT, FAST_HASH, Harness, make_read
from tests.guard_helpers import last_hour, search
from tests.hotlist_helpers import ingest

GUARDS = {
    "plateless_searches": {"threshold": 2, "window_minutes": 60, "action": "notice", "description": "plate-less"},
    "paged_results": {"threshold": 6, "window_minutes": 1440, "action": "notice", "description": "paged"},
    "paged_results_limit": {
        "threshold": 12,
        "window_minutes": 1440,
        "action": "stop",
        "breach": True,
        "description": "bulk extraction",
    },
    "justification_reuse": {"threshold": 2, "window_minutes": 1440, "action": "notice", "description": "reuse"},
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        access=FAST_HASH,
        search={"page_size": 5},
        guards=GUARDS,
    )


def _count(harness: Harness, model, *where) -> int:
    with harness.database.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _notices(harness: Harness, rule: str) -> list[Notice]:
    with harness.database.session() as session:
        found = list(session.scalars(select(Notice).where(Notice.rule == rule).order_by(Notice.id)))
        session.expunge_all()
        return found


def _reads(harness: Harness, n: int) -> None:
    _, key = harness.camera("North")
    ingest(harness, key, *[make_read(f"7ABC{i:03d}") for i in range(n)])


def test_plateless_searches_above_the_threshold_raise_one_notice(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "olive")
    for page in (1, 2, 2):  # later pages of a search are not new searches
        assert search(officer, **last_hour(), page=page).status_code == 200
    assert search(officer, **last_hour()).status_code == 200  # the second new one: at the threshold
    assert _notices(harness, "plateless_searches") == []
    for _ in range(2):
        assert search(officer, **last_hour()).status_code == 200  # above it: one notice, not one per search
    notices = _notices(harness, "plateless_searches")
    assert len(notices) == 1
    notice = notices[0]
    assert notice.subject == "olive" and notice.severity == "notice" and notice.figures["count"] == 3
    assert notice.recipients == ["alpr_admin", "supervisor"]
    assert "7ABC" not in notice.finding and "searches without a plate" in notice.finding
    assert _count(harness, AuditEvent, AuditEvent.action == "notices.raise") == 1


def test_paging_under_one_context_notices_then_stops_as_a_bulk_extraction(harness: Harness) -> None:
    _reads(harness, 30)
    officer = harness.signed_in("records", "rita")
    for page in (1, 2):
        assert search(officer, **last_hour(), page=page).status_code == 200
    assert [n.rule for n in _notices(harness, "paged_results")] == ["paged_results"]  # 10 shown > 6
    assert search(officer, **last_hour(), page=3).status_code == 200  # 15 shown: the limit (12) is reached
    searches = _count(harness, AuditEvent, AuditEvent.action == "reads.search")
    activity = _count(harness, SearchActivity)
    stopped = search(officer, **last_hour(), page=4)
    assert stopped.status_code == 403
    assert stopped.json()["rule"] == "paged_results_limit" and "paged_results_limit" in stopped.json()["detail"]
    assert "bulk extraction" in stopped.json()["detail"]
    assert _count(harness, AuditEvent, AuditEvent.action == "reads.search") == searches  # no search ran
    assert _count(harness, SearchActivity) == activity  # nothing else was written
    with harness.database.session() as session:
        stop = session.scalars(select(AuditEvent).where(AuditEvent.action == "guards.stop")).one()
        assert stop.outcome == "denied" and stop.username == "rita" and stop.case_number == CONTEXT["case_number"]
        assert stop.details["rule"] == "paged_results_limit" and stop.details["measured"] == 16
    breach = _notices(harness, "paged_results_limit")
    assert len(breach) == 1 and breach[0].severity == "breach" and "records_manager" in breach[0].recipients
    other = dict(CONTEXT, case_number="2026-009999")  # another case is another context
    assert search(officer, context=other, **last_hour()).status_code == 200


def test_one_justification_across_many_cases_raises_a_notice(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "otto")
    for case in ("2026-000001", "2026-000002"):
        assert search(officer, context=dict(CONTEXT, case_number=case), plate="7ABC123").status_code == 200
    assert _notices(harness, "justification_reuse") == []
    assert search(officer, context=dict(CONTEXT, case_number="2026-000003"), plate="7ABC123").status_code == 200
    notice = _notices(harness, "justification_reuse")
    assert len(notice) == 1 and notice[0].figures["count"] == 3 and notice[0].subject == "otto"
    other = dict(CONTEXT, case_number="2026-000004", justification="blue pickup seen at the Elm St robbery")
    assert search(officer, context=other, plate="7ABC123").status_code == 200
    assert len(_notices(harness, "justification_reuse")) == 1


@pytest.mark.parametrize(
    "justification",
    [
        "car parked near the protest at city hall",
        "vehicle at the Sunday RELIGIOUS   service on Elm",
        "patient who had an abortion at the clinic",
        "check immigration status of the driver",
        "assist ICE with a deportation",
    ],
)
def test_a_search_naming_a_protected_activity_is_stopped(harness: Harness, justification: str) -> None:
    officer = harness.signed_in("sworn_officer", "pat")
    stated = dict(CONTEXT, justification=justification)
    stopped = search(officer, context=stated, plate="7ABC123")
    assert stopped.status_code == 403 and stopped.json()["rule"] == "protected_activity"
    assert "protected activity" in stopped.json()["detail"]
    assert _count(harness, AuditEvent, AuditEvent.action == "reads.search") == 0
    assert _count(harness, SearchActivity) == 0
    with harness.database.session() as session:
        stop = session.scalars(select(AuditEvent).where(AuditEvent.action == "guards.stop")).one()
        assert stop.justification == " ".join(justification.split()) and stop.outcome == "denied"
    assert [n.severity for n in _notices(harness, "protected_activity")] == ["stop"]
    story = officer.get("/api/v1/plates/7ABC123", params=stated)
    assert story.status_code == 403 and story.json()["rule"] == "protected_activity"


def test_protected_terms_match_whole_words_only(settings: Settings) -> None:
    principal = Principal(1, "pat", "Pat", "EXPD", "sworn_officer", "Officer", frozenset({"reads.search"}))
    terms = settings.guards.protected_activity.terms

    def found(text: str) -> list[str]:
        ctx = build_access_context(
            principal, settings.access, purpose="criminal_investigation", case_number="2026-000001", justification=text
        )
        return protected_terms(terms, ctx)

    assert found("Police notice of a stolen vehicle, ice cream truck") == ["ice"]  # whole words, any case
    assert found("Police notice of a stolen vehicle near the office") == []
    assert found("stolen car seen at the rallying point of the marathon") == []
    assert found("stolen car seen at the rally downtown") == ["rally"]


def test_a_stopped_search_page_names_the_rule(harness: Harness) -> None:
    officer = harness.signed_in("sworn_officer", "pia")
    params = dict(CONTEXT, justification="who drove to the demonstration downtown", plate="7ABC123")
    page = officer.get("/search", params=params)
    assert page.status_code == 403
    assert "protected_activity" in page.text and "supervisor" in page.text


def test_one_field_of_a_rule_can_be_changed_alone_and_bad_values_name_the_field(tmp_path: Path) -> None:
    from platekeeper.config import ConfigError

    changed = load_settings(data_dir=tmp_path, guards={"paged_results_limit": {"threshold": 5000}})
    assert changed.guards.paged_results_limit.threshold == 5000 and changed.guards.paged_results_limit.breach
    for guards, field in (
        ({"paged_results_limit": {"threshold": 100}}, "guards.paged_results_limit.threshold"),
        ({"plateless_searches": {"action": "shout"}}, "guards.plateless_searches.action"),
        ({"notify_roles": ["sworn_officer"]}, "guards.notify_roles"),
        ({"protected_activity": {"terms": ["  "]}}, "guards.protected_activity.terms"),
    ):
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            load_settings(data_dir=tmp_path, guards=guards)
