"""Reading hotlist files: delimited text (CSV/TXT, chosen delimiter, header mapping) and fixed-width extracts.

Parsing is separate from loading: :func:`parse_rows` returns every good row and every bad row with its line
number, and the service loads nothing unless there are no bad rows (all or nothing).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from platekeeper.config import HotlistConfig

__all__ = [
    "DEFAULT_HEADERS",
    "ENTRY_FIELDS",
    "EntryRow",
    "ImportFormat",
    "ImportSpec",
    "KindResolver",
    "ParseResult",
    "RowError",
    "describe",
    "parse_entry_row",
    "parse_mapping",
    "parse_rows",
]

ImportFormat = Literal["csv", "fixed"]
ENTRY_FIELDS = ("plate", "state", "kind", "reason", "nic", "make", "model", "color", "expires_at", "notes")
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "plate": ("platenumber", "plate", "lic", "license", "licenseplate", "tag"),
    "state": ("state", "lis", "platestate", "st"),
    "kind": ("category", "kind", "type", "mke", "listtype"),
    "reason": ("reason", "offense", "off", "description"),
    "nic": ("nic", "nicnumber", "ncicnumber"),
    "make": ("make", "vma", "vehiclemake"),
    "model": ("model", "vmo", "vehiclemodel"),
    "color": ("color", "colour", "vco", "vehiclecolor"),
    "expires_at": ("expires", "expiresat", "expiration", "exp", "expirationdate"),
    "notes": ("notes", "note", "comments", "remarks"),
}
LIMITS = {"plate": 10, "state": 2, "reason": 200, "nic": 16, "make": 40, "model": 40, "color": 40, "notes": 2000}
STATE_RE = re.compile(r"^[A-Z]{2}$")
NIC_RE = re.compile(r"^[A-Z0-9]{1,16}$")
NOT_PLATE_CHARS = re.compile(r"[^A-Z0-9]")


@dataclass(frozen=True)
class ImportSpec:
    """How to read a file: its format, delimiter, whether it has a header, and which column holds which field."""

    format: ImportFormat = "csv"
    delimiter: str = ","
    header: bool = True
    mapping: dict[str, str] = field(default_factory=dict)  # entry field -> column header (or 1-based index)
    default_kind: str | None = None


@dataclass(frozen=True, slots=True)
class EntryRow:
    line: int
    plate: str
    state: str | None
    kind: str
    reason: str
    nic: str | None
    make: str | None
    model: str | None
    color: str | None
    expires_at: datetime | None
    notes: str


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ParseResult:
    rows: list[EntryRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0


def parse_mapping(text: str) -> dict[str, str]:
    """``plate=PlateNumber,state=State`` -> {"plate": "PlateNumber", ...}; ValueError naming a bad part."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep or name.strip() not in ENTRY_FIELDS or not column.strip():
            raise ValueError(f"mapping: {part!r} is not FIELD=COLUMN with FIELD one of {', '.join(ENTRY_FIELDS)}")
        mapping[name.strip()] = column.strip()
    return mapping


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _columns(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """Field -> column index from the explicit mapping, else from the usual header names."""
    squashed = [_squash(h) for h in header]
    columns: dict[str, int] = {}
    for name in ENTRY_FIELDS:
        wanted = mapping.get(name)
        if wanted is not None:
            if wanted.isdigit():
                columns[name] = int(wanted) - 1
            elif _squash(wanted) in squashed:
                columns[name] = squashed.index(_squash(wanted))
            else:
                raise ValueError(f"mapping: column {wanted!r} for {name} is not in the header {header}")
            continue
        found = next((squashed.index(alias) for alias in DEFAULT_HEADERS[name] if alias in squashed), None)
        if found is not None:
            columns[name] = found
    if "plate" not in columns:
        raise ValueError(f"mapping: no plate column found in {header}; name it with plate=COLUMN")
    return columns


def _delimited(data: str, spec: ImportSpec) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=spec.delimiter)
    columns: dict[str, int] | None = None
    if not spec.header:
        columns = {name: int(col) - 1 for name, col in spec.mapping.items() if col.isdigit()}
        if "plate" not in columns:
            raise ValueError("mapping: a file without a header needs plate=N (1-based column numbers)")
    for row in reader:
        if columns is None:
            columns = _columns(row, spec.mapping)
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        yield reader.line_num, {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}


def _fixed(data: str, config: HotlistConfig) -> Iterator[tuple[int, dict[str, str]]]:
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield number, {f.name: line[f.start : f.start + f.width].strip() for f in config.fixed_width}


def _expiry(value: str) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.combine(datetime.strptime(value, fmt).date(), time(23, 59, 59), UTC)
        except ValueError:
            continue
    parsed = datetime.fromisoformat(value)  # ValueError names the value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class KindResolver:
    """Category values -> kind codes, with the policy's refusals."""

    def __init__(self, config: HotlistConfig, default: str | None) -> None:
        self.by_alias = {a.lower(): k.code for k in config.kinds for a in (k.code, k.label, *k.aliases)}
        self.refused = {r.lower() for r in (*config.refused_kinds, *config.refused_categories)}
        self.default: str | None = None
        if default:  # checked like a row's category: a configured kind or alias, and not refused by policy
            try:
                self.default = self.resolve(default)
            except ValueError as exc:
                raise ValueError("default_kind" + str(exc).removeprefix("kind")) from None

    def resolve(self, value: str) -> str:
        raw = value.strip().lower()
        if raw in self.refused or raw.replace(" ", "_") in self.refused:
            raise ValueError(f"kind: {value!r} is refused by policy (hotlists.refused_categories); remove the row")
        if not raw:
            if self.default is None:
                raise ValueError("kind: empty, and the list has no default kind")
            return self.default
        code = self.by_alias.get(raw) or self.by_alias.get(raw.replace(" ", "_"))
        if code is None:
            raise ValueError(f"kind: {value!r} is not a configured kind or alias (hotlists.kinds)")
        return code


def _text(values: dict[str, str], name: str) -> str | None:
    value = values.get(name, "")
    if "  " in value or "\t" in value or "\n" in value:
        value = " ".join(value.split())
    if len(value) > LIMITS[name]:
        raise ValueError(f"{name}: longer than {LIMITS[name]} characters")
    return value or None


def parse_entry_row(line: int, values: dict[str, str], kinds: KindResolver, today: date) -> EntryRow:
    """One row's values checked and normalized; ValueError naming the field and the rule."""
    plate = NOT_PLATE_CHARS.sub("", values.get("plate", "").upper())
    if not plate:
        raise ValueError("plate: empty (letters and digits needed)")
    if len(plate) > LIMITS["plate"]:
        raise ValueError(f"plate: {plate!r} is longer than {LIMITS['plate']} characters")
    state = (_text(values, "state") or "").upper() or None
    if state is not None and not STATE_RE.fullmatch(state):
        raise ValueError(f"state: {state!r} is not a two-letter state code")
    nic = (_text(values, "nic") or "").upper() or None
    if nic is not None and not NIC_RE.fullmatch(nic):
        raise ValueError(f"nic: {nic!r} must be letters and digits (at most 16)")
    try:
        expires = _expiry(values.get("expires_at", "").strip())
    except ValueError:
        raise ValueError(f"expires_at: {values.get('expires_at')!r} is not a date (YYYYMMDD or YYYY-MM-DD)") from None
    if expires is not None and expires.date() < today:
        raise ValueError(f"expires_at: {expires.date()} is already past")
    return EntryRow(
        line=line,
        plate=plate,
        state=state,
        kind=kinds.resolve(values.get("kind", "")),
        reason=_text(values, "reason") or "",
        nic=nic,
        make=_text(values, "make"),
        model=_text(values, "model"),
        color=_text(values, "color"),
        expires_at=expires,
        notes=_text(values, "notes") or "",
    )


def parse_rows(data: bytes, spec: ImportSpec, config: HotlistConfig, today: date) -> ParseResult:
    """Every row of the file, parsed and checked; bad rows are listed with their line numbers and the reason.

    Raises ValueError for a problem with the whole file (encoding, header, mapping, too many rows).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"file: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if "\x00" in text:  # PostgreSQL cannot store it, and no field of an entry takes it
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ValueError(f"file: line {line} contains the NUL character (U+0000), which no field accepts")
    kinds = KindResolver(config, spec.default_kind)
    result = ParseResult()
    source = _fixed(text, config) if spec.format == "fixed" else _delimited(text, spec)
    try:
        for line, values in source:
            if len(result.rows) + result.error_count >= config.max_import_rows:
                raise ValueError(f"file: more than {config.max_import_rows} rows (hotlists.max_import_rows)")
            try:
                result.rows.append(parse_entry_row(line, values, kinds, today))
            except ValueError as exc:
                result.error_count += 1
                if len(result.errors) < config.max_reported_errors:
                    result.errors.append(RowError(line, str(exc)))
    except csv.Error as exc:
        raise ValueError(f"file: not readable as delimited text ({exc})") from None
    return result


def describe(spec: ImportSpec) -> dict[str, Any]:
    """The spec as audit details."""
    return {"format": spec.format, "delimiter": spec.delimiter, "header": spec.header, "mapping": spec.mapping}
