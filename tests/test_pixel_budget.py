"""The pixel budget of one request (``ingest.max_batch_pixels``): the reads whose images go past it are rejected
before anything is decoded; sent again in a smaller batch they are stored."""

from __future__ import annotations

import base64

import pytest

from platekeeper.config import Settings, load_settings
from tests.conftest import FAST_HASH, Harness, jpeg_bytes, make_read

CROP = (200, 120)  # 24,000 pixels: four fit in the budget below, the fifth does not


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    ingest = {"max_batch_pixels": 100_000}
    return load_settings(data_dir=tmp_path / "var", database_url=database_url, access=FAST_HASH, ingest=ingest)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_batch_past_its_pixel_budget_rejects_the_reads_beyond_it(harness: Harness) -> None:
    _, key = harness.camera()
    crop = {"base64": base64.b64encode(jpeg_bytes(CROP)).decode()}
    reads = [make_read(f"7ABC12{i}", crop_image=crop) for i in range(6)]
    response = harness.client.post("/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 207, response.text
    statuses = [item["status"] for item in response.json()["results"]]
    assert statuses == ["stored"] * 4 + ["rejected"] * 2
    assert "ingest.max_batch_pixels" in response.json()["results"][4]["reason"]
    again = harness.client.post("/api/v1/reads", json={"reads": reads[4:]}, headers={"Authorization": f"Bearer {key}"})
    assert [item["status"] for item in again.json()["results"]] == ["stored", "stored"]  # sent again, smaller
