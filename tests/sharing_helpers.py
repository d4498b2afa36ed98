"""Helpers for the sharing tests: agencies and written requests through the API, a small PDF, a package's reads."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from platekeeper.config.agency import AgencyConfig

__all__ = ["PDF", "agency", "agency_today", "package_reads", "submit", "window"]

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def agency_today() -> date:
    """Today in the default agency time zone, as the forms and services count days (the test machine runs on UTC,
    which is a day ahead of California for eight hours of each day)."""
    return datetime.now(ZoneInfo(AgencyConfig.model_fields["timezone"].default)).date()


def window(days_back: float = 2, days_forward: float = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "since": (now - timedelta(days=days_back)).isoformat(),
        "until": (now + timedelta(days=days_forward)).isoformat(),
    }


def agency(client: TestClient, name: str = "Hermosa Beach Police Department", **overrides: Any) -> int:
    body = {"name": name, "kind": "law_enforcement", "jurisdiction": "california", "ori": "CA0191100",
            "address": "540 Pier Ave, Hermosa Beach", "contacts": "Records: 310-555-0100", **overrides}  # fmt: skip
    response = client.post("/api/v1/sharing/agencies", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def submit(client: TestClient, agency_id: int, *, status: int = 201, **overrides: Any) -> dict[str, Any]:
    body = {
        "agency_id": agency_id, "requester_name": "Det. Maria Lopez", "requester_contact": "mlopez@hbpd.example",
        "purpose": "criminal_investigation", "description": "vehicle seen leaving an armed robbery on Pier Ave",
        "case_number": "HB-26-0412", "legal_basis": "Penal Code 211 investigation", "plates": ["6SHR001"],
        "camera_ids": [], "received_on": agency_today().isoformat(),
        "document_base64": base64.b64encode(PDF).decode(), **window(), **overrides,
    }  # fmt: skip
    response = client.post("/api/v1/sharing/requests", json=body)
    assert response.status_code == status, response.text
    return response.json()


def package_reads(data: bytes) -> list[dict[str, str]]:
    """The rows of reads.csv in a package ZIP."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith("/reads.csv")]
        return list(csv.DictReader(io.StringIO(archive.read(name).decode())))
