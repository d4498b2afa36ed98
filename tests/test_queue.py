"""The recognition queue: nothing uploaded is left unread after a worker dies, and nothing is read twice."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from platekeeper.db import utcnow
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage
from platekeeper.reads.queue import claim_job, complete_job, fail_job, queue_counts, requeue_failed
from platekeeper.recognition.base import PlateBox, PlateCandidate, RecognizedPlate
from tests.conftest import CONTEXT, Harness, jpeg_bytes, make_read


def _queue(harness: Harness, count: int = 1) -> list[str]:
    _, key = harness.camera()
    image = {"base64": base64.b64encode(jpeg_bytes((640, 360))).decode()}
    reads = [make_read(plate=None, confidence=None, crop_image=None, overview_image=image) for _ in range(count)]
    body = harness.client.post("/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"})
    assert body.json()["queued"] == count
    return [r["id"] for r in reads]


def _plates(*texts: str) -> list[RecognizedPlate]:
    crop = np.full((40, 120, 3), 200, dtype=np.uint8)
    return [
        RecognizedPlate(
            text=t,
            confidence=0.9,
            box=PlateBox(1, 2, 121, 42, 0.8),
            raw=t,
            region="us-ca",
            candidates=(PlateCandidate(t, 0.9), PlateCandidate(t[:-1] + "8", 0.05)),
            crop=crop,
        )
        for t in texts
    ]


def _reads(harness: Harness) -> list[PlateRead]:
    with harness.database.session() as session:
        return list(session.scalars(select(PlateRead).order_by(PlateRead.plate)))


def test_a_job_yields_reads_with_the_cameras_id(harness: Harness) -> None:
    (job_id,) = _queue(harness)
    with harness.database.session() as session:
        claimed = claim_job(session, harness.settings)
    assert claimed is not None and str(claimed.id) == job_id and claimed.image_kind == "overview"
    with harness.database.session() as session:
        stored = complete_job(session, harness.settings, harness.store, claimed, _plates("7ABC123", "5SOW350"))
    assert stored is not None and len(stored) == 2
    reads = _reads(harness)
    assert [r.plate for r in reads] == ["5SOW350", "7ABC123"]
    assert str(next(r.id for r in reads if r.plate == "7ABC123")) == job_id
    assert all(r.crop_sha256 and r.overview_sha256 for r in reads)
    assert reads[0].candidates[1] == {"text": "5SOW358", "confidence": 0.05}
    with harness.database.session() as session:
        assert queue_counts(session)["done"] == 1
        assert session.scalar(select(func.count()).select_from(StoredImage)) == 2  # overview + the shared crop


def test_a_dead_workers_job_is_taken_over_and_stored_once(harness: Harness) -> None:
    _queue(harness)
    with harness.database.session() as session:
        first = claim_job(session, harness.settings)
    with harness.database.session() as session:
        assert claim_job(session, harness.settings) is None  # leased: nobody else takes it
    later = utcnow() + timedelta(seconds=harness.settings.recognition_queue.lease_seconds + 1)
    with harness.database.session() as session:
        second = claim_job(session, harness.settings, now=later)
    assert second is not None and second.id == first.id and second.attempts == 2
    with harness.database.session() as session:  # the first worker wakes up: its lease is gone
        assert complete_job(session, harness.settings, harness.store, first, _plates("7ABC123")) is None
    with harness.database.session() as session:
        assert complete_job(session, harness.settings, harness.store, second, _plates("7ABC123")) is not None
    assert [r.plate for r in _reads(harness)] == ["7ABC123"]


def test_a_job_run_twice_stores_each_plate_once(harness: Harness) -> None:
    _queue(harness)
    with harness.database.session() as session:
        claimed = claim_job(session, harness.settings)
    with harness.database.session() as session:
        complete_job(session, harness.settings, harness.store, claimed, _plates("7ABC123"))
        job = session.get(RecognitionJob, claimed.id)
        job.state, job.lease_token = "running", claimed.lease_token  # as if the done mark were lost
    with harness.database.session() as session:
        assert complete_job(session, harness.settings, harness.store, claimed, _plates("7ABC123")) == []
    assert len(_reads(harness)) == 1


def test_failures_retry_then_fail_and_can_be_requeued(harness: Harness) -> None:
    _queue(harness)
    attempts = harness.settings.recognition_queue.max_attempts
    states = []
    for _ in range(attempts):
        with harness.database.session() as session:
            claimed = claim_job(session, harness.settings)
        with harness.database.session() as session:
            states.append(fail_job(session, harness.settings, claimed, "image could not be decoded"))
    assert states == ["pending"] * (attempts - 1) + ["failed"]
    with harness.database.session() as session:
        assert claim_job(session, harness.settings) is None
        assert queue_counts(session)["failed"] == 1
        assert requeue_failed(session) == 1
    with harness.database.session() as session:
        assert claim_job(session, harness.settings) is not None


def test_low_confidence_plates_are_not_stored(harness: Harness) -> None:
    _queue(harness)
    weak = [RecognizedPlate(text="7ABC123", confidence=0.01, box=PlateBox(0, 0, 10, 10, 0.5))]
    with harness.database.session() as session:
        claimed = claim_job(session, harness.settings)
    with harness.database.session() as session:
        assert complete_job(session, harness.settings, harness.store, claimed, weak) == []
        assert session.get(RecognitionJob, claimed.id).plates_found == 0
    assert _reads(harness) == []


SHARED_SCENE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scenes" / "br" / "HPM9362.jpg"


@pytest.mark.slow
def test_an_image_upload_is_read_on_the_server_and_searchable(harness: Harness) -> None:
    from platekeeper.reads.worker import RecognitionWorker

    if not SHARED_SCENE.exists():
        pytest.skip(f"development data not found at {SHARED_SCENE}")
    _, key = harness.camera("Unit 12", "mobile")
    image_id = "6c3f0b8e-2d0a-4f57-9d7e-3d1c0a1b2c3d"
    body = {
        "images": [
            {
                "id": image_id,
                "captured_at": utcnow().isoformat(),
                "latitude": 33.9,
                "longitude": -118.4,
                "image": {"base64": base64.b64encode(SHARED_SCENE.read_bytes()).decode()},
            },
            {
                "id": "6c3f0b8e-2d0a-4f57-9d7e-3d1c0a1b2c3e",
                "captured_at": utcnow().isoformat(),
                "plate": "ABC1234",
                "image": {"base64": "AAAA"},
            },
        ]
    }
    response = harness.client.post("/api/v1/images", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "queued"
    assert "plate: not accepted here" in results[1]["reason"]
    hooked: list[list] = []
    worker = RecognitionWorker(
        harness.settings,
        harness.database,
        harness.store,
        after_stored=[lambda session, settings, ids: hooked.append(ids)],
    )
    assert worker.run_once() is True
    assert worker.run_once() is False
    reads = _reads(harness)
    assert [r.plate for r in reads] == ["HPM9362"]
    assert str(reads[0].id) == image_id and reads[0].latitude == 33.9
    assert hooked == [[reads[0].id]]
    officer = harness.signed_in("sworn_officer")
    found = officer.get("/api/v1/reads", params={**CONTEXT, "plate": "HPM9362"}).json()
    assert found["total"] == 1 and found["results"][0]["crop_url"]
