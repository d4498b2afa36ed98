"""Search that stays fast at county scale (issue 26): every query form finds the same reads on SQLite and
PostgreSQL, matched against a plain reading of the pattern; the count stops at search.count_limit and says so."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import Settings, load_settings
from platekeeper.reads.models import PlateRead
from tests.conftest import CONTEXT, FAST_HASH, Harness

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _load(harness: Harness, plates: list[str], corrected: dict[int, str] | None = None) -> list[dict]:
    camera_id, _ = harness.camera("Scale")
    now = datetime.now(UTC)
    rows = [
        {"id": uuid.uuid4(), "camera_id": camera_id, "plate": plate, "plate_raw": plate, "confidence": 0.9,
         "captured_at": now - timedelta(minutes=i + 1), "received_at": now,
         "corrected_plate": (corrected or {}).get(i), "correction": "corrected" if i in (corrected or {}) else None}
        for i, plate in enumerate(plates)
    ]  # fmt: skip
    with harness.database.engine.begin() as conn:
        conn.execute(insert(PlateRead.__table__), rows)
    return rows


def _all_ids(client: TestClient, **params: str) -> list[str]:
    """Every result's id, page by page, in order."""
    found: list[str] = []
    for page in range(1, 100):
        response = client.get("/api/v1/reads", params={**CONTEXT, **params, "page": str(page)})
        assert response.status_code == 200, response.text
        body = response.json()
        found += [r["id"] for r in body["results"]]
        if not body["has_next"]:
            return found
    raise AssertionError("more pages than the test has reads")


def test_every_query_form_finds_what_the_pattern_says_on_each_backend(harness: Harness) -> None:
    rng = random.Random(26)
    plates = [rng.choice("67") + "".join(rng.choices("ABC", k=3)) + f"{rng.randrange(20):03d}" for _ in range(300)]
    plates += ["7ABC123", "7XBC123", "17ABC12", "7ABC1234"]  # near misses of the patterns below
    rows = _load(harness, plates, corrected={3: "7ABC123", 7: "6CCC019"})
    officer = harness.signed_in("sworn_officer")
    for pattern in ("7ABC123", "7AB*", "7?BC123", "*C123", "6C*9", "6??C01?", "*019", "*ABA*"):
        expected = {
            str(r["id"]) for r in rows
            if fnmatchcase(r["plate"], pattern) or (r["corrected_plate"] and fnmatchcase(r["corrected_plate"], pattern))
        }  # fmt: skip
        found = _all_ids(officer, plate=pattern)
        assert len(found) == len(set(found)), f"{pattern}: a read shown twice"
        assert set(found) == expected, pattern


class TestTheCountLimit:
    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str) -> Settings:
        """The lowest limit the bounds allow (the default is 10,000)."""
        return load_settings(
            data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, search={"count_limit": 1_000}
        )

    def test_the_count_stops_at_the_limit_and_says_there_are_more(self, harness: Harness) -> None:
        _load(harness, ["7CAP001"] * 1_003)
        officer = harness.signed_in("sworn_officer")
        body = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7CAP*"}).json()
        assert (body["total"], body["total_exact"], body["pages"]) == (1_000, False, 20)
        assert body["has_next"] is True
        twentieth = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7CAP*", "page": "20"}).json()
        assert twentieth["has_next"] is True  # past the counted pages, the reads are still there
        last = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7CAP*", "page": "21"}).json()
        assert len(last["results"]) == 3 and last["has_next"] is False  # and the last page says it is the last
        page = officer.get("/search", params={**CONTEXT, "plate": "7CAP*", "page": "20"})
        assert "More than 1,000 reads found" in page.text and "Page 20 of 20+" in page.text and "Older" in page.text
        past = officer.get("/search", params={**CONTEXT, "plate": "7CAP*", "page": "22"})
        assert "Newer" in past.text and "Older" not in past.text  # past the last page: a way back, none on
        exact = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7CAP001"}).json()
        assert exact["total_exact"] is False
        with harness.database.session() as session:
            events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")))
        assert events[0].details["results"] == 1_000 and events[0].details["more_results"] is True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_small_result_is_counted_exactly(harness: Harness) -> None:
    _load(harness, ["7ONE001", "7ONE002"])
    body = harness.signed_in("sworn_officer").get("/api/v1/reads", params={**CONTEXT, "plate": "7ONE*"}).json()
    assert (body["total"], body["total_exact"], body["pages"]) == (2, True, 1)
    with harness.database.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reads.search")).one()
    assert "more_results" not in event.details or event.details["more_results"] is None
