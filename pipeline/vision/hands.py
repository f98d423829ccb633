"""Hand landmarks with MediaPipe (0.10.21, ``mp.solutions.hands``).

:class:`HandDetector` turns an RGB frame into a :class:`pipeline.core.hands.HandsResult` (the hands as
data, and the rules that choose the fretting hand, live there). A frame with no hand gives an empty
result, never an exception.

With ``HandSettings.cascade`` a frame without a hand is looked at again: inside a black border (a hand
cut by the frame's edge, or filling a close-up, is then whole and smaller), then with the light
landmark model too (:attr:`pipeline.core.hands.HandSettings.passes`). The landmarks of a bordered pass
are mapped back to the frame's own coordinates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.core.hands import Hand, HandSettings, HandsResult


@dataclass
class HandDetector:
    """MediaPipe hands, created lazily, safe to share between threads (a lock guards ``process``).

    Args:
        settings: detection settings.
        video: track hands across consecutive frames (MediaPipe's video mode: faster, and steadier
            landmarks); False treats every frame on its own, which datasets and caches need because
            a frame's result must not depend on the frames before it.
    """

    settings: HandSettings = field(default_factory=HandSettings)
    video: bool = False

    def __post_init__(self) -> None:
        self._graphs: dict[tuple[int, bool], object] = {}
        self._lock = threading.Lock()

    def _model(self, complexity: int, tracking: bool):
        """MediaPipe's graph for this landmark model; ``tracking`` only for the first pass of video mode
        (a bordered frame has another size, and must not disturb the tracked one)."""
        key = (complexity, tracking)
        if key not in self._graphs:
            import mediapipe as mp

            self._graphs[key] = mp.solutions.hands.Hands(
                static_image_mode=not tracking,
                max_num_hands=self.settings.max_num_hands,
                model_complexity=complexity,
                min_detection_confidence=self.settings.min_detection_confidence,
                min_tracking_confidence=self.settings.min_tracking_confidence,
            )
        return self._graphs[key]

    def detect(self, image: np.ndarray, fretboard_box=None) -> HandsResult:
        """Find the hands in one frame.

        Args:
            image: RGB uint8 array (H, W, 3).
            fretboard_box: optional (4,) x1, y1, x2, y2 pixels of the fretboard, to pick the fretting hand.

        Returns:
            The hands in this frame's pixel coordinates; empty when there is none.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        small = np.ascontiguousarray(_shrink(image, self.settings.max_side))
        for step, (complexity, border) in enumerate(self.settings.passes):
            tracking = self.video and step == 0
            with self._lock:
                results = self._model(complexity, tracking).process(_with_border(small, border))
            if results.multi_hand_landmarks:
                break
        # Landmarks are normalised, so the shrunk frame's result holds for the original size as is.
        found = HandsResult.from_mediapipe(results, width, height, self.settings, fretboard_box)
        if not found or not border:
            return found
        hands = [_unbordered(hand, border, small.shape, width, height) for hand in found.hands]
        return HandsResult.from_hands(hands, width, height, self.settings, fretboard_box)

    def close(self) -> None:
        """Free MediaPipe's graphs; the detector can be used again (it re-creates them)."""
        with self._lock:
            for graph in self._graphs.values():
                graph.close()
            self._graphs.clear()

    def __enter__(self) -> HandDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the longest side is at most ``max_side`` (keeps aspect); 0 or small images unchanged."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if not max_side or longest <= max_side:
        return image
    scale = max_side / longest
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def _with_border(image: np.ndarray, border: float) -> np.ndarray:
    """The image inside a black border of ``border`` times its width (left, right) and height (top, bottom)."""
    if not border:
        return image
    height, width = image.shape[:2]
    dy, dx = round(border * height), round(border * width)
    return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _unbordered(hand: Hand, border: float, shape: tuple[int, ...], width: int, height: int) -> Hand:
    """A hand found in the bordered version of a detected image of ``shape``, in the frame's own
    coordinates (``width`` x ``height``): x' = (x * padded width - left border) / width, the same for y;
    z is in units of the width, so it scales by padded width / width."""
    small_h, small_w = shape[:2]
    dy, dx = round(border * small_h), round(border * small_w)
    grow = np.array([(small_w + 2 * dx) / small_w, (small_h + 2 * dy) / small_h, (small_w + 2 * dx) / small_w],
                    np.float32)
    shift = np.array([dx / small_w, dy / small_h, 0.0], np.float32)
    return Hand.from_normalised(hand.landmarks_norm * grow - shift, hand.handedness, hand.score, width, height)
