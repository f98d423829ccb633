"""The region of a frame that an image chord classifier sees, and where it came from.

:func:`classifier_region` picks, in this order:

1. :attr:`~pipeline.core.types.BoxSource.FRETBOARD` (``"fretboard"``): the detector's best fretboard
   box, grown by a margin. When the fretting hand is known and lies on that box, the region also
   takes in the hand's box: a fretboard box runs along the neck, and the fingers that make the chord
   reach above it and the hand hangs below it.
2. :attr:`~pipeline.core.types.BoxSource.HAND` (``"hand"``): no fretboard, but a fretting hand: its
   landmarks' box scaled up (1.5x by default, so the strings and frets around the fingers are in
   view) and widened or heightened to a fixed aspect ratio, so every hand crop resizes to the
   classifier's input without distortion.
3. :attr:`~pipeline.core.types.BoxSource.FRAME` (``"frame"``): neither: the whole frame.

Every region is clipped to the frame, and :attr:`Region.source` (a
:class:`~pipeline.core.types.BoxSource`, a ``StrEnum``, so it equals its plain string) records which
rule gave it, so that a classifier trained on one kind of region can refuse, or be evaluated apart on,
the others.

The fretboard box and the choice of the fretting hand
------------------------------------------------------

When MediaPipe sees two hands, :func:`pipeline.vision.hands.choose_fretting_hand` picks the one that overlaps
the fretboard box most (with a clear margin), then falls back to handedness. A detector's box runs
along the neck only, while the fretting hand's landmark box reaches below it (palm, thumb side), so
its overlap is partial; the strumming hand, over the body, barely touches a neck box. Feed the box
grown by :data:`HAND_CHOICE_MARGIN` (a quarter of its height above and below), which credits the
fretting hand's fingers without reaching the body. Two equivalent ways, both in this module's terms:

- detector first: ``box = hand_choice_box(detections, image.shape)`` then
  ``HandDetector.detect(image, fretboard_box=box)``;
- both at once (e.g. in two threads), then :func:`choose_fretting_with_fretboard` re-chooses the
  fretting hand of an existing :class:`~pipeline.vision.hands.HandsResult` (no second MediaPipe run).

With no detection (``hand_choice_box`` returns None) the handedness rule decides, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.core.hands import HandSettings, HandsResult
from pipeline.core.types import BoxSource
from pipeline.vision.detection import FretboardDetections, grow_box

HAND_CHOICE_MARGIN = (0.05, 0.25)
"""Growth of a fretboard box before it picks the fretting hand: (x, y) fractions of its width and height."""


@dataclass(frozen=True, eq=False)
class Region:
    """The part of a frame a classifier should see.

    Attributes:
        box: (4,) float32 x1, y1, x2, y2 in pixels, inside the frame.
        source: which rule gave the box (see the module docstring); a plain string such as
            ``"hand"`` is turned into its :class:`~pipeline.core.types.BoxSource`.
        score: the detector's score for a fretboard region, the hand's handedness score for a hand
            region, 1.0 for the whole frame.

    Raises:
        ValueError: ``source`` is not a :class:`~pipeline.core.types.BoxSource` value.
    """

    box: np.ndarray
    source: BoxSource
    score: float = 1.0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "source", BoxSource(self.source))
        except ValueError:
            expected = ", ".join(repr(s.value) for s in BoxSource)
            raise ValueError(f"unknown region source {self.source!r}; expected one of {expected}") from None
        object.__setattr__(self, "box", np.asarray(self.box, dtype=np.float32).reshape(4))

    @property
    def width(self) -> float:
        """Width of the box in pixels."""
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        """Height of the box in pixels."""
        return float(self.box[3] - self.box[1])


def _frame_size(image_shape) -> tuple[int, int]:
    """(height, width) of an (H, W) or (H, W, C) shape."""
    if len(image_shape) < 2 or image_shape[0] < 1 or image_shape[1] < 1:
        raise ValueError(f"expected an image shape (H, W[, C]), got {tuple(image_shape)}")
    return int(image_shape[0]), int(image_shape[1])


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])], dtype=np.float32)


def _share_inside(box: np.ndarray, other: np.ndarray) -> float:
    """Share of ``box``'s area inside ``other``."""
    x1, y1 = np.maximum(box[:2], other[:2])
    x2, y2 = np.minimum(box[2:], other[2:])
    inter = max(0.0, float(x2 - x1)) * max(0.0, float(y2 - y1))
    return inter / max(1e-6, float((box[2] - box[0]) * (box[3] - box[1])))


def fixed_aspect_box(box, aspect: float, shape) -> np.ndarray:
    """Grow the short side of a box about its centre until width / height == ``aspect``, then fit the frame.

    The box is shifted (not squeezed) back inside the frame where it can be; only a box larger than
    the frame is clipped, and then loses the exact aspect.

    Args:
        box: (4,) x1, y1, x2, y2.
        aspect: width / height wanted (1.0 square).
        shape: (H, W[, C]) of the frame.

    Returns:
        (4,) float32 box inside the frame.
    """
    height, width = _frame_size(shape)
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64).reshape(4)
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    w, h = min(w, width), min(h, height)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = min(max(cx - w / 2, 0.0), width - w)
    top = min(max(cy - h / 2, 0.0), height - h)
    return np.array([left, top, left + w, top + h], dtype=np.float32)


def hand_region_box(hand_box, scale: float, aspect: float, shape) -> np.ndarray:
    """A hand's landmark box scaled about its centre by ``scale``, made ``aspect``, inside the frame."""
    x1, y1, x2, y2 = np.asarray(hand_box, dtype=np.float64).reshape(4)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    w, h = max(x2 - x1, 1.0) * scale, max(y2 - y1, 1.0) * scale
    return fixed_aspect_box([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], aspect, shape)


def classifier_region(
    image_shape,
    fretboard: FretboardDetections | None = None,
    hands: HandsResult | None = None,
    *,
    margin: float = 0.1,
    min_score: float = 0.0,
    include_hand: bool = True,
    hand_scale: float = 1.5,
    hand_aspect: float = 1.0,
) -> Region:
    """The region an image classifier should see in a frame: fretboard, else hand, else frame.

    Args:
        image_shape: (H, W[, C]) of the frame.
        fretboard: the detector's boxes for this frame, or None when no detector ran.
        hands: MediaPipe's hands for this frame, or None when it did not run.
        margin: growth of the fretboard box on each side, as a fraction of its width and height.
        min_score: a fretboard box scoring less is ignored (the detector's own ``conf`` already cut).
        include_hand: grow the fretboard region to take in the fretting hand's box when at least a
            tenth of that hand lies on the grown fretboard box (see the module docstring).
        hand_scale: size of the hand region relative to the landmarks' box (per side length).
        hand_aspect: width / height of the hand region (1.0: square, what 224x224 models take).

    Returns:
        The region, clipped to the frame, with its source.
    """
    height, width = _frame_size(image_shape)
    fretting = hands.fretting if hands is not None else None
    if fretboard is not None and not fretboard.empty and fretboard.best_score >= min_score:
        box = grow_box(fretboard.best, margin, (height, width))
        if include_hand and fretting is not None and _share_inside(fretting.bbox, box) >= 0.1:
            box = _union(box, np.clip(fretting.bbox, 0, [width, height, width, height]))
        if box[2] - box[0] >= 1 and box[3] - box[1] >= 1:
            return Region(box, BoxSource.FRETBOARD, fretboard.best_score)
    if fretting is not None:
        box = hand_region_box(fretting.bbox, hand_scale, hand_aspect, (height, width))
        return Region(box, BoxSource.HAND, fretting.score)
    return Region(np.array([0, 0, width, height], dtype=np.float32), BoxSource.FRAME, 1.0)


def crop_region(image: np.ndarray, region: Region, size: tuple[int, int] | None = None) -> np.ndarray:
    """Cut a region out of a frame, optionally resized.

    Args:
        image: (H, W, 3) uint8 RGB frame.
        region: from :func:`classifier_region` (any box is clipped to the frame again).
        size: (width, height) to resize to (OpenCV's order), or None to keep the crop's size.

    Returns:
        A new (h, w, 3) array (at least 1x1 before resizing).
    """
    image = np.asarray(image)
    height, width = image.shape[:2]
    x1, y1, x2, y2 = np.clip(np.round(region.box).astype(np.int64), 0, [width, height, width, height])
    x1, y1 = min(x1, width - 1), min(y1, height - 1)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    out = image[y1:y2, x1:x2]
    if size is not None:
        target = (int(size[0]), int(size[1]))
        shrinking = target[0] < out.shape[1] or target[1] < out.shape[0]
        out = cv2.resize(out, target, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(out).copy()


def hand_choice_box(
    fretboard: FretboardDetections | None, image_shape=None, min_score: float = 0.0
) -> np.ndarray | None:
    """The box to pass as ``fretboard_box`` to :meth:`pipeline.vision.hands.HandDetector.detect`.

    Args:
        fretboard: the detector's boxes, or None.
        image_shape: (H, W[, C]) to clip to, or None.
        min_score: ignore a best box scoring less.

    Returns:
        (4,) float32: the best box grown by :data:`HAND_CHOICE_MARGIN`; None without a detection.
    """
    if fretboard is None or fretboard.empty or fretboard.best_score < min_score:
        return None
    x1, y1, x2, y2 = fretboard.best.astype(np.float64)
    dx, dy = (x2 - x1) * HAND_CHOICE_MARGIN[0], (y2 - y1) * HAND_CHOICE_MARGIN[1]
    box = np.array([x1 - dx, y1 - dy, x2 + dx, y2 + dy])
    if image_shape is not None:
        height, width = _frame_size(image_shape)
        box = np.clip(box, 0, [width, height, width, height])
    return box.astype(np.float32)


def choose_fretting_with_fretboard(
    hands: HandsResult, fretboard: FretboardDetections | None, settings: HandSettings = HandSettings()
) -> HandsResult:
    """The same hands, with the fretting hand chosen again knowing the fretboard box.

    Args:
        hands: a result of :meth:`pipeline.vision.hands.HandDetector.detect` (run without a fretboard box).
        fretboard: the detector's boxes for the same frame, or None (then ``hands`` comes back as is).
        settings: the hand settings the detector used (handedness rules).

    Returns:
        A :class:`HandsResult` with the same hands and, with two or more, possibly another fretting index.
    """
    box = hand_choice_box(fretboard, (hands.height, hands.width) if hands.width else None)
    if box is None or len(hands) < 2:
        return hands
    return HandsResult.from_hands(hands.hands, hands.width, hands.height, settings, box)


__all__ = [
    "HAND_CHOICE_MARGIN",
    "Region",
    "choose_fretting_with_fretboard",
    "classifier_region",
    "crop_region",
    "fixed_aspect_box",
    "hand_choice_box",
    "hand_region_box",
]
