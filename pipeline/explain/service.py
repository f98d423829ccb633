"""What the apps and the command line call to explain a chord model's answer.

* :func:`explain_frame`: where an image chord model looks, an occlusion heatmap of one frame, by one of
  five methods that compute the same quantity (:class:`~pipeline.core.types.ExplainMethod`):
  ``"plain"`` (:class:`~pipeline.explain.occlusion.Occlusion`, exactly Captum), ``"batched"``
  (:class:`~pipeline.explain.occlusion.MaskOcclusion`), ``"tokens"``
  (:class:`~pipeline.explain.tokens.TokenOcclusion`), ``"adaptive"``
  (:class:`~pipeline.explain.adaptive.AdaptiveOcclusion`) and ``"auto"`` (``adaptive``).
* :func:`explain_landmarks`: which fingers decided a landmark model's chord
  (:class:`~pipeline.explain.fingers.FingerAblation`).
* :func:`explain_path`: one frame of a clip or a still image, explained and drawn to a PNG (the CLI).
* :func:`untrained_like`: the same image model with random weights, to compare against.

Drawing is apart from computing: :mod:`pipeline.vision.overlays`.
"""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.hands import Hand
from pipeline.core.types import ExplainMethod
from pipeline.explain.adaptive import AdaptiveOcclusion
from pipeline.explain.attribution import Attribution
from pipeline.explain.checks import DEFAULT_REFINE, check_choice, check_image
from pipeline.explain.fingers import FingerAblation, FingerAttribution
from pipeline.explain.occlusion import FrameOcclusion, MaskOcclusion, Occlusion
from pipeline.explain.tokens import TokenOcclusion
from pipeline.models.image.cnn import CNNChordModel, cnn_from_card
from pipeline.models.image.transformer import TransformerChordModel
from pipeline.models.landmark import LandmarkChordModel
from pipeline.vision.hands import HandDetector
from pipeline.vision.overlays import FingerAnnotator, HeatmapAnnotator
from pipeline.vision.video import read_frame

METHODS = (ExplainMethod.AUTO, ExplainMethod.PLAIN, ExplainMethod.BATCHED, ExplainMethod.TOKENS,
           ExplainMethod.ADAPTIVE)
"""The occlusion methods :func:`explain_frame` takes (as strings too)."""
OCCLUSIONS: dict[str, type[FrameOcclusion]] = {
    ExplainMethod.PLAIN: Occlusion, ExplainMethod.BATCHED: MaskOcclusion, ExplainMethod.TOKENS: TokenOcclusion,
    ExplainMethod.ADAPTIVE: AdaptiveOcclusion,
}
"""Method -> the class that computes it (``auto`` is ``adaptive``)."""
EVIDENCE_FLOOR = 0.01
"""Evidence below this, in probability, is too small to draw: a target the model gives under 1 %, an
occlusion map whose largest drop is under 0.01, finger scores all within 0.01 of each other (a colour
scale stretched over them would show noise as evidence)."""


def evidence_size(result: Attribution | FingerAttribution) -> float:
    """How much an explanation has to show, in probability: an occlusion map's largest drop, or the spread
    (largest minus smallest) of finger scores; 0 for an empty or undefined one.

    Args:
        result: an occlusion :class:`~pipeline.explain.attribution.Attribution` or a
            :class:`~pipeline.explain.fingers.FingerAttribution`.
    """
    scores = getattr(result, "scores", None)
    values = np.asarray(list(scores.values()) if scores is not None else result.map, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0
    return float(values.max() - values.min()) if scores is not None else float(values.max())


def too_small_to_draw(result: Attribution | FingerAttribution) -> bool:
    """Whether an explanation has too little evidence to draw (see :data:`EVIDENCE_FLOOR`).

    Args:
        result: an occlusion :class:`~pipeline.explain.attribution.Attribution` (its ``map``) or a
            :class:`~pipeline.explain.fingers.FingerAttribution` (its ``scores``).

    Returns:
        True when the target's probability is below the floor, the map's largest drop is below it, or the
        finger scores all lie within it of each other.
    """
    return not (result.probability >= EVIDENCE_FLOOR and evidence_size(result) >= EVIDENCE_FLOOR)


def explain_frame(
    image: np.ndarray,
    model,
    target: str | int | None = None,
    window: int | tuple[int, int] | None = None,
    stride: int | tuple[int, int] | None = None,
    baseline: str = "zero",
    method: ExplainMethod | str = ExplainMethod.AUTO,
    batch_size: int = 16,
    threads: int | None = None,
    refine: float = DEFAULT_REFINE,
) -> Attribution:
    """Occlusion attribution of an image chord model's answer on one frame.

    Args:
        image: RGB uint8 frame (H, W, 3) (or a crop: the map is then in the crop's coordinates).
        model: an :class:`~pipeline.models.image.base.TorchImageModel` (CNN, ViT / DINOv2, or any subclass).
        target: chord name (or column index) to explain; None explains the predicted chord.
        window: occlusion window in frame pixels, an int or (height, width); None: a square a sixth of
            the frame's shorter side (60 px on a 640x360 frame, the seed's setting).
        stride: step between windows in frame pixels; None: a third of the window (20 px).
        baseline: what occluded pixels become: "zero" (black), "blur" (a Gaussian blur of the frame at
            the window's scale) or "mean" (the frame's mean colour).
        method: an :class:`~pipeline.core.types.ExplainMethod` or its name: "auto", "plain", "batched",
            "tokens" or "adaptive" (see the module's docstring).
        batch_size: occluded copies per forward pass (``perturbations_per_eval``) for the fast methods.
        threads: torch intra-op threads for the call (None: torch's setting).
        refine: for "adaptive", windows next to an evaluated window whose log-odds drop is at least this
            share of the largest so far are evaluated, the rest interpolated; 0 evaluates every window.

    Returns:
        An :class:`~pipeline.explain.attribution.Attribution` whose ``map`` is (H, W) float32;
        ``settings["method"]`` names the method that ran (``"adaptive"`` for ``"auto"``).

    Raises:
        InputError: a bad image, window larger than the image, window or stride below 1 pixel, an
            unknown target, baseline or method, or "tokens" for a model without patch embeddings.
    """
    image = check_image(image)
    method = ExplainMethod(check_choice(method, METHODS, "explanation method"))
    if not 0 <= refine <= 1:
        raise InputError(f"refine must be between 0 (every window) and 1; got {refine!r}.")
    if method == ExplainMethod.AUTO:
        method = ExplainMethod.ADAPTIVE
    if method == ExplainMethod.ADAPTIVE:
        occlusion = AdaptiveOcclusion(model, batch_size, threads, refine)
    else:
        occlusion = OCCLUSIONS[method](model, batch_size, threads)
    return occlusion.attribute(image, target, window, stride, baseline)


def explain_landmarks(
    hand: Hand,
    model,
    target: str | int | None = None,
    method: str = "ablation",
    baseline: str | np.ndarray = "centroid",
    n_samples: int = 25,
    width: int | None = None,
    height: int | None = None,
) -> FingerAttribution:
    """Attribute a landmark model's chord to finger groups (thumb, index, middle, ring, little, palm).

    A group is removed by moving its landmarks to the baseline and recomputing the model's features
    (any feature version), so the same code serves ``raw63`` and ``centred`` models.

    Args:
        hand: the fretting hand (``HandsResult.fretting``).
        model: a :class:`~pipeline.models.landmark.LandmarkChordModel`.
        target: chord to explain; None: the predicted one.
        method: "ablation" (Captum FeatureAblation, one pass per group) or "shapley" (Captum
            ShapleyValueSampling, ``n_samples`` permutations).
        baseline: "centroid" (a removed landmark moves to the hand's centroid: the finger's shape is
            gone, the hand's place kept), "wrist" (moves onto the wrist; the palm group then moves to the
            centroid) or a (21, 3) array of normalised landmarks.
        n_samples: permutations for "shapley".
        width, height: the frame's size in pixels (default: recovered from the hand's two coordinate forms).

    Returns:
        A :class:`~pipeline.explain.fingers.FingerAttribution`.

    Raises:
        InputError: no hand, an unknown method, baseline or target.
    """
    return FingerAblation(model, method, baseline, n_samples).attribute(hand, target, width, height)


def untrained_like(model, seed: int = 0):
    """The same architecture with fresh random weights (for the trained vs untrained comparison).

    Args:
        model: a CNN or a fine-tuned / linear-probe transformer image model.
        seed: torch seed for the new weights.

    Returns:
        An image model of the same class, card and head shape, whose weights were never trained.
    """
    import torch

    torch.manual_seed(seed)
    card = copy.deepcopy(model.card)
    card.metrics, card.history = {}, []
    card.trained_on = "untrained (random weights)"
    if isinstance(model, CNNChordModel):
        return CNNChordModel(cnn_from_card(card), card)
    if isinstance(model, TransformerChordModel):
        from transformers import AutoModel

        backbone = AutoModel.from_config(model.backbone.config)
        head = model.head
        if isinstance(head, torch.nn.Module):
            head = torch.nn.Linear(head.in_features, head.out_features)
        return TransformerChordModel(backbone, model.processor, head, card)
    raise InputError(f"Cannot build an untrained copy of a {type(model).__name__}.")


def explain_path(path: str | Path, model, out: str | Path, time_s: float = 0.0, target: str | None = None,
                 **kwargs) -> tuple[Attribution | FingerAttribution, Path]:
    """Explain one frame of a clip (or a still image) and write the overlay as a PNG.

    Image models get an occlusion heatmap (:func:`explain_frame`, ``kwargs`` passed on); landmark models
    get finger attributions drawn on the hand (hands found with MediaPipe).

    Args:
        path: a video or still image.
        model: an image chord model or a landmark chord model.
        out: the PNG to write (its folder is created).
        time_s: the frame's time in seconds (ignored for a still image).
        target: chord to explain (None: the predicted one).

    Returns:
        (the attribution, the PNG path).

    Raises:
        InputError: unreadable input, a time outside the clip, no hand for a landmark model, bad settings.
    """
    frame = read_frame(path, float(time_s)).image
    if isinstance(model, LandmarkChordModel):
        with HandDetector(model.card.hand_settings) as detector:
            hands = detector.detect(frame)
        if hands.fretting is None:
            raise InputError(f"No hand found in {Path(path).name} at {time_s:g} s: "
                             "the landmark model cannot decide it.")
        result = explain_landmarks(hands.fretting, model, target=target, width=frame.shape[1], height=frame.shape[0])
        picture = FingerAnnotator().annotate(frame, result)
    else:
        result = explain_frame(frame, model, target=target, **kwargs)
        picture = HeatmapAnnotator().annotate(frame, result)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
        raise InputError(f"Cannot write {out}.")
    return result, out


__all__ = ["EVIDENCE_FLOOR", "METHODS", "OCCLUSIONS", "evidence_size", "explain_frame", "explain_landmarks",
           "explain_path", "too_small_to_draw", "untrained_like"]
