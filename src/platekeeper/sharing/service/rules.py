"""The sharing rules (462.7; Civil Code 1798.90.55), evaluated before review: pure, no tables.

Each rule of :data:`platekeeper.config.sharing.SHARING_RULES` that fires gives a :class:`RuleDecision` naming
the rule, the action the installation takes (its default or the lawful override in ``sharing.rules``) and why.
A request with any ``refuse`` decision never reaches review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from platekeeper.config.sharing import SHARING_RULES, SharingConfig
from platekeeper.sharing.service.common import RequestScope

__all__ = ["RuleDecision", "check_rules", "concerns_immigration", "refused"]


@dataclass(frozen=True)
class RuleDecision:
    rule: str
    action: str  # refuse | warn | allow
    message: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "action": self.action, "message": self.message}


def concerns_immigration(config: SharingConfig, *texts: str | None) -> str | None:
    """The first immigration-enforcement term found (as a whole word) in ``texts``, or None."""
    joined = " ".join(t for t in texts if t).lower()
    for term in config.immigration_terms:
        if re.search(rf"(?<![a-z0-9]){re.escape(term.lower())}(?![a-z0-9])", joined):
            return term
    return None


def _recipient_rules(kind: str, jurisdiction: str) -> list[str]:
    fired = []
    if kind == "private" or jurisdiction == "none":
        fired.append("recipient_private")
    if jurisdiction == "federal":
        fired.append("recipient_federal")
    elif jurisdiction != "california":
        fired.append("recipient_not_californian")
    if kind == "other_public" and jurisdiction == "california":
        fired.append("recipient_not_law_enforcement")
    return fired


def _scope_rules(config: SharingConfig, scope: RequestScope) -> list[str]:
    fired = []
    if not scope.plates:
        fired.append("no_plate")
    if scope.days > config.warn_window_days:
        fired.append("long_window")
    if not scope.camera_ids or len(scope.camera_ids) > config.warn_cameras:
        fired.append("many_cameras")
    return fired


def check_rules(
    config: SharingConfig,
    *,
    kind: str,
    jurisdiction: str,
    purpose: str,
    texts: tuple[str | None, ...],
    scope: RequestScope,
) -> list[RuleDecision]:
    """Every rule that fires for this recipient, purpose and scope, in the order of ``SHARING_RULES``."""
    fired = set(_recipient_rules(kind, jurisdiction)) | set(_scope_rules(config, scope))
    term = concerns_immigration(config, purpose, *texts)
    if term:
        fired.add("immigration_enforcement")
    decisions = []
    for name, rule in SHARING_RULES.items():
        if name in fired:
            said = f"{rule.says}" + (f" (the term {term!r})" if name == "immigration_enforcement" else "")
            decisions.append(RuleDecision(name, config.action(name), f"{said}; {rule.law}"))
    return decisions


def refused(decisions: list[RuleDecision]) -> bool:
    """Any decision refuses the request."""
    return any(d.action == "refuse" for d in decisions)
