"""Encryption at rest: image files are sealed (AES-256-GCM) under the storage key ring, bound to their name, and
`platekeeper keys rotate` re-seals them in batches that survive `kill -9`."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from platekeeper.audit.models import AuditEvent
from platekeeper.config import ConfigError, Settings, load_settings
from platekeeper.db import Database
from platekeeper.reads.images import ImageStore, SealedFileError, ValidImage
from platekeeper.reads.models import PlateRead
from platekeeper.storage.keys import KEY_ENV, StorageKey, StorageKeyError, key_ring_for, read_key_ring
from platekeeper.web.app import create_app
from tests.conftest import CONTEXT, Harness, jpeg_bytes, make_read

MARKER = b"platekeeper-test-plate-7ABC123"


def _image(number: int, marker: bytes = MARKER) -> ValidImage:
    """A small distinct JPEG carrying a known comment, so its plaintext can be looked for on disk."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (number % 256, (number // 256) % 256, 7)).save(
        buffer, format="JPEG", comment=marker + str(number).encode()
    )
    data = buffer.getvalue()
    return ValidImage(data, hashlib.sha256(data).hexdigest(), "image/jpeg", 16, 8)


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(data_dir=tmp_path / "var", **overrides)


def _store(tmp_path: Path) -> ImageStore:
    return ImageStore.for_settings(_settings(tmp_path))


def test_a_stored_image_is_sealed_on_disk_and_reads_back(tmp_path: Path) -> None:
    store, image = _store(tmp_path), _image(1)
    path = store.put(image)
    on_disk = path.read_bytes()
    assert on_disk.startswith(b"PKSEAL") and b"\xff\xd8\xff" not in on_disk and MARKER not in on_disk
    assert store.get(image.sha256) == image.data
    key_file = tmp_path / "var" / "storage.key"
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert store.key_id(image.sha256) == read_key_ring(key_file)[-1].id


def test_swapped_files_are_refused_not_read_as_the_other_image(tmp_path: Path) -> None:
    store, first, second = _store(tmp_path), _image(1), _image(2)
    a, b = store.put(first), store.put(second)
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    for image in (first, second):
        with pytest.raises(SealedFileError, match="altered or is another file's"):
            store.get(image.sha256)


def test_plain_files_from_before_encryption_still_read(tmp_path: Path) -> None:
    legacy = ImageStore(tmp_path / "var" / "images")  # no key ring: what every installation wrote before
    image = _image(3)
    legacy.put(image)
    assert legacy.path(image.sha256).read_bytes() == image.data
    store = _store(tmp_path)
    assert store.get(image.sha256) == image.data and store.key_id(image.sha256) is None


def test_a_plain_file_that_is_not_its_name_is_refused(tmp_path: Path) -> None:
    store, image = _store(tmp_path), _image(4)
    path = store.path(image.sha256)
    path.parent.mkdir(parents=True)
    path.write_bytes(_image(5).data)
    with pytest.raises(SealedFileError, match="SHA-256"):
        store.get(image.sha256)


def test_encryption_off_writes_plain_files_and_still_reads_sealed_ones(tmp_path: Path) -> None:
    sealed = _store(tmp_path)
    first = _image(6)
    sealed.put(first)
    plain = ImageStore.for_settings(_settings(tmp_path, storage={"encrypt_images": False}))
    second = _image(7)
    plain.put(second)
    assert plain.key_id(second.sha256) is None and plain.get(first.sha256) == first.data


def test_the_environment_key_overrides_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = os.urandom(32)
    monkeypatch.setenv(KEY_ENV, base64.b64encode(secret).decode())
    settings = _settings(tmp_path)  # the variable is not read as a config field
    store, image = ImageStore.for_settings(settings), _image(8)
    store.put(image)
    assert store.key_id(image.sha256) == StorageKey.from_secret(secret).id
    assert not (tmp_path / "var" / "storage.key").exists()  # the key stays off the disk
    assert store.get(image.sha256) == image.data
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SealedFileError, match="not in the key ring"):
        ImageStore.for_settings(settings).get(image.sha256)


@pytest.mark.parametrize(
    ("value", "message"),
    [("not base64!", "not base64"), (base64.b64encode(b"short").decode(), "holds 5 bytes")],
)
def test_a_bad_environment_key_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv(KEY_ENV, value)
    settings = _settings(tmp_path)
    with pytest.raises(StorageKeyError, match=f"{KEY_ENV}: {message}") as caught:
        key_ring_for(settings)
    assert isinstance(caught.value, ConfigError)
    with pytest.raises(ConfigError, match=KEY_ENV):
        create_app(settings)
    result = _cli(tmp_path, f"sqlite:///{tmp_path / 'none.db'}", "keys", "status", env={KEY_ENV: value})
    assert result.returncode == 2 and KEY_ENV in result.stderr and "Traceback" not in result.stderr


def _cli(
    tmp_path: Path, database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "platekeeper", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, database_url, env),
        cwd=tmp_path,
        check=False,
        timeout=300,
    )


def _env(tmp_path: Path, database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLATEKEEPER_")},
        "PLATEKEEPER_DATABASE_URL": database_url,
        "PLATEKEEPER_DATA_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
        **(extra or {}),
    }


def _counts(tmp_path: Path, database_url: str) -> dict[str, int]:
    """`keys status`'s lines of images per key id."""
    result = _cli(tmp_path, database_url, "keys", "status")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("images:"))
    return {line.split()[0]: int(line.split()[1]) for line in lines[start + 1 :] if line.startswith("  ")}


def _events(database_url: str, action: str) -> list[AuditEvent]:
    database = Database(database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        database.dispose()


def test_rotate_seals_plain_files_and_reseals_old_ones(tmp_path: Path, database_url: str) -> None:
    legacy, store = ImageStore(tmp_path / "var" / "images"), _store(tmp_path)
    plain = [_image(n) for n in range(5)]
    sealed = [_image(n) for n in range(5, 12)]
    for image in plain:
        legacy.put(image)
    for image in sealed:
        store.put(image)
    old = read_key_ring(tmp_path / "var" / "storage.key")[-1].id
    assert _counts(tmp_path, database_url) == {old: 7, "plain": 5}

    result = _cli(tmp_path, database_url, "keys", "rotate", "--batch-size", "4")
    assert result.returncode == 0, result.stderr
    ring = read_key_ring(tmp_path / "var" / "storage.key")
    new = ring[-1].id
    assert [k.id for k in ring] == [new] and new != old  # the old key retired after a complete pass
    assert "re-sealed 4/12" in result.stdout and "re-sealed 12/12" in result.stdout
    assert "12 re-sealed, 0 already under" in result.stdout and "0 failed" in result.stdout
    assert _counts(tmp_path, database_url) == {new: 12}
    assert f"current key: {new}" in _cli(tmp_path, database_url, "keys", "status").stdout
    reader = _store(tmp_path)
    assert all(reader.get(i.sha256) == i.data for i in plain + sealed)
    assert MARKER not in b"".join(reader.path(i.sha256).read_bytes() for i in plain)
    started, finished = (
        _events(database_url, "storage.rotation_started"),
        _events(database_url, "storage.rotation_finished"),
    )
    assert [e.details["key_id"] for e in started] == [new] and started[0].details["new_key"] is True
    assert finished[0].details["resealed"] == 12 and finished[0].details["retired"] == [old]


def test_rotate_names_a_file_it_cannot_open_keeps_it_and_exits_1(tmp_path: Path, database_url: str) -> None:
    store = _store(tmp_path)
    good, bad = _image(1), _image(2)
    store.put(good)
    store.put(bad)
    damaged = bytearray(store.path(bad.sha256).read_bytes())
    damaged[-1] ^= 1
    store.path(bad.sha256).write_bytes(bytes(damaged))
    cut = _image(3)  # a file cut short inside its nonce: it must be named as failed too, not crash the pass
    store.put(cut)
    store.path(cut.sha256).write_bytes(store.path(cut.sha256).read_bytes()[:14])
    result = _cli(tmp_path, database_url, "keys", "rotate")
    assert result.returncode == 1
    assert f"failed: {bad.sha256}" in result.stderr and "1 re-sealed" in result.stdout
    assert f"failed: {cut.sha256}" in result.stderr and "truncated" in result.stderr
    assert store.path(bad.sha256).read_bytes() == bytes(damaged)  # never deleted
    assert len(read_key_ring(tmp_path / "var" / "storage.key")) == 2  # the old key stays
    assert _events(database_url, "storage.rotation_finished")[0].outcome == "failure"
    assert _cli(tmp_path, database_url, "keys", "rotate", "--batch-size", "0").returncode == 2


def test_rotate_with_an_environment_key_asks_for_keep_key(tmp_path: Path, database_url: str) -> None:
    secret = base64.b64encode(os.urandom(32)).decode()
    ImageStore(tmp_path / "var" / "images").put(_image(1))
    refused = _cli(tmp_path, database_url, "keys", "rotate", env={KEY_ENV: secret})
    assert refused.returncode == 2 and KEY_ENV in refused.stderr
    sealed = _cli(tmp_path, database_url, "keys", "rotate", "--keep-key", env={KEY_ENV: secret})
    assert sealed.returncode == 0, sealed.stderr
    assert "1 re-sealed" in sealed.stdout and not (tmp_path / "var" / "storage.key").exists()


def test_rotation_killed_with_sigkill_resumes_and_every_image_stays_readable(tmp_path: Path, database_url: str) -> None:
    store = ImageStore(tmp_path / "var" / "images")  # plain, as before encryption
    images = [_image(n) for n in range(300)]
    for image in images[:150]:
        store.put(image)
    store = _store(tmp_path)
    for image in images[150:]:
        store.put(image)  # sealed under the first key
    key_file = tmp_path / "var" / "storage.key"
    first = read_key_ring(key_file)[-1].id

    process = subprocess.Popen(
        [sys.executable, "-m", "platekeeper", "keys", "rotate", "--batch-size", "10", "--pause-ms", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path, database_url),
        cwd=tmp_path,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("re-sealed ") and int(line.split()[1].split("/")[0]) >= 50:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    ring = [k.id for k in read_key_ring(key_file)]
    assert len(ring) == 2 and ring[0] == first
    new = ring[-1]
    counts = _counts(tmp_path, database_url)
    assert 50 <= counts[new] < 300 and counts[new] + counts.get(first, 0) + counts.get("plain", 0) == 300
    reader = _store(tmp_path)
    assert all(reader.get(i.sha256) == i.data for i in images)
    assert "a rotation is unfinished" in _cli(tmp_path, database_url, "keys", "status").stdout

    resumed = _cli(tmp_path, database_url, "keys", "rotate", "--batch-size", "10")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming the unfinished rotation to key {new}" in resumed.stdout
    assert [k.id for k in read_key_ring(key_file)] == [new]  # no third key; the first one retired
    assert _counts(tmp_path, database_url) == {new: 300}
    reader = _store(tmp_path)
    assert all(reader.get(i.sha256) == i.data for i in images)
    started = _events(database_url, "storage.rotation_started")
    assert [(e.details["key_id"], e.details["resumed"]) for e in started] == [(new, False), (new, True)]


def test_ingest_through_the_api_seals_images_and_serves_the_original_bytes(harness: Harness) -> None:
    _, key = harness.camera()
    crop = jpeg_bytes(color=(10, 120, 30))
    read = make_read("7SEAL01", crop_image={"base64": base64.b64encode(crop).decode()})
    response = harness.client.post("/api/v1/reads", json={"reads": [read]}, headers={"Authorization": f"Bearer {key}"})
    assert response.json()["stored"] == 1
    digest = hashlib.sha256(crop).hexdigest()
    on_disk = harness.store.path(digest).read_bytes()
    assert on_disk.startswith(b"PKSEAL") and crop[:64] not in on_disk
    officer = harness.signed_in("sworn_officer", "dana")
    detail = officer.get(f"/api/v1/reads/{read['id']}", params=CONTEXT)
    assert detail.status_code == 200 and "crop" in detail.json()["images"]
    page = officer.get(f"/reads/{read['id']}", params=CONTEXT)  # the read detail page inlines the images
    assert page.status_code == 200 and base64.b64encode(crop).decode() in page.text
    image = officer.get(f"/api/v1/reads/{read['id']}/images/crop", params=CONTEXT)
    assert image.status_code == 200 and image.content == crop


@pytest.mark.parametrize("length", [7, 11, 18, 29])  # inside the magic, the header, the nonce, the tag
def test_a_truncated_sealed_file_is_refused_as_sealed(tmp_path: Path, length: int) -> None:
    store, image = _store(tmp_path), _image(6)
    path = store.put(image)
    path.write_bytes(path.read_bytes()[:length])
    with pytest.raises(SealedFileError):
        store.get(image.sha256)


def test_a_damaged_crop_costs_its_own_image_not_the_search(harness: Harness) -> None:
    """One altered file made every search page that listed its read answer 500, and the image route too."""
    _, key = harness.camera()
    reads = [
        make_read("7ABC123"),
        make_read("7ABC124", crop_image={"base64": base64.b64encode(jpeg_bytes(color=(9, 9, 9))).decode()}),
    ]
    assert (
        harness.client.post(
            "/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 200
    )
    with harness.database.session() as session:
        damaged = session.scalar(select(PlateRead.crop_sha256).where(PlateRead.plate == "7ABC124"))
    path = harness.store.path(damaged)
    path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1]))
    officer = harness.signed_in("sworn_officer")
    page = officer.get("/search", params={**CONTEXT, "plate": "7ABC12*"})
    assert page.status_code == 200 and "7ABC123" in page.text and "7ABC124" in page.text
    assert officer.get("/api/v1/reads", params={**CONTEXT, "plate": "7ABC12*"}).json()["total"] == 2
    read_id = next(r["id"] for r in reads if r["plate"] == "7ABC124")
    image = officer.get(f"/api/v1/reads/{read_id}/images/crop", params=CONTEXT)
    assert image.status_code == 404, image.text


def test_rotate_reseals_the_sharing_request_documents_before_retiring_the_old_key(
    tmp_path: Path, database_url: str
) -> None:
    settings = _settings(tmp_path)
    images = ImageStore.for_settings(settings)
    documents = ImageStore(settings.resolved_documents_dir, images.ring, encrypt=images.encrypt)
    image, document = _image(1), _image(2)
    images.put(image)
    documents.put(document)
    old = documents.key_id(document.sha256)
    assert old is not None
    result = _cli(tmp_path, database_url, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    assert "2 re-sealed" in result.stdout
    ring = read_key_ring(tmp_path / "var" / "storage.key")
    assert [k.id for k in ring] == [ring[-1].id] and ring[-1].id != old  # the old key is gone
    settings = _settings(tmp_path)
    fresh = ImageStore.for_settings(settings)
    reader = ImageStore(settings.resolved_documents_dir, fresh.ring, encrypt=True)
    assert reader.key_id(document.sha256) == ring[-1].id
    assert reader.get(document.sha256) == document.data  # still readable under the new key alone
