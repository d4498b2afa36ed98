"""Unit tests: normalization, formats, confusable characters and candidate ranking (no models needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from platekeeper.recognition.config import PlateRulesConfig
from platekeeper.recognition.ctc import (
    ALPHABET,
    CharPosteriors,
    constrained_decode,
    constrained_decode_many,
    greedy_decode,
    mask_groups,
)
from platekeeper.recognition.formats import builtin_formats, compile_pattern, load_patterns_file, restrict_formats
from platekeeper.recognition.plates import PlateRanker, normalize_plate, plate_equal


def posteriors(spec: list[dict[str, float]]) -> CharPosteriors:
    """Frames: one per entry (char -> prob, the rest is blank), with a blank frame between characters."""
    rows = []
    for frame in spec:
        row = np.zeros(len(ALPHABET) + 1, np.float32)
        for char, prob in frame.items():
            row[ALPHABET.index(char) + 1] = prob
        row[0] = 1.0 - row.sum()
        blank = np.zeros_like(row)
        blank[0] = 1.0
        rows += [row, blank]
    probs = np.array(rows)
    return CharPosteriors(probs, np.maximum(np.log(np.maximum(probs, 1e-30)), -12.0))


def text_frames(text: str, prob: float = 0.95) -> list[dict[str, float]]:
    return [{c: prob} for c in text]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("7abc 123", "7ABC123"),
        ("RK-755·AJ", "RK755AJ"),
        ("\uff57\uff10\uff11", "W01"),
        ("  ", ""),
        ("é-1", "1"),
    ],
)
def test_normalize_keeps_only_a_z_0_9(raw: str, expected: str) -> None:
    assert normalize_plate(raw) == expected


def test_plate_equal_strict_and_o_zero() -> None:
    assert plate_equal("ab-12", "AB12")
    assert not plate_equal("RKO99AN", "RK099AN")
    assert plate_equal("RKO99AN", "RK099AN", o_equals_zero=True)


def test_compile_pattern_sets_and_literals() -> None:
    positions = compile_pattern("@#[A-C]X")
    assert len(positions) == 4
    assert "Q" in positions[0] and "5" not in positions[0]
    assert positions[1] == frozenset("0123456789")
    assert positions[2] == frozenset("ABC")
    assert positions[3] == frozenset("X")


def test_brazil_formats_old_and_mercosul() -> None:
    formats = [f for f in builtin_formats() if "br" in f.regions]
    assert any(f.matches("ABC1234") for f in formats)
    assert any(f.matches("ABC1D23") for f in formats)
    assert not any(f.matches("AB12345") for f in formats)


def test_patterns_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "us.patterns"
    path.write_text("base\t@@@####\nzz\t##[XY]@@\nbroken line with words\n", encoding="utf-8")
    table = load_patterns_file(path)
    assert table == {"us": ("@@@####",), "us-zz": ("##[XY]@@",)}
    ranker = PlateRanker(PlateRulesConfig(us_patterns_path=path))
    assert ranker.format_bonus("12XAB", "us-zz") > ranker.format_bonus("12XAB", None) > 0


def test_greedy_collapses_repeats_and_blanks() -> None:
    decoded = greedy_decode(posteriors(text_frames("AB11")))
    assert decoded.text == "AB11"
    assert len(decoded.char_probs) == 4


def test_constrained_decode_follows_the_format() -> None:
    post = posteriors([{"B": 0.9}, {"A": 0.9}, {"3": 0.9}, {"O": 0.6, "0": 0.3}, {"2": 0.9}])
    masks = np.array([[[c in s for c in ALPHABET] for s in compile_pattern("@@###")]], dtype=bool)
    (decoded,) = constrained_decode(post, masks)
    assert decoded.text == "BA302"


def test_one_pass_over_several_lengths_equals_one_pass_per_length() -> None:
    # The ranker decodes formats of several lengths (and the free reading's variants) in one Viterbi pass,
    # padding the shorter formats; each format's result must be what decoding its length alone gives.
    post = posteriors([{"7": 0.8, "T": 0.1}, {"A": 0.7, "4": 0.2}, {"B": 0.5, "8": 0.4}, *text_frames("C123")])
    patterns = ["#@@@###", "@@@####", "###@@@", "@@###", "#@@@####", "@@@##@"]
    masks = {p: np.array([[[c in s for c in ALPHABET] for s in compile_pattern(p)]], dtype=bool) for p in patterns}
    alone = {p: constrained_decode(post, m) for p, m in masks.items()}
    width = max(len(p) for p in patterns)
    padded = np.concatenate([np.pad(m, ((0, 0), (0, width - m.shape[1]), (0, 0))) for m in masks.values()])
    unique, which = mask_groups(padded)
    empty = np.flatnonzero(~unique.any(axis=1))
    assert len(empty) == 1  # the padding row allows nothing
    lengths = np.array([len(p) for p in patterns])
    together = constrained_decode_many(post, unique, which, lengths, np.arange(len(patterns)))
    assert len(together) == sum(len(v) for v in alone.values())
    for decoded in together:
        (single,) = alone[next(p for p in patterns if len(p) == len(decoded.text) and decoded in alone[p])]
        assert single.text == decoded.text
        assert single.logp == pytest.approx(decoded.logp, abs=1e-5)
        assert single.char_probs == pytest.approx(decoded.char_probs)


def test_formats_longer_than_the_frames_are_skipped() -> None:
    post = posteriors([{"A": 0.9}])  # two frames
    masks = np.array([[[c in s for c in ALPHABET] for s in compile_pattern("@@@")]], dtype=bool)
    assert constrained_decode(post, masks) == []


def test_confusable_corrected_by_format_and_raw_kept() -> None:
    # Slovak plate BB135BO: the model leans to the digit 0 in a letter-only last position.
    frames = [*text_frames("BB135B"), {"0": 0.5, "O": 0.45}]
    plate = PlateRanker().rank(posteriors(frames))
    assert plate is not None
    assert plate.text == "BB135BO"
    assert "BB135B0" in [c.text for c in plate.candidates]
    assert plate.raw == "BB135B0"


def test_confident_vanity_reading_is_not_rewritten() -> None:
    plate = PlateRanker().rank(posteriors(text_frames("IM4REAL", 0.98)))
    assert plate is not None and plate.text == "IM4REAL"


def test_candidates_are_ranked_with_confidences() -> None:
    plate = PlateRanker(PlateRulesConfig(top_k=3)).rank(posteriors(text_frames("ABC1234", 0.9)))
    assert plate is not None
    assert 1 <= len(plate.candidates) <= 3
    confidences = [c.confidence for c in plate.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert plate.text == plate.candidates[0].text == "ABC1234"


def test_too_short_reading_is_dropped() -> None:
    assert PlateRanker().rank(posteriors(text_frames("A"))) is None


def test_config_bounds_are_enforced() -> None:
    with pytest.raises(ValueError, match="top_k"):
        PlateRulesConfig(top_k=0)


def test_regions_keep_only_the_formats_used_there() -> None:
    formats = builtin_formats()
    brazil = restrict_formats(formats, ("br",))
    assert {f.pattern for f in brazil} == {"@@@####", "@@@#@##"}
    assert all(f.regions == {"br"} for f in brazil)  # "@@@####" is also Greek and others: those are dropped
    california = restrict_formats(formats, ("us-ca",))
    assert california and all(f.regions == {"us-ca"} for f in california)
    us = restrict_formats(formats, ("us",))
    assert all(all(r.startswith("us-") for r in f.regions) for f in us)
    assert restrict_formats(formats, ()) is formats


def test_unknown_region_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'xx' names no known region"):
        PlateRulesConfig(regions=("xx",))
    with pytest.raises(ValueError, match="'u'"):  # a prefix must be a whole code part, not any letters
        PlateRulesConfig(regions=("u",))
    assert PlateRulesConfig(regions=("BR", " us-CA")).regions == ("br", "us-ca")


def test_region_setting_stops_a_foreign_format_luring_the_reading() -> None:
    # A Brazilian grey plate prints the digit 1 as a plain bar: the network leans to I. "OELI145" fits a
    # Slovenian/German pattern, so with every format known it wins; where the cameras are in Brazil it cannot.
    frames = [*text_frames("OEL"), {"I": 0.6, "1": 0.35}, *text_frames("145")]
    everywhere = PlateRanker().rank(posteriors(frames))
    in_brazil = PlateRanker(PlateRulesConfig(regions=("br",))).rank(posteriors(frames))
    assert everywhere is not None and everywhere.text == "OELI145"
    assert in_brazil is not None and in_brazil.text == "OEL1145"
    assert "OELI145" in [c.text for c in in_brazil.candidates]  # the uncorrected reading stays a candidate


def test_lower_candidates_never_show_more_confidence_than_higher_ones() -> None:
    # RK099AO wins on its format (Slovak @@###@@) although the digit 0 is the clearer last glyph, whose
    # reading RK099A0 then has the higher character quality: the list must still read top-down.
    frames = [*text_frames("RK099A"), {"0": 0.6, "O": 0.1}]
    plate = PlateRanker().rank(posteriors(frames))
    assert plate is not None
    assert [c.text for c in plate.candidates[:2]] == ["RK099AO", "RK099A0"]
    confidences = [c.confidence for c in plate.candidates]
    assert confidences == sorted(confidences, reverse=True)


def test_another_recognizers_readings_are_scored_too() -> None:
    frames = [{"Q": 0.6, "O": 0.3}, *text_frames("UH9191")]
    ranker = PlateRanker(PlateRulesConfig(top_k=2))
    alone = ranker.rank(posteriors(frames))
    assert alone is not None and len(alone.candidates) == 2
    both = ranker.rank(posteriors(frames), also=["OUH9191", "XYZ1234", "QUH9191", "OUH-9191", "A" * 40])
    assert both is not None and both.text == alone.text
    listed = {c.text: c.confidence for c in both.candidates}
    assert {"OUH9191", "XYZ1234"} <= set(listed)  # beyond the top 2, listed because asked for
    assert listed["OUH9191"] > listed["XYZ1234"]  # scored by this model: O was its second choice, X-Y-Z nothing
    assert "OUH-9191" not in listed and "A" * 40 not in listed  # not plate text / longer than the frames
    confidences = [c.confidence for c in both.candidates]
    assert confidences == sorted(confidences, reverse=True)
