"""An image model's view and explanation of an analysed frame, in the frame's own coordinates.

What the studio's Analyze and Explain pages and the Space show beside a frame of an analysis: the input
the model saw (the frame, or the region it was trained on) and the occlusion heatmap placed back on the
whole frame; and :func:`explain_analysed_frame`, the Space's whole explanation of one analysed frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import NO_CHORD
from pipeline.core.errors import InputError
from pipeline.core.types import Analysis, FrameResult, ModelSet
from pipeline.explain import service
from pipeline.explain.attribution import Attribution
from pipeline.text import finger_note, frame_summary, heatmap_note, no_hand_attribution_note, too_small_note
from pipeline.timeline.analyze import image_model_input
from pipeline.vision.drawing import annotate_frame
from pipeline.vision.overlays import FingerAnnotator, HeatmapAnnotator
from pipeline.vision.video import read_frame


def model_input(image: np.ndarray, frame: FrameResult, model) -> tuple[np.ndarray, object | None]:
    """What an image model sees of an analysed frame, as :func:`pipeline.timeline.analyze.analyze_clip` gives it
    (:func:`pipeline.timeline.analyze.image_model_input` on the frame's fretboard, hands and region).

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`~pipeline.core.types.FrameResult` (hands, fretboard, region).
        model: an image chord model; one trained on regions (``card.input_region != "frame"``) sees the
            region :func:`pipeline.vision.regions.classifier_region` picks (the analysis's own when it has one).

    Returns:
        (the model's input, RGB uint8; the :class:`~pipeline.vision.regions.Region` cut out, or None for the
        whole frame).
    """
    return image_model_input(image, model, frame.fretboard, frame.hands, frame.region)


def explain_image_frame(image: np.ndarray, frame: FrameResult, model, target: str | None = None) -> Attribution:
    """The occlusion heatmap of an image model on an analysed frame, in the frame's coordinates.

    Runs :func:`pipeline.explain.service.explain_frame` with its default settings on what the model sees
    (:func:`model_input`); a region's map is placed where the region lies in the frame, zero elsewhere
    (the model never saw the rest).

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`~pipeline.core.types.FrameResult`.
        model: an image chord model.
        target: chord to explain; None explains the model's top chord.

    Returns:
        The :class:`~pipeline.explain.attribution.Attribution`, ``map`` (H, W) float32; ``settings["region"]`` names
        what the model saw (``"frame"``, ``"fretboard"`` or ``"hand"``).

    Raises:
        InputError: an unknown target for this model (and what ``explain_frame`` raises).
    """
    seen, region = model_input(image, frame, model)
    attribution = service.explain_frame(seen, model, target)  # looked up per call: tests count the calls
    attribution.settings = {**attribution.settings, "region": region.source if region is not None else "frame"}
    if region is None:
        return attribution
    height, width = image.shape[:2]
    x1, y1, x2, y2 = np.clip(np.round(region.box).astype(np.int64), 0, [width, height, width, height])
    x1, y1 = min(x1, width - 1), min(y1, height - 1)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    full = np.zeros((height, width), np.float32)
    full[y1:y2, x1:x2] = cv2.resize(attribution.map, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    attribution.map = full
    return attribution


def explained_model_kind(models: ModelSet, choice: str | None) -> str:
    """The model an explanation is about, "image" or "landmarks".

    Args:
        models: the model set that analysed the clip.
        choice: "image", "landmarks", or "auto" / None (the image model when there is one).

    Returns:
        "image" or "landmarks".

    Raises:
        InputError: an unknown choice, or the chosen kind of model is not in ``models``.
    """
    choice = choice or "auto"
    if choice == "auto":
        return "image" if models.image is not None else "landmarks"
    if choice not in ("image", "landmarks"):
        raise InputError(f"Unknown model {choice!r}; choose auto, image or landmarks.")
    if getattr(models, choice) is None:
        other = "landmarks" if choice == "image" else "image"
        raise InputError(f"This Space runs no {'image' if choice == 'image' else 'landmark'} model; explain the "
                         f"{other} model, or add one to CHORD_SPACE_MODELS.")
    return choice


def frame_attribution(image: np.ndarray, frame: FrameResult, target: str | None, models: ModelSet,
                      which: str) -> tuple[np.ndarray | None, str, str]:
    """Why one model said what it said on an analysed frame, drawn: an occlusion heatmap for the image
    model, the fingers' attribution for the landmark model; or no picture and why (no hand, or evidence
    too small to draw: :func:`pipeline.explain.service.too_small_to_draw`).

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`~pipeline.core.types.FrameResult`.
        target: chord to explain, or None for the model's own answer.
        models: the model set that analysed the clip.
        which: "image" or "landmarks" (:func:`explained_model_kind`).

    Returns:
        (RGB uint8 (H, W, 3) picture or None, the picture's title, a markdown note).

    Raises:
        InputError: ``target`` is not one of the explained model's chords.
    """
    model = getattr(models, which)
    if target is not None and target not in model.classes:
        raise InputError(f"The {'image' if which == 'image' else 'landmark'} model does not know {target}: it "
                         f"answers {', '.join(model.classes)}. Choose one of those, or (the top chord).")
    if which == "image":
        result = explain_image_frame(image, frame, models.image, target)
        if service.too_small_to_draw(result):
            return None, f"Occlusion heatmap: {result.target}", too_small_note(
                "heatmap", result.target, result.probability, service.evidence_size(result))
        picture = HeatmapAnnotator().annotate(image, result)
        return picture, f"Occlusion heatmap: {result.target}", heatmap_note(
            result.target, result.probability, result.settings["region"], result.seconds)
    hand = frame.hands.fretting
    if hand is None:
        return None, "Attribution: no hand in this frame", no_hand_attribution_note(models.image is not None)
    result = service.explain_landmarks(hand, models.landmarks, target=target)
    if service.too_small_to_draw(result):
        return None, f"Finger attribution: {result.target}", too_small_note(
            "fingers", result.target, result.probability, service.evidence_size(result))
    picture = FingerAnnotator().annotate(image, result)
    return picture, f"Finger attribution: {result.target}", finger_note(
        result.target, result.probability, result.scores, result.decisive, models.image is not None)


@dataclass
class FrameExplanation:
    """One analysed frame explained, as the Space shows it.

    Attributes:
        picture: the frame with its hands drawn, RGB uint8 (H, W, 3).
        probabilities: chord -> the frame's (fused) probability; ``{NO_CHORD: 0.0}`` when undecided.
        attribution: the heatmap or finger picture, RGB uint8 (H, W, 3), or None.
        title: the attribution picture's title.
        note: markdown: the frame's chords, each model's top answers, and the attribution's reading.
    """

    picture: np.ndarray
    probabilities: dict[str, float]
    attribution: np.ndarray | None
    title: str
    note: str


def explain_analysed_frame(clip: str | Path, analysis: Analysis, number: int, models: ModelSet,
                           target: str | None = None, choice: str | None = "auto") -> FrameExplanation:
    """Explain one frame of an analysis: the frame with its hand, each chord's probability, and why one
    model chose its chord (:func:`frame_attribution`).

    Args:
        clip: the analysed clip.
        analysis: its analysis.
        number: the sampled frame's number (0 <= number < len(analysis.frames)).
        models: the model set that analysed it.
        target: the chord to explain; None for the model's own answer.
        choice: "image", "landmarks", or "auto" (:func:`explained_model_kind`).

    Returns:
        The :class:`FrameExplanation`.

    Raises:
        InputError: the chosen model is not here, an unknown target, or an unreadable clip.
    """
    which = explained_model_kind(models, choice)
    frame = analysis.frames[number]
    image = read_frame(clip, frame.time).image
    picture = annotate_frame(image, frame.hands, None)  # the chord is in the note and the probabilities
    probabilities = dict(frame.prediction.probabilities) if frame.prediction.covered else {}
    heatmap, title, note = frame_attribution(image, frame, target, models, which)
    return FrameExplanation(picture, probabilities or {NO_CHORD: 0.0}, heatmap, title,
                            "\n\n".join(frame_summary(number, frame) + [note]))
