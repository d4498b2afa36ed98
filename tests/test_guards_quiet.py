"""A normal officer's day under the default guards raises nothing (policy 462.6, issue 23 item 5): searches by plate
under a few cases, a couple of time-range listings paged through, a plate's story, a read opened."""

from __future__ import annotations

from sqlalchemy import func, select

from platekeeper.audit.models import AuditEvent
from platekeeper.notices.models import Notice
from tests.conftest import CONTEXT, Harness, make_read
from tests.guard_helpers import last_hour, search
from tests.hotlist_helpers import ingest

DAY = [
    ("2026-001234", "grey sedan seen leaving the burglary on 5th St"),
    ("2026-001240", "white van reported at the Oak Ave catalytic converter theft"),
    ("2026-001251", "hit and run on Sepulveda, witness gave a partial plate"),
    ("2026-001260", "stolen Honda Civic taken from the Rosecrans mall garage"),
]


def test_a_normal_day_of_searches_raises_nothing(harness: Harness) -> None:
    _, key = harness.camera("North")
    ingest(harness, key, *[make_read(f"7ABC{i:03d}") for i in range(60)])
    officer = harness.signed_in("sworn_officer", "dana")
    for case, why in DAY:
        stated = dict(CONTEXT, case_number=case, justification=why)
        for plate in ("7ABC001", "7ABC01*", "8XYZ999"):
            assert search(officer, context=stated, plate=plate).status_code == 200
        assert officer.get("/api/v1/plates/7ABC002", params=stated).status_code == 200
    for page in (1, 2):  # one time-range listing, paged once
        assert search(officer, context=dict(CONTEXT), **last_hour(), page=page).status_code == 200
    read_id = search(officer, plate="7ABC003").json()["results"][0]["id"]
    assert officer.get(f"/api/v1/reads/{read_id}", params=CONTEXT).status_code == 200
    with harness.database.session() as session:
        assert session.scalar(select(func.count(Notice.id))) == 0
        assert session.scalar(select(func.count(AuditEvent.seq)).where(AuditEvent.action == "guards.stop")) == 0
    supervisor = harness.signed_in("supervisor")
    assert "No open notices" in supervisor.get("/").text
