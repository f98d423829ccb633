"""Chord timelines: per-frame chords merged into segments, and their JSON form.

A timeline is what the analysis produces and what the audio, the apps and the exports consume:
ordered, non-overlapping segments of (start, end, chord, mean probability), in seconds. A segment
over a stretch of frames the models call unfamiliar (footage unlike what they learned from) is
``unsure``: its chord is the models' guess, not an answer to trust.

JSON form (``timeline.json``)::

    {"duration": 8.0, "segments": [{"start": 0.0, "end": 2.0, "chord": "C", "probability": 0.93},
                                   {"start": 2.0, "end": 5.0, "chord": "G", "probability": 0.31, "unsure": true}]}

``unsure`` is written only where true; files without it (older ones) read as sure segments.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.core.chords import parse_chord
from pipeline.core.config import get_studio_settings
from pipeline.core.errors import InputError


@dataclass(frozen=True)
class Segment:
    """One chord held from ``start`` to ``end`` seconds, with the mean probability of its frames;
    ``unsure`` when its frames are unfamiliar to the models (the chord is then a guess)."""

    start: float
    end: float
    chord: str
    probability: float = 1.0
    unsure: bool = False

    def to_dict(self) -> dict:
        """The JSON-ready form: ``unsure`` only when true (so sure segments read as before)."""
        data = asdict(self)
        if not self.unsure:
            del data["unsure"]
        return data

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


@dataclass
class Timeline:
    """Ordered, non-overlapping chord segments.

    Attributes:
        segments: the segments, by start time.
        duration: length of the clip in seconds (at least the last segment's end), if known.
    """

    segments: list[Segment] = field(default_factory=list)
    duration: float | None = None

    def __post_init__(self) -> None:
        previous_end = 0.0
        for value in [self.duration or 0.0] + [t for s in self.segments for t in (s.start, s.end, s.probability)]:
            if not math.isfinite(value):
                raise InputError(f"Timeline time or probability {value} is not a finite number.")
        for segment in self.segments:
            if not segment.end > segment.start >= 0:
                raise InputError(f"Timeline segment {segment.chord} at {segment.start:.2f} s has no length.")
            if segment.start < previous_end - 1e-6:
                raise InputError(f"Timeline segments overlap at {segment.start:.2f} s.")
            previous_end = segment.end
        if self.duration is not None and self.segments and self.duration < self.segments[-1].end - 1e-6:
            raise InputError(
                f"Timeline runs to {self.segments[-1].end:.2f} s, past the clip's {self.duration:.2f} s."
            )

    def chord_at(self, time: float) -> str | None:
        """The chord sounding at ``time`` seconds, or None between or outside segments."""
        for segment in self.segments:
            if segment.start <= time < segment.end:
                return segment.chord
        return None

    def to_dict(self) -> dict:
        """The JSON-ready form (see the module docstring)."""
        return {"duration": self.duration, "segments": [s.to_dict() for s in self.segments]}

    @classmethod
    def from_dict(cls, data: dict) -> Timeline:
        """Read the JSON form, parsing chord names through the vocabulary.

        Raises:
            InputError: a field is missing or of the wrong kind, a chord is unknown, segments overlap, a
                number is not finite, or the timeline runs past ``CHORD_STUDIO_MAX_SECONDS``.
        """
        try:
            segments = [
                Segment(float(s["start"]), float(s["end"]), parse_chord(s["chord"]), float(s.get("probability", 1.0)),
                        _flag(s.get("unsure", False)))
                for s in data["segments"]
            ]
            duration = data.get("duration")
            timeline = cls(segments, None if duration is None else float(duration))
        except (KeyError, TypeError, AttributeError) as error:
            raise InputError(f"Not a chord timeline: missing or malformed field ({error}).") from error
        # A file can claim any length, and playing it costs memory and time in proportion: the same
        # bound as a clip analysed at once.
        end = max([timeline.duration or 0.0] + [s.end for s in timeline.segments])
        limit = get_studio_settings().max_seconds
        if end > limit:
            raise InputError(f"The timeline runs to {end:.0f} s; timelines are read up to {limit:g} s "
                             "(CHORD_STUDIO_MAX_SECONDS, the longest clip analysed at once).")
        return timeline

    def save(self, path: str | Path) -> Path:
        """Write ``timeline.json``-style JSON to ``path``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Timeline:
        """Read a timeline written by :meth:`save`.

        Raises:
            InputError: the file is missing or is not a timeline.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as error:
            raise InputError(f"No timeline file at {path}.") from error
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise InputError(f"{path.name} is not valid JSON: {error}.") from error
        if not isinstance(data, dict):
            raise InputError(f"{path.name} is not a chord timeline.")
        return cls.from_dict(data)


def _flag(value) -> bool:
    """A JSON boolean (``unsure``): true or false, nothing else."""
    if not isinstance(value, bool):
        raise InputError(f"Not a chord timeline: 'unsure' must be true or false, not {value!r}.")
    return value


def timeline_from_frames(
    times: Sequence[float],
    chords: Sequence[str],
    probabilities: Sequence[float],
    end: float | None = None,
    unsure: Sequence[bool] | None = None,
) -> Timeline:
    """Merge per-frame chords into segments of equal chords.

    A frame stands for the time nearer to it than to any other frame: a change between two frames
    sits half-way between them. (Holding each frame's chord until the next frame would put every
    change half a frame step late on average.) The first frame holds from its own time, the last
    one to ``end`` (by default one median frame step after it).

    Args:
        times: frame times in seconds, increasing.
        chords: vocabulary chord name per frame.
        probabilities: probability of that chord per frame.
        end: end of the clip in seconds, if known.
        unsure: per frame, whether its chord is a guess (unfamiliar footage); a change of it starts a
            new segment as a change of chord does. Default: every frame sure.

    Returns:
        The timeline, with ``duration`` set to ``end`` (or the last segment's end).
    """
    unsure = [False] * len(times) if unsure is None else [bool(u) for u in unsure]
    if not (len(times) == len(chords) == len(probabilities) == len(unsure)):
        raise ValueError("times, chords, probabilities and unsure must have the same length")
    if len(times) == 0:
        return Timeline([], end)
    steps = [b - a for a, b in zip(times, times[1:])]
    step = sorted(steps)[len(steps) // 2] if steps else 1.0
    stop = end if end is not None and end > times[-1] else times[-1] + step
    bounds = [(a + b) / 2 for a, b in zip(times, times[1:])] + [stop]
    segments: list[Segment] = []
    run_start, run_probs = 0, [probabilities[0]]
    for i in range(1, len(times) + 1):
        if i < len(times) and chords[i] == chords[run_start] and unsure[i] == unsure[run_start]:
            run_probs.append(probabilities[i])
            continue
        start = float(times[0]) if run_start == 0 else float(bounds[run_start - 1])
        segments.append(Segment(start, float(bounds[i - 1]), chords[run_start], float(sum(run_probs) / len(run_probs)),
                                unsure[run_start]))
        if i < len(times):
            run_start, run_probs = i, [probabilities[i]]
    return Timeline(segments, float(stop))
