"""The chord of a live camera picture, one frame at a time, and the practice light.

A camera frame is decided exactly as Analyze decides a still image (:func:`pipeline.timeline.analyze.analyze_clip`
on the frame as a one-frame picture: the same hand settings, fretboard detector, image-model input and fusion),
so the studio's Live page and its analyses always agree. Only the hand detector is kept between frames
(:class:`LiveRecognizer`), since building MediaPipe's graphs costs more than a frame.

Practice (:class:`Practice`): pick a chord; each decided frame moves a streak, and the light turns green once
the camera has seen the chord in ``hold`` consecutive frames (amber while the streak grows, red otherwise).
"""

from __future__ import annotations

import base64
import binascii
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import NO_CHORD
from pipeline.core.errors import InputError
from pipeline.core.types import ChordPrediction, FrameResult, ModelSet
from pipeline.timeline.analyze import analyze_clip, hand_settings_for
from pipeline.vision.hands import HandDetector

_SIGNATURES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}
"""The picture formats a browser camera sends (``canvas.toDataURL``), by their first bytes."""
MAX_PICTURE_BYTES = 8_000_000
"""A camera picture larger than this (encoded) is refused: a browser's 1080p JPEG is well under 1 MB."""


def picture_bytes(data_url: str) -> bytes:
    """The encoded picture in a ``data:image/jpeg;base64,...`` (or PNG) URL, as a browser camera sends it.

    Args:
        data_url: the URL.

    Returns:
        The JPEG or PNG bytes.

    Raises:
        InputError: not a base64 image data URL, not a JPEG or PNG, or over :data:`MAX_PICTURE_BYTES`.
    """
    head, _, body = str(data_url).partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64")) or not body:
        raise InputError("The camera sent something that is not a picture (expected a base64 image data URL).")
    if len(body) * 3 // 4 > MAX_PICTURE_BYTES:
        raise InputError(f"The camera picture is over {MAX_PICTURE_BYTES // 1_000_000} MB; lower the resolution.")
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InputError("The camera picture could not be decoded (damaged base64).") from error
    _suffix(data)
    return data


def _suffix(data: bytes) -> str:
    """The file suffix of an encoded picture, from its first bytes."""
    for signature, suffix in _SIGNATURES.items():
        if data.startswith(signature):
            return suffix
    raise InputError("The camera picture is neither a JPEG nor a PNG.")


@dataclass(frozen=True)
class LiveReading:
    """What the models make of one camera frame.

    Attributes:
        chord: the fused chord (``None`` when no model could decide: no hand for a landmark model alone).
        probability: its probability (0 when undecided).
        covered: whether the models decided the frame.
        familiar: whether the models know frames like it (None: unknown).
        by_model: each model's own answer ("landmarks", "image").
        hand: the fretting hand's 21 landmarks, (x, y) in [0, 1] of the picture's width and height; empty
            when no hand was found.
        width, height: the picture's size in pixels.
    """

    chord: str
    probability: float
    covered: bool
    familiar: bool | None = None
    by_model: dict[str, ChordPrediction] = field(default_factory=dict)
    hand: tuple[tuple[float, float], ...] = ()
    width: int = 0
    height: int = 0

    @classmethod
    def from_frame(cls, frame: FrameResult) -> LiveReading:
        """The reading of an analysed frame (its per-frame fused answer, not a smoothed one)."""
        fretting = frame.hands.fretting
        hand = () if fretting is None else tuple((round(float(x), 4), round(float(y), 4))
                                                for x, y in np.asarray(fretting.landmarks_norm)[:, :2])
        p = frame.prediction
        return cls(p.chord if p.covered else NO_CHORD, float(p.probability) if p.covered else 0.0, bool(p.covered),
                   frame.familiar, dict(frame.by_model), hand, frame.hands.width, frame.hands.height)

    def overlay(self) -> dict:
        """What the camera view draws over the live picture: the chord, its probability and the hand."""
        return {"chord": self.chord, "probability": round(self.probability, 3), "covered": self.covered,
                "familiar": self.familiar, "hand": [list(point) for point in self.hand]}


class LiveRecognizer:
    """Decides camera frames one at a time with a model set, keeping one hand detector between frames.

    Thread-safe (the apps share one per model set): the detector locks its graphs, and each frame gets its
    own temporary file.

    Args:
        models: the models (as the studio's sidebar chose them).
    """

    def __init__(self, models: ModelSet) -> None:
        self.models = models
        self.detector = HandDetector(hand_settings_for(models))
        self._folder = tempfile.TemporaryDirectory(prefix="chord-live-")
        self._count = 0
        self._lock = threading.Lock()

    def read(self, picture: np.ndarray | bytes | str) -> LiveReading:
        """The chord of one camera frame.

        Args:
            picture: an RGB uint8 array (H, W, 3), the bytes of a JPEG or PNG, or a ``data:`` URL of one
                (what the browser camera sends).

        Returns:
            The :class:`LiveReading`, decided as Analyze decides a still image.

        Raises:
            InputError: the picture is not an RGB image, not a JPEG or PNG, or cannot be decoded.
        """
        if isinstance(picture, str):
            picture = picture_bytes(picture)
        with self._lock:
            self._count += 1
            path = Path(self._folder.name) / f"frame-{self._count}"
        if isinstance(picture, (bytes, bytearray)):
            path = path.with_suffix(_suffix(bytes(picture)))
            path.write_bytes(bytes(picture))
        else:
            image = np.asarray(picture)
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or 0 in image.shape:
                raise InputError(f"A camera frame must be an RGB uint8 picture (H, W, 3), not {image.dtype} "
                                 f"{image.shape}.")
            path = path.with_suffix(".png")  # lossless: the models see these very pixels
            cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        try:
            analysis = analyze_clip(path, self.models, fps=None, detector=self.detector)
        finally:
            path.unlink(missing_ok=True)
        return LiveReading.from_frame(analysis.frames[0])

    def close(self) -> None:
        """Free the hand detector and the temporary folder."""
        self.detector.close()
        self._folder.cleanup()


LIGHTS = ("red", "amber", "green")
"""The practice light: red (the chord is not in view), amber (seen, not held long enough yet), green (held)."""


@dataclass(frozen=True)
class Practice:
    """Practising one chord: how many frames in a row the camera has seen it.

    Attributes:
        target: the chord to hold.
        hold: consecutive frames of ``target`` that turn the light green (at least 1).
        streak: frames of ``target`` in a row up to now.
        frames: frames seen since practice began.
        held: times the light has turned green.
    """

    target: str
    hold: int = 3
    streak: int = 0
    frames: int = 0
    held: int = 0

    def __post_init__(self) -> None:
        if int(self.hold) < 1:
            raise InputError(f"A chord must be held for at least 1 frame, not {self.hold}.")

    def step(self, chord: str) -> Practice:
        """The state after one more frame whose (fused) chord is ``chord``: the streak grows when it is the
        target, else starts again from 0."""
        streak = self.streak + 1 if chord == self.target else 0
        turned_green = streak == self.hold
        return replace(self, streak=streak, frames=self.frames + 1, held=self.held + int(turned_green))

    @property
    def green(self) -> bool:
        """Whether the chord is held now (``hold`` frames of it in a row, the last one included)."""
        return self.streak >= self.hold

    @property
    def light(self) -> str:
        """"green" (held), "amber" (in view, not held long enough yet) or "red" (not in view)."""
        return "green" if self.green else ("amber" if self.streak else "red")


def practise(target: str, chords, hold: int = 3) -> list[Practice]:
    """The practice states after each of a run of frames' chords (a new practice of ``target``).

    Args:
        target: the chord to hold.
        chords: each frame's fused chord, in order.
        hold: consecutive frames that turn the light green.

    Returns:
        One :class:`Practice` per frame.
    """
    state, states = Practice(target, hold), []
    for chord in chords:
        state = state.step(chord)
        states.append(state)
    return states


__all__ = ["LIGHTS", "MAX_PICTURE_BYTES", "LiveReading", "LiveRecognizer", "Practice", "picture_bytes", "practise"]
