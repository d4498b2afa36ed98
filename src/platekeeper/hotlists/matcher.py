"""The hotlist matcher: an in-memory index of every live entry, matched against a read's texts.

Pure (no database): :class:`MatchIndex` is built from :class:`MatchTarget` tuples and answers, for the texts of
one read (its best text and its top OCR candidates), which entries they hit and how:

- ``exact``: the text is the entry's plate;
- ``confusable``: equal once characters OCR confuses are folded together (O/0, I/1, B/8, D/0, Q/O, G/6, S/5, Z/2,
  closed transitively, so O, 0, D and Q form one class);
- ``edit1`` (optional): one character inserted, dropped or changed, after folding.

Every entry is keyed by its folded plate, so exact and confusable hits are one dictionary lookup per text. The
edit-distance-1 lookup uses the symmetric-delete method over a sorted numpy array of hashes (the key and its
one-character deletions), verified exactly afterwards. An index is immutable; reloading builds a new one and
swaps it in, so matching never waits for a reload.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

__all__ = [
    "MATCH_KINDS",
    "Confusables",
    "Match",
    "MatchIndex",
    "MatchTarget",
    "ReadText",
    "edit_distance_at_most_one",
    "state_of_region",
    "texts_of_read",
]

MATCH_KINDS = ("exact", "confusable", "edit1")
_RANK = {kind: rank for rank, kind in enumerate(MATCH_KINDS)}


class Confusables:
    """Classes of characters that OCR confuses, from pairs; ``fold`` maps each class to one representative."""

    def __init__(self, pairs: Iterable[str]) -> None:
        parent: dict[str, str] = {}

        def root(c: str) -> str:
            while parent.setdefault(c, c) != c:
                c = parent[c]
            return c

        for pair in pairs:
            ra, rb = root(pair[0]), root(pair[1])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        classes: dict[str, set[str]] = {}
        for c in list(parent):
            classes.setdefault(root(c), set()).add(c)
        self.classes: dict[str, frozenset[str]] = {
            c: frozenset(members) for members in classes.values() for c in members
        }
        self._table = str.maketrans({c: min(members) for c, members in self.classes.items()})

    def fold(self, text: str) -> str:
        """The text with every confusable character replaced by its class representative."""
        return text.translate(self._table)

    def variants(self, text: str, limit: int) -> list[str]:
        """Every plate that folds to the same key as ``text`` (at most ``limit``; the text itself first)."""
        choices = [sorted(self.classes.get(c, {c})) for c in text]
        count = math.prod(len(c) for c in choices)
        if count > limit:
            return [text]
        return [text, *("".join(v) for v in product(*choices) if "".join(v) != text)]


@dataclass(frozen=True, slots=True)
class MatchTarget:
    """What the matcher keeps of one entry."""

    entry_id: int
    hotlist_id: int
    plate: str
    state: str | None
    expires_at: float = math.inf  # POSIX seconds


@dataclass(frozen=True, slots=True)
class ReadText:
    """One text of a read: its best text or one OCR candidate, with the confidence it had."""

    text: str
    via: str  # best | candidate
    confidence: float


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    hotlist_id: int
    text: str
    via: str
    confidence: float
    kind: str
    state_mismatch: bool


def state_of_region(region: str | None) -> str | None:
    """'us-ca' -> 'CA'; None when unknown."""
    if not region:
        return None
    return region.rsplit("-", 1)[-1].upper() or None


def _normalized(text: object) -> str:
    return "".join(c for c in str(text).upper() if c.isascii() and c.isalnum())


def texts_of_read(
    plate: str, confidence: float, candidates: Sequence[dict[str, Any]] | None, limit: int, min_confidence: float
) -> list[ReadText]:
    """The read's best text and its ``limit`` most confident other OCR candidates (normalized to A-Z0-9)."""
    texts = [ReadText(plate, "best", confidence)] if plate else []
    seen = {plate}
    ranked = sorted(
        (c for c in candidates or () if isinstance(c, dict)), key=lambda c: -float(c.get("confidence") or 0)
    )
    taken = 0
    for candidate in ranked:
        if taken >= limit:
            break
        text, conf = _normalized(candidate.get("text", "")), float(candidate.get("confidence") or 0)
        if text and text not in seen and conf >= min_confidence:
            seen.add(text)
            taken += 1
            texts.append(ReadText(text, "candidate", conf))
    return texts


def edit_distance_at_most_one(a: str, b: str) -> bool:
    """Whether a and b differ by at most one inserted, dropped or changed character."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i + 1 :] if la == lb else a[i:] == b[i + 1 :]


@dataclass
class _EditIndex:
    """Symmetric-delete index: sorted hashes of each key and its one-character deletions, with the entry row."""

    hashes: Any
    rows: Any

    @classmethod
    def build(cls, keys: Sequence[str]) -> _EditIndex:
        import numpy as np

        hashes: list[int] = []
        rows: list[int] = []
        for row, key in enumerate(keys):
            for variant in {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}:
                hashes.append(hash(variant))
                rows.append(row)
        h = np.fromiter(hashes, dtype=np.int64, count=len(hashes))
        r = np.fromiter(rows, dtype=np.int32, count=len(rows))
        order = np.argsort(h, kind="stable")
        return cls(hashes=h[order], rows=r[order])

    def rows_near(self, key: str) -> set[int]:
        import numpy as np

        probes = np.fromiter(
            (hash(v) for v in {key, *(key[:i] + key[i + 1 :] for i in range(len(key)))}), dtype=np.int64
        )
        left = np.searchsorted(self.hashes, probes, side="left")
        right = np.searchsorted(self.hashes, probes, side="right")
        found: set[int] = set()
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            if hi > lo:
                found.update(self.rows[lo:hi].tolist())
        return found


@dataclass
class MatchIndex:
    """An immutable snapshot of the live entries, ready to match reads against."""

    confusables: Confusables
    edit_distance_one: bool = False
    revision: Any = None
    targets: list[MatchTarget] = field(default_factory=list)
    _by_key: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: list[str] = field(default_factory=list, repr=False)
    _edit: _EditIndex | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, targets: Iterable[MatchTarget], confusables: Confusables, *, edit_distance_one: bool, revision: Any = None
    ) -> MatchIndex:
        """Index the targets by folded plate (and, with edit_distance_one, by their deletion neighbourhood)."""
        index = cls(confusables=confusables, edit_distance_one=edit_distance_one, revision=revision)
        by_key: dict[str, Any] = {}
        fold = confusables.fold
        for row, target in enumerate(targets):
            index.targets.append(target)
            key = fold(target.plate)
            index._keys.append(key)
            held = by_key.get(key)
            if held is None:
                by_key[key] = row
            elif isinstance(held, int):
                by_key[key] = [held, row]
            else:
                held.append(row)
        index._by_key = by_key
        if edit_distance_one:
            index._edit = _EditIndex.build(index._keys)
        return index

    def __len__(self) -> int:
        return len(self.targets)

    def _rows(self, key: str) -> list[int]:
        held = self._by_key.get(key)
        if held is None:
            return []
        return [held] if isinstance(held, int) else held

    def _candidates(self, key: str) -> list[tuple[int, str]]:
        found = [(row, "confusable") for row in self._rows(key)]
        if self._edit is not None:
            exact_rows = {row for row, _ in found}
            for row in self._edit.rows_near(key):
                if row not in exact_rows and edit_distance_at_most_one(key, self._keys[row]):
                    found.append((row, "edit1"))
        return found

    def match(self, texts: Sequence[ReadText], region: str | None, now: float) -> list[Match]:
        """The entries the texts hit, one match per entry (the best kind, the best text), expired ones skipped."""
        read_state = state_of_region(region)
        best: dict[int, Match] = {}
        for text in texts:
            for row, kind in self._candidates(self.confusables.fold(text.text)):
                target = self.targets[row]
                if target.expires_at <= now:
                    continue
                if kind == "confusable" and target.plate == text.text:
                    kind = "exact"
                found = Match(
                    entry_id=target.entry_id,
                    hotlist_id=target.hotlist_id,
                    text=text.text,
                    via=text.via,
                    confidence=text.confidence,
                    kind=kind,
                    state_mismatch=bool(read_state and target.state and target.state != read_state),
                )
                held = best.get(target.entry_id)
                if held is None or _better(found, held):
                    best[target.entry_id] = found
        return sorted(best.values(), key=lambda m: (_RANK[m.kind], m.via != "best", m.entry_id))


def _better(new: Match, old: Match) -> bool:
    return (_RANK[new.kind], new.via != "best", -new.confidence) < (_RANK[old.kind], old.via != "best", -old.confidence)
