"""Hands as data: the 21 landmarks of each hand found in a frame, and which hand frets.

:class:`HandDetector` turns an RGB frame into a :class:`HandsResult`: every hand seen, each with its 21
landmarks (MediaPipe's topology: 0 wrist, 1-4 thumb, 5-8 index, 9-12 middle, 13-16 ring, 17-20 little)
in normalised and pixel form, its handedness, score and bounding box, and which of them is the
fretting hand. A frame with no hand gives an empty result, never an exception.

Choosing the fretting hand when two are seen, in this order:

1. If the fretboard's box is known, the hand that overlaps it most (the fretting hand sits on the
   neck; the strumming hand is over the body, mostly outside a neck box).
2. Otherwise, by handedness. A right-handed player frets with the left hand. MediaPipe labels hands
   as if the image were mirrored (a selfie camera), so on an ordinary, unmirrored camera the player's
   left hand is labelled "Right". On the real frames in the shared data, 97 of 109 single hands
   (all fretting hands) carry that label. ``HandSettings.left_handed`` and ``mirrored`` flip it.
3. If both hands carry the same label, the one with the higher detection score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

N_LANDMARKS = 21
FINGERS: dict[str, tuple[int, ...]] = {
    "thumb": (1, 2, 3, 4),
    "index": (5, 6, 7, 8),
    "middle": (9, 10, 11, 12),
    "ring": (13, 14, 15, 16),
    "little": (17, 18, 19, 20),
    "palm": (0,),
}
"""Landmark indices of each finger (and the wrist as the palm), for drawing and attributions."""


@dataclass(frozen=True)
class HandSettings:
    """How hands are detected and which one is the fretting hand.

    Attributes:
        max_num_hands: most hands to look for (2 lets the fretting hand be told from the strumming one).
        model_complexity: MediaPipe's landmark model, 0 (fast) or 1 (accurate).
        min_detection_confidence: palm detector threshold.
        min_tracking_confidence: below this, video mode re-runs the palm detector.
        left_handed: the player frets with the right hand.
        mirrored: the footage is mirrored (a selfie camera), so MediaPipe's labels are the player's own.
        max_side: frames larger than this (longest side, pixels) are shrunk before detection; the
            landmarks come back in the original frame's coordinates. 0 keeps the size.
        cascade: look again where a pass found no hand (:attr:`passes`): the frame inside a black
            border of :data:`CASCADE_BORDER` of its size on each side, then that with the light landmark
            model (``model_complexity`` 0). A hand cut by the frame's edge, or filling most of a
            close-up crop, is often found only with the border.

    ``HandSettings()`` is MediaPipe's defaults, the settings of every model trained before the cascade
    (a card without hand settings reads as them); new models use :data:`CASCADE_HANDS`.
    """

    max_num_hands: int = 2
    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    left_handed: bool = False
    mirrored: bool = False
    max_side: int = 640
    cascade: bool = False

    @property
    def passes(self) -> tuple[tuple[int, float], ...]:
        """(model_complexity, border share per side) of each detection pass, in order; a pass runs
        only on a frame where the passes before it found no hand. All use ``min_detection_confidence``."""
        if not self.cascade:
            return ((self.model_complexity, 0.0),)
        return ((self.model_complexity, 0.0), (self.model_complexity, CASCADE_BORDER), (0, CASCADE_BORDER))

    def to_json(self) -> dict:
        """The settings as a JSON object (for model cards)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> HandSettings:
        """Settings from :meth:`to_json`'s object; unknown fields are ignored, missing ones defaulted
        (an empty or absent object gives ``HandSettings()``, the settings of models older than the cascade)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    @property
    def fretting_label(self) -> str:
        """The MediaPipe handedness label that the fretting hand is expected to carry."""
        # Right-handed player, unmirrored camera: fretting (left) hand looks like a right hand to MediaPipe.
        return "Right" if self.left_handed == self.mirrored else "Left"

    @property
    def key(self) -> str:
        """A string that changes whenever a setting that changes the landmarks changes (for caches)."""
        return (
            f"mp0.10.21-n{self.max_num_hands}-c{self.model_complexity}"
            f"-d{self.min_detection_confidence:g}-s{self.max_side}"
            # MediaPipe reads the tracking confidence in image mode too (the landmark model's hand presence
            # threshold); keys of the default 0.5 stay as they were before it was part of the key
            + (f"-t{self.min_tracking_confidence:g}" if self.min_tracking_confidence != 0.5 else "")
            + (f"-cascade{CASCADE_BORDER:g}" if self.cascade else "")
        )


CASCADE_BORDER = 0.25
"""The black border the cascade's second and third passes add on each side, as a share of the frame's
width (left, right) and height (top, bottom)."""

CASCADE_HANDS = HandSettings(min_detection_confidence=0.1, min_tracking_confidence=0.1, cascade=True)
"""The hand settings of new models: confidence 0.1 and the cascade. On the shared real set's chord frames
coverage rises from 0.60 (``HandSettings()``) to about 0.9 at about 1.3-1.5 times the detection time
(README, "More hands")."""


@dataclass(frozen=True)
class Hand:
    """One detected hand.

    Attributes:
        landmarks_norm: (21, 3) float32; x, y in [0, 1] of the frame's width and height, z the depth
            relative to the wrist in about the same scale as x (MediaPipe's convention).
        landmarks_px: (21, 3) float32; x, y in pixels, z in pixels of width.
        handedness: "Left" or "Right" as MediaPipe labels it (it assumes a mirrored image).
        score: handedness classification score in [0, 1].
        bbox: (4,) float32 box x1, y1, x2, y2 in pixels around the landmarks, clipped to the frame.
    """

    landmarks_norm: np.ndarray
    landmarks_px: np.ndarray
    handedness: str
    score: float
    bbox: np.ndarray

    @classmethod
    def from_normalised(
        cls, landmarks_norm: np.ndarray, handedness: str, score: float, width: int, height: int
    ) -> Hand:
        """Build a hand from (21, 3) normalised landmarks and the frame size."""
        norm = np.asarray(landmarks_norm, dtype=np.float32).reshape(N_LANDMARKS, 3)
        px = norm * np.array([width, height, width], dtype=np.float32)
        x1, y1 = np.clip(px[:, :2].min(axis=0), 0, [width, height])
        x2, y2 = np.clip(px[:, :2].max(axis=0), 0, [width, height])
        return cls(norm, px, handedness, float(score), np.array([x1, y1, x2, y2], dtype=np.float32))


@dataclass(frozen=True)
class HandsResult:
    """All hands found in one frame, and which one frets.

    Attributes:
        hands: the hands, in MediaPipe's order.
        fretting_index: index into ``hands`` of the fretting hand; None when there is no hand.
        width, height: size of the frame in pixels.
    """

    hands: tuple[Hand, ...] = ()
    fretting_index: int | None = None
    width: int = 0
    height: int = 0

    @property
    def fretting(self) -> Hand | None:
        """The fretting hand, or None when no hand was found."""
        return None if self.fretting_index is None else self.hands[self.fretting_index]

    def __bool__(self) -> bool:
        return bool(self.hands)

    def __len__(self) -> int:
        return len(self.hands)

    @classmethod
    def from_mediapipe(
        cls, results, width: int, height: int, settings: HandSettings = HandSettings(), fretboard_box=None
    ) -> HandsResult:
        """Convert MediaPipe's ``Hands.process`` result (read by attribute) for a frame of this size."""
        if not results.multi_hand_landmarks:
            return cls((), None, width, height)
        hands = []
        for landmarks, classification in zip(results.multi_hand_landmarks, results.multi_handedness):
            points = np.array([(p.x, p.y, p.z) for p in landmarks.landmark], dtype=np.float32)
            label = classification.classification[0]
            hands.append(Hand.from_normalised(points, label.label, label.score, width, height))
        return cls.from_hands(hands, width, height, settings, fretboard_box)

    @classmethod
    def from_hands(
        cls, hands, width: int, height: int, settings: HandSettings = HandSettings(), fretboard_box=None
    ) -> HandsResult:
        """Wrap a list of hands, choosing the fretting one (rules in the module docstring)."""
        hands = tuple(hands)
        return cls(hands, choose_fretting_hand(hands, settings, fretboard_box), width, height)


def _overlap(box: np.ndarray, other: np.ndarray) -> float:
    """Share of ``box``'s area that lies inside ``other`` (both x1, y1, x2, y2)."""
    x1, y1 = np.maximum(box[:2], other[:2])
    x2, y2 = np.minimum(box[2:], other[2:])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    return float(inter / area)


def choose_fretting_hand(
    hands: tuple[Hand, ...], settings: HandSettings = HandSettings(), fretboard_box=None
) -> int | None:
    """Index of the fretting hand among ``hands`` (rules in the module docstring); None if empty."""
    if not hands:
        return None
    if len(hands) == 1:
        return 0
    if fretboard_box is not None:
        box = np.asarray(fretboard_box, dtype=np.float32)
        overlaps = [_overlap(hand.bbox, box) for hand in hands]
        best = int(np.argmax(overlaps))
        if overlaps[best] - sorted(overlaps)[-2] > 0.1:  # a clear winner only
            return best
    expected = [i for i, hand in enumerate(hands) if hand.handedness == settings.fretting_label]
    candidates = expected if len(expected) == 1 else range(len(hands))
    return max(candidates, key=lambda i: hands[i].score)
