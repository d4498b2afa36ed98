"""Legal holds (462.9): requested by one person, approved by another, released only with a reason. Audited."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from platekeeper.access.context import case_number_problem
from platekeeper.access.principal import Principal
from platekeeper.audit.events import HoldDecided, HoldRefusedStep, HoldReleased, HoldRequested, HoldsViewed
from platekeeper.audit.work import Work
from platekeeper.cameras.models import Camera
from platekeeper.config import Settings
from platekeeper.db import in_batches, utcnow
from platekeeper.reads.models import PlateRead
from platekeeper.retention.floor import PROTECTING_STATES, reads_held_by, retention_cutoff, scope_matches
from platekeeper.retention.models import HOLD_REASONS, HOLD_SCOPES, EvidenceExport, LegalHold, LegalHoldRead

__all__ = [
    "MAX_HOLD_READS",
    "HoldNotFound",
    "HoldRefused",
    "HoldRequest",
    "HoldSummary",
    "decide_hold",
    "get_hold",
    "held_before",
    "held_past_retention",
    "holds_open_during",
    "list_holds",
    "protecting_holds",
    "release_hold",
    "request_hold",
]

MAX_HOLD_READS = 10_000  # reads one hold may name by id; a wider scope is a plate or a camera with a window
MAX_WINDOW_DAYS = 3660
PLATE = re.compile(r"^[A-Z0-9]{1,12}$")
MIN_REASON = 10


class HoldRefused(ValueError):
    """A hold request or step that cannot be taken; the message names the field or the rule."""

    def __init__(self, field_name: str, why: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {why}")


class HoldNotFound(LookupError):
    """No hold with that id."""


@dataclass(frozen=True)
class HoldRequest:
    """What a hold keeps, for which case and why. Scope ``reads`` names ``read_ids``; ``plate`` and ``camera``
    name a plate or a camera with a window ``since``-``until``."""

    case_number: str
    reason: str
    description: str
    scope: str
    plate: str | None = None
    camera_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    read_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class HoldSummary:
    """A hold as its list and page show it: the row, how many reads it covers now, its age and its exports."""

    hold: LegalHold
    reads: int
    age_days: int
    camera_name: str | None = None
    exports: list[EvidenceExport] = field(default_factory=list)
    tz: tzinfo = UTC  # the agency's zone: a window reads as the form that asked for it

    def covers(self) -> str:
        """What the hold keeps, in words, its window in the agency's time."""
        hold = self.hold
        if hold.scope == "reads":
            return f"{self.reads} named read(s)"
        since, until = (t.astimezone(self.tz) if t else None for t in (hold.since, hold.until))
        window = f"{since:%Y-%m-%d %H:%M %Z} to {until:%Y-%m-%d %H:%M %Z}" if since and until else ""
        what = f"plate {hold.plate}" if hold.scope == "plate" else f"camera {self.camera_name or hold.camera_id}"
        return f"{what}, {window}"


def _clean_window(request: HoldRequest) -> None:
    if request.since is None or request.until is None:
        raise HoldRefused("since" if request.since is None else "until", "a plate or camera hold needs a time window")
    for name, value in (("since", request.since), ("until", request.until)):
        if value.tzinfo is None:
            raise HoldRefused(name, "give a timezone (e.g. 2026-01-31T08:00:00-08:00)")
    if request.until <= request.since:
        raise HoldRefused("until", "must be after since")
    if request.until - request.since > timedelta(days=MAX_WINDOW_DAYS):
        raise HoldRefused("until", f"a hold's window may span at most {MAX_WINDOW_DAYS} days")


def validate_request(session: Session, settings: Settings, request: HoldRequest) -> HoldRequest:
    """The request with its case number and plate normalized; :class:`HoldRefused` naming the field otherwise."""
    case = request.case_number.strip().upper()
    if problem := case_number_problem(settings.access, case):
        raise HoldRefused("case_number", problem)
    if request.reason not in HOLD_REASONS:
        raise HoldRefused("reason", f"one of {', '.join(HOLD_REASONS)}")
    description = " ".join(request.description.split())
    if len(description) < MIN_REASON or len(description) > 2000:
        raise HoldRefused("description", f"say what the hold is for in {MIN_REASON} to 2000 characters")
    if request.scope not in HOLD_SCOPES:
        raise HoldRefused("scope", f"one of {', '.join(HOLD_SCOPES)}")
    plate = re.sub(r"[\s-]", "", request.plate or "").upper() or None
    if request.scope == "reads":
        ids = tuple(dict.fromkeys(request.read_ids))
        if not ids or len(ids) > MAX_HOLD_READS:
            raise HoldRefused("read_ids", f"name 1 to {MAX_HOLD_READS} reads (or hold a plate or camera window)")
        known = sum(
            session.scalar(select(func.count(PlateRead.id)).where(PlateRead.id.in_(batch))) or 0
            for batch in in_batches(session, list(ids))
        )
        if known != len(ids):
            raise HoldRefused("read_ids", f"{len(ids) - known} of the reads named do not exist (or were purged)")
        return HoldRequest(case, request.reason, description, "reads", read_ids=ids)
    _clean_window(request)
    if request.scope == "plate":
        if plate is None or not PLATE.fullmatch(plate):
            raise HoldRefused("plate", "letters and digits only, at most 12 (no wildcards in a hold)")
        return HoldRequest(
            case, request.reason, description, "plate", plate=plate, since=request.since, until=request.until
        )
    if request.camera_id is None or session.get(Camera, request.camera_id) is None:
        raise HoldRefused("camera_id", "name a registered camera")
    return HoldRequest(
        case,
        request.reason,
        description,
        "camera",
        camera_id=request.camera_id,
        since=request.since,
        until=request.until,
    )


def request_hold(work: Work, principal: Principal, request: HoldRequest) -> LegalHold:
    """Record a hold request (``holds.request``); it protects its reads from the purge at once, and keeps them
    reachable under its case once a second person approves it."""
    principal.require("holds.request")
    request = validate_request(work.session, work.settings, request)
    hold = LegalHold(
        case_number=request.case_number,
        reason=request.reason,
        description=request.description,
        scope=request.scope,
        plate=request.plate,
        camera_id=request.camera_id,
        since=request.since,
        until=request.until,
        status="requested",
        requested_by=principal.username,
        requested_at=utcnow(),
    )
    work.session.add(hold)
    work.session.flush()
    work.session.add_all(LegalHoldRead(hold_id=hold.id, read_id=read_id) for read_id in request.read_ids)
    event = HoldRequested(
        hold_id=hold.id,
        hold_case=hold.case_number,
        reason=hold.reason,
        scope=hold.scope,
        plate=hold.plate,
        camera_id=hold.camera_id,
        since=hold.since,
        until=hold.until,
        reads_named=len(request.read_ids) or None,
    )
    work.by(principal).record(event, case_number=hold.case_number)
    return hold


def _hold_for_step(work: Work, principal: Principal, hold_id: int, step: str, state: str) -> LegalHold:
    hold = work.session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldNotFound(f"no legal hold with id {hold_id}")
    if hold.status != state:
        _refuse(work, principal, hold, step, "status", f"the hold is {hold.status}; this step needs it {state}")
    return hold


def _refuse(work: Work, principal: Principal, hold: LegalHold, step: str, field_name: str, why: str) -> None:
    """Record the refused step (it commits even though the step does not) and raise :class:`HoldRefused`."""
    work.by(principal).record(
        HoldRefusedStep(hold_id=hold.id, step=step, why=why), outcome="failure", case_number=hold.case_number
    )
    raise HoldRefused(field_name, why)


def decide_hold(work: Work, principal: Principal, hold_id: int, *, approve: bool, note: str | None = None) -> LegalHold:
    """Approve or refuse a requested hold: ``holds.approve``, and never the person who requested it."""
    principal.require("holds.approve")
    hold = _hold_for_step(work, principal, hold_id, "approve" if approve else "refuse", "requested")
    if hold.requested_by == principal.username:
        _refuse(work, principal, hold, "approve", "hold", "a hold is approved by someone other than who requested it")
    note = " ".join((note or "").split()) or None
    if not approve and (note is None or len(note) < MIN_REASON):
        _refuse(
            work, principal, hold, "refuse", "note", f"say why the hold is refused (at least {MIN_REASON} characters)"
        )
    hold.status = "active" if approve else "refused"
    hold.decided_by, hold.decided_at, hold.decision_note = principal.username, utcnow(), note
    event = HoldDecided(
        hold_id=hold.id, decision="approved" if approve else "refused", requested_by=hold.requested_by, note=note
    )
    work.by(principal).record(event, case_number=hold.case_number)
    return hold


def release_hold(work: Work, principal: Principal, hold_id: int, reason: str) -> LegalHold:
    """Release an active hold with a reason (``holds.approve``); its reads fall back under normal retention."""
    principal.require("holds.approve")
    hold = _hold_for_step(work, principal, hold_id, "release", "active")
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        _refuse(work, principal, hold, "release", "reason", f"say why the hold ends (at least {MIN_REASON} characters)")
    hold.status, hold.released_by, hold.released_at, hold.release_reason = (
        "released",
        principal.username,
        utcnow(),
        reason,
    )
    work.by(principal).record(HoldReleased(hold_id=hold.id, reason=reason), case_number=hold.case_number)
    return hold


def covered_reads(session: Session, hold: LegalHold) -> int:
    """How many stored reads the hold covers now."""
    stmt = select(func.count(PlateRead.id)).where(scope_matches()).where(LegalHold.id == hold.id)
    return session.scalar(stmt.select_from(PlateRead, LegalHold)) or 0


def _summary(work: Work, hold: LegalHold, now: datetime, exports: list[EvidenceExport] | None = None) -> HoldSummary:
    session = work.session
    camera = session.get(Camera, hold.camera_id) if hold.camera_id is not None else None
    return HoldSummary(
        hold=hold,
        reads=covered_reads(session, hold),
        age_days=(now - hold.requested_at).days,
        camera_name=camera.name if camera else None,
        exports=exports or [],
        tz=work.settings.tz,
    )


def list_holds(work: Work, principal: Principal, *, status: str | None = None) -> list[HoldSummary]:
    """Every hold (or those in ``status``), newest first, with its age and size. Audited."""
    principal.require("holds.request")
    stmt = select(LegalHold).order_by(LegalHold.id.desc())
    if status:
        stmt = stmt.where(LegalHold.status == status)
    now = utcnow()
    holds = [_summary(work, hold, now) for hold in work.session.scalars(stmt)]
    work.by(principal).record(HoldsViewed(shown=len(holds)))
    return holds


def get_hold(work: Work, principal: Principal, hold_id: int) -> HoldSummary:
    """One hold with what it covers and the evidence packages exported for it. Audited."""
    principal.require("holds.request")
    hold = work.session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldNotFound(f"no legal hold with id {hold_id}")
    exports = list(
        work.session.scalars(
            select(EvidenceExport).where(EvidenceExport.hold_id == hold.id).order_by(EvidenceExport.id)
        )
    )
    work.by(principal).record(HoldsViewed(shown=1, hold_id=hold.id), case_number=hold.case_number)
    return _summary(work, hold, utcnow(), exports)


def held_past_retention(session: Session, settings: Settings, now: datetime) -> int:
    """How many reads past retention are kept because a requested or active hold covers them."""
    return held_before(session, retention_cutoff(now, settings.retention.days))


def held_before(session: Session, cutoff: datetime) -> int:
    """How many reads captured before ``cutoff`` a requested or active hold keeps (a purge run counts them at its
    own cutoff, which a resumed run or one given its clock does not share with the time it finishes). Each hold's
    reads are found through its own index and the union counted once, so a read two holds cover counts once and the
    count costs what the holds cover, not the table (the home page asks it on every visit)."""
    holds = list(session.scalars(select(LegalHold).where(LegalHold.status.in_(PROTECTING_STATES))))
    if not holds:
        return 0
    held = union(*(reads_held_by(hold, cutoff) for hold in holds)).subquery()
    return session.scalar(select(func.count()).select_from(held)) or 0


def protecting_holds(session: Session) -> int:
    """How many holds protect reads from the purge now (requested or active)."""
    return session.scalar(select(func.count(LegalHold.id)).where(LegalHold.status.in_(PROTECTING_STATES))) or 0


def holds_open_during(session: Session, until: datetime) -> list[LegalHold]:
    """Every hold requested before ``until`` that was not refused or released before the period's end: what a
    system audit (462.9) checks for age and for a decision that never came. Read-only, not audited."""
    stmt = select(LegalHold).where(LegalHold.requested_at < until).order_by(LegalHold.id)
    return [h for h in session.scalars(stmt) if h.status in PROTECTING_STATES]
