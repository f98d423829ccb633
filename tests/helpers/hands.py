"""Hand landmarks made up for tests: a fingertip pattern per chord, so a tiny landmark model learns them."""

from __future__ import annotations

import numpy as np

from pipeline.core.hands import Hand, HandsResult

CHORDS = ["A", "C", "G", "None"]


def chord_hands(n_per_chord: int, seed: int, with_empty: int = 0):
    """Hands whose fingertip pattern depends on the chord, plus some frames with no hand."""
    rng = np.random.default_rng(seed)
    base = rng.random((len(CHORDS), 21, 3)) * 0.3 + 0.3
    results, labels = [], []
    for k, chord in enumerate(CHORDS):
        for _ in range(n_per_chord):
            points = base[k] + rng.normal(0, 0.01, (21, 3))
            results.append(HandsResult.from_hands([Hand.from_normalised(points, "Right", 0.9, 640, 360)], 640, 360))
            labels.append(chord)
    for _ in range(with_empty):
        results.append(HandsResult((), None, 640, 360))
        labels.append("C")
    return results, labels
