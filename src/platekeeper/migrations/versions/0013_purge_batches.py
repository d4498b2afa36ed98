"""the purge records its removed read ids and queues its files one row per batch

``purge_run_batches`` replaces ``purge_run_items``: a running purge wrote one row per removed read (an index entry
at a random place for each, then deleted again when the run finished); it now writes one row per batch, the batch's
read ids packed 16 bytes each. ``purge_file_batches`` replaces ``purge_file_queue`` the same way: the digests of a
batch's files, one per line. What a run interrupted before this upgrade had recorded or queued is carried over, so
its certificate still covers its reads and its files are still deleted.

Revision ID: 0013_purge_batches
Revises: 0012_transparency
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0013_purge_batches"
down_revision = "0012_transparency"
branch_labels = None
depends_on = None

CARRY = 10_000  # ids per carried-over row


def upgrade() -> None:
    batches = op.create_table(
        "purge_run_batches",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("read_ids", sa.LargeBinary(), nullable=False),
    )
    items = sa.table("purge_run_items", sa.column("run_id", sa.Integer()), sa.column("read_id", sa.Uuid()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(items.c.run_id, items.c.read_id).order_by(items.c.run_id)).all()
    carried: dict[int, list[uuid.UUID]] = {}
    for run_id, read_id in rows:
        carried.setdefault(run_id, []).append(read_id)
    for run_id, ids in carried.items():
        for seq, start in enumerate(range(0, len(ids), CARRY)):
            packed = b"".join(read_id.bytes for read_id in ids[start : start + CARRY])
            connection.execute(sa.insert(batches).values(run_id=run_id, seq=seq, read_ids=packed))
    op.drop_table("purge_run_items")
    _queue_up()


def _queue_up() -> None:
    files = op.create_table(
        "purge_file_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("digests", sa.Text(), nullable=False),
    )
    queue = sa.table("purge_file_queue", sa.column("sha256", sa.String(64)), sa.column("run_id", sa.Integer()))
    connection = op.get_bind()
    queued: dict[int, list[str]] = {}
    for digest, run_id in connection.execute(sa.select(queue.c.sha256, queue.c.run_id).order_by(queue.c.sha256)):
        queued.setdefault(run_id, []).append(digest)
    for run_id, digests in queued.items():
        for start in range(0, len(digests), CARRY):
            connection.execute(
                sa.insert(files).values(run_id=run_id, digests="\n".join(digests[start : start + CARRY]))
            )
    op.drop_table("purge_file_queue")


def _queue_down() -> None:
    queue = op.create_table(
        "purge_file_queue",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
    )
    files = sa.table("purge_file_batches", sa.column("run_id", sa.Integer()), sa.column("digests", sa.Text()))
    connection = op.get_bind()
    rows = {
        digest: run_id
        for run_id, digests in connection.execute(sa.select(files.c.run_id, files.c.digests))
        for digest in digests.split("\n")
        if digest
    }
    if rows:
        connection.execute(sa.insert(queue), [{"sha256": d, "run_id": r} for d, r in rows.items()])
    op.drop_table("purge_file_batches")


def downgrade() -> None:
    _queue_down()
    items = op.create_table(
        "purge_run_items",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("purge_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("read_id", sa.Uuid(), primary_key=True),
    )
    batches = sa.table("purge_run_batches", sa.column("run_id", sa.Integer()), sa.column("read_ids", sa.LargeBinary()))
    connection = op.get_bind()
    for run_id, packed in connection.execute(sa.select(batches.c.run_id, batches.c.read_ids)).all():
        ids = [uuid.UUID(bytes=bytes(packed[i : i + 16])) for i in range(0, len(packed), 16)]
        if ids:
            connection.execute(sa.insert(items), [{"run_id": run_id, "read_id": read_id} for read_id in ids])
    op.drop_table("purge_run_batches")
