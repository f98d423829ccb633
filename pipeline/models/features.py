"""Feature vectors of a fretting hand for the landmark chord models.

Two versions, compared by cross-validation when a model is trained (the better one is kept and its
name written in the model's card, so a saved model always computes the features it was trained on):

- ``raw63``: the 21 x 3 normalised MediaPipe landmarks as they are, the seed's features. They keep
  where the hand is in the frame, which with a fixed camera says which fret it is on.
- ``centred``: landmarks relative to the wrist, scaled by the wrist-to-middle-knuckle length in
  pixels, plus the wrist's place in the frame (x, y) and the hand's size in the frame (66 values).
  Less tied to one camera, but less accurate on it.

Measured on the shared real frames (train split, 5-fold CV, SVM): raw63 0.940, centred 0.913.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pipeline.core.hands import Hand, HandsResult


def _raw63(hand: Hand) -> np.ndarray:
    return hand.landmarks_norm.reshape(-1)


def _centred(hand: Hand) -> np.ndarray:
    points = hand.landmarks_px - hand.landmarks_px[0]
    scale = max(float(np.linalg.norm(points[9, :2])), 1e-6)
    size_in_frame = float(np.linalg.norm(hand.landmarks_norm[9, :2] - hand.landmarks_norm[0, :2]))
    return np.concatenate([(points / scale).reshape(-1), hand.landmarks_norm[0, :2], [size_in_frame]])


FEATURE_VERSIONS: dict[str, Callable[[Hand], np.ndarray]] = {"raw63": _raw63, "centred": _centred}
"""Feature version name -> function of a hand to a 1-D float vector."""


def hand_features(hand: Hand, version: str = "raw63") -> np.ndarray:
    """The feature vector of one hand.

    Args:
        hand: a detected hand.
        version: a key of :data:`FEATURE_VERSIONS`.

    Returns:
        float32 vector (63 values for raw63, 66 for centred).
    """
    if version not in FEATURE_VERSIONS:
        raise ValueError(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}")
    return FEATURE_VERSIONS[version](hand).astype(np.float32)


def features_matrix(results: Sequence[HandsResult], version: str = "raw63") -> tuple[np.ndarray, np.ndarray]:
    """Features of the fretting hand of each frame.

    Args:
        results: hands per frame.
        version: feature version.

    Returns:
        ``(X, covered)``: X float32 (n_covered, D) for the frames with a hand, in order; covered bool
        (n,) marking which frames those are.
    """
    covered = np.array([result.fretting is not None for result in results], dtype=bool)
    rows = [hand_features(result.fretting, version) for result in results if result.fretting is not None]
    width = len(rows[0]) if rows else len(hand_features(_DUMMY_HAND, version))
    return (np.stack(rows) if rows else np.zeros((0, width), np.float32)), covered


_DUMMY_HAND = Hand.from_normalised(np.full((21, 3), 0.5, np.float32), "Right", 1.0, 2, 2)
