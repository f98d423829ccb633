"""Hand landmarks with MediaPipe (0.10.21, ``mp.solutions.hands``).

:class:`HandDetector` turns an RGB frame into a :class:`pipeline.core.hands.HandsResult` (the hands as
data, and the rules that choose the fretting hand, live there). A frame with no hand gives an empty
result, never an exception.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.core.hands import HandSettings, HandsResult


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
        self._hands = None
        self._lock = threading.Lock()

    def _model(self):
        if self._hands is None:
            import mediapipe as mp

            self._hands = mp.solutions.hands.Hands(
                static_image_mode=not self.video,
                max_num_hands=self.settings.max_num_hands,
                model_complexity=self.settings.model_complexity,
                min_detection_confidence=self.settings.min_detection_confidence,
                min_tracking_confidence=self.settings.min_tracking_confidence,
            )
        return self._hands

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
        small = _shrink(image, self.settings.max_side)
        with self._lock:
            results = self._model().process(np.ascontiguousarray(small))
        # Landmarks are normalised, so the shrunk frame's result holds for the original size as is.
        return HandsResult.from_mediapipe(results, width, height, self.settings, fretboard_box)

    def close(self) -> None:
        """Free MediaPipe's graph; the detector can be used again (it re-creates it)."""
        with self._lock:
            if self._hands is not None:
                self._hands.close()
                self._hands = None

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
