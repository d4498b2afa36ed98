"""Matcher properties (hypothesis): exact, confusable and edit-distance-1 matches, candidates, states, expiry."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from platekeeper.config import MatchConfig
from platekeeper.hotlists.matcher import (
    Confusables,
    MatchIndex,
    MatchTarget,
    ReadText,
    edit_distance_at_most_one,
    texts_of_read,
)

CONFUSABLES = Confusables(MatchConfig().confusable_pairs)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
plates = st.text(alphabet=ALPHABET, min_size=2, max_size=8)


def _index(*entries: str, edit: bool = False, states: dict[str, str] | None = None) -> MatchIndex:
    targets = [MatchTarget(i, 1, p, (states or {}).get(p)) for i, p in enumerate(entries)]
    return MatchIndex.build(targets, CONFUSABLES, edit_distance_one=edit)


def _kinds(index: MatchIndex, text: str, region: str | None = None) -> set[str]:
    return {m.kind for m in index.match([ReadText(text, "best", 0.9)], region, 0.0)}


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def test_the_pairs_from_the_issue_are_one_class_each() -> None:
    for a, b in ("O0", "I1", "B8", "D0", "QO", "G6", "S5", "Z2"):
        assert CONFUSABLES.fold(a) == CONFUSABLES.fold(b)
    assert CONFUSABLES.fold("5SOW350") == CONFUSABLES.fold("55OW35O") != CONFUSABLES.fold("5SOW750")


@given(plates)
def test_a_plate_matches_itself_exactly(plate: str) -> None:
    assert _kinds(_index(plate), plate) == {"exact"}


@given(plates, st.data())
def test_confusable_substitutions_match_as_confusable(plate: str, data: st.DataObject) -> None:
    swapped = "".join(data.draw(st.sampled_from(sorted(CONFUSABLES.classes.get(c, {c})))) for c in plate)
    assert _kinds(_index(plate), swapped) == ({"exact"} if swapped == plate else {"confusable"})


@given(plates, plates)
def test_without_edit_distance_a_match_means_equal_after_folding(entry: str, read: str) -> None:
    matched = bool(_kinds(_index(entry), read))
    assert matched == (CONFUSABLES.fold(entry) == CONFUSABLES.fold(read))


@settings(max_examples=300)
@given(plates, plates)
def test_edit_distance_one_matches_exactly_the_folded_neighbours(entry: str, read: str) -> None:
    kinds = _kinds(_index(entry, edit=True), read)
    distance = _levenshtein(CONFUSABLES.fold(entry), CONFUSABLES.fold(read))
    assert bool(kinds) == (distance <= 1)
    assert ("edit1" in kinds) == (distance == 1)


@given(plates, st.integers(min_value=0, max_value=7), st.sampled_from(ALPHABET), st.sampled_from(["ins", "del", "sub"]))
def test_one_edit_is_found_only_when_enabled(entry: str, at: int, char: str, how: str) -> None:
    at = min(at, len(entry) - 1)
    read = {
        "ins": entry[:at] + char + entry[at:],
        "del": entry[:at] + entry[at + 1 :],
        "sub": entry[:at] + char + entry[at + 1 :],
    }[how]
    if not read or CONFUSABLES.fold(read) == CONFUSABLES.fold(entry):
        return
    assert _kinds(_index(entry, edit=True), read) == {"edit1"}
    assert _kinds(_index(entry, edit=False), read) == set()


@given(plates, plates)
def test_edit_distance_helper_agrees_with_levenshtein(a: str, b: str) -> None:
    assert edit_distance_at_most_one(a, b) == (_levenshtein(a, b) <= 1)


@given(plates, st.lists(plates, max_size=5), st.integers(min_value=0, max_value=5))
def test_candidates_are_matched_up_to_the_limit(best: str, others: list[str], limit: int) -> None:
    candidates = [{"text": t, "confidence": 0.5 - i * 0.01} for i, t in enumerate(others)]
    texts = texts_of_read(best, 0.9, candidates, limit, 0.0)
    assert texts[0].text == best and texts[0].via == "best"
    assert len(texts) - 1 <= limit
    assert [t.text for t in texts[1:]] == list(dict.fromkeys(t for t in others if t != best))[:limit]
    entry = others[0] if others else best
    index = _index(entry)
    matches = index.match(texts, None, 0.0)
    in_texts = any(CONFUSABLES.fold(t.text) == CONFUSABLES.fold(entry) for t in texts)
    assert bool(matches) == in_texts


def test_a_candidate_hit_says_so_and_best_text_wins_ties() -> None:
    index = _index("7XYZ999")
    texts = texts_of_read("7XYZ990", 0.8, [{"text": "7xyz-999", "confidence": 0.4}], 3, 0.05)
    (match,) = index.match(texts, None, 0.0)
    assert (match.text, match.via, match.kind, match.confidence) == ("7XYZ999", "candidate", "exact", 0.4)
    low = texts_of_read("7XYZ990", 0.8, [{"text": "7XYZ999", "confidence": 0.01}], 3, 0.05)
    assert index.match(low, None, 0.0) == []


@given(plates, st.sampled_from(["us-ca", "us-nv", None]), st.sampled_from(["CA", "NV", None]))
def test_state_mismatch_is_flagged_never_dropped(plate: str, region: str | None, state: str | None) -> None:
    (match,) = _index(plate, states={plate: state} if state else None).match([ReadText(plate, "best", 1)], region, 0)
    read_state = region.split("-")[1].upper() if region else None
    assert match.state_mismatch == bool(read_state and state and read_state != state)


def test_expired_entries_never_match() -> None:
    index = MatchIndex.build(
        [MatchTarget(1, 1, "ABC123", None, expires_at=100.0)], CONFUSABLES, edit_distance_one=False
    )
    assert index.match([ReadText("ABC123", "best", 1)], None, 99.0)
    assert index.match([ReadText("ABC123", "best", 1)], None, 100.0) == []
    assert MatchTarget(1, 1, "X", None).expires_at == math.inf


def test_many_entries_on_one_key_all_match_once_each() -> None:
    index = _index("5SOW350", "55OW35O", "5SOW35O", "5SOW350")
    matches = index.match([ReadText("5SOW350", "best", 0.9), ReadText("5SOW350", "candidate", 0.3)], None, 0.0)
    assert sorted((m.entry_id, m.kind, m.via) for m in matches) == [
        (0, "exact", "best"),
        (1, "confusable", "best"),
        (2, "confusable", "best"),
        (3, "exact", "best"),
    ]


def test_variants_cover_every_confusable_spelling() -> None:
    variants = CONFUSABLES.variants("S0", 100)
    assert variants[0] == "S0" and len(variants) == len(set(variants)) == 2 * 4
    assert CONFUSABLES.variants("00000000", 10) == ["00000000"]  # over the cap: the plate itself only
