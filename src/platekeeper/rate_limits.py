"""Rate limits: attempts counted per key in a moving window, in the memory of one app.

One :class:`RateLimits` belongs to each app (``AppState.rate_limits``), so its counters are per server process: a
deployment running several processes allows each of them the configured count. The limits themselves are the
``rate_limits`` config section; the ``limits`` package does the counting (moving window, in-memory storage).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from platekeeper.config import RateLimitConfig

__all__ = ["LIMIT_NAMES", "RateLimitRefusal", "RateLimited", "RateLimits"]

LIMIT_NAMES = (
    "sign_in_per_account",
    "sign_in_per_address",
    "api_per_token",
    "api_per_camera",
    "share_download_per_address",
)
_WHAT = {
    "sign_in_per_account": "sign-in attempts for this account",
    "sign_in_per_address": "sign-in attempts from this address",
    "api_per_token": "requests with this API token",
    "api_per_camera": "uploads with this camera key",
    "share_download_per_address": "download-link attempts from this address",
}
_NOTED = "refusal-noted"  # the namespace that remembers a refusal was already reported in this window


@dataclass(frozen=True)
class RateLimitRefusal:
    """An attempt refused by one limit. ``first_in_window``: no refusal by this limit for this key was reported
    in the current window yet (callers audit only these, so a flood writes one event per window)."""

    limit: str
    rule: str
    retry_after: int
    first_in_window: bool

    @property
    def message(self) -> str:
        """A plain sentence for a person: what was refused and when to try again."""
        seconds = "second" if self.retry_after == 1 else "seconds"
        return f"Too many {_WHAT[self.limit]}; try again in {self.retry_after} {seconds}"

    @property
    def detail(self) -> str:
        """The sentence with the limit's config field and rule, for API clients and operators."""
        return f"{self.message} (rate_limits.{self.limit}: {self.rule})"

    @property
    def headers(self) -> dict[str, str]:
        """The ``Retry-After`` header of the 429 answer (whole seconds, at least 1)."""
        return {"Retry-After": str(self.retry_after)}


class RateLimited(Exception):
    """Raised by a route's requirement when a limit refuses the request; the app answers 429."""

    def __init__(self, refusal: RateLimitRefusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class RateLimits:
    """The configured limits with their counters (moving window, in memory). Each limit counts under its own name,
    so an address and a username that read alike never share a counter."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.enabled = config.enabled
        self._rules: dict[str, RateLimitItem] = {name: parse(getattr(config, name)) for name in LIMIT_NAMES}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *checks: tuple[str, str]) -> RateLimitRefusal | None:
        """Count one attempt against each ``(limit name, key)``, unless one of them is used up: then nothing is
        counted and the refusal with the longest wait is returned."""
        if not self.enabled:
            return None
        refused = [self._refusal(n, k) for n, k in checks if not self._limiter.test(self._rules[n], n, k)]
        if not refused:
            refused = [self._refusal(n, k) for n, k in checks if not self._limiter.hit(self._rules[n], n, k)]
        if not refused:
            return None
        worst = max(refused, key=lambda refusal: refusal.retry_after)
        key = next(key for name, key in checks if name == worst.limit)
        noted = RateLimitItemPerSecond(1, self._rules[worst.limit].get_expiry())
        first = self._limiter.hit(noted, _NOTED, worst.limit, key)
        return RateLimitRefusal(worst.limit, worst.rule, worst.retry_after, first)

    def _refusal(self, name: str, key: str) -> RateLimitRefusal:
        rule = self._rules[name]
        reset_at = self._limiter.get_window_stats(rule, name, key).reset_time
        wait = max(1, math.ceil(reset_at - time.time()))
        return RateLimitRefusal(name, str(rule), wait, first_in_window=False)
