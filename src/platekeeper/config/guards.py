"""Guards while it happens (policy 462.6): the rules checked on every search, and the notices they raise.

Each counting rule has a threshold, a window and an action: ``notice`` tells the user's supervisors and the
administrator after the search; ``stop`` refuses the search before it runs, naming the rule. The protected-activity
rule matches a list of terms in the stated purpose and justification. The scheduled verification of the audit chain
raises a breach notice when the chain or its signed checkpoints fail.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from platekeeper.config.base import StrictModel

__all__ = ["GuardRuleConfig", "GuardsConfig", "ProtectedActivityConfig"]

GuardAction = Literal["notice", "stop"]


def _threshold(default: int | None = None) -> Any:
    return Field(default, ge=1, le=1_000_000, description="The rule fires when the count goes above this.")


def _window(default: int | None = None) -> Any:
    return Field(
        default, ge=1, le=60 * 24 * 90, description="The period counted back from each search (1 minute to 90 days)."
    )


def _action(default: str | None = None) -> Any:
    return Field(
        default,
        description="notice: tell the supervisors and the administrator after the search; stop: refuse the search "
        "before it runs, naming the rule, once the count has reached the threshold.",
    )


def _breach(default: bool) -> Any:
    return Field(
        default,
        description="When this rule fires it is a large extraction: its notice is a breach notice, shown to the "
        "custodian (holders of notices.breach) on every page until acknowledged.",
    )


def _description(default: str | None = None) -> Any:
    return Field(default, min_length=3, max_length=300, description="What the rule catches, in a sentence.")


class GuardRuleConfig(StrictModel):
    """One counting rule. Each rule below is this with its own defaults, so a config may change one field alone
    (``guards: {paged_results_limit: {threshold: 5000}}``)."""

    enabled: bool = Field(True, description="Check this rule on every search.")
    threshold: int = _threshold()
    window_minutes: int = _window()
    action: GuardAction = _action()
    breach: bool = _breach(False)
    description: str = _description()


class PlatelessSearchesConfig(GuardRuleConfig):
    threshold: int = _threshold(10)
    window_minutes: int = _window(60)
    action: GuardAction = _action("notice")
    description: str = _description(
        "More searches without a plate (time-range listings) by one user in an hour than an investigation needs."
    )


class PagedResultsConfig(GuardRuleConfig):
    threshold: int = _threshold(500)
    window_minutes: int = _window(24 * 60)
    action: GuardAction = _action("notice")
    description: str = _description(
        "Many results paged through under one context (one user, purpose, case and justification)."
    )


class PagedResultsLimitConfig(GuardRuleConfig):
    threshold: int = _threshold(2000)
    window_minutes: int = _window(24 * 60)
    action: GuardAction = _action("stop")
    breach: bool = _breach(True)
    description: str = _description("A bulk extraction: the hard limit on results paged through under one context.")


class JustificationReuseConfig(GuardRuleConfig):
    threshold: int = _threshold(3)
    window_minutes: int = _window(7 * 24 * 60)
    action: GuardAction = _action("notice")
    description: str = _description("One justification text reused by one user across many different case numbers.")


def _protected_terms() -> tuple[str, ...]:
    return (
        "protest",
        "protests",
        "protester",
        "protesters",
        "protestor",
        "protestors",
        "rally",
        "rallies",
        "demonstration",
        "demonstrations",
        "demonstrator",
        "demonstrators",
        "religious service",
        "religious services",
        "abortion",
        "abortions",
        "abortion clinic",
        "reproductive health",
        "reproductive health clinic",
        "immigration",
        "immigration status",
        "immigration enforcement",
        "ICE",
        "deportation",
        "deportations",
    )


class ProtectedActivityConfig(StrictModel):
    enabled: bool = Field(True, description="Check the stated purpose and justification against the terms.")
    action: GuardAction = Field(
        "stop", description="stop: refuse the search naming the rule (the default); notice: only tell supervisors."
    )
    terms: tuple[str, ...] = Field(
        default_factory=_protected_terms,
        min_length=1,
        max_length=500,
        description="Words and phrases naming a protected activity or an immigration purpose; matched as whole "
        "words, case-insensitive, any spacing between the words of a phrase.",
    )
    window_minutes: int = Field(
        24 * 60,
        ge=1,
        le=60 * 24 * 90,
        description="A stop of the same user and justification within this period raises no second notice (each "
        "stop is still in the audit log).",
    )
    description: str = Field(
        "A search whose purpose or justification names a protected activity (a protest, a religious service, "
        "reproductive health care) or immigration enforcement.",
        min_length=3,
        max_length=300,
        description="What the rule catches, in a sentence.",
    )

    @field_validator("terms")
    @classmethod
    def _words(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            if not term.strip() or len(term) > 80 or not any(c.isalnum() for c in term):
                raise ValueError(f"{term!r}: a term is 1 to 80 characters holding a letter or digit")
        return tuple(" ".join(term.split()) for term in terms)


class GuardsConfig(StrictModel):
    plateless_searches: PlatelessSearchesConfig = Field(
        default_factory=PlatelessSearchesConfig,
        description="New searches without a plate by one user (later pages of the same search are not counted).",
    )
    paged_results: PagedResultsConfig = Field(
        default_factory=PagedResultsConfig,
        description="Results shown to one user under one context, all pages added up.",
    )
    paged_results_limit: PagedResultsLimitConfig = Field(
        default_factory=PagedResultsLimitConfig,
        description="The hard limit on results shown under one context: a stop, and a breach notice.",
    )
    justification_reuse: JustificationReuseConfig = Field(
        default_factory=JustificationReuseConfig,
        description="Different case numbers one user filed under the same justification text.",
    )
    protected_activity: ProtectedActivityConfig = Field(
        default_factory=ProtectedActivityConfig,
        description="Searches that name a protected activity or an immigration purpose (stopped by default).",
    )
    notify_roles: tuple[str, ...] = Field(
        ("supervisor", "alpr_admin"),
        min_length=1,
        description="Roles whose holders are told of a guard notice: the users' supervisors and the administrator "
        "(they need notices.view to see it).",
    )
    acknowledge_note_min_length: int = Field(
        10, ge=3, le=500, description="The shortest note that acknowledges a notice (what was done about it)."
    )
    home_notices: int = Field(5, ge=1, le=50, description="Open notices listed on a supervisor's home page.")
    verify_in_server: bool = Field(
        True,
        description="Verify the audit chain and its signed checkpoints inside `platekeeper serve` every "
        "verify_hours; off: run `platekeeper audit verify` from cron instead (it raises the same breach notice).",
    )
    verify_hours: int = Field(
        24, ge=1, le=24 * 7, description="Hours between scheduled verifications of the audit chain (daily by default)."
    )
