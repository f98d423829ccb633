"""From per-frame chord probabilities to a clean chord sequence.

Methods:

- ``viterbi`` (default): the most likely chord sequence under a hidden Markov model over the model's
  classes. Emissions are the frames' probabilities; a chord changes at ``change_rate`` times per
  second, to any other chord alike; segments shorter than ``min_duration`` are then merged into a
  neighbour. A frame where the model could not decide (no hand) emits a flat distribution leaning
  towards ``None`` (``no_hand_none``), so a short gap in hand detection inside a chord does not break
  it, while a long absence reads as no chord.

  Both the evidence and the penalties are per second, so the result does not depend on the sampling
  rate: frames closer together than ``resolution`` see practically the same hand, so each counts as
  ``dt / resolution`` of an observation, and a change is priced as the chance of one within
  ``resolution`` seconds, the finest step at which the frames can place it. At the default 5 frames
  per second this is the plain frame-by-frame model; at 25 or 30 it decides the same. With the
  defaults and 15 classes, a chord needs about 10 nats of evidence against its neighbours to be kept
  (it costs two changes): a one-second chord the model calls at 0.8 against 0.1 passes
  (5 x log 8 = 10.4), a single odd frame does not, and a gap without a hand shorter than about 0.9 s
  is bridged (such frames lean about 2 nats a frame towards ``None``).
- ``majority``: the seed's method, the most frequent chord in consecutive one-second windows.
- ``argmax``: each frame's most probable chord, untouched.

Which frames the timeline marks as unsure (unfamiliar footage) is smoothed too (:func:`steady_flags`):
a stretch of unfamiliar frames shorter than ``min_duration`` does not make an unsure segment of its
own, nor does a short familiar stretch inside an unfamiliar one make a sure one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.core.chords import NO_CHORD

METHODS = ("viterbi", "majority", "argmax")


@dataclass(frozen=True)
class SmoothingSettings:
    """How per-frame chords become a sequence.

    Attributes:
        method: one of :data:`METHODS`.
        change_rate: expected chord changes per second (viterbi); lower means fewer changes. Players
            change chords every 1 to 4 s; 0.5 (every 2 s) sits in the middle, on a log scale.
        min_duration: shortest segment kept, in seconds (viterbi); shorter ones join a neighbour. 0.4 s
            is one beat at 150 BPM, about the shortest chord anyone plays, and two frames at 5 fps.
        resolution: seconds within which frames count as one observation (viterbi; see the module
            docstring). 0.2 s: a hand takes about 0.3 s to move between shapes, so frames closer
            together than that show practically the same shape.
        window: window length in seconds (majority).
        no_hand_none: probability mass on ``None`` for frames the model could not decide (viterbi).
    """

    method: str = "viterbi"
    change_rate: float = 0.5
    min_duration: float = 0.4
    resolution: float = 0.2
    window: float = 1.0
    no_hand_none: float = 0.3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown smoothing method {self.method!r}; use one of {METHODS}")
        if min(self.change_rate, self.window, self.resolution) <= 0 or self.min_duration < 0 \
                or not 0 <= self.no_hand_none < 1:
            raise ValueError(
                "change_rate, resolution and window must be positive, min_duration >= 0, 0 <= no_hand_none < 1"
            )


def smooth(
    times: Sequence[float],
    probabilities: np.ndarray,
    classes: Sequence[str],
    covered: Sequence[bool] | None = None,
    settings: SmoothingSettings = SmoothingSettings(),
) -> list[str]:
    """Smooth per-frame chord probabilities into one chord per frame.

    Args:
        times: frame times in seconds, increasing, (n,).
        probabilities: (n, C) per-frame probabilities over ``classes`` (rows of undecided frames are
            ignored when ``covered`` says so).
        classes: the C chord names of the columns.
        covered: (n,) whether the model could decide each frame; default all.
        settings: method and its parameters.

    Returns:
        The chord of each frame after smoothing.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n = len(times)
    if probabilities.shape != (n, len(classes)):
        raise ValueError(f"probabilities must be (n, C) = ({n}, {len(classes)}), got {probabilities.shape}")
    if n == 0:
        return []
    covered = np.ones(n, bool) if covered is None else np.asarray(covered, dtype=bool)
    classes = list(classes)
    none_index = classes.index(NO_CHORD) if NO_CHORD in classes else None
    argmax = [classes[i] if c else NO_CHORD for i, c in zip(probabilities.argmax(axis=1), covered)]
    if settings.method == "argmax":
        return argmax
    if settings.method == "majority":
        return _majority(np.asarray(times, float), argmax, settings.window)
    emissions = probabilities.copy()
    flat = np.full(len(classes), (1 - settings.no_hand_none) / len(classes))
    if none_index is not None:
        flat[none_index] += settings.no_hand_none
    emissions[~covered] = flat / flat.sum()
    path = _viterbi(np.asarray(times, float), emissions, settings.change_rate, settings.resolution)
    path = _merge_short(np.asarray(times, float), path, emissions, settings.min_duration)
    return [classes[i] for i in path]


def _majority(times: np.ndarray, chords: list[str], window: float) -> list[str]:
    """The most frequent chord of each ``window``-second block (ties: the earliest seen)."""
    blocks = np.floor((times - times[0]) / window).astype(int)
    out = list(chords)
    for block in np.unique(blocks):
        members = np.flatnonzero(blocks == block)
        votes = [chords[i] for i in members]
        winner = max(dict.fromkeys(votes), key=votes.count)
        for i in members:
            out[i] = winner
    return out


def _viterbi(times: np.ndarray, emissions: np.ndarray, change_rate: float, resolution: float) -> np.ndarray:
    """Most likely state path (see the module docstring for how frame steps enter).

    A frame ``dt`` after the previous one adds its log-emissions times ``min(1, dt / resolution)``;
    between two frames the chord changes with probability ``1 - exp(-change_rate * max(dt, resolution))``,
    to each other chord alike.
    """
    n, c = emissions.shape
    log_e = np.log(np.clip(emissions, 1e-9, None))
    gaps = np.diff(times)
    steps = np.maximum(np.concatenate([gaps[:1], gaps]) if n > 1 else np.full(1, resolution), 1e-6)
    log_e *= np.minimum(1.0, steps / resolution)[:, None]
    score = log_e[0] - np.log(c)
    back = np.zeros((n, c), dtype=np.int64)
    for t in range(1, n):
        # At most uniform transitions: beyond that the model would prefer changing to staying.
        p_change = min(1.0 - np.exp(-change_rate * max(steps[t], resolution)), (c - 1) / c)
        transition = np.full((c, c), np.log(p_change / max(c - 1, 1)))  # [from, to]
        np.fill_diagonal(transition, np.log1p(-p_change))
        candidates = score[:, None] + transition
        back[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_e[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _merge_short(times: np.ndarray, path: np.ndarray, emissions: np.ndarray, min_duration: float) -> np.ndarray:
    """Give runs shorter than ``min_duration`` to the neighbour their frames find more probable."""
    path = path.copy()
    if min_duration <= 0 or len(path) < 2:
        return path
    step = float(np.median(np.diff(times)))
    while True:
        starts = np.flatnonzero(np.diff(path, prepend=-1))
        ends = np.append(starts[1:], len(path))
        lengths = (np.append(times[starts[1:]], times[-1] + step)) - times[starts]
        short = [k for k in range(len(starts)) if lengths[k] < min_duration - 1e-9 and len(starts) > 1]
        if not short:
            return path
        k = min(short, key=lambda k: lengths[k])  # the shortest run first
        s, e = starts[k], ends[k]
        neighbours = [path[s - 1]] if s > 0 else []
        neighbours += [path[e]] if e < len(path) else []
        path[s:e] = max(neighbours, key=lambda state: emissions[s:e, state].sum())


def steady_flags(times: Sequence[float], flags: Sequence[bool], min_duration: float) -> list[bool]:
    """Per-frame flags with runs shorter than ``min_duration`` seconds flipped to their neighbours' value.

    The shortest run goes first (a run reaches to the next run's first frame; the last one lasts one
    median frame step), until every run lasts at least ``min_duration`` or one run is left.

    Args:
        times: frame times in seconds, increasing, (n,).
        flags: (n,) a flag per frame (e.g. "unfamiliar").
        min_duration: shortest run kept, in seconds; 0 keeps the flags as they are.

    Returns:
        The n flags.
    """
    flags = [bool(f) for f in flags]
    if len(flags) != len(times):
        raise ValueError("times and flags must have the same length")
    n = len(flags)
    if n < 2 or min_duration <= 0:
        return flags
    times = np.asarray(times, dtype=float)
    step = float(np.median(np.diff(times)))
    while True:
        starts = [0] + [i for i in range(1, n) if flags[i] != flags[i - 1]]
        if len(starts) == 1:
            return flags
        ends = starts[1:] + [n]
        lengths = [(times[e] if e < n else times[-1] + step) - times[s] for s, e in zip(starts, ends)]
        k = int(np.argmin(lengths))
        if lengths[k] >= min_duration - 1e-9:
            return flags
        flags[starts[k]:ends[k]] = [not flags[starts[k]]] * (ends[k] - starts[k])
