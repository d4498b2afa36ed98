"""The guards' rules as data: what each counts, when it applies, and how its finding reads. Pure, except for the
counting queries on ``search_activity``.

A counting rule fires when its count goes above its threshold. Before an access runs, the count is the one the
access would make (the rows so far plus this one); after it, the rows as they now stand.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.access.context import AccessContext
from platekeeper.config import GuardRuleConfig, GuardsConfig
from platekeeper.guards.models import SearchActivity

__all__ = [
    "COUNTING_RULES",
    "CountingRule",
    "Watched",
    "context_key",
    "justification_digest",
    "protected_terms",
    "window_words",
]

RESULT_ACTIONS = ("reads.search", "plates.story")  # the accesses that show a list of reads


@dataclass(frozen=True)
class Watched:
    """What the guards know of an access before it runs: the action, whether it names a plate, which page."""

    action: str  # reads.search, plates.story, reads.view
    plate_less: bool = False
    page: int = 1


def justification_digest(justification: str) -> str:
    """SHA-256 of the justification with its words lowercased and single-spaced: the same text however typed."""
    return hashlib.sha256(" ".join(justification.lower().split()).encode()).hexdigest()


def context_key(ctx: AccessContext) -> str:
    """SHA-256 of one context: the user, the purpose, the case number and the justification."""
    parts = (ctx.username, ctx.purpose, ctx.case_number, justification_digest(ctx.justification))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def window_words(minutes: int) -> str:
    """A rule's window for a sentence: ``an hour``, ``24 hours``, ``7 days``, ``90 minutes``."""
    if minutes == 60:
        return "an hour"
    if minutes % (24 * 60) == 0 and minutes > 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


@lru_cache(maxsize=8)
def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = sorted((r"\s+".join(re.escape(word) for word in term.split()) for term in terms), key=len)
    return re.compile(r"(?<!\w)(?:" + "|".join(reversed(alternatives)) + r")(?!\w)", re.IGNORECASE)


def protected_terms(terms: tuple[str, ...], ctx: AccessContext) -> list[str]:
    """The protected terms the stated purpose (its code and label) or the justification names, as written, once
    each, lowercased."""
    texts = (ctx.justification, ctx.purpose.replace("_", " "), ctx.purpose_label)
    found: list[str] = []
    for text in texts:
        for match in _pattern(terms).finditer(text):
            said = " ".join(match.group(0).lower().split())
            if said not in found:
                found.append(said)
    return found


Count = Callable[[Session, AccessContext, datetime, bool], int]


def _plateless(session: Session, ctx: AccessContext, since: datetime, pending: bool) -> int:
    rows = session.scalar(
        select(func.count(SearchActivity.id)).where(
            SearchActivity.username == ctx.username,
            SearchActivity.at >= since,
            SearchActivity.plate_less.is_(True),
            SearchActivity.page == 1,
            SearchActivity.action == "reads.search",
        )
    )
    return int(rows or 0) + pending


def _paged(session: Session, ctx: AccessContext, since: datetime, pending: bool) -> int:
    shown = session.scalar(
        select(func.coalesce(func.sum(SearchActivity.shown), 0)).where(
            SearchActivity.context_key == context_key(ctx), SearchActivity.at >= since
        )
    )
    return int(shown or 0) + pending


def _reuse(session: Session, ctx: AccessContext, since: datetime, pending: bool) -> int:
    cases = set(
        session.scalars(
            select(SearchActivity.case_number)
            .where(
                SearchActivity.username == ctx.username,
                SearchActivity.justification_digest == justification_digest(ctx.justification),
                SearchActivity.at >= since,
            )
            .distinct()
        )
    )
    return len(cases | {ctx.case_number} if pending else cases)


@dataclass(frozen=True)
class CountingRule:
    """One counting rule: its config's name, what it counts, when it applies, its dedupe key and its finding."""

    name: str
    count: Count
    applies: Callable[[Watched], bool]
    dedupe: Callable[[AccessContext], str]
    finding: str  # formatted with user, n, window, threshold, case, purpose

    def config(self, guards: GuardsConfig) -> GuardRuleConfig:
        rule: GuardRuleConfig = getattr(guards, self.name)
        return rule

    def since(self, guards: GuardsConfig, now: datetime) -> datetime:
        return now - timedelta(minutes=self.config(guards).window_minutes)


_PAGED_FINDING = (
    "{user} was shown {n} results under one context (purpose {purpose}, case {case}) in {window}; the rule "
    "allows {threshold}."
)
COUNTING_RULES: tuple[CountingRule, ...] = (
    CountingRule(
        name="plateless_searches",
        count=_plateless,
        applies=lambda w: w.action == "reads.search" and w.plate_less and w.page == 1,
        dedupe=lambda ctx: "",
        finding="{user} ran {n} searches without a plate in {window}; the rule allows {threshold}.",
    ),
    CountingRule(
        name="paged_results",
        count=_paged,
        applies=lambda w: w.action in RESULT_ACTIONS,
        dedupe=context_key,
        finding=_PAGED_FINDING,
    ),
    CountingRule(
        name="paged_results_limit",
        count=_paged,
        applies=lambda w: w.action in RESULT_ACTIONS,
        dedupe=context_key,
        finding=_PAGED_FINDING,
    ),
    CountingRule(
        name="justification_reuse",
        count=_reuse,
        applies=lambda w: w.action in RESULT_ACTIONS,
        dedupe=lambda ctx: justification_digest(ctx.justification),
        finding="{user} filed one justification under {n} different case numbers in {window}; the rule allows "
        "{threshold}.",
    ),
)
"""Every counting rule, in the order they are checked."""
