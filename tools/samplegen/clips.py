"""Clips of a hand playing a chord progression, with their ground truth written beside them.

Each step's chord shape is posed once; around a change the hand moves between shapes (its fingers
lifting off the strings half-way), with a slow sway, a strumming shake and a camera drifting by a
pixel or two. Beside ``<stem>.mp4`` go ``<stem>.timeline.json`` and ``<stem>.fretboard.csv`` (read back by
:func:`pipeline.samples.read_fretboard_csv`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline
from pipeline.vision.video import write_video
from tools.samplegen.backdrop import render_backdrop
from tools.samplegen.pose import FINGER_JOINTS, chord_pose
from tools.samplegen.render import compose_frame
from tools.samplegen.scene import HEIGHT, WIDTH, Scene


@dataclass(frozen=True)
class ClipTruth:
    """Ground truth of a rendered clip, as written next to it.

    Attributes:
        video: the MP4 written.
        timeline: the chords held, one segment per progression step (equal neighbours merged).
        timeline_path: ``<stem>.timeline.json`` beside the clip.
        fretboard_path: ``<stem>.fretboard.csv`` beside the clip (frame, time, x1, y1, x2, y2).
        fps: frames per second.
        frame_count: number of frames written.
        fretboard_boxes: (frame_count, 4) float32 fretboard box per frame.
    """

    video: Path
    timeline: Timeline
    timeline_path: Path
    fretboard_path: Path
    fps: float
    frame_count: int
    fretboard_boxes: np.ndarray

    @property
    def duration(self) -> float:
        """Length of the clip in seconds (frames / fps)."""
        return self.frame_count / self.fps


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


_FINGER_JOINTS_BEYOND_KNUCKLE = [j for chain in FINGER_JOINTS[1:] for j in chain[1:]]


def _clip_pose(
    poses: Sequence[np.ndarray], bounds: np.ndarray, t: float, transition: float, wobble: np.ndarray
) -> np.ndarray:
    """The hand at time ``t``: the held pose, or a blend towards the next one around a change.

    Around each change the hand moves over ``transition`` seconds centred on it (smoothstep), its
    fingers lifting off the strings half-way; on top, a slow sway and a faster strumming shake.
    """
    k = int(np.searchsorted(bounds, t, side="right") - 1)
    k = min(max(k, 0), len(poses) - 1)
    pose = poses[k]
    half = transition / 2.0
    # blend with the previous step just after a change, or with the next one just before it
    if k > 0 and t - bounds[k] < half:
        a, prev, nxt = _smoothstep((t - bounds[k] + half) / transition), poses[k - 1], poses[k]
    elif k + 1 < len(poses) and bounds[k + 1] - t < half:
        a, prev, nxt = _smoothstep((t - bounds[k + 1] + half) / transition), poses[k], poses[k + 1]
    else:
        a, prev, nxt = 1.0, pose, pose
    pose = (1.0 - a) * prev + a * nxt
    lift = 12.0 * math.sin(math.pi * a)
    pose = pose.copy()
    pose[_FINGER_JOINTS_BEYOND_KNUCKLE, 2] += lift
    # sway: wobble rows are (amplitude mm, frequency Hz, phase) per axis u, v, z
    pose += np.array([amp * math.sin(2 * math.pi * freq * t + phase) for amp, freq, phase in wobble])
    return pose


def make_clip(
    path: str | Path,
    progression: Sequence[tuple[str, float]],
    fps: float = 25,
    seed: int = 0,
    *,
    scene: Scene | None = None,
    hand: bool = True,
    transition: float = 0.3,
    shake: float = 1.0,
    quality: int = 30,
) -> ClipTruth:
    """Render a clip of a hand playing a chord progression, with its ground truth beside it.

    Writes ``<path>`` (H.264 MP4, 640x360), ``<stem>.timeline.json`` (a :class:`Timeline`: one segment
    per step, equal neighbours merged, each change at the step's boundary, i.e. the middle of the
    hand's move) and ``<stem>.fretboard.csv`` (frame, time, x1, y1, x2, y2 pixels per frame: the camera
    drifts a little, so the box does too). Frames are generated and encoded one at a time.

    Args:
        path: the MP4 to write.
        progression: (chord, seconds) steps; ``"None"`` steps show the hand resting (or no hand).
        fps: frames per second.
        seed: seed of the scene (if not given) and of all variation; the same seed gives the same clip.
        scene: the look; drawn from the seed when None.
        hand: False renders the neck alone (no hand in any frame).
        transition: seconds the hand takes to move between shapes.
        shake: scale of the hand's sway and strumming shake.
        quality: x264 CRF (higher is smaller).

    Returns:
        The clip's :class:`ClipTruth`.

    Raises:
        InputError: the progression is empty, a duration is not positive, or a chord is unknown.
    """
    steps = [(parse_chord(chord), float(seconds)) for chord, seconds in progression]
    if not steps:
        raise InputError("A clip needs at least one (chord, seconds) step.")
    if any(not seconds > 0 for _, seconds in steps):
        raise InputError("Every step of a progression needs a positive duration in seconds.")
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}.")
    path = Path(path)
    rng = np.random.default_rng(seed)
    scene = Scene.random(rng) if scene is None else scene
    chords = [chord for chord, _ in steps]
    bounds = np.concatenate([[0.0], np.cumsum([seconds for _, seconds in steps])])
    frame_count = max(int(round(bounds[-1] * fps)), 1)
    duration = frame_count / fps
    # Each step's held shape is drawn once, so the hand stays put while a chord rings.
    poses = [chord_pose(chord, scene, rng) for chord in chords] if hand else None
    wobble = np.array([
        [1.2 * shake, rng.uniform(0.3, 0.6), rng.uniform(0, 2 * np.pi)],
        [0.8 * shake, rng.uniform(1.8, 2.4), rng.uniform(0, 2 * np.pi)],
        [1.0 * shake, rng.uniform(0.4, 0.9), rng.uniform(0, 2 * np.pi)],
    ])
    drift = rng.uniform([1.0, 0.5, 0.05, 0.05, 0.0, 0.0], [3.0, 2.0, 0.2, 0.2, 2 * np.pi, 2 * np.pi])
    backdrop = render_backdrop(scene)
    boxes = np.zeros((frame_count, 4), np.float32)

    def frames() -> Iterator[np.ndarray]:
        for i in range(frame_count):
            t = i / fps
            joints = _clip_pose(poses, bounds, t, transition, wobble) if poses is not None else None
            k = min(int(np.searchsorted(bounds, t, side="right") - 1), len(chords) - 1)
            frame, truth = compose_frame(backdrop, scene, chords[k], joints, np.random.default_rng([seed, i]))
            # a hand-held camera drifts by a pixel or two
            dx = drift[0] * math.sin(2 * math.pi * drift[2] * t + drift[4])
            dy = drift[1] * math.sin(2 * math.pi * drift[3] * t + drift[5])
            shift = np.float32([[1, 0, dx], [0, 1, dy]])
            frame = cv2.warpAffine(frame, shift, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
            boxes[i] = np.clip(truth.fretboard_box + [dx, dy, dx, dy], 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
            yield frame

    write_video(path, frames(), fps, quality=quality)

    segments: list[Segment] = []
    for k, chord in enumerate(chords):
        start, end = float(bounds[k]), float(min(bounds[k + 1], duration))
        if end <= start:
            continue
        if segments and segments[-1].chord == chord:
            segments[-1] = Segment(segments[-1].start, end, chord, 1.0)
        else:
            segments.append(Segment(start, end, chord, 1.0))
    if segments and segments[-1].end < duration:  # rounding to whole frames can add a frame
        segments[-1] = Segment(segments[-1].start, duration, segments[-1].chord, 1.0)
    timeline = Timeline(segments, duration)
    stem = path.with_suffix("")
    timeline_path = timeline.save(stem.with_name(stem.name + ".timeline.json"))
    fretboard_path = stem.with_name(stem.name + ".fretboard.csv")
    with fretboard_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "time", "x1", "y1", "x2", "y2"])
        for i, box in enumerate(boxes):
            writer.writerow([i, f"{i / fps:.4f}", *(f"{v:.1f}" for v in box)])
    return ClipTruth(path, timeline, timeline_path, fretboard_path, float(fps), frame_count, boxes)
