"""The clips of a teaching session: their chords (from the file name or a chord list with times), the
frames sampled from them, and the checks on those frames (too dark, blurred, near-duplicates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError
from pipeline.vision.video import difference_hash, iter_frames, probe

TEACH_FPS = 15.0
"""Frames sampled per second of each clip. From a 4 s clip per chord, 6 fps left ~18 training frames per chord
(0.44 fused accuracy on later frames of the same player); 15 fps with 14 CNN epochs 0.92; every frame of
a 30 fps clip was no better and slower (benchmarks/bench_teach.py)."""
HELD_OUT_SHARE = 0.25
"""The last quarter of each clip's time scores the models (neighbouring frames are near-duplicates,
so random frames would measure memory)."""
MIN_FRAMES = 8
"""Fewest usable frames a chord needs."""
DARK_LEVEL = 25.0
"""Mean gray level (0-255) below which a frame is too dark."""
BLUR_LEVEL = 8.0
"""Variance of the Laplacian below which a frame is too blurred."""
DUPLICATE_BITS = 0
"""Frames whose 64-bit difference hash differs from the last kept frame's in at most this many bits are
near-duplicates and thinned."""

_COPY_SUFFIX = re.compile(r"[-_ ]\d+$")


def chord_of_file(path: str | Path) -> str:
    """The chord a clip's file name names: ``G.mp4`` is G, ``Am-2.mov`` is Am (case-insensitive).

    Raises:
        InputError: the name (without a trailing ``-N`` copy number) is not a chord.
    """
    stem = _COPY_SUFFIX.sub("", Path(path).stem)
    try:
        return parse_chord(stem)
    except InputError:
        raise InputError(f"Cannot tell the chord of {Path(path).name!r} from its name: name each clip after its "
                         "chord (G.mp4, Am-2.mov) or give the chords with their times.") from None


def parse_chord_times(text: str) -> list[tuple[str, float, float]]:
    """``"G:0-4,C:4-8"`` -> ``[("G", 0, 4), ("C", 4, 8)]``.

    Raises:
        InputError: an entry is not ``CHORD:START-END`` with a known chord and START < END.
    """
    spans = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        chord, _, times = entry.rpartition(":")
        start, _, end = times.partition("-")
        try:
            span = (parse_chord(chord), float(start), float(end))
        except (InputError, ValueError):
            raise InputError(f"Cannot read {entry!r} of the chord list; write it as CHORD:START-END, "
                             "e.g. G:0-4,C:4-8.") from None
        if not 0 <= span[1] < span[2]:
            raise InputError(f"{entry!r}: the start must be before the end, both at or after 0 s.")
        spans.append(span)
    if not spans:
        raise InputError("The chord list is empty; write it as CHORD:START-END, e.g. G:0-4,C:4-8.")
    return spans


@dataclass(frozen=True)
class TeachClip:
    """One stretch of a clip that shows one chord.

    Attributes:
        path: the video file.
        chord: the chord played.
        start, end: the stretch in seconds (None: from the start / to the end of the clip).
    """

    path: Path
    chord: str
    start: float | None = None
    end: float | None = None

    @property
    def name(self) -> str:
        """The clip's file name, with the stretch when it is one part of a clip."""
        part = "" if self.start is None else f" {self.start:g}-{self.end:g} s"
        return Path(self.path).name + part


def teach_clips(paths: Sequence[str | Path], chord_times: str | None = None,
                chords: Sequence[str | None] | None = None) -> list[TeachClip]:
    """The stretches to teach from: one clip per chord (chord from the name, or given beside it), or one
    clip with a chord list and times.

    Raises:
        InputError: no clip, a clip whose chord is unknown, a chord list with more than one clip.
    """
    if not paths:
        raise InputError("Give at least one clip (one short clip per chord).")
    if chord_times:
        if len(paths) != 1:
            raise InputError("A chord list with times goes with one clip; give one clip, or name each clip "
                             "after its chord.")
        return [TeachClip(Path(paths[0]), c, s, e) for c, s, e in parse_chord_times(chord_times)]
    given = list(chords or [None] * len(paths))
    return [TeachClip(Path(p), parse_chord(c) if c else chord_of_file(p)) for p, c in zip(paths, given)]


@dataclass
class SampledFrame:
    """A frame kept for teaching: its pixels, time, chord and whether it is held out for scoring."""

    image: np.ndarray
    time: float
    chord: str
    clip: str
    held_out: bool


@dataclass
class FrameCounts:
    """What the checks did with a chord's frames."""

    sampled: int = 0
    dark: int = 0
    blurred: int = 0
    duplicates: int = 0
    no_hand: int = 0
    kept: int = 0
    clips: list[str] = field(default_factory=list)


def sample_clip(clip: TeachClip, fps: float = TEACH_FPS, counts: FrameCounts | None = None) -> list[SampledFrame]:
    """Sample a stretch, drop too dark and blurred frames and near-duplicates; mark its last quarter held out.

    Args:
        clip: the stretch.
        fps: frames per second to sample.
        counts: updated with what was dropped.

    Raises:
        InputError: the clip cannot be read (see :func:`pipeline.vision.video.iter_frames`).
    """
    counts = counts if counts is not None else FrameCounts()
    start = clip.start or 0.0
    end = clip.end if clip.end is not None else probe(clip.path).duration
    cut = start + (1 - HELD_OUT_SHARE) * (end - start)
    kept: list[SampledFrame] = []
    last_hash: int | None = None
    for frame in iter_frames(clip.path, fps, clip.start, clip.end):
        counts.sampled += 1
        gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        if gray.mean() < DARK_LEVEL:
            counts.dark += 1
            continue
        if cv2.Laplacian(gray, cv2.CV_64F).var() < BLUR_LEVEL:
            counts.blurred += 1
            continue
        digest = int.from_bytes(difference_hash(gray, side=8), "big")  # 64 bits: thins a still hand
        held = frame.time >= cut
        if last_hash is not None and bin(digest ^ last_hash).count("1") <= DUPLICATE_BITS:
            counts.duplicates += 1
            continue
        last_hash = digest
        kept.append(SampledFrame(frame.image, frame.time, clip.chord, clip.name, held))
    counts.kept += len(kept)
    counts.clips.append(clip.name)
    return kept


def sample_clips(clips: Sequence[TeachClip], fps: float = TEACH_FPS, progress: Callable[[int, int], None] | None = None
                 ) -> tuple[list[SampledFrame], dict[str, FrameCounts]]:
    """Sample every stretch (:func:`sample_clip`) and check each chord has enough frames.

    Returns:
        (kept frames, counts per chord).

    Raises:
        InputError: a chord with fewer than :data:`MIN_FRAMES` usable frames (named), fewer than two chords.
    """
    frames: list[SampledFrame] = []
    counts: dict[str, FrameCounts] = {}
    for k, clip in enumerate(clips):
        frames += sample_clip(clip, fps, counts.setdefault(clip.chord, FrameCounts()))
        if progress:
            progress(k + 1, len(clips))
    check_counts(counts, lambda c: c.kept)
    if len(counts) < 2:
        raise InputError("Teaching needs at least two chords; give one clip per chord.")
    return frames, counts


def check_counts(counts: dict[str, FrameCounts], usable: Callable[[FrameCounts], int],
                 exempt: Sequence[str] = ()) -> None:
    """Raise a clear error naming every chord with fewer than :data:`MIN_FRAMES` usable frames (the chords
    in ``exempt`` count every kept frame as usable)."""
    short = {chord: n for chord, c in counts.items()
             if (n := c.kept if chord in exempt else usable(c)) < MIN_FRAMES}
    if short:
        named = ", ".join(f"{chord} ({n} usable of {counts[chord].sampled} sampled: {counts[chord].dark} too dark, "
                          f"{counts[chord].blurred} blurred, {counts[chord].duplicates} near-duplicates, "
                          f"{counts[chord].no_hand} without a hand)" for chord, n in short.items())
        raise InputError(f"Too few frames for {named}; each chord needs {MIN_FRAMES}: record a longer clip "
                         "(4 s or more), in good light, with the fretting hand in view.")
