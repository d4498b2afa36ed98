"""Hotlists: their kinds, the import formats, the watched folder, and how reads are matched against them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from platekeeper.config.base import CODE_PATTERN, MiB, StrictModel


class HotlistKindConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with lists, entries and alerts.")
    label: str = Field(min_length=3, max_length=80, description="What officers see.")
    priority: int = Field(3, ge=1, le=5, description="Alert priority for a hit on this kind: 1 is the most urgent.")
    aliases: tuple[str, ...] = Field(
        default=(), description="Category values in import files that mean this kind (compared case-insensitively)."
    )
    purpose: str = Field(
        "criminal_investigation",
        description="The authorized purpose (access.purposes) recorded when an alert from a list of this kind is "
        "opened and verified: alert work carries its own purpose and reference, never a search's (462.3, 462.8).",
    )


def _default_hotlist_kinds() -> tuple[HotlistKindConfig, ...]:
    return (
        HotlistKindConfig(code="stolen_vehicle", label="Stolen vehicle", priority=1, aliases=("VEH", "SV")),
        HotlistKindConfig(code="stolen_plate", label="Stolen plate", priority=1, aliases=("LIC", "SP")),
        HotlistKindConfig(
            code="wanted_person", label="Wanted person", priority=1, aliases=("WAN", "WP"), purpose="wanted_person"
        ),
        HotlistKindConfig(
            code="missing_person", label="Missing person", priority=1, aliases=("MIS", "MP"), purpose="wanted_person"
        ),
        HotlistKindConfig(
            code="amber_silver_alert",
            label="AMBER / Silver alert",
            priority=1,
            aliases=("AMB", "SIL", "AMBER"),
            purpose="wanted_person",
        ),
        HotlistKindConfig(
            code="warrant", label="Warrant", priority=2, aliases=("WAR", "WR"), purpose="sanctions_enforcement"
        ),
        HotlistKindConfig(code="custom", label="Custom (officer-entered)", priority=3, aliases=("CUS",)),
    )


class FixedWidthFieldConfig(StrictModel):
    name: Literal["kind", "plate", "state", "reason", "nic", "make", "model", "color", "expires_at", "notes"] = Field(
        description="Entry field this slice fills."
    )
    start: int = Field(ge=0, le=1000, description="Zero-based column where the field starts.")
    width: int = Field(ge=1, le=200, description="Characters in the field.")


def _default_fixed_width() -> tuple[FixedWidthFieldConfig, ...]:
    # NCIC-extract-like: MKE(3) LIC(10) LIS(2) NIC(10) VMA(4) VMO(3) VCO(7) OFF(20) EXP(8, YYYYMMDD)
    layout = [("kind", 3), ("plate", 10), ("state", 2), ("nic", 10), ("make", 4), ("model", 3), ("color", 7)]
    layout += [("reason", 20), ("expires_at", 8)]
    fields, start = [], 0
    for name, width in layout:
        fields.append(FixedWidthFieldConfig.model_validate({"name": name, "start": start, "width": width}))
        start += width
    return tuple(fields)


class HotlistConfig(StrictModel):
    kinds: tuple[HotlistKindConfig, ...] = Field(
        default_factory=_default_hotlist_kinds, min_length=1, description="The list kinds the agency uses (462.2)."
    )
    refused_kinds: tuple[str, ...] = Field(
        ("immigration_violator",),
        description="Kinds that may never be loaded (e.g. the NCIC Immigration Violator file); refused everywhere.",
    )
    refused_categories: tuple[str, ...] = Field(
        ("IMM", "IVF", "immigration violator", "immigration_violator"),
        description="Category values in import files that are refused (whole value, case-insensitive).",
    )
    refused_terms: tuple[str, ...] = Field(
        ("immigration violator",),
        description="Text that may not appear in a list's name or source (substring, case-insensitive).",
    )
    officer_entry_days: int = Field(
        30, ge=1, le=30, description="Entries added by officers expire at most this many days after entry."
    )
    default_refresh_hours: int = Field(
        24, ge=1, le=24 * 14, description="Refresh cadence of a new imported list; not refreshed in time = stale."
    )
    watch_dir: Path | None = Field(
        None, description="Folder watched for refresh files named <list name>.csv/.txt/.dat (None: no watch)."
    )
    watch_interval_minutes: int = Field(
        15, ge=1, le=1440, description="How often `platekeeper serve` scans watch_dir for refresh files."
    )
    max_import_rows: int = Field(5_000_000, ge=1, le=50_000_000, description="Most rows one import may hold.")
    max_import_bytes: int = Field(
        512 * MiB, ge=1024, le=8192 * MiB, description="Largest import file accepted (upload or CLI)."
    )
    max_reported_errors: int = Field(50, ge=1, le=10_000, description="Bad rows listed in one refusal.")
    fixed_width: tuple[FixedWidthFieldConfig, ...] = Field(
        default_factory=_default_fixed_width, min_length=1, description="Column layout of the fixed-width format."
    )
    entries_page_size: int = Field(100, ge=10, le=1000, description="Entries shown per page of a list.")
    historical_search_purpose: str = Field(
        "wanted_person",
        description="Authorized purpose recorded when an import searches past reads for its new entries (462.3).",
    )

    def kind(self, code: str) -> HotlistKindConfig | None:
        """The configured kind with this code, or None."""
        return next((k for k in self.kinds if k.code == code), None)


class MatchConfig(StrictModel):
    confusable_pairs: tuple[str, ...] = Field(
        ("O0", "I1", "B8", "D0", "QO", "G6", "S5", "Z2"),
        description="Pairs of characters OCR confuses; matched as equal (the pairs are closed transitively).",
    )
    edit_distance_one: bool = Field(
        False, description="Also match reads one inserted, dropped or changed character away from an entry."
    )
    max_candidates: int = Field(
        3, ge=0, le=10, description="OCR alternates of a read matched besides its best text (0: best text only)."
    )
    min_candidate_confidence: float = Field(
        0.05, ge=0.0, le=1.0, description="Alternates below this confidence are not matched."
    )
    reload_check_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often ingest checks whether the lists changed and a reload is due."
    )
    historical_result_limit: int = Field(
        200, ge=1, le=10_000, description="Most historical hits shown for one officer entry (the newest)."
    )
    historical_alert_limit: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Most historical-hit alerts one import raises (the newest reads); the "
        "rest are counted in the audit log and the import's report.",
    )
    historical_batch_size: int = Field(
        5000, ge=100, le=100_000, description="Past reads fetched per batch by a historical-hit search."
    )
    historical_prefilter_entries: int = Field(
        5000,
        ge=0,
        le=20_000,
        description="A historical-hit search for at most this many new entries looks them up by plate and lets "
        "the database pick the reads whose texts fold to an entry's plate (unless edit distance 1 is on); larger "
        "ones read the whole list and stream every read within retention through the matcher.",
    )

    @field_validator("confusable_pairs")
    @classmethod
    def _pairs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pair in value:
            if len(pair) != 2 or not pair.isalnum() or pair.upper() != pair:
                raise ValueError(f"{pair!r}: each pair is two characters from A-Z and 0-9")
        return value
