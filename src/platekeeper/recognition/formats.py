"""Jurisdiction plate formats and the names printed on plates.

Patterns use the OpenALPR notation: ``@`` a letter, ``#`` a digit, ``[...]`` a character set (``A-Z`` ranges
allowed), any other character itself. The tables are written from public knowledge of current standard
passenger series (they are deliberately not a copy of any data set); vanity and special plates match no
format and are still read, only without the format bonus. A deployment can add or override US patterns with
a file in the same notation (``state<TAB>pattern`` per line) through ``PlateRulesConfig.us_patterns_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "REGION_NAMES",
    "PlateFormat",
    "builtin_formats",
    "compile_pattern",
    "load_patterns_file",
    "restrict_formats",
]

_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")

# Standard passenger series per US state / territory (region code "us-xx").
_US: dict[str, tuple[str, ...]] = {
    "al": ("#@@####", "##@@###", "#@#####", "##@####"),
    "ak": ("@@@###",),
    "az": ("@@@####", "###@@@"),
    "ar": ("###@@@", "@@@###", "@@@##@"),
    "ca": ("#@@@###", "#@#####", "#####@#"),
    "co": ("@@@###", "###@@@", "@@@@##", "@@#@##"),
    "ct": ("#@@@@#", "@@#####", "###@@@", "@@@####"),
    "de": ("######", "#####", "####"),
    "dc": ("@@####",),
    "fl": ("@@@@##", "###@@@", "@##@@@", "@###@@", "####@@"),
    "ga": ("@@@####", "###@@@", "@@@###"),
    "hi": ("@@@###",),
    "id": ("#@#####", "#@@####", "#@####", "@######"),
    "il": ("@@#####", "@######", "@#####", "###@@@"),
    "in": ("###@", "###@@", "###@@@", "@@@###"),
    "ia": ("@@@###", "###@@@"),
    "ks": ("###@@@", "@@@###"),
    "ky": ("###@@@", "@@@###"),
    "la": ("###@@@", "@@@###"),
    "me": ("####@@", "###@@"),
    "md": ("#@@####", "@@@####", "###@###"),
    "ma": ("#@@@##", "###@@#", "##@@##", "#@@###"),
    "mi": ("@@@####", "###@@@", "@@@###"),
    "mn": ("###@@@", "@@@###"),
    "ms": ("@@@###", "@@@####"),
    "mo": ("@@#@#@", "@@@###", "###@@@"),
    "mt": ("#####@", "######@"),
    "ne": ("@@@###", "#@####", "##@###"),
    "nv": ("###@@@", "#@@###", "##@###"),
    "nh": ("#######", "######", "###@@@"),
    "nj": ("@##@@@", "@@@##@"),
    "nm": ("@@@###", "###@@@"),
    "ny": ("@@@####", "@@@###"),
    "nc": ("@@@####", "@@@###"),
    "nd": ("###@@@", "@@@###"),
    "oh": ("@@@####", "@@@###"),
    "ok": ("@@@###", "###@@@"),
    "or": ("###@@@", "@@@###"),
    "pa": ("@@@####", "@@@###"),
    "ri": ("@@###", "######", "#####", "###@@@"),
    "sc": ("@@@###", "###@@@"),
    "sd": ("#@@###", "##@###", "#@####"),
    "tn": ("@@@###", "###@@@", "@##@#@"),
    "tx": ("@@@####", "###@@@"),
    "ut": ("@###@@", "###@@", "@@@###"),
    "vt": ("@@@###", "###@###"),
    "va": ("@@@####", "###@@@"),
    "wa": ("@@@####", "###@@@"),
    "wv": ("#@@###", "@@@###"),
    "wi": ("@@@####", "###@@@", "@@@###"),
    "wy": ("######", "#####", "##@###"),
    "pr": ("@@@###",),
}

# European national formats (spaces, dashes and emblems are never part of the normalized text).
_EU: dict[str, tuple[str, ...]] = {
    "eu-sk": ("@@###@@",),
    "eu-cz": ("#@#####", "#@@####"),
    "eu-hr": ("@@###@", "@@###@@", "@@####@", "@@####@@"),
    "eu-pl": ("@@#####", "@@####@", "@@###@@", "@@@####", "@@@###@", "@@@#@@#"),
    "eu-hu": ("@@@###", "@@@@###"),
    "eu-it": ("@@###@@",),
    "eu-fr": ("@@###@@",),
    "eu-es": ("####@@@",),
    "eu-pt": ("@@##@@", "##@@##"),
    "eu-nl": ("@@###@", "#@@@##", "##@@@#", "@###@@", "@@@##@", "#@@###"),
    "eu-be": ("#@@@###",),
    "eu-at": ("@#####@", "@@###@", "@@####@", "@@##@@"),
    "eu-si": ("@@@@###", "@@##@@@"),
    "eu-ro": ("@@##@@@", "@###@@@"),
    "eu-bg": ("@@####@@", "@####@@"),
    "eu-gb": ("@@##@@@",),
    "eu-de": ("@@####", "@@@####", "@@@@###", "@@@@##", "@@@###", "@@####@", "@####", "@@###"),
    "eu-se": ("@@@###", "@@@##@"),
    "eu-fi": ("@@@###",),
    "eu-dk": ("@@#####",),
    "eu-lt": ("@@@###",),
    "eu-rs": ("@@###@@", "@@####@@"),
    "eu-ba": ("@##@###",),
    "eu-gr": ("@@@####",),
    "eu-ie": ("###@####",),
}

# Brazil: the pre-2018 grey plate (LLL-NNNN) and the Mercosur plate (LLLNLNN).
_BR: dict[str, tuple[str, ...]] = {"br": ("@@@####", "@@@#@##")}

# Names printed on plates, used to tell the region (the plate line never contains them).
REGION_NAMES: dict[str, str] = {
    "ALABAMA": "us-al",
    "ALASKA": "us-ak",
    "ARIZONA": "us-az",
    "ARKANSAS": "us-ar",
    "CALIFORNIA": "us-ca",
    "COLORADO": "us-co",
    "CONNECTICUT": "us-ct",
    "DELAWARE": "us-de",
    "FLORIDA": "us-fl",
    "GEORGIA": "us-ga",
    "HAWAII": "us-hi",
    "IDAHO": "us-id",
    "ILLINOIS": "us-il",
    "INDIANA": "us-in",
    "IOWA": "us-ia",
    "KANSAS": "us-ks",
    "KENTUCKY": "us-ky",
    "LOUISIANA": "us-la",
    "MAINE": "us-me",
    "MARYLAND": "us-md",
    "MASSACHUSETTS": "us-ma",
    "MICHIGAN": "us-mi",
    "MINNESOTA": "us-mn",
    "MISSISSIPPI": "us-ms",
    "MISSOURI": "us-mo",
    "MONTANA": "us-mt",
    "NEBRASKA": "us-ne",
    "NEVADA": "us-nv",
    "NEWHAMPSHIRE": "us-nh",
    "NEWJERSEY": "us-nj",
    "NEWMEXICO": "us-nm",
    "NEWYORK": "us-ny",
    "NORTHCAROLINA": "us-nc",
    "NORTHDAKOTA": "us-nd",
    "OHIO": "us-oh",
    "OKLAHOMA": "us-ok",
    "OREGON": "us-or",
    "PENNSYLVANIA": "us-pa",
    "RHODEISLAND": "us-ri",
    "SOUTHCAROLINA": "us-sc",
    "SOUTHDAKOTA": "us-sd",
    "TENNESSEE": "us-tn",
    "TEXAS": "us-tx",
    "UTAH": "us-ut",
    "VERMONT": "us-vt",
    "VIRGINIA": "us-va",
    "WASHINGTON": "us-wa",
    "WESTVIRGINIA": "us-wv",
    "WISCONSIN": "us-wi",
    "WYOMING": "us-wy",
    "DISTRICTOFCOLUMBIA": "us-dc",
    "PUERTORICO": "us-pr",
    "BRASIL": "br",
    "BRAZIL": "br",
}


@dataclass(frozen=True)
class PlateFormat:
    """One compiled format: allowed characters per position and the regions that use it."""

    pattern: str
    positions: tuple[frozenset[str], ...]
    regions: frozenset[str]

    def matches(self, text: str) -> bool:
        """True when ``text`` (normalized) fits this format exactly."""
        return len(text) == len(self.positions) and all(c in s for c, s in zip(text, self.positions, strict=True))


def _parse_set(body: str) -> frozenset[str]:
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars.update(chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1))
            i += 3
        else:
            chars.add(body[i])
            i += 1
    return frozenset(chars)


def compile_pattern(pattern: str) -> tuple[frozenset[str], ...]:
    """Compile ``@``/``#``/``[set]``/literal notation into per-position allowed character sets."""
    positions: list[frozenset[str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            end = pattern.index("]", i)
            positions.append(_parse_set(pattern[i + 1 : end]))
            i = end + 1
            continue
        positions.append(_LETTERS if char == "@" else _DIGITS if char == "#" else frozenset(char.upper()))
        i += 1
    return tuple(positions)


def load_patterns_file(path: Path) -> dict[str, tuple[str, ...]]:
    """Read ``state<whitespace>pattern`` lines (others skipped) into ``{"us-xx": patterns}``."""
    table: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 2 or line.lstrip().startswith("//"):
            continue
        state, pattern = parts
        region = "us" if state == "base" else f"us-{state.lower()}"
        table.setdefault(region, []).append(pattern)
    return {region: tuple(dict.fromkeys(patterns)) for region, patterns in table.items()}


def builtin_formats(extra: dict[str, tuple[str, ...]] | None = None) -> list[PlateFormat]:
    """All known formats (US, EU, BR, plus ``extra``), each listing every region that uses it."""
    regions_of: dict[str, set[str]] = {}
    tables = [{f"us-{k}": v for k, v in _US.items()}, _EU, _BR, extra or {}]
    for table in tables:
        for region, patterns in table.items():
            for pattern in patterns:
                regions_of.setdefault(pattern, set()).add(region)
    return [PlateFormat(p, compile_pattern(p), frozenset(r)) for p, r in regions_of.items()]


def restrict_formats(formats: list[PlateFormat], regions: tuple[str, ...]) -> list[PlateFormat]:
    """The formats used in ``regions`` (region codes or their prefixes), each keeping only those regions.

    Empty ``regions``: all of them. Raises ValueError for a code that names no known region.
    """
    if not regions:
        return formats
    known = {r for f in formats for r in f.regions}
    wanted = [r.strip().lower() for r in regions]
    unknown = [r for r in wanted if not any(k == r or k.startswith(r + "-") for k in known)]
    if unknown:
        prefixes = sorted({k.split("-")[0] for k in known})
        raise ValueError(
            f"plates.regions: {', '.join(map(repr, unknown))} names no known region "
            f"(use {', '.join(prefixes)} or a code such as us-ca, eu-sk)"
        )
    kept = []
    for fmt in formats:
        inside = frozenset(r for r in fmt.regions if any(r == w or r.startswith(w + "-") for w in wanted))
        if inside:
            kept.append(PlateFormat(fmt.pattern, fmt.positions, inside))
    return kept
