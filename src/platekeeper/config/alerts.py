"""Alerts and their verification (462.8): dispositions, reject reasons, CLETS results, the live dashboard and its
stream.
"""

from __future__ import annotations

from pydantic import Field

from platekeeper.config.base import CODE_PATTERN, RegexPattern, StrictModel


class DispositionConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with the alert.")
    label: str = Field(min_length=3, max_length=80, description="What the officer picks when closing an alert.")
    enforcement: bool = Field(
        False, description="Leads to enforcement: refused without a visual match and a CLETS confirmation (462.8)."
    )
    misread: bool = Field(False, description="Counts as a misread in the per-camera misread rate.")


def _default_dispositions() -> tuple[DispositionConfig, ...]:
    return (
        DispositionConfig(code="action_taken", label="Action taken (stop / recovery / arrest)", enforcement=True),
        DispositionConfig(code="no_action", label="No action"),
        DispositionConfig(code="misread", label="Misread: the plate was not read correctly", misread=True),
        DispositionConfig(code="wrong_state", label="Wrong state: same characters, other state", misread=True),
        DispositionConfig(code="vehicle_not_located", label="Vehicle not located"),
        DispositionConfig(code="duplicate", label="Duplicate of another alert"),
    )


class ChoiceConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with the alert.")
    label: str = Field(min_length=3, max_length=120, description="What the officer picks from.")


def _default_reject_reasons() -> tuple[ChoiceConfig, ...]:
    return (
        ChoiceConfig(code="misread", label="Misread: the characters on the plate differ from the entry"),
        ChoiceConfig(code="wrong_state", label="Wrong state: the plate is from another state"),
        ChoiceConfig(code="vehicle_mismatch", label="Vehicle differs: make or color does not match the entry"),
    )


class CletsResultConfig(StrictModel):
    code: str = Field(pattern=CODE_PATTERN, description="Stable identifier stored with the alert.")
    label: str = Field(min_length=3, max_length=120, description="What the officer records as the CLETS answer.")
    confirms: bool = Field(False, description="CLETS confirms the hit is still valid for this vehicle.")


def _default_clets_results() -> tuple[CletsResultConfig, ...]:
    return (
        CletsResultConfig(code="confirmed", label="Confirmed: the record is active and matches", confirms=True),
        CletsResultConfig(code="not_on_file", label="Not on file / cleared"),
        CletsResultConfig(code="no_match", label="Record does not match this vehicle"),
    )


class AlertConfig(StrictModel):
    dispositions: tuple[DispositionConfig, ...] = Field(
        default_factory=_default_dispositions, min_length=1, description="How an alert can end (462.8)."
    )
    reject_reasons: tuple[ChoiceConfig, ...] = Field(
        default_factory=_default_reject_reasons,
        min_length=1,
        description="What a failed visual check can say (the other choice is a visual match).",
    )
    clets_results: tuple[CletsResultConfig, ...] = Field(
        default_factory=_default_clets_results, min_length=1, description="Results a CLETS check can record."
    )
    clets_reference_pattern: RegexPattern = Field(
        r"^[A-Z0-9-]{4,40}$", description="Regular expression a CLETS message reference must match."
    )
    dashboard_size: int = Field(50, ge=5, le=500, description="Alerts shown on one page of the alert list.")
    sound_on_live_hit: bool = Field(
        False,
        description="Beep on the alert page when a live hit arrives (two tones; three for a priority-1 hit). The "
        "loud banner shows either way; each officer can still turn the sound off or on for their own browser.",
    )
    lead_disposition: str = Field(
        "no_action",
        description="The disposition (one of alerts.dispositions, not an enforcement one) recorded when historical "
        "leads are closed in bulk.",
    )
    dashboard_purpose: str = Field(
        "wanted_person",
        description="Authorized purpose recorded when the live dashboard or its stream shows alerts (462.2, 462.3).",
    )
    stream_keepalive_seconds: float = Field(
        15.0, gt=0, le=120, description="A comment is sent on an idle alert stream this often (keeps proxies open)."
    )
    stream_queue_size: int = Field(
        200, ge=10, le=10_000, description="Alerts buffered per live connection before the oldest are dropped."
    )
    stream_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=1.0,
        description="While a stream is open, the alerts table is checked this often for alerts committed by other "
        "processes (a worker, a CLI import).",
    )
    stream_gap_seconds: float = Field(
        30.0,
        ge=1,
        le=600,
        description="How long the stream keeps looking for an alert id missing from the sequence (a transaction "
        "of another process still committing) before it stops expecting it.",
    )
    stream_recheck_seconds: float = Field(
        5.0,
        ge=0.1,
        le=30,
        description="An open alert stream asks again this often whether its session or token is still valid (not "
        "signed out, revoked, expired or idle past its limit), and whether the account is still active and trained; "
        "it closes as soon as any of that ends.",
    )
    stream_replay_limit: int = Field(
        200,
        ge=1,
        le=1000,
        description="At most this many alerts a dashboard missed (raised after its page was rendered, or while it "
        "was reconnecting) are sent when its stream opens; the newest are kept.",
    )

    def disposition(self, code: str) -> DispositionConfig | None:
        """The configured disposition with this code, or None."""
        return next((d for d in self.dispositions if d.code == code), None)
