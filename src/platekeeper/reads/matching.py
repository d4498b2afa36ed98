"""The texts of reads for machines: the hotlist matcher at ingest and the historical-hit search over past reads.

No person sees these reads, so these functions take no AccessContext; their callers audit what they find (each
alert raised, each historical search under its configured purpose).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, case, cast, exists, false, func, or_, select
from sqlalchemy.orm import Session

from platekeeper.db import in_batches
from platekeeper.reads.models import PlateRead

__all__ = ["FoldedTextFilter", "MatchableRead", "count_past_reads", "iter_past_reads", "reads_for_matching"]


@dataclass(frozen=True)
class MatchableRead:
    """What the hotlist matcher needs of a newly stored read."""

    id: uuid.UUID
    camera_id: int
    plate: str
    confidence: float
    region: str | None
    candidates: list[dict[str, Any]] | None
    captured_at: datetime
    corrected_plate: str | None = None  # a person's correction after a misread: matched instead of the OCR texts
    correction: str | None = None  # corrected | unreadable | None


# The columns a MatchableRead is built from, in its field order.
_MATCHABLE_COLUMNS = (
    PlateRead.id,
    PlateRead.camera_id,
    PlateRead.plate,
    PlateRead.confidence,
    PlateRead.region,
    PlateRead.candidates,
    PlateRead.captured_at,
    PlateRead.corrected_plate,
    PlateRead.correction,
)


def reads_for_matching(session: Session, read_ids: list[uuid.UUID]) -> list[MatchableRead]:
    """The texts of newly stored reads, for hotlist matching inside the ingest transaction.

    Machine use at ingest: no person sees these reads, so no AccessContext; each alert it raises is audited, and
    opening an alert is an audited access with a context.
    """
    found: list[MatchableRead] = []
    for batch in in_batches(session, read_ids):
        rows = session.execute(select(*_MATCHABLE_COLUMNS).where(PlateRead.id.in_(batch)))
        found.extend(MatchableRead(*row) for row in rows)
    return found


@dataclass(frozen=True)
class FoldedTextFilter:
    """Reads whose best text, or the text of one of their OCR alternates, is one of ``keys`` once every character
    in ``fold`` has been replaced by its counterpart (e.g. O, D, Q -> 0): a superset of the hotlist matcher's exact
    and confusable hits, worked out by the database."""

    fold: dict[str, str]
    keys: tuple[str, ...]


def _folded_sql(expr: Any, fold: dict[str, str], dialect: str) -> Any:
    if not fold:
        return expr
    if dialect == "postgresql":
        return func.translate(expr, "".join(fold), "".join(fold.values()))
    for char, replacement in fold.items():
        expr = func.replace(expr, char, replacement)
    return expr


def _text_filter_sql(text_filter: FoldedTextFilter, dialect: str) -> Any:
    keys = list(text_filter.keys)
    best = or_(
        _folded_sql(PlateRead.plate, text_filter.fold, dialect).in_(keys),
        _folded_sql(PlateRead.corrected_plate, text_filter.fold, dialect).in_(keys),
    )
    element: Any
    text: Any
    if dialect == "postgresql":
        element = func.json_array_elements(PlateRead.candidates).table_valued("value").alias("candidate")
        text = element.c.value.op("->>")("text")
    else:
        element = func.json_each(PlateRead.candidates).table_valued("value").alias("candidate")
        text = func.json_extract(element.c.value, "$.text")
    alternate: Any = exists(
        select(1).select_from(element).where(_folded_sql(text, text_filter.fold, dialect).in_(keys))
    )
    if dialect == "postgresql":  # a read without alternates holds JSON null, which json_array_elements refuses
        alternate = case((func.json_typeof(PlateRead.candidates) == "array", alternate), else_=false())
    exact = or_(best, alternate)
    if len(keys) != 1:
        return exact
    # one plate (an officer entry): a LIKE with "_" wherever a confusable character may stand rejects most reads
    # before any folding or JSON parsing (about five times faster on SQLite)
    ambiguous = set(text_filter.fold.values())
    pattern = "".join("_" if c in ambiguous else c for c in keys[0])
    quick = or_(
        PlateRead.plate.like(pattern),
        PlateRead.corrected_plate.like(pattern),
        cast(PlateRead.candidates, Text).like(f'%"{pattern}"%'),
    )
    return and_(quick, exact)


def count_past_reads(connection: Connection, since: datetime) -> int:
    """How many reads were captured since ``since`` (for a historical-hit search's progress)."""
    return connection.scalar(select(func.count(PlateRead.id)).where(PlateRead.captured_at >= since)) or 0


def iter_past_reads(
    connection: Connection, since: datetime, *, batch_size: int, text_filter: FoldedTextFilter | None = None
) -> Iterator[list[MatchableRead]]:
    """The texts of every read captured since ``since`` (optionally only those ``text_filter`` lets through), in
    batches streamed from a server-side cursor.

    Machine use, like :func:`reads_for_matching`: the caller (a historical-hit search) audits the access under
    its purpose in the transaction that keeps what it found.
    """
    stmt = select(*_MATCHABLE_COLUMNS).where(PlateRead.captured_at >= since)
    if text_filter is not None:
        stmt = stmt.where(_text_filter_sql(text_filter, connection.dialect.name))
    for rows in connection.execute(stmt.execution_options(yield_per=batch_size)).partitions():
        yield [MatchableRead(*row) for row in rows]
