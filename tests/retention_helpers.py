"""Helpers for the retention tests: reads backdated past retention, holds through the API, the installation's purge."""

from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from platekeeper.alerts.models import Alert
from platekeeper.reads.models import PlateRead
from platekeeper.retention.service import Purger
from tests.conftest import CONTEXT, Harness, jpeg_bytes, make_read
from tests.hotlist_helpers import ingest

__all__ = ["age", "context", "hold", "ingest_reads", "purger", "read_with", "settle", "stored"]


def read_with(plate: str, color: tuple[int, int, int], **overrides: Any) -> dict[str, Any]:
    """A read whose crop is its own image (a distinct colour is a distinct file)."""
    return make_read(plate, crop_image={"base64": base64.b64encode(jpeg_bytes(color=color)).decode()}, **overrides)


def age(harness: Harness, read_ids: list[str], days: float) -> None:
    """Backdate reads (and their alerts) to ``days`` ago, as if they had been stored then."""
    when = datetime.now(UTC) - timedelta(days=days)
    ids = [uuid.UUID(r) for r in read_ids]
    with harness.database.session() as session:
        session.execute(update(PlateRead).where(PlateRead.id.in_(ids)).values(captured_at=when))
        session.execute(update(Alert).where(Alert.read_id.in_(ids)).values(captured_at=when))
        digests = session.execute(select(PlateRead.crop_sha256, PlateRead.overview_sha256).where(PlateRead.id.in_(ids)))
        for digest in {d for row in digests for d in row if d}:
            settle(harness, digest, when)


def settle(harness: Harness, digest: str, when: datetime | None = None) -> None:
    """Date an image file back (its files were written ``when``, past the purge's grace for uploads in progress)."""
    stamp = (when or datetime.now(UTC) - timedelta(days=400)).timestamp()
    path = harness.store.path(digest)
    if path.exists():
        os.utime(path, (stamp, stamp))


def stored(harness: Harness) -> set[str]:
    with harness.database.session() as session:
        return {str(i) for i in session.scalars(select(PlateRead.id))}


def purger(harness: Harness) -> Purger:
    return harness.client.app.state.platekeeper.services.purger()  # type: ignore[attr-defined]


def hold(
    requester: TestClient, approver: TestClient | None, *, case: str = "2026-004321", **scope: Any
) -> dict[str, Any]:
    """A hold requested by one person and, when ``approver`` is given, approved by another."""
    body = {"case_number": case, "reason": "evidence", "description": "vehicle in the robbery of the bank on Main"}
    response = requester.post("/api/v1/holds", json={**body, **scope})
    assert response.status_code == 201, response.text
    made = response.json()
    if approver is not None:
        decided = approver.post(f"/api/v1/holds/{made['id']}/decision", json={"decision": "approve"})
        assert decided.status_code == 200, decided.text
        made = decided.json()
    return made


def context(case: str) -> dict[str, str]:
    return {**CONTEXT, "case_number": case}


def ingest_reads(harness: Harness, key: str, *reads: dict[str, Any]) -> list[str]:
    ingest(harness, key, *reads)
    return [r["id"] for r in reads]
