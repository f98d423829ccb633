"""Which fingers decided a landmark model's chord: attributions of the finger groups of
:data:`pipeline.core.hands.FINGERS` (Captum ``FeatureAblation`` or ``ShapleyValueSampling``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.hands import FINGERS, N_LANDMARKS, Hand
from pipeline.explain.checks import check_choice, target_index
from pipeline.models.features import hand_features

LANDMARK_METHODS = ("ablation", "shapley")
"""How finger groups are attributed: one ablation per group, or sampled Shapley values."""


@dataclass
class FingerAttribution:
    """Which finger groups decided a landmark model's chord.

    Attributes:
        scores: finger group name (thumb, index, middle, ring, little, palm) -> attribution: the drop
            of the target's probability when that group is removed (ablation) or its Shapley value.
        target: the chord explained.
        probability: the model's probability of ``target`` with the hand as seen.
        hand: the fretting hand explained (for drawing).
        settings: method, baseline, samples.
        seconds: wall-clock time.
    """

    scores: dict[str, float]
    target: str
    probability: float
    hand: Hand | None = None
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def decisive(self) -> str:
        """The finger group with the largest attribution."""
        return max(self.scores, key=self.scores.get)


FINGER_NAMES = tuple(FINGERS)


def finger_mask():
    """Captum's feature mask of the finger groups.

    Returns:
        (1, 21, 3) long tensor: each landmark's finger group, an index into :data:`FINGER_NAMES`.
    """
    import torch

    mask = torch.zeros(1, N_LANDMARKS, 3, dtype=torch.long)
    for group, name in enumerate(FINGER_NAMES):
        for landmark in FINGERS[name]:
            mask[0, landmark, :] = group
    return mask


class FingerAblation:
    """Attribute a landmark model's chord to finger groups (thumb, index, middle, ring, little, palm) with
    Captum ``FeatureAblation`` (or ``ShapleyValueSampling``) over the 21 x 3 landmarks.

    A group is removed by moving its landmarks to the baseline and recomputing the model's features
    (any feature version), so the same code serves ``raw63`` and ``centred`` models.

    Args:
        model: a :class:`~pipeline.models.landmark.LandmarkChordModel`.
        method: "ablation" (Captum FeatureAblation, one pass per group) or "shapley" (Captum
            ShapleyValueSampling, ``n_samples`` permutations).
        baseline: "centroid" (a removed landmark moves to the hand's centroid: the finger's shape is
            gone, the hand's place kept), "wrist" (moves onto the wrist; the palm group then moves to the
            centroid) or a (21, 3) array of normalised landmarks.
        n_samples: permutations for "shapley".
    """

    def __init__(self, model, method: str = "ablation", baseline: str | np.ndarray = "centroid",
                 n_samples: int = 25) -> None:
        self.model, self.method, self.baseline, self.n_samples = model, method, baseline, n_samples

    def attribute(self, hand: Hand, target: str | int | None = None, width: int | None = None,
                  height: int | None = None) -> FingerAttribution:
        """Which finger groups decided the model's chord on one hand.

        Args:
            hand: the fretting hand (``HandsResult.fretting``).
            target: chord to explain; None: the predicted one.
            width, height: the frame's size in pixels (default: recovered from the hand's two coordinate
                forms).

        Returns:
            A :class:`FingerAttribution`.

        Raises:
            InputError: no hand, an unknown method, baseline or target.
        """
        import torch
        from captum.attr import FeatureAblation, ShapleyValueSampling

        model, baseline, n_samples = self.model, self.baseline, self.n_samples
        start = time.perf_counter()
        if hand is None:
            raise InputError("No hand to explain: the landmark model decides only frames where a hand is found.")
        method = check_choice(self.method, LANDMARK_METHODS, "method")
        norm = np.asarray(hand.landmarks_norm, np.float32).reshape(N_LANDMARKS, 3)
        if width is None or height is None:
            px = np.asarray(hand.landmarks_px, np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.nanmedian(np.where(np.abs(norm[:, 0]) > 1e-6, px[:, 0] / norm[:, 0], np.nan))
                h = np.nanmedian(np.where(np.abs(norm[:, 1]) > 1e-6, px[:, 1] / norm[:, 1], np.nan))
            width = int(round(w)) if np.isfinite(w) else 1
            height = int(round(h)) if np.isfinite(h) else 1
        if isinstance(baseline, str):
            centroid = np.broadcast_to(norm.mean(0), norm.shape)
            if baseline == "centroid":
                reference = np.array(centroid)
            elif baseline == "wrist":
                reference = np.broadcast_to(norm[FINGERS["palm"][0]], norm.shape).copy()
                reference[list(FINGERS["palm"])] = centroid[list(FINGERS["palm"])]
            else:
                raise InputError(f"Unknown landmark baseline {baseline!r}; choose centroid, wrist or a (21, 3) array.")
            baseline_name = baseline
        else:
            reference = np.asarray(baseline, np.float32)
            if reference.shape != (N_LANDMARKS, 3):
                raise InputError(f"A landmark baseline must be a (21, 3) array; got shape {reference.shape}.")
            baseline_name = "array"
        version = model.card.feature_version

        def forward(points):
            rows = [hand_features(Hand.from_normalised(p, hand.handedness, hand.score, width, height), version)
                    for p in points.detach().cpu().numpy().reshape(-1, N_LANDMARKS, 3)]
            return torch.as_tensor(np.asarray(model.predict_proba(np.stack(rows)), np.float32))

        inputs = torch.from_numpy(norm[None].copy())
        base = torch.from_numpy(np.asarray(reference, np.float32)[None].copy())
        p = forward(inputs)[0].numpy()
        index = target_index(model.classes, target, p)
        mask = finger_mask()
        if method == "ablation":
            attribution = FeatureAblation(forward).attribute(inputs, baselines=base, target=index, feature_mask=mask,
                                                             perturbations_per_eval=len(FINGER_NAMES))
        else:
            torch.manual_seed(0)  # Shapley sampling draws permutations: the same hand gives the same answer
            attribution = ShapleyValueSampling(forward).attribute(
                inputs, baselines=base, target=index, feature_mask=mask, n_samples=int(n_samples),
                perturbations_per_eval=len(FINGER_NAMES))
        values = attribution[0].numpy()
        scores = {name: float(values[FINGERS[name][0], 0]) for name in FINGER_NAMES}
        return FingerAttribution(scores=scores, target=model.classes[index], probability=float(p[index]), hand=hand,
                                 settings={"method": method, "baseline": baseline_name, "feature_version": version,
                                           "n_samples": int(n_samples) if method == "shapley" else 0},
                                 seconds=time.perf_counter() - start)


__all__ = ["FINGER_NAMES", "FingerAblation", "FingerAttribution", "LANDMARK_METHODS", "finger_mask"]
