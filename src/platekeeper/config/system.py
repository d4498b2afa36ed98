"""The installation: retention, the audit log and its checkpoints, keys, files on disk, the web server and rate
limits."""

from __future__ import annotations

import ipaddress
from datetime import time
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, field_validator

from platekeeper.config.base import StrictModel


class RetentionConfig(StrictModel):
    days: int = Field(365, ge=30, le=3650, description="Days a read and its images are kept (462.9).")
    purge_time: time = Field(
        time(3, 30),
        description="When `platekeeper serve` runs the daily purge, in the agency's time zone (HH:MM).",
    )
    purge_in_server: bool = Field(
        True,
        description="Run the daily purge inside `platekeeper serve`. Off: run `platekeeper purge` from cron or a "
        "systemd timer instead (the dashboard warns when no purge has run for stale_after_hours).",
    )
    batch_size: int | None = Field(
        None,
        ge=10,
        le=100_000,
        description="Reads one purge transaction removes; empty: 250 on SQLite, 2,000 on PostgreSQL. On SQLite a "
        "batch holds the database's only write lock, which every audited search needs for its audit record: "
        "with 2,000 a search during a purge waited 12 times its usual time (p95), with 250 about 3 times, for "
        "10% fewer reads purged a second. PostgreSQL's searches do not wait on a purge's batch.",
    )
    pause_ms: int | None = Field(
        None,
        ge=0,
        le=60_000,
        description="Pause after each purge batch, leaving the database to ingest and search; empty: 30 ms on "
        "SQLite, 100 ms on PostgreSQL. SQLite hands its write lock to whoever asks first when it is free, and a "
        "waiting search polls for it at intervals that grow to 100 ms: the pause lets it in.",
    )
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="How much lower than the rest of platekeeper the purge's threads run on the CPU (a Unix nice "
        "increment, 0-19; 0 leaves them as they are): a purge is background work, and searches and ingest come "
        "first when the cores are busy. Once lowered, a thread cannot raise itself again without privileges, so "
        "the scheduler thread that ran a purge inside `serve` stays lowered for its later background jobs.",
    )
    stale_after_hours: int = Field(
        48,
        ge=25,
        le=24 * 14,
        description="The administrator's dashboard warns when the last finished purge is older than this.",
    )
    evidence_dir: Path = Field(
        Path("evidence"),
        description="Where evidence packages are written when no mount point is given, relative to data_dir unless "
        "absolute.",
    )

    def batch_for(self, dialect: str) -> int:
        """The purge's batch size on this database engine (``batch_size``, or the engine's default)."""
        return self.batch_size or (250 if dialect == "sqlite" else 2000)

    def pause_for(self, dialect: str) -> int:
        """The purge's pause in ms after each batch on this database engine (``pause_ms``, or the default)."""
        return (30 if dialect == "sqlite" else 100) if self.pause_ms is None else self.pause_ms


class AuditConfig(StrictModel):
    key_file: str = Field("audit.key", description="HMAC key for the audit chain, relative to data_dir.")
    page_size: int = Field(100, ge=10, le=1000, description="Audit events per page.")
    plate_detail_days: int = Field(
        730,
        ge=30,
        le=3650,
        description="Days the audit log keeps the text of the plates its events carry (searched, viewed, "
        "alerted...); after that the purge forgets the text and keeps its keyed digest, so the chain still "
        "verifies and the log can still be filtered by plate. At least retention.days.",
    )
    export_max_days: int = Field(
        366,
        ge=1,
        le=3660,
        description="The longest period, in whole days from `since` to `until`, that one export of the audit log "
        "(CSV or JSON Lines) may cover; a longer one is refused naming this field (export it in parts).",
    )
    export_batch_size: int = Field(
        1000,
        ge=10,
        le=100_000,
        description="Audit events an export reads per query while it streams: what it holds in memory at once.",
    )
    checkpoint_minutes: int = Field(
        60,
        ge=1,
        le=1440,
        description="How often `platekeeper serve` writes a signed checkpoint of the chain's head (seq, hash, time) "
        "outside the database; also at shutdown, and on demand with `platekeeper audit checkpoint`.",
    )
    checkpoint_sinks: tuple[Literal["file", "syslog"], ...] = Field(
        ("file",),
        min_length=1,
        description="Where checkpoints go: `file` (an append-only file, checkpoint_file) and/or `syslog` (to a "
        "collector on another host, syslog_address). `audit verify` reads the file, or a copy given with "
        "--checkpoints.",
    )
    checkpoint_file: Path = Field(
        Path("audit-checkpoints.jsonl"),
        description="The append-only checkpoint file, relative to data_dir unless absolute. Put it where the "
        "database's owner cannot rewrite it (another volume, `chattr +a`, or shipped to another host).",
    )
    syslog_address: str = Field(
        "/dev/log",
        max_length=200,
        description="The syslog socket path, or host:port (UDP) of a collector, for the `syslog` sink.",
    )


class SigningConfig(StrictModel):
    key_file: Path = Field(
        Path("signing.key"),
        description="The installation's Ed25519 signing key (PEM, mode 0600, created at first use), relative to "
        "data_dir unless absolute. It signs audit checkpoints; keep it off the database volume where you can.",
    )


class StorageConfig(StrictModel):
    encrypt_images: bool = Field(
        True,
        description="Seal every image file written from now on with AES-256-GCM under the storage key ring "
        "(key_file or PLATEKEEPER_STORAGE_KEY). Off: new images are written plain; sealed files still open.",
    )
    key_file: Path = Field(
        Path("storage.key"),
        description="The storage key ring (one `<id> <base64 key>` line per key, the last one current; mode 0600, "
        "created at first use), relative to data_dir unless absolute: keep it off the image volume and out of its "
        "backups. PLATEKEEPER_STORAGE_KEY (base64 of 32 bytes) overrides the current key.",
    )
    rotate_batch_size: int = Field(
        200,
        ge=1,
        le=100_000,
        description="Files `platekeeper keys rotate` re-seals per batch before it reports progress "
        "(--batch-size overrides it).",
    )
    rotate_pause_ms: int = Field(
        0,
        ge=0,
        le=60_000,
        description="Pause after each batch of `keys rotate`, leaving disk bandwidth to a running server "
        "(--pause-ms overrides it).",
    )
    image_grace_minutes: int = Field(
        60,
        ge=1,
        le=10_080,
        description="An image file written or renewed within this many minutes, or a temp file of an atomic write "
        "this young, may belong to an upload still in progress: `platekeeper images check` and the purge never "
        "delete it (a later run does, once it is older and still unreferenced).",
    )


class FilesConfig(StrictModel):
    wide_names_shown: int = Field(
        20,
        ge=1,
        le=1000,
        description="At start-up, files and folders readable by other users are named in one warning: at most this "
        "many by name, then a count.",
    )


class WebConfig(StrictModel):
    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    session_idle_minutes: int = Field(30, ge=1, le=30, description="Idle session ends after this (CJIS: <= 30).")
    session_max_hours: int = Field(12, ge=1, le=24, description="A session ends after this regardless.")
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto", description="Secure flag on cookies: auto sets it when the request came over TLS."
    )
    error_log_size: int = Field(
        200, ge=10, le=10_000, description="Recent server errors kept in memory for maintenance (no plate data)."
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        max_length=64,
        description="Addresses or networks (e.g. 127.0.0.1, 10.0.0.0/24) of reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto headers are believed. Empty (the default): nobody's, so no client can write a false "
        "address into the audit log. Name only the proxy that terminates TLS in front of platekeeper.",
    )
    hsts_seconds: int = Field(
        31_536_000,
        ge=0,
        le=63_072_000,
        description="max-age of the Strict-Transport-Security header sent on every response over TLS (0: none).",
    )
    tls_certfile: Path | None = Field(
        None, description="PEM certificate (chain) `platekeeper serve` listens with over TLS; --certfile overrides."
    )
    tls_keyfile: Path | None = Field(
        None, description="PEM private key of tls_certfile (mode 0600); --keyfile overrides."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/24)") from None
        return value


RATE_LIMIT_MAX_AMOUNT = 1_000_000


RATE_LIMIT_MAX_WINDOW_SECONDS = 86_400


RATE_LIMIT_TEXT = "a count per window, like '10/minute' or '30 per 5 minutes'"


class RateLimitConfig(StrictModel):
    """Requests counted per key in a moving window; over the count the answer is 429 with ``Retry-After``.

    Each limit is one rule in the ``limits`` notation (``10/minute``, ``30 per 5 minutes``), checked at load time.
    The counters live in the memory of one server process."""

    enabled: bool = Field(True, description="Apply the limits below (off only for load tests on a closed network).")
    sign_in_per_account: str = Field(
        "10/minute",
        min_length=3,
        max_length=40,
        description="Sign-in attempts (password or one-time code) for one username as typed, from anywhere.",
    )
    sign_in_per_address: str = Field(
        "30/minute",
        min_length=3,
        max_length=40,
        description="Sign-in attempts (password or one-time code) from one client address, whatever the username.",
    )
    api_per_token: str = Field(
        "600/minute", min_length=3, max_length=40, description="API requests made with one personal API token."
    )
    api_per_camera: str = Field(
        "1200/minute", min_length=3, max_length=40, description="Uploads (reads, images) made with one camera key."
    )
    share_download_per_address: str = Field(
        "10/minute",
        min_length=3,
        max_length=40,
        description="Opening or using a sharing download link (no sign-in) from one client address (462.7).",
    )

    @field_validator(
        "sign_in_per_account", "sign_in_per_address", "api_per_token", "api_per_camera", "share_download_per_address"
    )
    @classmethod
    def _one_rule(cls, value: str) -> str:
        try:
            rules = parse_many(value)
        except ValueError:
            rules = []
        if len(rules) != 1:
            raise ValueError(f"{value!r} is not {RATE_LIMIT_TEXT}")
        rule = rules[0]
        if not 1 <= rule.amount <= RATE_LIMIT_MAX_AMOUNT:
            raise ValueError(f"{value!r}: the count must be from 1 to {RATE_LIMIT_MAX_AMOUNT}")
        if rule.get_expiry() > RATE_LIMIT_MAX_WINDOW_SECONDS:
            raise ValueError(f"{value!r}: the window must be at most one day")
        return value
