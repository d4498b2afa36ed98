"""What cameras send and what officers search: ingest limits, search limits and the server-side recognition queue."""

from __future__ import annotations

from pydantic import Field, field_validator

from platekeeper.config.base import MiB, StrictModel


class IngestConfig(StrictModel):
    max_request_bytes: int = Field(32 * MiB, ge=1024, le=1024 * MiB, description="Largest request body accepted.")
    max_image_bytes: int = Field(8 * MiB, ge=1024, le=512 * MiB, description="Largest single image accepted.")
    max_image_pixels: int = Field(
        50_000_000,
        ge=10_000,
        le=500_000_000,
        description="Largest width x height accepted (decompression-bomb guard).",
    )
    max_batch_pixels: int = Field(
        250_000_000,
        ge=100_000,
        le=10_000_000_000,
        description="Most pixels (width x height, read from the headers before decoding) all the images of one "
        "request may hold together; the reads whose images go past it are rejected, so one request cannot keep "
        "the server decoding for long.",
    )
    max_pixels_per_byte: dict[str, float] = Field(
        default_factory=lambda: {"JPEG": 100.0, "PNG": 400.0, "WEBP": 1000.0},
        description="An image claiming more pixels per byte of file than this, for its format, is refused before "
        "decoding (a decompression bomb). Camera photographs hold under 30; a single flat colour reaches about 64 "
        "in JPEG, 310 in RGB PNG and 560 in WebP.",
    )
    max_batch_reads: int = Field(500, ge=1, le=10_000, description="Most reads in one batch.")

    @field_validator("max_pixels_per_byte")
    @classmethod
    def _densities(cls, value: dict[str, float]) -> dict[str, float]:
        for fmt, density in value.items():
            if fmt not in ("JPEG", "PNG", "WEBP"):
                raise ValueError(f"{fmt!r} is not an accepted image format (JPEG, PNG, WEBP)")
            if not 1 <= density <= 100_000:
                raise ValueError(f"{fmt}: {density} pixels per byte is outside 1..100000")
        return value

    max_clock_skew_minutes: int = Field(10, ge=0, le=1440, description="How far in the future captured_at may lie.")


class SearchConfig(StrictModel):
    page_size: int = Field(50, ge=5, le=500, description="Results per page.")
    min_wildcard_characters: int = Field(
        3, ge=1, le=8, description="Known characters a wildcard query needs (caps search scope)."
    )
    max_range_days: int = Field(366, ge=1, le=3650, description="Longest time range one search may span.")
    count_limit: int = Field(
        10_000,
        ge=1_000,
        le=10_000_000,
        description="A search counts its matches exactly up to this many, then says 'more than' this: counting "
        "every match of a broad wildcard in a county's year of reads would take longer than finding them.",
    )


class RecognitionQueueConfig(StrictModel):
    in_process_worker: bool = Field(
        True, description="Run one recognition worker inside `platekeeper serve` (else run `platekeeper worker`)."
    )
    poll_seconds: float = Field(1.0, gt=0, le=60, description="How often an idle worker looks for new jobs.")
    lease_seconds: int = Field(
        120, ge=10, le=3600, description="A claimed job returns to the queue if its worker is silent this long."
    )
    max_attempts: int = Field(3, ge=1, le=10, description="Attempts before a job is marked failed.")
    min_confidence: float = Field(
        0.3, ge=0.0, le=1.0, description="Plates read on the server below this confidence are not stored."
    )
    max_plates_per_image: int = Field(8, ge=1, le=50, description="Most plates stored from one image.")


class CamerasConfig(StrictModel):
    silent_after_minutes: int = Field(
        60,
        ge=5,
        le=7 * 24 * 60,
        description="A fixed camera with no upload for this long is shown as silent on the cameras and home pages, "
        "with a notice for those who manage cameras.",
    )
    mobile_silent_after_minutes: int = Field(
        24 * 60,
        ge=5,
        le=30 * 24 * 60,
        description="The same for a mobile (vehicle) unit, which is out of coverage between shifts.",
    )
