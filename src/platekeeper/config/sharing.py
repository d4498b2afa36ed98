"""Sharing with other agencies and Public Records Act requests (policy 462.7; Civil Code 1798.90.55).

The sharing rules are data: :data:`SHARING_RULES` names each rule, what it does by default and the least it may do
under the law. An agency may change a rule's action in ``sharing.rules``; a change below the lawful floor (for
instance letting a federal or out-of-state recipient through) is refused when the settings load, naming the Civil
Code section, so an unlawful configuration never starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field

from platekeeper.config.base import MiB, StrictModel

__all__ = [
    "ACTIONS",
    "CIVIL_CODE",
    "SHARING_RULES",
    "RuleAction",
    "SharingConfig",
    "SharingRule",
    "unlawful_overrides",
]

CIVIL_CODE = "Civil Code 1798.90.55(b)"
RuleAction = Literal["refuse", "warn", "allow"]
ACTIONS: tuple[str, ...] = ("allow", "warn", "refuse")  # from loosest to strictest


@dataclass(frozen=True)
class SharingRule:
    """One sharing rule: what it checks, its default action and the loosest action the law allows."""

    name: str
    says: str
    default: RuleAction
    floor: RuleAction  # an override looser than this is unlawful
    law: str


SHARING_RULES: dict[str, SharingRule] = {
    rule.name: rule
    for rule in (
        SharingRule(
            "recipient_not_californian",
            "the recipient is not a California state or local agency (another state's, or none)",
            "refuse",
            "refuse",
            f"{CIVIL_CODE}: ALPR information goes only to California public agencies (Attorney General, SB 34)",
        ),
        SharingRule(
            "recipient_federal",
            "the recipient is a federal agency",
            "refuse",
            "refuse",
            f"{CIVIL_CODE}: the Attorney General reads 'public agency' as California state and local agencies only",
        ),
        SharingRule(
            "recipient_private",
            "the recipient is a private person or company (including a vendor's network)",
            "refuse",
            "refuse",
            f"{CIVIL_CODE}: no sale, sharing or transfer except to a public agency",
        ),
        SharingRule(
            "recipient_not_law_enforcement",
            "the recipient is a public agency that is neither law enforcement nor prosecutorial",
            "refuse",
            "warn",
            "policy 462.7: other public agencies go through the Public Records Act; the Civil Code allows them",
        ),
        SharingRule(
            "immigration_enforcement",
            "the purpose or its description concerns immigration enforcement",
            "refuse",
            "refuse",
            f"{CIVIL_CODE} and Government Code 7284.6 (SB 54): no data for immigration enforcement",
        ),
        SharingRule("no_plate", "the scope names no plate (every vehicle seen)", "warn", "allow", "policy 462.7"),
        SharingRule(
            "long_window", "the time window is longer than sharing.warn_window_days", "warn", "allow", "policy 462.7"
        ),
        SharingRule(
            "many_cameras",
            "the scope names more than sharing.warn_cameras cameras (or none: every camera)",
            "warn",
            "allow",
            "policy 462.7",
        ),
    )
}
"""Every sharing rule by name, in the order they are checked."""

DEFAULT_IMMIGRATION_TERMS = (
    "immigration",
    "immigrant",
    "ice",
    "ero",
    "hsi",
    "deport",
    "deportation",
    "deportable",
    "removal proceedings",
    "removable alien",
    "illegal alien",
    "undocumented",
    "visa overstay",
    "border patrol",
    "customs and border protection",
    "cbp",
    "homeland security investigations",
    "8 u.s.c",
    "287(g)",
)

DEFAULT_PRA_HOLIDAYS = (  # California state holidays (Government Code 6700), 2026 and 2027: update each year
    "2026-01-01", "2026-01-19", "2026-02-16", "2026-03-31", "2026-05-25", "2026-07-03", "2026-09-07",
    "2026-09-25", "2026-11-11", "2026-11-26", "2026-11-27", "2026-12-25",
    "2027-01-01", "2027-01-18", "2027-02-15", "2027-03-31", "2027-05-31", "2027-07-05", "2027-09-06",
    "2027-09-24", "2027-11-11", "2027-11-25", "2027-11-26", "2027-12-24",
)  # fmt: skip


class SharingConfig(StrictModel):
    """Sharing ALPR data with other agencies (462.7) and Public Records Act requests."""

    rules: dict[str, RuleAction] = Field(
        default_factory=dict,
        description="Overrides of the sharing rules' default actions (rule name -> refuse, warn or allow). A rule "
        "may be made stricter freely; one made looser than the law allows is refused at start-up, naming "
        "Civil Code 1798.90.55(b). Rules: " + ", ".join(SHARING_RULES) + ".",
    )
    immigration_terms: tuple[str, ...] = Field(
        DEFAULT_IMMIGRATION_TERMS,
        min_length=1,
        description="Words or phrases (matched as whole words, case-insensitively) that mark a purpose or its "
        "description as immigration enforcement. Terms may be added; the defaults may not be removed.",
    )
    warn_window_days: int = Field(
        30, ge=1, le=365, description="A request whose time window is longer than this many days is warned as broad."
    )
    warn_cameras: int = Field(
        5, ge=1, le=1000, description="A request naming more cameras than this (or none: all) is warned as broad."
    )
    max_plates: int = Field(100, ge=1, le=10_000, description="Most plates one request may name.")
    retention_days: int = Field(
        1825,
        ge=365,
        le=36500,
        description="Days an approved (or denied) request is kept on file after its decision (462.7c); it is not "
        "purged with the reads and stays in the register.",
    )
    link_hours: int = Field(
        72, ge=1, le=720, description="Hours a recipient's download link stays valid (it works once)."
    )
    designee_roles: tuple[str, ...] = Field(
        (),
        description="Roles authorized as the Records Manager's designees to review sharing requests (462.7b), "
        "besides records_manager. Each must grant sharing.review; no other role may.",
    )
    document_max_bytes: int = Field(
        10 * MiB, ge=64 * 1024, le=100 * MiB, description="Largest request document (PDF or image) accepted."
    )
    package_dir: Path = Field(
        Path("sharing"),
        description="Where fulfilment packages and request documents are kept, relative to data_dir unless absolute.",
    )
    pra_determination_days: int = Field(
        10, ge=1, le=10, description="Calendar days from receipt to the Public Records Act determination (GC 7922.535)."
    )
    pra_extension_days: int = Field(
        14, ge=1, le=14, description="Calendar days a PRA determination may be extended by, with written notice."
    )
    pra_holidays: tuple[date, ...] = Field(
        tuple(date.fromisoformat(d) for d in DEFAULT_PRA_HOLIDAYS),
        description="Holidays on which the office is closed: a PRA deadline on one (or on a weekend) moves to the "
        "next business day. Defaults: California state holidays 2026-2027; keep the list current.",
    )
    partner_queries: bool = Field(
        False,
        description="Let partner agencies' named users (role `partner`) query reads directly, under their agency's "
        "agreement and the same sharing rules (off by default).",
    )

    def action(self, rule: str) -> RuleAction:
        """The action this installation takes when ``rule`` fires."""
        return self.rules.get(rule, SHARING_RULES[rule].default)


def unlawful_overrides(config: SharingConfig) -> list[str]:
    """Each problem with ``config``'s rule overrides and immigration terms, naming the field and the law."""
    problems = []
    for name, action in config.rules.items():
        rule = SHARING_RULES.get(name)
        if rule is None:
            problems.append(f"sharing.rules.{name}: unknown rule (one of {', '.join(SHARING_RULES)})")
        elif ACTIONS.index(action) < ACTIONS.index(rule.floor):
            problems.append(
                f"sharing.rules.{name}: {action!r} is unlawful when {rule.says}; at least {rule.floor!r} ({rule.law})"
            )
    lowered = {term.lower() for term in config.immigration_terms}
    missing = [term for term in DEFAULT_IMMIGRATION_TERMS if term not in lowered]
    if missing:
        problems.append(
            f"sharing.immigration_terms: may add terms but not remove {', '.join(missing)} "
            f"({SHARING_RULES['immigration_enforcement'].law})"
        )
    return problems
