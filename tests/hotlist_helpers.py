"""Helpers shared by the hotlist and alert tests: make a list, load it, ingest reads, wait for the matcher."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Harness, make_read

CSV_HEADER = "PlateNumber,State,Category,Reason,NIC,Make,Model,Color\n"


def matcher_of(harness: Harness) -> Any:
    return harness.client.app.state.alerting.matcher  # type: ignore[attr-defined]


def make_list(
    manager: TestClient, name: str = "NCIC stolen", kind: str = "stolen_vehicle", refresh: int | None = 24
) -> int:
    response = manager.post(
        "/api/v1/hotlists", json={"name": name, "kind": kind, "source": "CLETS daily extract", "refresh_hours": refresh}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def load(harness: Harness, manager: TestClient, hotlist_id: int, text: str, **params: Any) -> Any:
    response = manager.post(f"/api/v1/hotlists/{hotlist_id}/import", content=text.encode(), params=params)
    matcher_of(harness).wait()
    harness.client.app.state.alerting.wait_history()  # type: ignore[attr-defined]  # the historical-hit search
    return response


def ingest(harness: Harness, key: str, *reads: dict[str, Any]) -> Any:
    response = harness.client.post(
        "/api/v1/reads", json={"reads": list(reads)}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return response


def hotlist_with(harness: Harness, rows: str, **list_args: Any) -> tuple[TestClient, int]:
    manager = harness.signed_in("records_manager")
    hotlist_id = make_list(manager, **list_args)
    response = load(harness, manager, hotlist_id, CSV_HEADER + rows)
    assert response.status_code == 200, response.text
    return manager, hotlist_id


__all__ = ["CSV_HEADER", "hotlist_with", "ingest", "load", "make_list", "make_read", "matcher_of"]
