"""CTC decoding over plate characters: free (greedy) and constrained to a plate format (Viterbi).

The recognizer emits, per time step, a distribution over ~18,700 symbols. Plates use 36 of them, so the
distribution is folded onto ``blank + 0-9 + A-Z``: lower-case and full-width forms add to their upper-case
character, and every other symbol (separators, emblems, punctuation) counts as blank. A format-constrained
decode then finds the best path that spells exactly one character from each position's allowed set.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALPHABET",
    "CharPosteriors",
    "Decoded",
    "constrained_decode",
    "constrained_decode_many",
    "fold_posteriors",
    "greedy_decode",
    "mask_groups",
]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BLANK = 0


@dataclass(frozen=True)
class CharPosteriors:
    """Per-frame probabilities over blank + ALPHABET (shape [T, 37]) and their logs."""

    probs: np.ndarray
    logs: np.ndarray

    @classmethod
    def of(cls, probs: np.ndarray, floor: float) -> CharPosteriors:
        """``probs`` with their logs, floored at ``floor`` (a zero probability must not cost infinitely)."""
        return cls(probs, np.maximum(np.log(np.maximum(probs, 1e-30)), floor))


@dataclass(frozen=True)
class Decoded:
    """A decoded string with its path log-probability and per-character probabilities."""

    text: str
    logp: float
    char_probs: tuple[float, ...]


def plate_symbol_index(vocabulary: Sequence[str]) -> dict[int, int]:
    """Map recognizer output columns to ALPHABET positions (+1 for blank at 0); others are absent."""
    mapping: dict[int, int] = {}
    for column, symbol in enumerate(vocabulary):
        folded = unicodedata.normalize("NFKC", symbol).upper()
        if len(folded) == 1 and folded in ALPHABET:
            mapping[column] = ALPHABET.index(folded) + 1
    return mapping


def fold_posteriors(probs: np.ndarray, columns: np.ndarray, targets: np.ndarray, floor: float) -> CharPosteriors:
    """Fold [T, C] recognizer probabilities onto blank + ALPHABET; logs are floored at ``floor``."""
    folded = np.zeros((probs.shape[0], len(ALPHABET) + 1), np.float32)
    np.add.at(folded.T, targets, probs[:, columns].T)
    folded[:, _BLANK] = np.clip(1.0 - folded[:, 1:].sum(axis=1), 0.0, 1.0)
    return CharPosteriors.of(folded, floor)


def greedy_decode(post: CharPosteriors) -> Decoded:
    """Best-path decode: argmax per frame, collapse repeats, drop blanks."""
    best = post.probs.argmax(axis=1)
    logp = float(post.logs[np.arange(len(best)), best].sum())
    text, probs, previous = [], [], _BLANK
    for t, symbol in enumerate(best):
        if symbol != _BLANK and symbol != previous:
            text.append(ALPHABET[symbol - 1])
            probs.append(float(post.probs[t, symbol]))
        elif symbol != _BLANK and probs:
            probs[-1] = max(probs[-1], float(post.probs[t, symbol]))
        previous = symbol
    return Decoded("".join(text), logp, tuple(probs))


def _viterbi(
    emit: np.ndarray, blank: np.ndarray, changed: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Batched CTC Viterbi over ``emit`` [P, T, L] char log-probs: best scores [P], state paths [P, T].

    Pattern ``p`` spells ``lengths[p]`` characters; its positions beyond that emit -inf, so no path enters them.
    """
    n_pat, n_t, n_pos = emit.shape
    n_states = 2 * n_pos + 1
    local = np.empty((n_t, n_pat, n_states), np.float32)  # what each state emits at each frame
    local[:, :, 0::2] = blank[:, None, None]
    local[:, :, 1::2] = emit.transpose(1, 0, 2)
    # A skip (character -> next character over no blank) enters only states 3, 5, ...; as added to
    # ``score[:, :-2]``, it is allowed at the odd offsets.
    skip_cost = np.where(np.arange(n_states - 2) % 2 == 1, 0.0, -np.inf).astype(np.float32)
    score = np.full((n_pat, n_states), -np.inf, np.float32)
    score[:, :2] = local[0, :, :2]
    back = np.zeros((n_t, n_pat, n_states), np.int8)
    step = np.full_like(score, -np.inf)
    skip = np.full_like(score, -np.inf)
    better = np.zeros(score.shape, bool)
    for t in range(1, n_t):  # in place, a few calls per frame: this loop is most of the plate rules' time
        step[:, 1:] = score[:, :-1]
        if changed[t]:
            np.add(score[:, :-2], skip_cost, out=skip[:, 2:])
        choice = back[t]
        np.greater(step, score, out=choice, casting="unsafe")  # ties keep "stay", as argmax over (stay, step, skip)
        np.maximum(score, step, out=score)
        if changed[t]:
            np.greater(skip, score, out=better)
            np.copyto(score, skip, where=better)
            np.copyto(choice, 2, where=better)
        score += local[t]
    rows = np.arange(n_pat)
    last_blank, last_char = score[rows, 2 * lengths], score[rows, 2 * lengths - 1]
    end = np.where(last_blank >= last_char, 2 * lengths, 2 * lengths - 1)
    paths = np.empty((n_pat, n_t), np.int64)
    state = end
    for t in range(n_t - 1, -1, -1):
        paths[:, t] = state
        state = state - back[t, rows, state]
    return np.maximum(last_blank, last_char), paths


def mask_groups(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct position masks of ``masks`` [P, L, 36] ([U, 36]) and which one each position uses ([P, L])."""
    n_pat, n_pos, n_chars = masks.shape
    unique, which = np.unique(masks.reshape(n_pat * n_pos, n_chars), axis=0, return_inverse=True)
    return unique, which.reshape(n_pat, n_pos)


def constrained_decode(
    post: CharPosteriors,
    masks: np.ndarray,
    keep: int | None = None,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Decoded]:
    """Best string per format. ``masks`` [P, L, 36] marks allowed characters per position.

    With ``keep``, only the ``keep`` best-scoring formats are spelled out (the Viterbi pass scores them all).
    ``groups`` is ``mask_groups(masks)`` when the caller has it precomputed.
    """
    unique, which = groups if groups is not None else mask_groups(masks)
    lengths = np.full(which.shape[0], which.shape[1])
    return constrained_decode_many(post, unique, which, lengths, np.zeros_like(lengths), keep)


def constrained_decode_many(
    post: CharPosteriors,
    unique: np.ndarray,
    which: np.ndarray,
    lengths: np.ndarray,
    batch: np.ndarray,
    keep: int | None = None,
) -> list[Decoded]:
    """Best string per format for formats of several lengths in one Viterbi pass.

    Format ``p`` allows, at position ``i < lengths[p]``, the characters of mask ``unique[which[p, i]]``
    (``unique`` [U, 36]); positions at or past ``lengths[p]`` must point at an all-False mask. With ``keep``,
    only the ``keep`` best-scoring formats of each ``batch`` id are spelled out.
    """
    n_frames = post.logs.shape[0]
    usable = lengths <= n_frames
    if not usable.all():
        which, lengths, batch = which[usable], lengths[usable], batch[usable]
    if not len(lengths):
        return []
    chars = post.logs[:, 1:]
    # Position masks repeat across formats (letters, digits, a few sets): take each distinct one's best
    # character per frame once, then gather, instead of a [P, T, L, 36] array.
    best_of = np.where(unique[:, None, :], chars[None, :, :], -np.inf).max(axis=2)  # [U, T]
    emit = best_of[which].transpose(0, 2, 1)  # [P, T, L]
    best_frame = post.probs.argmax(axis=1)
    changed = np.r_[True, best_frame[1:] != best_frame[:-1]]
    scores, paths = _viterbi(emit, post.logs[:, _BLANK], changed, lengths)
    # Batch by batch (ascending ids), best score first (ties in pattern order); the first ``keep`` of each batch,
    # less those no path can spell.
    order = np.lexsort((-scores, batch))
    grouped = batch[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    rank_in_batch = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen_rows = order[(rank_in_batch < keep) if keep is not None else slice(None)]
    kept = chosen_rows[np.isfinite(scores[chosen_rows])].tolist()
    if not kept:
        return []
    # Spell each kept path: per position, the allowed character with the highest summed log-probability over
    # the frames the path spends on that position, and its best frame probability.
    n_pos = which.shape[1]
    masks = unique[which[kept]]  # [K, L, 36]
    on = paths[kept][:, :, None] == (2 * np.arange(n_pos) + 1)[None, None, :]  # [K, T, L]
    summed = np.matmul(on.transpose(0, 2, 1).astype(np.float64), chars.astype(np.float64))  # [K, L, 36]
    symbols = np.where(masks, summed, -np.inf).argmax(axis=2)  # [K, L]
    chosen = post.probs[:, 1:][:, symbols].transpose(1, 0, 2)  # [K, T, L]
    char_probs = np.where(on, chosen, -np.inf).max(axis=1)  # [K, L]
    spelled, probs, sizes = symbols.tolist(), char_probs.tolist(), lengths[kept].tolist()
    return [
        Decoded("".join(map(ALPHABET.__getitem__, spelled[i][:n])), float(scores[p]), tuple(probs[i][:n]))
        for i, (p, n) in enumerate(zip(kept, sizes, strict=True))
    ]
