"""Fusing chord models per frame: the landmark model and an image model into one prediction.

Log-linear pooling (a weighted product of experts): the fused probability of a chord is proportional
to ``p_landmarks(chord) ** w_landmarks * p_image(chord) ** w_image``, the weights scaled to average 1
over the models that answer on the frame (only their ratio is a setting: a weight of 199 against 9 used
as is would raise the probabilities to the 199th power and print 1.000 on every frame). A model that
could not decide (no hand for the landmark model) simply drops out, so a frame without a hand gets the
image model's answer alone, as it is. Agreement sharpens the answer; a confident model outweighs an
unsure one.

Weights come from how reliable each model proved on frames it did not train on, as its card records
(:meth:`FusionWeights.from_models`): the odds of being right, ``acc / (1 - acc)``. Equal weights let
a weaker model veto: on the real val frames the landmark SVM, when wrong, gives the true chord about
0.001, and pooled 1:1 with the CNN (100 % alone) the fused accuracy fell to 98.2 %.

That accuracy holds on frames like the model's training frames only. On footage unlike them the models
score at chance (issue 15: the CNN trained on one player 0.10 on other players, 10 classes; the landmark
model 0.02-0.07) while still answering 1.000. So the weight is the model's reliability *on the frame*
(:func:`frame_weight`): none where it could not decide (no hand found, for the landmark model), the
odds of a coin flip (:data:`CHANCE_ODDS`) where it calls the frame unfamiliar, its card's odds
elsewhere. And a fused answer is never surer than the evidence: a model's answer on a frame it calls
unfamiliar is tempered toward uniform (:data:`TEMPER`) before pooling, so the more of the say lies with
unfamiliar models the flatter the fused answer; and on such a frame the fused top probability never
tops the most confident model's own (tempered) one: agreement of two guesses does not make an answer
(:func:`temper`). A lone model is tempered the same way on a frame it calls unfamiliar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from pipeline.core.chords import VOCABULARY
from pipeline.core.types import NOT_COVERED, ChordPrediction, FusionWeights, frame_familiar

_FLOOR = 1e-4  # a chord one model does not know keeps a little mass instead of vetoing the other

CHANCE_ODDS = 1.0
"""A model's weight, at most, on a frame it calls unfamiliar: the odds of a coin flip (accuracy 0.5, the
floor :meth:`FusionWeights.from_models` clips to). Out of its domain a model scores at chance, so its card's
accuracy says nothing there; a familiar model beside it then has the larger say."""

TEMPER = 0.75
"""Share of a model's distribution moved to uniform on a frame it calls unfamiliar, before pooling. Models
answer 1.000 on such frames and are right at chance (0.10-0.24 measured, issue 15); tempered, a 1.000
answer counts as ``0.25 + 0.75 / C`` (0.32 over 11 chords), the order of what it is worth, and its
chord is kept."""


def prediction_from_probabilities(probabilities: Mapping[str, float]) -> ChordPrediction:
    """A covered prediction from chord -> probability (normalised here)."""
    total = sum(probabilities.values())
    if not probabilities or total <= 0:
        return NOT_COVERED
    normed = {chord: float(p) / total for chord, p in probabilities.items()}
    best = max(normed, key=normed.get)
    return ChordPrediction(best, normed[best], normed, covered=True)


def frame_weight(prediction: ChordPrediction, weight: float) -> float:
    """A model's weight on one frame: its reliability there, not only its card's.

    Args:
        prediction: the model's answer for the frame.
        weight: its weight from its card (odds of being right, :meth:`FusionWeights.from_models`).

    Returns:
        0 where it could not decide (no hand found, for the landmark model); at most
        :data:`CHANCE_ODDS` where it calls the frame unfamiliar; ``weight`` otherwise (familiar, or
        familiarity unknown).
    """
    if not prediction.covered:
        return 0.0
    if prediction.familiar is False:
        return min(weight, CHANCE_ODDS)
    return weight


def temper(probabilities: np.ndarray, amount: float, ceiling: float = 1.0) -> np.ndarray:
    """A distribution moved toward uniform: by ``amount``, then further while its top exceeds ``ceiling``.

    Mixing with uniform keeps the order of the chords (the answer stays the same), only less sure.

    Args:
        probabilities: (C,) a distribution.
        amount: share moved to uniform, 0 to 1.
        ceiling: the most the top probability may be (at least ``1 / C``).

    Returns:
        (C,) the tempered distribution.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    uniform = 1.0 / len(probabilities)
    mixed = (1.0 - amount) * probabilities + amount * uniform
    top = float(mixed.max())
    if top > ceiling and top > uniform:
        extra = (top - max(ceiling, uniform)) / (top - uniform)
        mixed = (1.0 - extra) * mixed + extra * uniform
    return mixed


def fuse(predictions: Sequence[ChordPrediction], weights: Sequence[float]) -> ChordPrediction:
    """Fuse one frame's predictions from several models by weighted log-linear pooling.

    Args:
        predictions: one per model; those with ``covered=False`` take no part.
        weights: one per model, from the cards (:meth:`FusionWeights.from_models`); each becomes the model's
            weight on this frame (:func:`frame_weight`), and those of the models taking part are scaled to
            average 1 (a lone model's probabilities come back as they are on a frame it does not call
            unfamiliar).

    Returns:
        The fused prediction over the union of the models' chords (vocabulary order), tempered on a frame
        some model calls unfamiliar (see the module docstring), with the frame's ``familiar`` flag
        (:func:`pipeline.core.types.frame_familiar`) and, from a lone model, its ``familiarity``; not
        covered when no model could decide.
    """
    voters = [(p, frame_weight(p, w)) for p, w in zip(predictions, weights)]
    voters = [(p, w) for p, w in voters if w > 0]
    if not voters:
        return NOT_COVERED
    unsure = any(p.familiar is False for p, _ in voters)
    if len(voters) == 1 and not unsure:
        return voters[0][0]
    evidence = [_evidence(p) for p, _ in voters]
    chords = [c for c in VOCABULARY if any(c in e for e in evidence)]
    scale = len(voters) / sum(w for _, w in voters)
    log_score = np.zeros(len(chords))
    for probabilities, (_, weight) in zip(evidence, voters):
        probs = np.array([probabilities.get(c, 0.0) for c in chords])
        log_score += weight * scale * np.log(np.clip(probs, _FLOOR, None))
    fused = np.exp(log_score - log_score.max())
    fused /= fused.sum()
    if unsure:  # agreement does not sharpen the answer past the evidence
        fused = temper(fused, 0.0, max(max(e.values()) for e in evidence))
    result = prediction_from_probabilities(dict(zip(chords, fused)))
    return replace(result, familiar=frame_familiar(predictions),
                   familiarity=voters[0][0].familiarity if len(voters) == 1 else None)


def _evidence(prediction: ChordPrediction) -> dict[str, float]:
    """What a model's answer is worth on the frame: its probabilities, tempered by :data:`TEMPER` toward
    uniform over its chords where it calls the frame unfamiliar."""
    if prediction.familiar is not False:
        return prediction.probabilities
    chords = list(prediction.probabilities)
    tempered = temper(np.array([prediction.probabilities[c] for c in chords]), TEMPER)
    return dict(zip(chords, map(float, tempered)))


def fuse_frames(
    landmarks: Sequence[ChordPrediction], image: Sequence[ChordPrediction], weights: FusionWeights = FusionWeights()
) -> list[ChordPrediction]:
    """Fuse the landmark and image model frame by frame (see :func:`fuse`)."""
    if len(landmarks) != len(image):
        raise ValueError("landmark and image predictions must be for the same frames")
    return [fuse((a, b), (weights.landmarks, weights.image)) for a, b in zip(landmarks, image)]
