"""The result of an occlusion explanation, and how two of them are compared."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class Attribution:
    """An occlusion attribution map of one frame.

    Attributes:
        map: (H, W) float32 in frame coordinates: the mean drop of the target's probability when the
            pixel is occluded (positive: evidence for the target).
        target: the chord explained.
        probability: the model's probability of ``target`` on the unoccluded frame.
        settings: method, window and stride (frame pixels, and as used), baseline, passes, input size...
        seconds: wall-clock time of the explanation.
    """

    map: np.ndarray
    target: str
    probability: float
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def peak(self) -> tuple[int, int]:
        """(row, column) of the largest attribution."""
        return tuple(int(v) for v in np.unravel_index(int(np.argmax(self.map)), self.map.shape))



def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two attribution maps (``b`` resized to ``a``'s shape if they differ).

    Args:
        a: (H, W) map.
        b: (h, w) map.

    Returns:
        The correlation in [-1, 1]; NaN when either map is constant.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


__all__ = ["Attribution", "map_correlation"]
