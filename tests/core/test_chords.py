import pytest

from pipeline.core.chords import (
    CHORDS,
    NO_CHORD,
    PITCH_CLASS,
    STANDARD_TUNING,
    VOCABULARY,
    VOICINGS,
    chord_pitch_classes,
    parse_chord,
    voicing,
)
from pipeline.core.errors import InputError


@pytest.mark.parametrize(
    "spelling, expected",
    [
        ("Am", "Am"), ("a minor", "Am"), ("A:min", "Am"), ("A_minor", "Am"), ("am", "Am"), ("Amin", "Am"),
        ("A-minor", "Am"), ("E-", "Em"), ("a major", "A"), ("A:maj", "A"), ("A", "A"), ("a", "A"),
        ("G:MAJ", "G"), ("C/G", "C"), ("g:min/b3", "Gm"), (" D ", "D"), ("f major", "F"),
        ("None", NO_CHORD), ("N", NO_CHORD), ("N.C.", NO_CHORD), ("no chord", NO_CHORD), ("no_chord", NO_CHORD),
    ],
)
def test_parse_dataset_spellings(spelling, expected):
    assert parse_chord(spelling) == expected


@pytest.mark.parametrize("bad", ["H", "A:7", "Cmaj7", "A#", "", "chord", "Amm"])
def test_unknown_names_raise_a_clear_error(bad):
    with pytest.raises(InputError, match="Unknown chord name"):
        parse_chord(bad)


def test_parse_rejects_non_text():
    with pytest.raises(InputError, match="must be text"):
        parse_chord(3)


def test_vocabulary_is_naturals_major_minor_and_none():
    assert CHORDS[:4] == ("A", "Am", "B", "Bm") and CHORDS[-2:] == ("G", "Gm")
    assert len(CHORDS) == 14 and VOCABULARY == CHORDS + (NO_CHORD,)
    assert all(parse_chord(name) == name for name in VOCABULARY)


@pytest.mark.parametrize("chord", CHORDS)
def test_every_voicing_sounds_exactly_its_triad(chord):
    shape = voicing(chord)
    pitches = shape.midi_pitches()
    assert {p % 12 for p in pitches} == chord_pitch_classes(chord)
    assert len(shape.frets) == 6 and len(pitches) >= 4
    # the lowest sounding note is the root: these are root-position shapes
    assert min(pitches) % 12 == PITCH_CLASS[chord[0]]


def test_voicing_details():
    c = VOICINGS["C"]
    assert c.diagram == "x32010"
    assert c.midi_pitches() == [48, 52, 55, 60, 64]
    assert c.strings()[0] == (5, 3)  # string 6 is muted, string 5 fretted at 3
    assert VOICINGS["F"].diagram == "133211"  # a barre shape
    assert chord_pitch_classes("Am") == {9, 0, 4}
    assert chord_pitch_classes(NO_CHORD) == frozenset()
    assert STANDARD_TUNING == (40, 45, 50, 55, 59, 64)
    with pytest.raises(InputError, match="no voicing"):
        voicing("None")
