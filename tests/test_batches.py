"""Lookups by many values are split into queries of query_batch_size values, from the config to the query."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event

from platekeeper.config import ConfigError, load_settings
from platekeeper.db import Database, in_batches
from platekeeper.reads.matching import reads_for_matching
from platekeeper.services import build_services
from tests.conftest import FAST_HASH, Harness, make_read


def test_sessions_and_read_connections_carry_the_configured_size(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'b.db'}", batch_size=7)
    items = list(range(20))
    with database.session() as session:
        assert [len(b) for b in in_batches(session, items)] == [7, 7, 6]
    with database.read_connection() as conn:
        assert [list(b) for b in in_batches(conn, items)][-1] == [14, 15, 16, 17, 18, 19]
    with database.session() as session:
        assert list(in_batches(session, [])) == []
    database.dispose()


def test_the_services_build_the_database_with_query_batch_size(tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path / "var", access=FAST_HASH, query_batch_size=25)
    services = build_services(settings)
    assert services.database.batch_size == 25
    services.database.dispose()


def test_a_lookup_of_more_reads_than_one_batch_finds_them_all(harness: Harness) -> None:
    _, key = harness.camera()
    reads = [make_read(f"7ABC{n:03}") for n in range(23)]
    response = harness.client.post("/api/v1/reads", json={"reads": reads}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    small = Database(harness.settings.resolved_database_url, batch_size=10)  # as query_batch_size: 10 builds it
    statements: list[str] = []
    event.listen(small.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with small.session() as session:
        found = reads_for_matching(session, [uuid.UUID(r["id"]) for r in reads])
    small.dispose()
    assert sorted(r.plate for r in found) == sorted(r["plate"] for r in reads)
    assert sum("FROM plate_reads" in sql for sql in statements) == 3  # 10 + 10 + 3


@pytest.mark.parametrize("size", [0, 9, 30_001])
def test_query_batch_size_is_bounded(tmp_path, size: int) -> None:
    with pytest.raises(ConfigError, match="query_batch_size"):
        load_settings(data_dir=tmp_path, query_batch_size=size)
