"""AccessContext: the why and the who of every access to plate data (policy 462.3, 462.6; Civil Code 1798.90.52).

Service functions that return plate data take one and refuse to run without it. It is built only through
:func:`build_access_context`, which checks the purpose against the authorized list, the case number against the
agency's format and the justification against the list of generic, meaningless ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from platekeeper.access.principal import PermissionDenied, Principal
from platekeeper.audit.events import ACCESS_REFUSED, AuditEventType
from platekeeper.audit.work import Work
from platekeeper.config import AccessPolicyConfig

__all__ = [
    "AccessContext",
    "AccessContextError",
    "build_access_context",
    "case_number_problem",
    "justification_problem",
    "own_context",
    "record_access",
    "record_context_refusal",
    "require_context",
]


class AccessContextError(ValueError):
    """The stated purpose, case number or justification is missing or not acceptable."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems.items()))


@dataclass(frozen=True)
class AccessContext:
    principal: Principal
    purpose: str
    purpose_label: str
    case_number: str
    justification: str

    @property
    def username(self) -> str:
        return self.principal.username

    def as_dict(self) -> dict[str, Any]:
        """What a web session remembers of the stated context."""
        return {"purpose": self.purpose, "case_number": self.case_number, "justification": self.justification}


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _check_purpose(policy: AccessPolicyConfig, purpose: str, problems: dict[str, str]) -> str:
    if not purpose:
        problems["purpose"] = "missing: choose one of the authorized purposes " + ", ".join(
            p.code for p in policy.purposes
        )
        return ""
    config = policy.purpose(purpose)
    if config is None:
        problems["purpose"] = f"{purpose!r} is not an authorized purpose (policy 462.3)"
        return ""
    return config.label


def _check_case(policy: AccessPolicyConfig, case_number: str, problems: dict[str, str]) -> None:
    if not case_number:
        problems["case_number"] = f"missing: give the case or incident number, e.g. {policy.case_number_example}"
    elif not re.fullmatch(policy.case_number_pattern, case_number):
        problems["case_number"] = (
            f"{case_number!r} is not in the agency's case number format (e.g. {policy.case_number_example})"
        )


def case_number_problem(policy: AccessPolicyConfig, case_number: str) -> str | None:
    """What is wrong with a case number (missing, or not in the agency's format), or None when it is acceptable."""
    problems: dict[str, str] = {}
    _check_case(policy, case_number, problems)
    return problems.get("case_number")


WORD = re.compile(r"[^\W\d_]{2,}")  # two or more letters, in any script
LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")  # the same letter three times in a row: "aaa"
JUSTIFICATION_EXAMPLE = "e.g. 'grey sedan seen leaving the burglary on 5th St'"


def _check_justification(
    policy: AccessPolicyConfig, justification: str, problems: dict[str, str], example: str = JUSTIFICATION_EXAMPLE
) -> None:
    generic = {g.lower() for g in policy.generic_justifications}
    words = {w.lower() for w in WORD.findall(justification)}
    run = next((m for w in justification.split() if w.isalpha() and (m := LETTER_RUN.search(w))), None)
    if not justification:
        problems["justification"] = f"missing: say briefly what you are looking for and why, {example}"
    elif justification.lower().strip(" .") in generic:
        problems["justification"] = f"{justification!r} is too generic; say what you are looking for and why"
    elif len(justification) < policy.justification_min_length:
        problems["justification"] = f"too short; write at least {policy.justification_min_length} characters"
    elif run:
        problems["justification"] = (
            f"{_quoted(run.group(0))} repeats the same letter; write real words saying what you are looking for and why"
        )
    elif len(words) < policy.justification_min_words:
        problems["justification"] = (
            f"write at least {_count_words(policy.justification_min_words)} different words saying what you are "
            f"looking for and why, {example}"
        )


def justification_problem(
    policy: AccessPolicyConfig, justification: str | None, example: str = JUSTIFICATION_EXAMPLE
) -> str | None:
    """What is wrong with a stated reason under today's rules (missing, generic, too short, one letter repeated, too
    few words), or None when it is acceptable: the checks a search's justification passes, for any reason a person
    must state (revealing a masked plate), and what a system audit asks of every past access."""
    problems: dict[str, str] = {}
    _check_justification(policy, _clean(justification), problems, example)
    return problems.get("justification")


def _quoted(text: str, most: int = 12) -> str:
    """Typed text quoted in a message, cut at ``most`` characters: a message never echoes a wall of text."""
    return repr(text if len(text) <= most else text[:most] + "…")


def _count_words(n: int) -> str:
    return ("one", "two", "three", "four", "five", "six")[n - 1] if n <= 6 else str(n)


def build_access_context(
    principal: Principal,
    policy: AccessPolicyConfig,
    *,
    purpose: str | None,
    case_number: str | None,
    justification: str | None,
) -> AccessContext:
    """Validate the stated purpose, case number and justification; raise naming every problem at once.

    A principal whose required training is missing or expired gets no context at all (:class:`TrainingRequired`,
    naming each course): every plate-data service needs one, so this one check gates all of them.
    """
    principal.require_training("plate data")
    purpose, case = _clean(purpose), _clean(case_number).upper()
    justification = _clean(justification)
    problems: dict[str, str] = {}
    label = _check_purpose(policy, purpose, problems)
    _check_case(policy, case, problems)
    _check_justification(policy, justification, problems)
    if problems:
        raise AccessContextError(problems)
    return AccessContext(
        principal=principal,
        purpose=purpose,
        purpose_label=label,
        case_number=case,
        justification=justification,
    )


def own_context(
    principal: Principal, policy: AccessPolicyConfig, *, purpose: str, reference: str, justification: str
) -> AccessContext:
    """The context of work that carries its own purpose and reference, stated by the system rather than typed: an
    alert's verification is filed under the alert's purpose (from its list's kind) and its own reference, never
    under a context a person stated for a search. The purpose must be authorized, and training current."""
    principal.require_training("plate data")
    config = policy.purpose(purpose)
    if config is None:
        raise ValueError(f"{purpose!r} is not an authorized purpose (policy 462.3)")
    return AccessContext(
        principal=principal,
        purpose=purpose,
        purpose_label=config.label,
        case_number=reference[:64],
        justification=justification,
    )


def require_context(ctx: object, permission: str) -> AccessContext:
    """The guard at the top of every plate-data service function: a real context whose role grants ``permission``,
    held by a principal whose required training is current."""
    if not isinstance(ctx, AccessContext):
        raise TypeError("plate data needs an AccessContext built by build_access_context()")
    if not ctx.principal.can(permission):
        raise PermissionDenied(permission, ctx.principal.role, ctx.principal)
    ctx.principal.require_training(permission)
    return ctx


def record_context_refusal(
    work: Work, principal: Principal, attempted: str, error: AccessContextError, asked: dict[str, Any]
) -> None:
    """Audit a refused context under the attempted action's own domain (``reads.access_refused``,
    ``alerts.access_refused``, ``hotlists.access_refused``), as the refused principal from the work's client, with
    what was asked but never the justification."""
    refused = ACCESS_REFUSED[attempted.split(".", 1)[0]](
        attempted=attempted, reason=str(error), query={k: v for k, v in asked.items() if k != "justification"}
    )
    work.by(principal).record(
        refused,
        outcome="denied",
        purpose=str(asked.get("purpose") or "")[:64] or None,  # the columns hold 64: what was asked may be longer
        case_number=str(asked.get("case_number") or "")[:64] or None,
    )


def record_access(work: Work, ctx: AccessContext, event: AuditEventType) -> None:
    """Audit an access to plate data under its stated context: who (the context's principal, from the work's
    client), the purpose, the case number and the justification (Civil Code 1798.90.52), in the work's
    transaction."""
    work.by(ctx.principal).record(
        event, purpose=ctx.purpose, case_number=ctx.case_number, justification=ctx.justification
    )
