"""The audit plan (policy 462.6(c)): how often the system is audited, by whom, who approves, the sample, the method,
how long audit records are kept, and the thresholds of the automatic checks."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from platekeeper.config.base import CODE_PATTERN, StrictModel, section

DEFAULT_METHOD = (
    "Automatic checks of every access to ALPR data in the period (volume, case numbers, justifications, purposes, "
    "repeated plates, off-hours and bulk activity, training, accounts, vendor access), of sharing, legal holds, "
    "purges, hotlists, alerts and the audit chain; then a random sample of searches reviewed by hand against "
    "their stated purpose, case number and justification. Each finding is resolved or referred to the user's "
    "supervisor; a second person approves the findings before the audit is closed."
)


class AuditChecksConfig(StrictModel):
    """Thresholds of the automatic checks: what counts as a finding."""

    off_hours_start: int = Field(
        0, ge=0, le=23, description="Hour (agency time) at which off-hours begin, inclusive (0: midnight)."
    )
    off_hours_end: int = Field(5, ge=0, le=23, description="Hour (agency time) at which off-hours end, exclusive.")
    burst_accesses: int = Field(
        8, ge=2, le=10_000, description="Accesses within one off-hours hour by one user that make a burst."
    )
    usual_off_hours_share: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="A user whose other accesses fall in off-hours at least this often (a night shift) is not "
        "flagged for an off-hours burst: the burst is measured against the user's own usual pattern.",
    )
    daily_volume_factor: float = Field(
        4.0, ge=1.5, le=100.0, description="A day with this many times the user's median daily accesses is high-volume."
    )
    daily_volume_min: int = Field(
        30, ge=2, le=100_000, description="Fewest accesses in one day to call it high-volume, whatever the median."
    )
    repeat_plate: int = Field(
        5, ge=2, le=10_000, description="Accesses to one plate by one user in the period that make a finding."
    )
    many_users: int = Field(
        5, ge=2, le=10_000, description="Distinct users searching one plate in the period that make a finding."
    )
    case_plates: int = Field(
        10, ge=2, le=100_000, description="Distinct plates searched under one case number that make a finding."
    )
    justification_cases: int = Field(
        3, ge=2, le=10_000, description="Distinct case numbers under one justification text that make a finding."
    )
    bulk_results: int = Field(
        500, ge=1, le=10_000_000, description="Results a search without a plate may match before it is bulk."
    )
    deep_page: int = Field(
        5, ge=2, le=100_000, description="Page number of one search at which paging counts as bulk extraction."
    )
    shared_account_minutes: int = Field(
        10,
        ge=1,
        le=1440,
        description="Accesses by one account from two different client addresses within this many minutes suggest "
        "a shared account.",
    )
    hold_age_days: int = Field(
        365, ge=30, le=3650, description="An active legal hold older than this is a finding: review it or release it."
    )
    undecided_hold_days: int = Field(
        14, ge=1, le=365, description="A requested hold not decided within this many days is a finding."
    )
    purge_gap_hours: int = Field(
        48, ge=25, le=24 * 30, description="Hours between finished purges past which a purge counts as skipped."
    )
    misread_rate: float = Field(
        0.2, ge=0.0, le=1.0, description="A misread rate of closed alerts above this is a finding (462.8)."
    )


class AuditPlanConfig(StrictModel):
    """The written audit plan (462.6(c); State Auditor 2019-118): checked at start-up."""

    per_year: int = Field(2, ge=2, le=12, description="System audits per year; at least two (462.6(c)).")
    performer_role: str = Field(
        "alpr_admin",
        pattern=CODE_PATTERN,
        description="Role that performs the audits (462.6(c): the Administration and Investigations Bureau "
        "Commander, the ALPR administrator); it must hold audits.perform.",
    )
    approver_role: str = Field(
        "auditor",
        pattern=CODE_PATTERN,
        description="Role that approves an audit's findings; it must hold audits.approve, and the approver is "
        "never the person who performed the audit.",
    )
    sample_size: int = Field(
        25, ge=5, le=1000, description="Searches drawn at random (seed recorded) for review by hand in each audit."
    )
    method: str = Field(
        DEFAULT_METHOD, min_length=40, max_length=4000, description="The audit method, printed in every report."
    )
    record_days: int = Field(
        3 * 365,
        ge=365,
        le=36500,
        description="Days an audit, its findings and its report are kept after it is closed (at least a year).",
    )
    referral_note_min_length: int = Field(
        20, ge=10, le=500, description="Shortest finding a reviewer records when referring a search to a supervisor."
    )
    run_in_server: bool = Field(
        True,
        description="Inside `platekeeper serve`, schedule and run each period's audit once the period has ended "
        "(periods of 12 / per_year months from 1 January, agency time). Off: run `platekeeper audits run-due` "
        "from cron or a systemd timer instead.",
    )
    run_time: time = Field(
        time(4, 45),
        description="When `platekeeper serve` looks for an ended period without its audit, daily, agency time.",
    )
    checks: AuditChecksConfig = section(AuditChecksConfig, "Thresholds of the automatic checks.")

    @property
    def interval_months(self) -> int:
        """Months between audits: 12 / per_year, rounded down (6 for two a year)."""
        return 12 // self.per_year
