"""Hotlists and entries: create, import (all or nothing), officer entries with historical hits, staleness.

The only package that touches the hotlist tables (lists.py, imports.py, entries.py, history.py). Entry contents
are plate data: listing them and adding an officer entry take an AccessContext and are audited; importing is
audited with the file's name, mode and row counts. history.py matches past reads against new entries.
"""

from __future__ import annotations

from platekeeper.hotlists.service.entries import (
    EntryInput,
    OfficerEntryResult,
    add_officer_entry,
    entry_snapshot,
    list_entries,
)
from platekeeper.hotlists.service.history import (
    HistoricalHit,
    HistoricalScan,
    new_entry_targets,
    search_past_reads,
)
from platekeeper.hotlists.service.imports import ImportMode, ImportOutcome, ImportRejected, import_entries
from platekeeper.hotlists.service.lists import (
    HotlistError,
    HotlistSummary,
    create_hotlist,
    entries_and_lists,
    get_hotlist,
    hotlist_by_name,
    is_stale,
    iter_match_targets,
    list_hotlists,
    match_signature,
)

__all__ = [
    "EntryInput",
    "HistoricalHit",
    "HistoricalScan",
    "HotlistError",
    "HotlistSummary",
    "ImportMode",
    "ImportOutcome",
    "ImportRejected",
    "OfficerEntryResult",
    "add_officer_entry",
    "create_hotlist",
    "entries_and_lists",
    "entry_snapshot",
    "get_hotlist",
    "hotlist_by_name",
    "import_entries",
    "is_stale",
    "iter_match_targets",
    "list_entries",
    "list_hotlists",
    "match_signature",
    "new_entry_targets",
    "search_past_reads",
]
