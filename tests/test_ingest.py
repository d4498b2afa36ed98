"""Camera uploads: idempotence, partly bad batches, camera keys, malformed and oversized input."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import func, select

from platekeeper.reads.models import PlateRead, StoredImage
from tests.conftest import Harness, jpeg_bytes, make_read


def _count(harness: Harness, model: type = PlateRead) -> int:
    with harness.database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _post(harness: Harness, key: str, body: object, **kwargs: object):
    return harness.client.post("/api/v1/reads", json=body, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def test_same_batch_twice_stores_nothing_twice(harness: Harness) -> None:
    _, key = harness.camera()
    batch = {"reads": [make_read("7ABC123"), make_read("8XYZ999")]}
    first = _post(harness, key, batch)
    assert first.status_code == 200
    assert first.json()["stored"] == 2
    second = _post(harness, key, batch)
    assert second.status_code == 200
    assert second.json()["stored"] == 0
    assert second.json()["duplicates"] == 2
    assert {r["status"] for r in second.json()["results"]} == {"duplicate"}
    assert _count(harness) == 2
    assert _count(harness, StoredImage) == 1  # both crops are the same bytes: stored once


def test_duplicate_inside_one_batch(harness: Harness) -> None:
    _, key = harness.camera()
    read = make_read()
    body = _post(harness, key, {"reads": [read, read]}).json()
    assert [r["status"] for r in body["results"]] == ["stored", "duplicate"]
    assert _count(harness) == 1


def test_partly_bad_batch_stores_the_good_reads(harness: Harness) -> None:
    _, key = harness.camera()
    naive = make_read(captured_at=datetime.now().replace(tzinfo=None).isoformat())
    reads = [
        make_read("GOOD1"),
        naive,
        make_read(confidence=1.7),
        make_read("GOOD2"),
        "not an object",
        make_read(plate="---"),
        make_read(crop_image={"base64": "!!!notbase64"}),
    ]
    response = _post(harness, key, {"reads": reads})
    assert response.status_code == 207
    body = response.json()
    assert body["stored"] == 2
    rejected = {r["index"]: r["reason"] for r in body["results"] if r["status"] == "rejected"}
    assert set(rejected) == {1, 2, 4, 5, 6}
    assert "captured_at" in rejected[1] and "timezone" in rejected[1]
    assert "confidence" in rejected[2]
    assert "JSON object" in rejected[4]
    assert "plate" in rejected[5]
    assert "base64" in rejected[6]
    assert _count(harness) == 2


def test_all_bad_batch_is_422_and_stores_nothing(harness: Harness) -> None:
    _, key = harness.camera()
    response = _post(harness, key, {"reads": [make_read(confidence=-1)]})
    assert response.status_code == 422
    assert response.json()["rejected"] == 1
    assert _count(harness) == 0


def test_future_and_expired_timestamps_are_rejected(harness: Harness) -> None:
    _, key = harness.camera()
    future = make_read(captured_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    old = make_read(captured_at=(datetime.now(UTC) - timedelta(days=400)).isoformat())
    reasons = [r["reason"] for r in _post(harness, key, {"reads": [future, old]}).json()["results"]]
    assert "future" in reasons[0]
    assert "retention" in reasons[1]


def test_missing_or_wrong_camera_key(harness: Harness) -> None:
    harness.camera()
    batch = {"reads": [make_read()]}
    assert harness.client.post("/api/v1/reads", json=batch).status_code == 401
    wrong = _post(harness, "pkc_not-a-real-key", batch)
    assert wrong.status_code == 401
    assert "camera API key" in wrong.json()["detail"]
    assert _post(harness, "Basic abc", batch).status_code == 401
    assert _count(harness) == 0


def test_a_user_session_is_not_a_camera_key(harness: Harness) -> None:
    harness.camera()
    officer = harness.signed_in("sworn_officer")
    assert officer.post("/api/v1/reads", json={"reads": [make_read()]}).status_code == 401


def test_id_owned_by_another_camera_is_rejected(harness: Harness) -> None:
    _, key1 = harness.camera("Cam A")
    _, key2 = harness.camera("Cam B")
    read = make_read()
    assert _post(harness, key1, {"reads": [read]}).json()["stored"] == 1
    body = _post(harness, key2, {"reads": [read]}).json()
    assert body["results"][0]["status"] == "rejected"
    assert "another camera" in body["results"][0]["reason"]


def test_malformed_json_is_400_and_stores_nothing(harness: Harness) -> None:
    _, key = harness.camera()
    response = harness.client.post(
        "/api/v1/reads",
        content=b'{"reads": [',
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert _post(harness, key, {"no_reads": []}).status_code == 422
    assert _post(harness, key, [1, 2]).status_code == 422
    assert (
        harness.client.post(
            "/api/v1/reads",
            content=b"plain",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
        ).status_code
        == 415
    )
    assert _count(harness) == 0


def test_oversized_request_is_413(harness: Harness) -> None:
    _, key = harness.camera()
    limit = harness.settings.ingest.max_request_bytes
    response = harness.client.post(
        "/api/v1/reads",
        content=b"x" * (limit + 1),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert _count(harness) == 0


def test_too_many_reads_in_a_batch(harness: Harness) -> None:
    _, key = harness.camera()
    limit = harness.settings.ingest.max_batch_reads
    response = _post(harness, key, {"reads": [make_read() for _ in range(limit + 1)]})
    assert response.status_code == 422
    assert str(limit) in response.json()["detail"]
    assert _count(harness) == 0


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_bad_images_are_rejected_per_read(harness: Harness) -> None:
    _, key = harness.camera()
    bomb = _png(20_000, 20_000)  # a few hundred KB that would decode to 400 megapixels
    truncated = jpeg_bytes()[:200]
    too_big = b"\xff\xd8" + b"0" * (harness.settings.ingest.max_image_bytes + 1)
    cases = [bomb, truncated, b"", b"GIF89a not an image", too_big, b"not an image at all"]
    reads = [make_read(crop_image={"base64": base64.b64encode(data).decode()}) for data in cases]
    response = _post(harness, key, {"reads": reads})
    reasons = [r["reason"] for r in response.json()["results"]]
    assert "pixels" in reasons[0]
    assert "cannot be decoded" in reasons[1]
    assert "empty" in reasons[2]
    assert "cannot be decoded" in reasons[3] or "not accepted" in reasons[3]
    assert "bytes" in reasons[4]
    assert reasons[5] == "crop_image: image cannot be decoded: it is not a JPEG, PNG or WebP file"
    assert not any("<_io" in r or " at 0x" in r for r in reasons)  # no internal object reprs for the camera owner
    assert _count(harness) == 0 and _count(harness, StoredImage) == 0


def test_multipart_upload_with_image_parts(harness: Harness) -> None:
    _, key = harness.camera()
    read = make_read(crop_image={"part": "crop0"}, overview_image={"part": "scene0"})
    missing = make_read(crop_image={"part": "nope"})
    files = {
        "crop0": ("c.jpg", jpeg_bytes(), "image/jpeg"),
        "scene0": ("s.jpg", jpeg_bytes((640, 360), (10, 20, 30)), "image/jpeg"),
    }
    response = harness.client.post(
        "/api/v1/reads",
        data={"batch": json.dumps({"reads": [read, missing]})},
        files=files,
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert results[0]["status"] == "stored"
    assert "no multipart file part named 'nope'" in results[1]["reason"]
    assert _count(harness, StoredImage) == 2
    with harness.database.session() as session:
        stored = session.scalars(select(StoredImage)).all()
    for image in stored:
        assert harness.client.app.state.platekeeper.image_store.path(image.sha256).exists()


def test_multipart_without_batch_part(harness: Harness) -> None:
    _, key = harness.camera()
    response = harness.client.post(
        "/api/v1/reads",
        files={"x": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert "batch" in response.json()["detail"]


def test_plate_is_normalized_and_raw_kept(harness: Harness) -> None:
    _, key = harness.camera()
    read = make_read(plate="7abc-123", plate_raw="CALIFORNIA 7abc-123")
    assert _post(harness, key, {"reads": [read]}).json()["stored"] == 1
    with harness.database.session() as session:
        row = session.scalars(select(PlateRead)).one()
    assert row.plate == "7ABC123"
    assert row.plate_raw == "CALIFORNIA 7abc-123"
    assert row.captured_at.tzinfo is not None


def test_deactivated_camera_cannot_upload(harness: Harness) -> None:
    from platekeeper.cameras.service import deactivate_camera

    camera_id, key = harness.camera()
    with harness.database.session() as session:
        deactivate_camera(harness.work(session), camera_id)
    assert _post(harness, key, {"reads": [make_read()]}).status_code == 401


def test_read_without_plate_text_is_queued_once(harness: Harness) -> None:
    from platekeeper.reads.jobs import RecognitionJob

    _, key = harness.camera()
    image = {"base64": base64.b64encode(jpeg_bytes((640, 360))).decode()}
    read = make_read(plate=None, confidence=None, crop_image=None, overview_image=image)
    first = _post(harness, key, {"reads": [read]}).json()
    assert (first["queued"], first["stored"], first["results"][0]["status"]) == (1, 0, "queued")
    again = _post(harness, key, {"reads": [read]}).json()
    assert again["duplicates"] == 1 and again["queued"] == 0
    no_image = make_read(plate=None, confidence=None, crop_image=None)
    no_confidence = make_read(confidence=None)
    reasons = [r["reason"] for r in _post(harness, key, {"reads": [no_image, no_confidence]}).json()["results"]]
    assert "give the plate text, or an image" in reasons[0]
    assert "confidence" in reasons[1]
    assert _count(harness, RecognitionJob) == 1 and _count(harness) == 0


def test_candidates_are_kept_normalized(harness: Harness) -> None:
    _, key = harness.camera()
    read = make_read(
        "5SOW350", candidates=[{"text": "5sow-750", "confidence": 0.31}, {"text": "5S0W350", "confidence": 0.2}]
    )
    assert _post(harness, key, {"reads": [read]}).json()["stored"] == 1
    with harness.database.session() as session:
        row = session.scalars(select(PlateRead)).one()
    assert row.candidates == [{"text": "5SOW750", "confidence": 0.31}, {"text": "5S0W350", "confidence": 0.2}]
    bad = make_read(candidates=[{"text": "---", "confidence": 0.5}])
    assert "candidates" in _post(harness, key, {"reads": [bad]}).json()["results"][0]["reason"]
