"""The chord vocabulary: names, parsing of dataset spellings, pitch classes and guitar voicings.

Every other module names chords through this one. The vocabulary is the major and minor triads on the
seven natural roots plus :data:`NO_CHORD` ("None": the hand is not holding a chord, or no hand).

Voicings are the common open shapes, with barre shapes where no open one exists (B, Bm, Cm, F, Fm,
Gm). Frets run from the low E string (string 6) to the high E string (string 1); ``None`` is a muted
string. Standard tuning E2 A2 D3 G3 B3 E4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core.errors import InputError

NO_CHORD = "None"
ROOTS = ("A", "B", "C", "D", "E", "F", "G")
CHORDS: tuple[str, ...] = tuple(name for root in ROOTS for name in (root, root + "m"))
"""Chord names in display order: A, Am, B, Bm, ..., G, Gm."""
VOCABULARY: tuple[str, ...] = CHORDS + (NO_CHORD,)
"""Every label a classifier may give: the chords and ``None``."""

PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
STANDARD_TUNING = (40, 45, 50, 55, 59, 64)
"""MIDI pitches of the open strings, low E (string 6) to high E (string 1)."""

_NO_CHORD_SPELLINGS = {"none", "n", "nc", "n.c.", "n.c", "no chord", "no_chord", "no-chord", "nochord", "x"}
_CHORD_RE = re.compile(r"^\s*([A-G])\s*(?:[:_ ]|-(?=[a-z]))?\s*(major|minor|maj|min|m|-)?\s*(?:/.*)?$", re.IGNORECASE)


def parse_chord(name: str) -> str:
    """Map a dataset's spelling of a chord to its vocabulary name.

    Accepts ``Am``, ``a minor``, ``A:min``, ``A_minor``, ``a major``, ``A:maj``, ``A`` and no-chord
    spellings (``None``, ``N``, ``N.C.``, ``no chord``). A bass note after ``/`` is ignored
    (``C/G`` is C). A lone lower-case letter is the major chord (``a`` is A); ``am`` is A minor.

    Args:
        name: the spelling to parse.

    Returns:
        The vocabulary name, one of :data:`VOCABULARY`.

    Raises:
        InputError: the name is not a chord of the vocabulary.
    """
    if not isinstance(name, str):
        raise InputError(f"Chord name must be text, got {type(name).__name__}.")
    text = name.strip()
    if text.lower() in _NO_CHORD_SPELLINGS:
        return NO_CHORD
    match = _CHORD_RE.match(text)
    if match:
        root, quality = match.group(1).upper(), match.group(2) or ""
        # "M" is major and "m" minor, as in chord symbols; spelled-out qualities ignore case.
        if quality in ("", "M") or quality.lower() in ("maj", "major"):
            return root
        return root + "m"
    raise InputError(
        f"Unknown chord name {name!r}: use one of {', '.join(VOCABULARY)} "
        "(spellings like 'a minor', 'A:min' and 'Am' are understood)."
    )


def is_minor(chord: str) -> bool:
    """True for a minor chord name of the vocabulary (``Am``), False for a major one."""
    return parse_chord(chord).endswith("m")


def chord_pitch_classes(chord: str) -> frozenset[int]:
    """The pitch classes (0 = C ... 11 = B) of a chord's triad; empty for ``None``.

    Raises:
        InputError: the name is not a chord of the vocabulary.
    """
    name = parse_chord(chord)
    if name == NO_CHORD:
        return frozenset()
    root = PITCH_CLASS[name[0]]
    third = 3 if name.endswith("m") else 4
    return frozenset({root, (root + third) % 12, (root + 7) % 12})


@dataclass(frozen=True)
class Voicing:
    """How a chord is fingered on a six-string guitar in standard tuning.

    Attributes:
        chord: vocabulary name.
        frets: six entries from the low E string to the high E string; 0 is open, ``None`` muted.
    """

    chord: str
    frets: tuple[int | None, ...]

    def midi_pitches(self, tuning: tuple[int, ...] = STANDARD_TUNING) -> list[int]:
        """MIDI pitches of the sounding strings, low to high (muted strings left out)."""
        return [open_pitch + fret for open_pitch, fret in zip(tuning, self.frets) if fret is not None]

    def strings(self) -> list[tuple[int, int]]:
        """(string number, fret) of the sounding strings, string 6 (low E) first."""
        return [(6 - index, fret) for index, fret in enumerate(self.frets) if fret is not None]

    @property
    def diagram(self) -> str:
        """The usual compact spelling, low E first, ``x`` for muted: ``x32010`` for C."""
        return "".join("x" if fret is None else str(fret) for fret in self.frets)


def _shape(chord: str, spelling: str) -> Voicing:
    return Voicing(chord, tuple(None if ch == "x" else int(ch) for ch in spelling))


VOICINGS: dict[str, Voicing] = {
    v.chord: v
    for v in (
        _shape("A", "x02220"),
        _shape("Am", "x02210"),
        _shape("B", "x24442"),
        _shape("Bm", "x24432"),
        _shape("C", "x32010"),
        _shape("Cm", "x35543"),
        _shape("D", "xx0232"),
        _shape("Dm", "xx0231"),
        _shape("E", "022100"),
        _shape("Em", "022000"),
        _shape("F", "133211"),
        _shape("Fm", "133111"),
        _shape("G", "320003"),
        _shape("Gm", "355333"),
    )
}


def voicing(chord: str) -> Voicing:
    """The guitar voicing of a chord.

    Raises:
        InputError: the name is unknown, or is ``None`` (no chord has no voicing).
    """
    name = parse_chord(chord)
    if name == NO_CHORD:
        raise InputError("'None' (no chord) has no voicing.")
    return VOICINGS[name]
