"""Historical hits: past reads within retention matched against new entries, with the live matcher's semantics.

One search builds a :class:`MatchIndex` from just the new entries (one officer entry, or every entry an import
added) and streams the reads captured within ``retention.days`` through it in batches: best text and top OCR
alternates, exact, confusable and (when on) edit distance 1, state mismatches flagged. For up to
``matching.historical_prefilter_entries`` entries without edit distance 1, the database first keeps only the reads
whose folded texts equal an entry's folded plate, so a single officer entry does not drag every read through Python.
No query runs per entry. The caller audits the search (``hotlists.historical_search``) under its purpose.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from platekeeper.config import Settings
from platekeeper.db import in_batches, utcnow
from platekeeper.hotlists.matcher import Confusables, Match, MatchIndex, MatchTarget, ReadText, texts_of_read
from platekeeper.hotlists.models import HotlistEntry
from platekeeper.reads.matching import FoldedTextFilter, MatchableRead, count_past_reads, iter_past_reads

__all__ = ["HistoricalHit", "HistoricalScan", "Progress", "new_entry_targets", "search_past_reads"]

Progress = Callable[[int, int], None]  # (reads searched so far, reads to search)


@dataclass(frozen=True)
class HistoricalHit:
    """One past read that matches a new entry, and how."""

    read: MatchableRead
    match: Match


@dataclass
class HistoricalScan:
    """What a search found: the newest ``limit`` hits (newest first), and how many there were in all."""

    since: datetime
    entries: int
    searched: int = 0  # reads within retention
    examined: int = 0  # reads the matcher looked at (fewer when the database prefiltered)
    found: int = 0
    prefiltered: bool = False
    hits: list[HistoricalHit] = field(default_factory=list)

    @property
    def left_out(self) -> int:
        """Hits past the limit (counted, not kept)."""
        return self.found - len(self.hits)

    def describe(self) -> dict[str, Any]:
        """The search as its audit event records it."""
        return {
            "since": self.since.isoformat(),
            "entries_searched": self.entries,
            "reads_searched": self.searched,
            "reads_examined": self.examined,
            "prefiltered": self.prefiltered,
            "results": self.found,
            "kept": len(self.hits),
        }


def new_entry_targets(
    connection: Connection, hotlist_id: int, plates: Iterable[str], *, lookup_limit: int
) -> list[MatchTarget]:
    """The list's entries whose plate is one of ``plates`` (the ones an import added): up to ``lookup_limit``
    plates through the (list, plate) index, ``query_batch_size`` a query; more in one pass over the list's entries."""
    wanted = set(plates)
    entry = HotlistEntry
    columns = (entry.id, entry.hotlist_id, entry.plate, entry.state, entry.expires_at)
    rows: list[Any] = []
    if len(wanted) <= lookup_limit:
        ordered = sorted(wanted)
        for batch in in_batches(connection, ordered):
            chunk = entry.plate.in_(batch)
            rows.extend(connection.execute(select(*columns).where(entry.hotlist_id == hotlist_id, chunk)))
    elif wanted:
        stream = select(*columns).where(entry.hotlist_id == hotlist_id).execution_options(yield_per=50_000)
        rows = [row for row in connection.execute(stream) if row.plate in wanted]
    return [MatchTarget(i, h, p, s, e.timestamp() if e else math.inf) for i, h, p, s, e in rows]


def _text_filter(index: MatchIndex, settings: Settings) -> FoldedTextFilter | None:
    if index.edit_distance_one or len(index) > settings.matching.historical_prefilter_entries:
        return None
    confusables = index.confusables
    fold = {c: confusables.fold(c) for c in sorted(confusables.classes) if confusables.fold(c) != c}
    return FoldedTextFilter(fold=fold, keys=tuple(sorted({confusables.fold(t.plate) for t in index.targets})))


def search_past_reads(
    connection: Connection,
    settings: Settings,
    targets: list[MatchTarget],
    *,
    limit: int,
    progress: Progress | None = None,
) -> HistoricalScan:
    """Match every read captured within retention against ``targets``; keep the newest ``limit`` hits.

    ``connection`` may be a read-only snapshot (:meth:`Database.read_connection`): a long search then holds no
    write lock. Expired entries are skipped, as at ingest.
    """
    m = settings.matching
    now = utcnow()
    scan = HistoricalScan(since=now - timedelta(days=settings.retention.days), entries=len(targets))
    if not targets:
        return scan
    index = MatchIndex.build(targets, Confusables(m.confusable_pairs), edit_distance_one=m.edit_distance_one)
    text_filter = _text_filter(index, settings)
    scan.prefiltered = text_filter is not None
    scan.searched = count_past_reads(connection, scan.since)
    newest: list[tuple[datetime, int, HistoricalHit]] = []  # a min-heap of the newest hits
    at = now.timestamp()
    for reads in iter_past_reads(connection, scan.since, batch_size=m.historical_batch_size, text_filter=text_filter):
        for read in reads:
            if read.correction:  # a person saw what the plate really says (or that it is unreadable): only that counts
                texts = [ReadText(read.corrected_plate, "corrected", 1.0)] if read.corrected_plate else []
            else:
                texts = texts_of_read(
                    read.plate, read.confidence, read.candidates, m.max_candidates, m.min_candidate_confidence
                )
            for match in index.match(texts, read.region, at):
                scan.found += 1
                item = (read.captured_at, scan.found, HistoricalHit(read, match))
                if len(newest) < limit:
                    heapq.heappush(newest, item)
                elif item[0] > newest[0][0]:
                    heapq.heapreplace(newest, item)
        scan.examined += len(reads)
        if progress:
            progress(min(scan.examined, scan.searched), scan.searched)
    if progress:
        progress(scan.searched, scan.searched)  # with a prefilter, the database skipped the reads that cannot match
    scan.hits = [hit for _, _, hit in sorted(newest, key=lambda item: (item[0], item[1]), reverse=True)]
    return scan
