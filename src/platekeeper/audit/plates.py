"""Plate text in the audit log: sealed as a keyed digest, kept beside the event, forgotten after a while.

A plate an event carries (the fields its type lists in ``plate_fields``: a searched plate or pattern, a viewed
read's plate, a correction, an alert's plate, an auditor's plate filter...) is ALPR data, and the log outlives the
reads (policy 462.9). So :func:`digest_plates` replaces each one in the details that the chain seals by
``{"digest": HMAC-SHA256(plate key, normalized text)}``, the plate key being derived from the audit key: without
that key nobody can try every plate against the log. The text goes to ``audit_plate_texts`` (one row per event
and field) in the same transaction. :func:`forget_plate_texts` later sets the text NULL and keeps the digest, so
the chain still verifies (the seal never covered the text), and the log can still be asked "who searched for this
plate?" by the plate's digest. :func:`check_plate_texts` is what ``audit verify`` adds: every digest sealed has
its row, and every text still kept hashes to its sealed digest.

Events written before migration 0007 keep their text in the sealed details: the chain cannot be rewritten.

Someone whose role reaches no plate data (an auditor) sees each plate masked (:func:`mask_plate`: ``7AB***3``), on
the page, in the API and in exports; :mod:`platekeeper.audit.reveal` shows one for a stated reason, recorded first.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from platekeeper.audit.events import EVENT_TYPES, REGISTRY, AuditEventType
from platekeeper.audit.models import AuditEvent, AuditPlateText

__all__ = [
    "DIGEST",
    "FORGOTTEN",
    "LOOKUP_FIELDS",
    "KeptTexts",
    "PlateText",
    "check_plate_texts",
    "count_plate_texts_due",
    "digest_plates",
    "forget_plate_texts",
    "kept_texts",
    "mask_plate",
    "mask_plates_in",
    "normalize_plate",
    "plate_digest",
    "plate_fields_of",
    "plate_rows",
    "plate_text",
    "sealed_digests",
    "write_plate_texts",
]

DIGEST = "digest"
"""The key of the object that stands for a plate in sealed details: ``{"plate": {"digest": "<64 hex>"}}``."""
FORGOTTEN = "(forgotten after {days} days)"
"""What is shown for a plate whose text was forgotten (no plate holds parentheses or spaces)."""
PLATE_KEY_LABEL = b"platekeeper audit plate digest v1"
LOOKUP_FIELDS: frozenset[str] = frozenset(name for cls in EVENT_TYPES for name in cls.lookup_fields)
"""Plate fields that record a look at the log, never matched by the filter by plate (``plate_filter``)."""


def normalize_plate(text: str) -> str:
    """A plate (or a search pattern) as searches and the audit filter take it: no spaces or dashes, upper case."""
    return re.sub(r"[\s-]", "", text).upper()


MASK = "***"


def mask_plate(text: str) -> str:
    """A plate as someone without plate data sees it: the first three and the last character of a plate of six or
    more (``7AB***3``), the first and the last of one of four or five (``A***3``), nothing of a shorter one."""
    if not text:
        return text
    if len(text) >= 6:
        return text[:3] + MASK + text[-1]
    if len(text) >= 4:
        return text[0] + MASK + text[-1]
    return MASK


PLATE_LIKE = re.compile(r"(?<![^\W_])(?=[^\W_]*\d)(?=[^\W_]*[^\W\d_])[^\W_]{4,8}(?![^\W_])")
"""A word of 4 to 8 letters and digits holding both: how a plate looks inside free text ("7ABC123", "ABC1234";
not "5th", a case number's digits or an ordinary word)."""


def mask_plates_in(text: str | None, *, masked: bool = True) -> str | None:
    """Free text (a justification, a finding) with every plate-like word masked as :func:`mask_plate` masks a
    plate: what someone without plate data (``masked``) sees of text that a person typed and may have put a plate
    in. Unchanged for a reader with plate data."""
    return PLATE_LIKE.sub(lambda found: mask_plate(found.group(0)), text) if text and masked else text


def plate_digest(key: bytes, text: str) -> str:
    """HMAC-SHA256 of the normalized text under a key derived (domain-separated) from the audit key."""
    plate_key = hmac.new(key, PLATE_KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(plate_key, normalize_plate(text).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PlateText:
    """One plate-bearing field of an event being recorded: its stored path, digest and text."""

    field: str
    digest: str
    text: str


def _get(details: dict[str, Any], path: str) -> Any:
    value: Any = details
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _replaced(details: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of the details with the value at ``path`` replaced (the objects on the way copied, not changed)."""
    head, _, rest = path.partition(".")
    inner = _replaced(details[head], rest, value) if rest else value
    return {**details, head: inner}


def digest_plates(
    key: bytes, event_type: type[AuditEventType], details: dict[str, Any]
) -> tuple[dict[str, Any], list[PlateText]]:
    """The details to seal, each plate text of the type's ``plate_fields`` replaced by its digest object, and the
    texts for the side table. A field left out or ``None`` carries no plate and stays as it is."""
    texts = []
    for path in event_type.plate_fields:
        value = _get(details, path)
        if isinstance(value, str):
            digest = plate_digest(key, value)
            details = _replaced(details, path, {DIGEST: digest})
            texts.append(PlateText(path, digest, value))
    return details, texts


def sealed_digests(event: AuditEvent) -> dict[str, str]:
    """The digest sealed in the event for each of its plate fields that holds one (none in events written before
    migration 0007, whose details hold the text)."""
    event_type = REGISTRY.get(event.action)
    found = {}
    for path in event_type.plate_fields if event_type else ():
        value = _get(event.details, path)
        if isinstance(value, dict) and isinstance(value.get(DIGEST), str):
            found[path] = value[DIGEST]
    return found


def write_plate_texts(session: Session, event: AuditEvent, texts: Iterable[PlateText]) -> None:
    """The side rows of an event just appended, in its transaction."""
    session.add_all(
        AuditPlateText(seq=event.seq, field=t.field, digest=t.digest, text=t.text, occurred_at=event.occurred_at)
        for t in texts
    )


def plate_rows(session: Session, seqs: Sequence[int]) -> dict[int, dict[str, AuditPlateText]]:
    """The side rows of these events, by event and field."""
    found: dict[int, dict[str, AuditPlateText]] = {}
    if seqs:
        for row in session.scalars(select(AuditPlateText).where(AuditPlateText.seq.in_(list(seqs)))):
            found.setdefault(row.seq, {})[row.field] = row
    return found


def check_plate_texts(key: bytes, event: AuditEvent, rows: dict[str, AuditPlateText]) -> str | None:
    """What is wrong with the event's plate texts, if anything: a sealed digest without its row, a row the seal
    does not know, a row whose digest is not the sealed one, or a kept text that does not hash to it."""
    sealed = sealed_digests(event)
    for field, digest in sealed.items():
        row = rows.get(field)
        if row is None:
            return f"the plate text of field {field!r} is missing (side row deleted?)"
        if row.digest != digest:
            return f"the plate digest of field {field!r} does not match the sealed one (side row changed)"
        if row.text is not None and not hmac.compare_digest(plate_digest(key, row.text), digest):
            return f"the plate text of field {field!r} does not match its sealed digest (side row changed)"
    unknown = sorted(set(rows) - set(sealed))
    if unknown:
        return f"plate text row(s) {unknown} that the event does not seal (side row inserted?)"
    return None


@dataclass(frozen=True)
class KeptTexts:
    """The plate texts of some events as they are shown: the text while it is kept, else the forgotten marker
    (``FORGOTTEN`` with ``audit.plate_detail_days``); each text masked (:func:`mask_plate`) when ``masked``."""

    rows: dict[int, dict[str, AuditPlateText]]
    days: int
    masked: bool = False

    def _shown(self, text: str) -> str:
        return mask_plate(text) if self.masked else text

    def of(self, event: AuditEvent) -> dict[str, str]:
        """Each digested field of the event with its text, or the marker where it was forgotten."""
        kept = self.rows.get(event.seq, {})
        marker = FORGOTTEN.format(days=self.days)
        shown = {}
        for field in sealed_digests(event):
            row = kept.get(field)
            shown[field] = self._shown(row.text) if row is not None and row.text is not None else marker
        return shown

    def maskable(self, event: AuditEvent) -> list[str]:
        """The plate fields of the event shown masked whose text can still be revealed (kept, or written in the
        details before the digests)."""
        if not self.masked:
            return []
        kept = self.rows.get(event.seq, {})
        return [field for field in plate_fields_of(event) if plate_text(event, kept.get(field), field) is not None]

    def details(self, event: AuditEvent) -> dict[str, Any]:
        """The event's details with each digest object replaced by what :meth:`of` shows (the audit page), and,
        masked, each plate written as text before the digests masked too."""
        details = event.details
        for field, text in self.of(event).items():
            details = _replaced(details, field, text)
        return self.legacy_masked(event, details)

    def free_text(self, text: str | None) -> str | None:
        """Text a person typed (a justification), its plate-like words masked when masked."""
        return mask_plates_in(text, masked=self.masked)

    def legacy_masked(self, event: AuditEvent, details: dict[str, Any]) -> dict[str, Any]:
        """``details`` with the plates an event written before the digests holds as text masked, when masked."""
        if self.masked:
            for field in plate_fields_of(event):
                value = _get(details, field)
                if isinstance(value, str) and field not in sealed_digests(event):
                    details = _replaced(details, field, mask_plate(value))
        return details


def plate_fields_of(event: AuditEvent) -> tuple[str, ...]:
    """The plate fields the event's type declares."""
    event_type = REGISTRY.get(event.action)
    return event_type.plate_fields if event_type else ()


def plate_text(event: AuditEvent, row: AuditPlateText | None, field: str) -> str | None:
    """The text of one plate field of an event: its side row's while kept, or the text in the details of an event
    written before the digests; None when forgotten or absent."""
    if field in sealed_digests(event):
        return row.text if row is not None else None
    value = _get(event.details, field)
    return value if isinstance(value, str) else None


def kept_texts(session: Session, events: Sequence[AuditEvent], days: int, *, masked: bool = False) -> KeptTexts:
    """The plate texts of these events, for showing them (masked for someone without plate data)."""
    return KeptTexts(plate_rows(session, [e.seq for e in events]), days, masked)


def count_plate_texts_due(session: Session, before: datetime) -> int:
    """How many plate texts of events before ``before`` are still kept: what :func:`forget_plate_texts` would
    forget (a purge's dry run, its certificate's count)."""
    due = select(func.count()).where(AuditPlateText.occurred_at < before, AuditPlateText.text.is_not(None))
    return int(session.scalar(due) or 0)


def forget_plate_texts(session: Session, before: datetime, limit: int) -> int:
    """Forget (set NULL) the plate text of at most ``limit`` side rows of events that occurred before ``before``,
    oldest first, keeping their digests; returns how many. Idempotent: a forgotten text is not counted again, so
    the purge calls it until it returns 0."""
    chosen = (
        select(AuditPlateText.seq, AuditPlateText.field)
        .where(AuditPlateText.occurred_at < before, AuditPlateText.text.is_not(None))
        .order_by(AuditPlateText.occurred_at, AuditPlateText.seq, AuditPlateText.field)
        .limit(limit)
    )
    keys = [tuple(row) for row in session.execute(chosen)]
    if not keys:
        return 0
    statement = (
        update(AuditPlateText)
        .where(tuple_(AuditPlateText.seq, AuditPlateText.field).in_(keys))
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
