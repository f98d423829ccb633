"""A stand-in chord model whose answers carry familiarity, for the tests of what the pipeline, the CLI
and the apps do with it (issue 15): the models' own familiarity is tested with the models."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from pipeline.core.types import ChordPrediction

THRESHOLD = 0.5
"""The familiarity threshold of :class:`FamiliarityModel`'s card."""


class FamiliarityModel:
    """A chord model (the :class:`~pipeline.core.types.ChordModel` protocol) that answers ``chord`` at
    probability 1 on every frame, hand or not, familiar or not as ``familiar`` says by the frame's place
    in the batch (familiarity 0.9 or 0.1 against a threshold of 0.5; cycled when the batch is longer).

    In the landmarks slot of a :class:`~pipeline.core.types.ModelSet` it gets the whole clip's frames in
    one batch (:func:`pipeline.timeline.analyze.analyze_clip`), so ``familiar[k]`` is frame ``k``'s.
    """

    def __init__(self, familiar: Sequence[bool], chord: str = "C"):
        self.familiar = list(familiar)
        self.chord = chord
        self.card = SimpleNamespace(kind="landmarks", synthetic=False, trained_on="fake footage (test)",
                                    metrics={}, cv_accuracy=None,
                                    familiarity={"method": "fake", "threshold": THRESHOLD, "domains": ["fake"]})

    @property
    def classes(self) -> list[str]:
        """C, G and None."""
        return ["C", "G", "None"]

    def predict_proba(self, inputs) -> np.ndarray:
        """Probability 1 on ``chord`` for every input."""
        rows = np.zeros((len(inputs), len(self.classes)))
        rows[:, self.classes.index(self.chord)] = 1.0
        return rows

    def predict(self, inputs) -> list[ChordPrediction]:
        """One covered answer per input, familiar as ``familiar`` says."""
        return [ChordPrediction.from_row(row, self.classes, 0.9 if self.familiar[k % len(self.familiar)] else 0.1,
                                         THRESHOLD)
                for k, row in enumerate(self.predict_proba(inputs))]

    def save(self, folder):
        """Not saved: it lives in the test."""
        raise NotImplementedError("a test's stand-in model is not saved")
