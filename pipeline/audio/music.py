"""Performance: a chord timeline played as guitar strums, as notes and as MIDI.

The timeline says which chord sounds when; this module decides how a guitarist would play it: a
strumming pattern on a beat grid (tempo given, or estimated from the segment lengths), down strums
from the low string to the high one and up strums back over the treble strings, strings a few
milliseconds apart, velocities shaped across the strings and accented on the beats.

Rules that the tests hold it to:

- A chord change sounds exactly on the timeline's boundary: every segment starts with a down strum
  whose first string sounds at the segment's start.
- A string rings until it is struck again or its segment ends; at a ``None`` segment (and in gaps
  between segments) nothing sounds: the strings are muted.
- Strings of one strum are 8 to 30 ms apart (:attr:`PerformanceSettings.string_gap_ms`).

The result, :class:`Performance`, keeps the strums as data (time, chord, direction) and the notes
with the string each is played on, so that the plucked-string synth can give each string its own
decay; :meth:`Performance.to_midi` makes the ``pretty_midi.PrettyMIDI`` that FluidSynth plays.
``pretty_midi`` is imported only there, so importing this module stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pipeline.core.chords import NO_CHORD, STANDARD_TUNING, parse_chord, voicing
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline

if TYPE_CHECKING:  # pretty_midi loads lazily, in Performance.to_midi
    import pretty_midi

GUITAR_PROGRAMS = {"steel": 25, "nylon": 24}
"""General MIDI programs (0-based): 25 "Acoustic Guitar (steel)", 24 "Acoustic Guitar (nylon)"."""
GUITAR_NAMES = {"steel": "Acoustic Guitar (steel)", "nylon": "Acoustic Guitar (nylon)"}

BPM_RANGE = (60.0, 160.0)
"""Tempi that :func:`estimate_bpm` chooses from."""
DEFAULT_BPM = 100.0
"""Tempo when it cannot be estimated (fewer than two chord changes); also the estimate's prior."""
STRING_GAP_RANGE_MS = (8.0, 30.0)
"""Allowed time between neighbouring strings of one strum."""


@dataclass(frozen=True)
class StrumPattern:
    """A one-bar strumming pattern on an even grid.

    Attributes:
        name: the name users pick it by.
        steps: one character per grid step: ``D`` down strum, ``U`` up strum, ``-`` no strum.
        beats_per_bar: beats in the bar; ``len(steps)`` must be a multiple of it.
    """

    name: str
    steps: str
    beats_per_bar: int

    @property
    def steps_per_beat(self) -> int:
        """Grid steps per beat (1: quarter notes, 2: eighth notes)."""
        return len(self.steps) // self.beats_per_bar


PATTERNS: dict[str, StrumPattern] = {
    p.name: p
    for p in (
        StrumPattern("down", "DDDD", 4),  # one down strum per beat: the plainest accompaniment
        StrumPattern("folk", "D-DU-UDU", 4),  # the "campfire" pattern, eighth notes
        StrumPattern("eighths", "DUDUDUDU", 4),  # down on the beat, up between
        StrumPattern("waltz", "D-DUDU", 3),  # 3/4: a strong one, lighter two and three
    )
}
"""The strumming patterns by name."""


class Strum(NamedTuple):
    """One strum: when its first string sounds (seconds), the chord, and ``"down"`` or ``"up"``."""

    time: float
    chord: str
    direction: str


@dataclass(frozen=True)
class StringNote:
    """One plucked string.

    Attributes:
        start: onset in seconds.
        end: when the string stops (struck again, muted, or the segment ends), in seconds.
        pitch: MIDI pitch.
        velocity: MIDI velocity, 1-127.
        string: string number, 6 (low E) to 1 (high E).
    """

    start: float
    end: float
    pitch: int
    velocity: int
    string: int


@dataclass(frozen=True)
class PerformanceSettings:
    """How the timeline is played.

    Attributes:
        guitar: ``"steel"`` (GM program 25) or ``"nylon"`` (24).
        pattern: a name of :data:`PATTERNS`.
        bpm: tempo in beats per minute; ``None`` estimates it from the segment boundaries.
        string_gap_ms: time between neighbouring strings of a down strum, 8-30 ms (up strums are
            played a little faster, never under 8 ms).
        up_strings: how many treble strings an up strum catches (at most the chord's strings).
        velocity: MIDI velocity of an accented down strum's loudest string.
        humanize: 0 plays like a machine; 1 jitters velocities by about +-6 and string gaps by
            about +-2 ms (both kept inside their ranges). Deterministic for a given ``seed``.
        seed: seed of the humanizing jitter.
    """

    guitar: str = "steel"
    pattern: str = "folk"
    bpm: float | None = None
    string_gap_ms: float = 15.0
    up_strings: int = 4
    velocity: int = 100
    humanize: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.guitar not in GUITAR_PROGRAMS:
            raise InputError(f"Unknown guitar {self.guitar!r}: use one of {', '.join(GUITAR_PROGRAMS)}.")
        if self.pattern not in PATTERNS:
            raise InputError(f"Unknown strumming pattern {self.pattern!r}: use one of {', '.join(PATTERNS)}.")
        if self.bpm is not None and not (20.0 <= float(self.bpm) <= 300.0):
            raise InputError(f"Tempo {self.bpm} BPM is out of range: use 20 to 300 BPM, or none to estimate it.")
        low, high = STRING_GAP_RANGE_MS
        if not low <= self.string_gap_ms <= high:
            raise InputError(f"String gap {self.string_gap_ms} ms is out of range: use {low:g} to {high:g} ms.")
        if not 1 <= self.up_strings <= 6:
            raise InputError(f"An up strum catches 1 to 6 strings, not {self.up_strings}.")
        if not 1 <= self.velocity <= 127:
            raise InputError(f"Velocity {self.velocity} is out of range: use 1 to 127.")
        if not 0.0 <= self.humanize <= 1.0:
            raise InputError(f"Humanize {self.humanize} is out of range: use 0 to 1.")

    @property
    def program(self) -> int:
        """The General MIDI program (0-based) of the guitar."""
        return GUITAR_PROGRAMS[self.guitar]


@dataclass
class Performance:
    """A timeline as played.

    Attributes:
        strums: every strum, by time.
        notes: every plucked string, by onset.
        bpm: the tempo played (given or estimated).
        duration: length in seconds (the timeline's duration, or its last segment's end).
        settings: the settings it was played with.
    """

    strums: list[Strum]
    notes: list[StringNote]
    bpm: float
    duration: float
    settings: PerformanceSettings = field(default_factory=PerformanceSettings)

    def to_midi(self) -> pretty_midi.PrettyMIDI:
        """The performance as MIDI: one guitar track, the tempo, and the pattern's time signature.

        Returns:
            A ``pretty_midi.PrettyMIDI`` at 960 ticks per beat (fine enough that string gaps of
            8 ms survive a write and read at any tempo of the range).
        """
        import pretty_midi

        midi = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=float(self.bpm))
        pattern = PATTERNS[self.settings.pattern]
        midi.time_signature_changes.append(pretty_midi.TimeSignature(pattern.beats_per_bar, 4, 0.0))
        guitar = pretty_midi.Instrument(program=self.settings.program, name=GUITAR_NAMES[self.settings.guitar])
        guitar.notes = [
            pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start, end=n.end) for n in self.notes
        ]
        midi.instruments.append(guitar)
        return midi

    def write_midi(self, path: str | Path) -> Path:
        """Write the performance as a standard MIDI file (``.mid``); returns the path."""
        path = Path(path)
        self.to_midi().write(str(path))
        return path


UNSURE_VOLUME = 0.35
"""Share of the strums' loudness (MIDI velocity) in an unsure segment: the guessed chord is heard, softly,
so a listener can tell the guesses from the chords the models know."""


def chord_segments(timeline: Timeline) -> list[Segment]:
    """The timeline's segments with chord names parsed through the vocabulary.

    Raises:
        InputError: a segment's chord is not in the vocabulary.
    """
    return [Segment(s.start, s.end, parse_chord(s.chord), s.probability, s.unsure) for s in timeline.segments]


def estimate_bpm(timeline: Timeline, bpm_range: tuple[float, float] = BPM_RANGE, step: float = 0.5) -> float:
    """The tempo whose beats best fit the timeline's chord boundaries.

    Each candidate tempo scores the mean of ``cos(2 pi (b - t0) / period)`` over the boundaries
    ``b`` (segment starts and ends, ``t0`` the first start): 1 when every boundary falls on a beat.
    A boundary stream that fits 60 BPM also fits 120, so a mild preference for tempi near
    :data:`DEFAULT_BPM` (log-distance) breaks such ties.

    Args:
        timeline: the chord timeline; boundaries come from all its segments, ``None`` included.
        bpm_range: lowest and highest tempo to consider, in BPM.
        step: spacing of the candidate tempi, in BPM.

    Returns:
        The tempo in BPM; :data:`DEFAULT_BPM` when there is no chord change to fit.
    """
    segments = timeline.segments
    if len(segments) < 2:
        return DEFAULT_BPM
    t0 = segments[0].start
    bounds = np.unique(np.round([t for s in segments for t in (s.start, s.end)], 6)) - t0
    bounds = bounds[bounds > 1e-6]
    if bounds.size < 2:
        return DEFAULT_BPM
    candidates = np.arange(bpm_range[0], bpm_range[1] + step / 2, step)
    periods = 60.0 / candidates
    fit = np.cos(2 * np.pi * bounds[None, :] / periods[:, None]).mean(axis=1)
    prior = 0.1 * np.log2(candidates / DEFAULT_BPM) ** 2
    return float(candidates[int(np.argmax(fit - prior))])


def perform(timeline: Timeline, settings: PerformanceSettings | None = None) -> Performance:
    """Play a chord timeline as guitar strums.

    Args:
        timeline: the chords to play; ``None`` segments and gaps are silent; an unsure segment (unfamiliar
            footage: its chord is a guess) plays its chord at :data:`UNSURE_VOLUME` of the loudness.
        settings: how to play; defaults to :class:`PerformanceSettings`.

    Returns:
        The performance: strums, notes per string, tempo and duration.

    Raises:
        InputError: the timeline is empty or has only ``None`` segments ("nothing to play"), or a
            chord name is not in the vocabulary.
    """
    settings = settings or PerformanceSettings()
    segments = chord_segments(timeline)
    if not segments:
        raise InputError("The timeline is empty: there is nothing to play.")
    if all(s.chord == NO_CHORD for s in segments):
        raise InputError("The timeline has no chords (only 'None'): there is nothing to play.")
    bpm = float(settings.bpm) if settings.bpm is not None else estimate_bpm(timeline)
    pattern = PATTERNS[settings.pattern]
    step = 60.0 / bpm / pattern.steps_per_beat
    t0 = segments[0].start
    rng = np.random.default_rng(settings.seed)

    strums: list[Strum] = []
    # (start, pitch, velocity, string, segment end) per string, before ring lengths are known
    plucks: list[tuple[float, int, int, int, float]] = []
    for segment in segments:
        if segment.chord == NO_CHORD:
            continue
        frets = voicing(segment.chord).frets
        # (string number, MIDI pitch) of the sounding strings, low to high
        strings = [(6 - i, STANDARD_TUNING[i] + f) for i, f in enumerate(frets) if f is not None]
        for time, direction, accent in _strum_times(segment, t0, step, pattern):
            strums.append(Strum(round(float(time), 6), segment.chord, direction))
            loudness = accent * (UNSURE_VOLUME if segment.unsure else 1.0)
            plucks += _strum_plucks(time, direction, loudness, strings, segment.end, settings, rng)

    notes = _ring(plucks)
    duration = timeline.duration if timeline.duration is not None else segments[-1].end
    return Performance(strums, notes, bpm, float(duration), settings)


def _strum_times(segment: Segment, t0: float, step: float, pattern: StrumPattern):
    """(time, direction, accent) of the strums in one segment.

    The segment opens with a down strum at its start (chord changes land on the boundary); after it
    the strums follow the pattern on the global grid from ``t0``. Grid strums closer than half a
    step to the opening strum or to the next chord change (when a change falls off the grid) would
    sound as a flam, or be cut before they ring, so they are left out.
    """
    n = len(pattern.steps)

    def accent(index: int) -> float:
        position = index % n
        if position == 0:
            return 1.0  # the bar's downbeat
        return 0.88 if position % pattern.steps_per_beat == 0 else 0.75  # other beats, off-beats

    first = int(round((segment.start - t0) / step))
    on_grid = abs(t0 + first * step - segment.start) < step / 4
    # a chord change is played with weight, even where it falls between beats
    yield segment.start, "down", max(accent(first) if on_grid else 0.0, 0.95)
    k = int(math.floor((segment.start - t0) / step)) + 1
    while True:
        time = t0 + k * step
        if time > segment.end - max(0.06, step / 2):
            break
        symbol = pattern.steps[k % n]
        if symbol != "-" and time - segment.start >= step / 2:
            yield time, ("down" if symbol == "D" else "up"), accent(k)
        k += 1


def _strum_plucks(time, direction, accent, strings, segment_end, settings, rng):
    """The strings of one strum: onsets spread across the strings, velocities shaped.

    Down strums go low to high and hit the bass string hardest, fading a little toward the treble;
    up strums catch only the treble strings, high to low, softer, and are a little quicker.
    """
    jitter = settings.humanize
    low_gap, high_gap = STRING_GAP_RANGE_MS
    if direction == "down":
        order = strings
        gap = settings.string_gap_ms
        base = settings.velocity * accent
        shape = np.linspace(1.0, 0.82, len(order))
    else:
        order = list(reversed(strings))[: settings.up_strings]
        gap = max(low_gap, settings.string_gap_ms * 0.8)
        base = settings.velocity * accent * 0.78
        shape = np.linspace(1.0, 0.85, len(order))
    plucks = []
    onset = time
    for index, (string, pitch) in enumerate(order):
        if index:
            this_gap = gap + jitter * rng.uniform(-2.0, 2.0)
            onset += min(high_gap, max(low_gap, this_gap)) / 1000.0
        if index and onset >= segment_end - 0.02:
            break  # the strum runs past the chord change: those strings are never reached
        velocity = base * shape[index] + jitter * rng.uniform(-6.0, 6.0)
        plucks.append((round(float(onset), 6), pitch, int(np.clip(round(velocity), 1, 127)), string, segment_end))
    return plucks


def _ring(plucks: list[tuple[float, int, int, int, float]]) -> list[StringNote]:
    """Give each pluck its length: until the same string is struck again, or its segment ends."""
    plucks = sorted(plucks)
    next_on_string: dict[int, float] = {}
    notes: list[StringNote] = []
    for start, pitch, velocity, string, segment_end in reversed(plucks):
        end = min(segment_end, next_on_string.get(string, math.inf))
        next_on_string[string] = start
        notes.append(StringNote(start, round(float(end), 6), pitch, velocity, string))
    notes.reverse()
    return notes
