"""The automatic checks of every access to plate data in an audit's period (462.6): why each was made (case number,
justification, purpose), what was asked (repeated plates, plates many users looked at, case numbers spread over
many plates), when and how much (off-hours bursts and high-volume days against each user's own pattern) and bulk
extraction. Each check is a pure function of the period's access records; a plate is only ever its digest.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import TypeVar

from platekeeper.access.context import case_number_problem, justification_problem
from platekeeper.audit.activity import AccessRecord
from platekeeper.audits.service.common import AuditPeriod, Draft

__all__ = ["ACCESS_CHECKS", "access_findings", "volume"]

K = TypeVar("K")


def _by(records: Iterable[AccessRecord], key: Callable[[AccessRecord], K]) -> dict[K, list[AccessRecord]]:
    grouped: dict[K, list[AccessRecord]] = defaultdict(list)
    for record in records:
        grouped[key(record)].append(record)
    return grouped


def _seqs(records: Iterable[AccessRecord]) -> tuple[int, ...]:
    return tuple(r.seq for r in records)


def no_case_number(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """Accesses with no case number, or one not in the agency's format (a placeholder like 0000-000000)."""
    policy = period.settings.access
    bad = [r for r in records if case_number_problem(policy, (r.case_number or "").strip().upper())]
    return [
        Draft(
            kind="no_case_number",
            section="462.6",
            severity="medium",
            subject=str(user),
            count=len(found),
            seqs=_seqs(found),
            detail=f"{user} reached plate data {len(found)} time(s) with no case number or one not in the agency's "
            f"format (e.g. {found[0].case_number or 'none'!r}).",
        )
        for user, found in _by(bad, lambda r: r.username).items()
    ]


def generic_justification(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """Accesses whose justification fails today's rules: missing, generic, too short, a letter run, too few words."""
    policy = period.settings.access
    bad = [(r, p) for r in records if (p := justification_problem(policy, r.justification))]
    grouped: dict[str, list[tuple[AccessRecord, str]]] = defaultdict(list)
    for record, problem in bad:
        grouped[str(record.username)].append((record, problem))
    return [
        Draft(
            kind="generic_justification",
            section="462.6",
            severity="medium",
            subject=user,
            count=len(found),
            seqs=tuple(r.seq for r, _ in found),
            detail=f"{user} gave a justification that does not say why {len(found)} time(s); e.g. {found[0][1]}.",
        )
        for user, found in grouped.items()
    ]


def _words(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def repeated_justification(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """One justification text given under many different case numbers: a reason copied, not written."""
    least = period.settings.audits.checks.justification_cases
    drafts = []
    for text, found in _by(records, lambda r: _words(r.justification)).items():
        cases = {r.case_number for r in found}
        if text and len(cases) >= least:
            users = sorted({str(r.username) for r in found})
            drafts.append(
                Draft(
                    kind="repeated_justification",
                    section="462.6",
                    severity="medium",
                    subject=users[0] if len(users) == 1 else None,
                    count=len(found),
                    seqs=_seqs(found),
                    detail=f"One justification was given under {len(cases)} different case numbers "
                    f"({len(found)} accesses, by {', '.join(users)}).",
                )
            )
    return drafts


def case_across_plates(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """One case number used for many different plates: a case number borrowed for unrelated searches."""
    least = period.settings.audits.checks.case_plates
    drafts = []
    for case, found in _by([r for r in records if r.plate and r.case_number], lambda r: r.case_number).items():
        plates = {r.plate for r in found}
        if len(plates) >= least:
            users = sorted({str(r.username) for r in found})
            drafts.append(
                Draft(
                    kind="case_across_plates",
                    section="462.6",
                    severity="medium",
                    subject=users[0] if len(users) == 1 else None,
                    count=len(plates),
                    seqs=_seqs(found),
                    detail=f"Case {case} was given for {len(plates)} different plates by {', '.join(users)}.",
                )
            )
    return drafts


def unauthorized_purpose(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """Accesses under a purpose that is not one of the authorized purposes (462.3)."""
    codes = {p.code for p in period.settings.access.purposes}
    bad = [r for r in records if r.purpose not in codes]
    return [
        Draft(
            kind="unauthorized_purpose",
            section="462.6",
            severity="high",
            subject=str(user),
            count=len(found),
            seqs=_seqs(found),
            detail=f"{user} reached plate data {len(found)} time(s) under a purpose that is not authorized "
            f"({', '.join(sorted({str(r.purpose) for r in found}))}).",
        )
        for user, found in _by(bad, lambda r: r.username).items()
    ]


def repeated_plate(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """One user looking up the same plate again and again."""
    least = period.settings.audits.checks.repeat_plate
    with_plate = [r for r in records if r.plate]
    return [
        Draft(
            kind="repeated_plate",
            section="462.6",
            severity="medium",
            subject=str(user),
            count=len(found),
            seqs=_seqs(found),
            detail=f"{user} looked up one plate {len(found)} times under {len({r.case_number for r in found})} "
            f"case number(s) (first audit event {found[0].seq}).",
        )
        for (user, _), found in _by(with_plate, lambda r: (r.username, r.plate)).items()
        if len(found) >= least
    ]


def plate_many_users(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """One plate looked up by many different users."""
    least = period.settings.audits.checks.many_users
    drafts = []
    for _, found in _by([r for r in records if r.plate], lambda r: r.plate).items():
        users = sorted({str(r.username) for r in found})
        if len(users) >= least:
            drafts.append(
                Draft(
                    kind="plate_many_users",
                    section="462.6",
                    severity="low",
                    count=len(users),
                    seqs=_seqs(found),
                    detail=f"One plate was looked up by {len(users)} users ({', '.join(users)}; first audit event "
                    f"{found[0].seq}).",
                )
            )
    return drafts


def _off_hours(period: AuditPeriod, record: AccessRecord) -> bool:
    checks, hour = period.settings.audits.checks, period.local(record.at).hour
    start, end = checks.off_hours_start, checks.off_hours_end
    return start <= hour < end if start < end else (hour >= start or hour < end)


def off_hours_burst(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """An off-hours hour with a burst of accesses by a user who does not usually work then."""
    checks, drafts = period.settings.audits.checks, []
    for user, mine in _by(records, lambda r: r.username).items():
        hours = _by([r for r in mine if _off_hours(period, r)], lambda r: period.local(r.at).strftime("%Y-%m-%d %H"))
        bursts = {hour: found for hour, found in hours.items() if len(found) >= checks.burst_accesses}
        in_bursts = {r.seq for found in bursts.values() for r in found}
        usual = [r for r in mine if r.seq not in in_bursts]
        share = sum(1 for r in usual if _off_hours(period, r)) / len(usual) if usual else 0.0
        if share >= checks.usual_off_hours_share:
            continue  # this user works these hours (a night shift): a busy night is their usual pattern
        for hour, found in sorted(bursts.items()):
            drafts.append(
                Draft(
                    kind="off_hours_burst",
                    section="462.6",
                    severity="medium",
                    subject=str(user),
                    count=len(found),
                    seqs=_seqs(found),
                    detail=f"{user} made {len(found)} accesses in the off-hours hour from {hour}:00 (agency time); "
                    f"{share:.0%} of their other accesses fall in off-hours.",
                )
            )
    return drafts


def high_volume_day(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """A day on which a user made many times their own usual (median) number of accesses."""
    checks, drafts = period.settings.audits.checks, []
    for user, mine in _by(records, lambda r: r.username).items():
        days = _by(mine, lambda r: period.local(r.at).date().isoformat())
        for day, found in sorted(days.items(), key=lambda item: str(item[0])):
            others = [len(f) for d, f in days.items() if d != day]
            median = statistics.median(others) if others else 0
            limit = max(checks.daily_volume_min, checks.daily_volume_factor * median)
            if len(found) >= limit:
                drafts.append(
                    Draft(
                        kind="high_volume_day",
                        section="462.6",
                        severity="medium",
                        subject=str(user),
                        count=len(found),
                        seqs=_seqs(found),
                        detail=f"{user} made {len(found)} accesses on {day}; on their other active days the median "
                        f"is {median:g}.",
                    )
                )
    return drafts


def bulk_extraction(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """Searches without a plate that matched many reads, and paging deep into one search."""
    checks = period.settings.audits.checks
    bulk = [
        r
        for r in records
        if r.action == "reads.search"
        and (r.page >= checks.deep_page or (r.plate is None and r.results >= checks.bulk_results))
    ]
    return [
        Draft(
            kind="bulk_extraction",
            section="1798.90.51-.53",
            severity="high",
            subject=str(user),
            count=len(found),
            seqs=_seqs(found),
            detail=f"{user} pulled reads in bulk {len(found)} time(s): up to page {max(r.page for r in found)}, "
            f"{max(r.results for r in found)} results at most, {sum(1 for r in found if r.plate is None)} of them "
            "without a plate.",
        )
        for user, found in _by(bulk, lambda r: r.username).items()
    ]


def shared_account(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """One account used from two client addresses within a few minutes: a shared account (462.5; CJIS)."""
    minutes, drafts = period.settings.audits.checks.shared_account_minutes, []
    for user, mine in _by(records, lambda r: r.username).items():
        clashes = [
            (a, b)
            for a, b in pairwise(mine)
            if a.client and b.client and a.client != b.client and (b.at - a.at).total_seconds() <= minutes * 60
        ]
        if clashes:
            clients = sorted({c for a, b in clashes for c in (str(a.client), str(b.client))})
            drafts.append(
                Draft(
                    kind="shared_account",
                    section="462.5",
                    severity="medium",
                    subject=str(user),
                    count=len(clashes),
                    seqs=tuple(s for a, b in clashes for s in (a.seq, b.seq)),
                    detail=f"{user}'s account reached plate data from {len(clients)} addresses within {minutes} "
                    f"minutes, {len(clashes)} time(s) ({', '.join(clients[:5])}).",
                )
            )
    return drafts


ACCESS_CHECKS: tuple[Callable[[list[AccessRecord], AuditPeriod], list[Draft]], ...] = (
    no_case_number,
    generic_justification,
    repeated_justification,
    case_across_plates,
    unauthorized_purpose,
    repeated_plate,
    plate_many_users,
    off_hours_burst,
    high_volume_day,
    bulk_extraction,
    shared_account,
)


def access_findings(records: list[AccessRecord], period: AuditPeriod) -> list[Draft]:
    """Every access check over the period's records, in the order above."""
    return [draft for check in ACCESS_CHECKS for draft in check(records, period)]


def volume(records: list[AccessRecord]) -> dict[str, list[dict[str, object]]]:
    """Accesses by user, role, organization, purpose and action, largest first (the report's charts)."""
    keys: dict[str, Callable[[AccessRecord], object]] = {
        "user": lambda r: r.username,
        "role": lambda r: r.role,
        "organization": lambda r: r.organization,
        "purpose": lambda r: r.purpose,
        "action": lambda r: r.action,
    }
    return {
        name: [{"label": str(k or "none"), "value": n} for k, n in Counter(key(r) for r in records).most_common()]
        for name, key in keys.items()
    }
