"""Plate text post-processing: normalization, confusable characters, jurisdiction formats, candidate ranking.

A reading is scored by its CTC path log-probability. Besides the free reading, the best reading for every
known format of a plausible length is decoded; there, a glyph the model saw may stand for its confusable
twin (O/0, I/1, B/8, ...) by moving probability mass between them, so a format that needs a digit where the
model saw an ``O`` reads ``0``. Readings that fit a known format get a bonus (more when the format belongs
to the region named on the plate). Adding or dropping characters costs a penalty. The uncorrected reading
always stays among the candidates.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .base import PlateCandidate, PlateText
from .config import PlateRulesConfig
from .ctc import ALPHABET, CharPosteriors, Decoded, constrained_decode_many, greedy_decode, mask_groups
from .formats import PlateFormat, builtin_formats, load_patterns_file, restrict_formats

__all__ = ["CONFUSABLE_PAIRS", "PlateRanker", "confusion_matrix", "normalize_plate", "plate_equal"]

# Glyph pairs that plates (and OCR) confuse, with how much of one reading may count for the other.
# Weights are relative: they are multiplied by PlateRulesConfig.confusable_weight.
CONFUSABLE_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("O", "0", 1.0),
    ("D", "0", 0.6),
    ("Q", "0", 0.6),
    ("Q", "O", 0.6),
    ("I", "1", 1.0),
    ("B", "8", 0.75),
    ("G", "6", 0.75),
    ("S", "5", 0.75),
    ("Z", "2", 0.75),
)

_BONUS_CACHE_SIZE = 50_000  # format bonuses remembered per (text, region)


def normalize_plate(text: str) -> str:
    """Upper-case A-Z0-9 only: separators, spaces, emblems and accents are dropped (NFKC folding first)."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if c in ALPHABET)


def plate_equal(a: str, b: str, o_equals_zero: bool = False) -> bool:
    """Compare normalized plates, optionally treating the letter O and the digit 0 as the same."""
    a, b = normalize_plate(a), normalize_plate(b)
    if o_equals_zero:
        a, b = a.replace("O", "0"), b.replace("O", "0")
    return a == b


def confusion_matrix(pairs: Iterable[tuple[str, str, float]], scale: float) -> np.ndarray:
    """[37, 37] matrix (blank + ALPHABET) moving probability from a glyph to its confusable twin."""
    matrix = np.eye(len(ALPHABET) + 1, dtype=np.float32)
    for a, b, weight in pairs:
        i, j = ALPHABET.index(a) + 1, ALPHABET.index(b) + 1
        matrix[i, j] = matrix[j, i] = weight * scale
    return matrix


def _format_bits(masks: np.ndarray) -> list[dict[str, int]]:
    """For formats of one length (``masks`` [F, L, 36]): per position, per character, the formats that allow it
    there as the bits of an int (bit ``f`` for format ``f``), so that a text's fitting formats are an AND."""
    return [
        {c: sum(1 << int(f) for f in np.flatnonzero(masks[:, i, k])) for k, c in enumerate(ALPHABET)}
        for i in range(masks.shape[1])
    ]


@dataclass(frozen=True)
class _Scored:
    text: str
    score: float
    char_probs: tuple[float, ...]

    @property
    def quality(self) -> float:
        """Geometric mean of the characters' probabilities (at most 1): how clearly the reading was seen."""
        quality = math.prod(max(p, 1e-9) for p in self.char_probs) ** (1 / len(self.text))
        return min(quality, 1.0)


class PlateRanker:
    """Turns folded CTC posteriors of the plate line into ranked candidates."""

    def __init__(self, config: PlateRulesConfig | None = None) -> None:
        self.config = config or PlateRulesConfig()
        extra = load_patterns_file(self.config.us_patterns_path) if self.config.us_patterns_path else None
        self.formats = restrict_formats(builtin_formats(extra), self.config.regions)
        self._confusion = confusion_matrix(CONFUSABLE_PAIRS, self.config.confusable_weight)
        self._by_length: dict[int, tuple[list[PlateFormat], np.ndarray]] = {}
        for length in {len(f.positions) for f in self.formats}:
            group = [f for f in self.formats if len(f.positions) == length]
            masks = np.array([[[c in s for c in ALPHABET] for s in f.positions] for f in group], dtype=bool)
            self._by_length[length] = (group, masks)
        # One table of distinct position masks for every format, then one row per single character (the
        # confusable variants of the free reading), then an all-False row for the positions past a format's end.
        longest = max(self._by_length)
        padded = [np.pad(m, ((0, 0), (0, longest - m.shape[1]), (0, 0))) for _, m in self._by_length.values()]
        unique, which = mask_groups(np.concatenate(padded))
        empty = np.logical_not(unique.any(axis=1))  # the padding's row
        self._masks = np.concatenate(
            [unique[~empty], np.eye(len(ALPHABET), dtype=bool), np.zeros((1, len(ALPHABET)), bool)]
        )
        self._char_row, self._pad_row = int((~empty).sum()), len(self._masks) - 1
        which = np.where(empty[which], self._pad_row, np.cumsum(~empty)[which] - 1)
        offsets = np.cumsum([0] + [len(m) for m in padded])
        self._which = {n: which[offsets[i] : offsets[i + 1]] for i, n in enumerate(self._by_length)}
        self._fit_bits = {n: _format_bits(masks) for n, (_, masks) in self._by_length.items()}
        self._bonus_cache: dict[tuple[str, str | None], float] = {}

    def format_bonus(self, text: str, region: str | None) -> float:
        """Log-score bonus of ``text``: fits a known format, more when that format is used in ``region``."""
        key = (text, region)
        bonus = self._bonus_cache.get(key)
        if bonus is None:
            if len(self._bonus_cache) >= _BONUS_CACHE_SIZE:
                self._bonus_cache.clear()
            bonus = self._bonus_cache[key] = self._format_bonus(text, region)
        return bonus

    def _format_bonus(self, text: str, region: str | None) -> float:
        positions = self._fit_bits.get(len(text))
        if positions is None:
            return 0.0
        formats = self._by_length[len(text)][0]
        fits = (1 << len(formats)) - 1
        for allowed, char in zip(positions, text, strict=True):
            fits &= allowed.get(char, 0)  # a character outside ALPHABET fits no format
            if not fits:
                return 0.0
        matching = [f for i, f in enumerate(formats) if fits >> i & 1]
        us_only = all(r.startswith("us") for f in matching for r in f.regions)
        bonus = self.config.us_format_bonus if us_only else self.config.format_bonus
        if region and any(region in f.regions for f in matching):
            bonus += self.config.region_format_bonus
        return bonus

    def _effective(self, post: CharPosteriors) -> CharPosteriors:
        probs = np.minimum(post.probs @ self._confusion, 1.0)
        return CharPosteriors.of(probs, self.config.min_char_logprob)

    def _variants(self, free: str) -> list[str]:
        """The free reading and its confusable-twin variants."""
        twins = {a: b for a, b, _ in CONFUSABLE_PAIRS} | {b: a for a, b, _ in CONFUSABLE_PAIRS}
        flips = [i for i, c in enumerate(free) if c in twins][: self.config.max_confusable_flips]
        texts = {free}
        for bits in range(1, 1 << len(flips)):
            chars = list(free)
            for j, i in enumerate(flips):
                if bits >> j & 1:
                    chars[i] = twins[chars[i]]
            texts.add("".join(chars))
        return sorted(texts)

    def _constrained(self, eff: CharPosteriors, free: str, also: Sequence[str] = ()) -> list[Decoded]:
        """Best readings of the free text's confusable variants, of every format of a plausible length and of
        the exact texts ``also`` (another recognizer's candidates).

        One Viterbi pass decodes them all; the best ``2 * top_k + 4`` of the variants and of each format length
        are spelled out (only those can reach the top k after bonuses), and every one of ``also``.
        """
        cfg, raw_len = self.config, len(free)
        lengths = [
            n
            for n in range(raw_len - cfg.length_slack, raw_len + cfg.length_slack + 1)
            if n in self._which and cfg.min_chars <= n <= cfg.max_chars
        ]
        exact = [*self._variants(free), *also]
        width = max([*lengths, *map(len, exact)])
        which = np.full((len(exact), width), self._pad_row)
        for row, text in enumerate(exact):
            which[row, : len(text)] = [self._char_row + ALPHABET.index(c) for c in text]
        variants = len(exact) - len(also)
        parts, sizes = [which], [np.array([len(t) for t in exact])]
        batches = [np.r_[np.zeros(variants, int), np.full(len(also), -1)]]  # each of ``also`` is its own best
        for n in lengths:
            formats = self._which[n][:, :width]
            if formats.shape[1] < width:
                formats = np.pad(formats, ((0, 0), (0, width - formats.shape[1])), constant_values=self._pad_row)
            parts.append(formats)
            sizes.append(np.full(len(formats), n))
            batches.append(np.full(len(formats), n))
        keep = max(2 * cfg.top_k + 4, len(also))
        return constrained_decode_many(
            eff, self._masks, np.concatenate(parts), np.concatenate(sizes), np.concatenate(batches), keep
        )

    def rank(
        self, post: CharPosteriors, region: str | None = None, raw: str = "", also: Sequence[str] = ()
    ) -> PlateText | None:
        """Ranked readings of one plate line, or None when too few characters were read.

        Texts in ``also`` (normalized; another recognizer's readings) are scored like any reading and listed
        after the top k when they do not make it, so a vote can weigh what this model thinks of them.
        """
        cfg = self.config
        free = greedy_decode(post)
        if not cfg.min_chars <= len(free.text) <= cfg.max_chars + cfg.length_slack:
            return None
        frames = post.probs.shape[0]
        also = [t for t in dict.fromkeys(also) if cfg.min_chars <= len(t) <= min(cfg.max_chars, frames) and t.isalnum()]
        scored: dict[str, _Scored] = {}
        for decoded in self._constrained(self._effective(post), free.text, also):
            if not cfg.min_chars <= len(decoded.text) <= cfg.max_chars:
                continue
            change = abs(len(decoded.text) - len(free.text)) * cfg.length_change_penalty
            score = decoded.logp + self.format_bonus(decoded.text, region) - change
            if decoded.text not in scored or scored[decoded.text].score < score:
                scored[decoded.text] = _Scored(decoded.text, score, decoded.char_probs)
        if not scored:
            return None
        ranked = sorted(scored.values(), key=lambda s: -s.score)
        return self._to_plate_text(ranked, region, raw or free.text, set(also))

    def _to_plate_text(self, ranked: list[_Scored], region: str | None, raw: str, also: set[str]) -> PlateText:
        top = ranked[: self.config.top_k]
        top += [s for s in ranked[self.config.top_k :] if s.text in also]
        weights = np.exp(np.array([s.score for s in top]) - top[0].score)
        shares = weights / weights.sum()
        # A lower-ranked reading never shows more confidence than the ones above it (its characters may be
        # clearer while its score, with format bonuses, is lower): the list reads top-down as it is ranked.
        confidences = np.minimum.accumulate(shares * np.array([s.quality for s in top]))
        candidates = tuple(PlateCandidate(s.text, float(c)) for s, c in zip(top, confidences, strict=True))
        return PlateText(top[0].text, candidates[0].confidence, raw, region, candidates)
