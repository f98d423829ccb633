"""A clip in, chords out: sample frames, find fretboard and hand, classify the chord, make a timeline.

Per sampled frame: the fretboard detector (if any) finds the neck, whose box also helps pick the
fretting hand; MediaPipe finds the hands; the landmark model reads the fretting hand and the image
model the frame (or the region :func:`pipeline.vision.regions.classifier_region` gives, when the model was
trained on regions: :func:`image_model_input`); :mod:`pipeline.timeline.fusion` pools their probabilities;
:mod:`pipeline.timeline.smoothing` turns the frames into a timeline.

Frames stream from :func:`pipeline.vision.video.iter_frames` one at a time; only the per-frame results
(landmarks and probabilities, a few hundred bytes each) are kept, and image-model inputs wait in a
batch of at most :data:`IMAGE_BATCH` frames.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.core.hands import CASCADE_HANDS, HandSettings, HandsResult
from pipeline.core.timeline import Timeline, timeline_from_frames
from pipeline.core.types import Analysis, ChordPrediction, FrameResult, FusionWeights, ModelSet
from pipeline.models.datasets import extract_landmarks
from pipeline.models.image.inputs import read_rgb, torch_threads
from pipeline.models.landmark import LandmarkChordModel
from pipeline.timeline.fusion import fuse
from pipeline.timeline.smoothing import SmoothingSettings, smooth, steady_flags
from pipeline.vision.detection import FretboardDetections
from pipeline.vision.hands import HandDetector, detect_stream
from pipeline.vision.regions import Region, classifier_region, crop_region, hand_choice_box
from pipeline.vision.video import iter_frames, probe

IMAGE_BATCH = 16
"""Image-model inputs waiting at most for one ``predict`` call (bounds memory; batches amortise the call)."""

PARALLEL_MIN_FRAMES = 16
"""Sampled frames from which a clip's hands are detected in several processes (below, starting them costs more)."""


def image_threads(hand_workers: int) -> int:
    """Torch threads for an analysis's image model: the cores left by this process's own work (it decodes the
    clip, and finds the hands itself when ``hand_workers`` is 1) and by the hand-detection processes, never
    more than torch's own setting (``OMP_NUM_THREADS``, or one per core; a batch's Ray workers have 1).

    Args:
        hand_workers: processes detecting hands meanwhile (1: this process; 0: no MediaPipe).

    Returns:
        ``min(torch threads, max(1, cores - max(1, hand_workers)))``.
    """
    import torch

    return min(torch.get_num_threads(), max(1, (os.cpu_count() or 1) - max(1, hand_workers)))


def resmooth(analysis: Analysis, settings: SmoothingSettings) -> Analysis:
    """The same frames smoothed another way (no model runs again).

    Args:
        analysis: an analysis from :func:`analyze_clip` (its per-frame fused probabilities are kept).
        settings: how per-frame chords become the timeline (see :mod:`pipeline.timeline.smoothing`).

    Returns:
        A new analysis whose frames' ``chord`` and ``unsure`` and whose timeline follow ``settings``:
        stretches of frames the models call unfamiliar (at least ``settings.min_duration`` long,
        :func:`pipeline.timeline.smoothing.steady_flags`) become unsure segments.
    """
    times = [f.time for f in analysis.frames]
    covered = [f.prediction.covered for f in analysis.frames]
    chords = smooth(times, analysis.probability_table(), analysis.classes, covered, settings)
    unsure = steady_flags(times, [f.familiar is False for f in analysis.frames], settings.min_duration)
    frames = [replace(f, chord=c, unsure=u) for f, c, u in zip(analysis.frames, chords, unsure)]
    probabilities = [f.prediction.probabilities.get(c, 0.0) for f, c in zip(analysis.frames, chords)]
    timeline = timeline_from_frames(times, chords, probabilities, end=analysis.end, unsure=unsure)
    return replace(analysis, frames=frames, timeline=timeline)


def hand_settings_for(models: ModelSet | LandmarkChordModel) -> HandSettings:
    """How an analysis finds hands: as the landmark model's card says it learned them (training and
    analysis see hands the same way); the cascade (:data:`pipeline.core.hands.CASCADE_HANDS`) when
    there is no landmark model."""
    landmarks = models.landmarks if isinstance(models, ModelSet) else models
    settings = getattr(getattr(landmarks, "card", None), "hand_settings", None)
    return settings if isinstance(settings, HandSettings) else CASCADE_HANDS


def sees_region(model) -> bool:
    """Whether an image chord model was trained on regions, so sees the region
    :func:`pipeline.vision.regions.classifier_region` picks rather than the whole frame.

    Args:
        model: an image chord model (its ``card.input_region``; a card without one means the frame).

    Returns:
        True when ``card.input_region`` is not ``"frame"``.
    """
    return getattr(model.card, "input_region", "frame") != "frame"


def image_model_input(
    image: np.ndarray, model, fretboard: FretboardDetections | None = None, hands: HandsResult | None = None,
    region: Region | None = None,
) -> tuple[np.ndarray, Region | None]:
    """What an image chord model sees of a frame: the whole frame, or for a model trained on regions
    (:func:`sees_region`) the region :func:`pipeline.vision.regions.classifier_region` picks, cut out.

    :func:`analyze_clip`, :func:`predict_image_files` and the apps (:func:`pipeline.explain.frames.model_input`)
    all go through here, so a model sees the same thing wherever it runs.

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        model: an image chord model (its ``card.input_region`` says what it was trained on).
        fretboard: the detector's boxes (:class:`pipeline.vision.detection.FretboardDetections`), if it ran.
        hands: the hands found in the frame.
        region: the region to cut out when it is already known (an analysed frame's own); None picks one.

    Returns:
        (the model's input, RGB uint8; the :class:`~pipeline.vision.regions.Region` cut out, or None for the
        whole frame).
    """
    if not sees_region(model):
        return image, None
    if region is None:
        region = classifier_region(image.shape, fretboard, hands)
    return crop_region(image, region), region


def analyze_clip(
    path: str | Path,
    models: ModelSet | LandmarkChordModel,
    *,
    fps: float | None = 5.0,
    start: float | None = None,
    end: float | None = None,
    detector: HandDetector | None = None,
    smoothing: SmoothingSettings = SmoothingSettings(),
    progress: Callable[[float], None] | None = None,
    hand_workers: int | None = None,
    find_hands: bool | None = True,
) -> Analysis:
    """Analyse a clip (or a still image) into per-frame chords and a chord timeline.

    Args:
        path: video or image file.
        models: the models to run; a landmark model alone is a set of one.
        fps: frames sampled per second (None: every frame).
        start, end: the part of the clip to analyse, in seconds (default all).
        detector: hand detector; default a new one with the models' hand settings
            (:func:`hand_settings_for`) in image mode, the mode the models' training
            landmarks come from. MediaPipe's video (tracking) mode is faster and finds more hands,
            but its landmarks differ enough to cost accuracy: on the sample clips 0.48 and 0.80 of
            frames right with tracking against 0.74 and 0.93 without.
        smoothing: how per-frame chords become the timeline (see :mod:`pipeline.timeline.smoothing`).
        progress: called with the done fraction in [0, 1] after each frame.
        hand_workers: processes for hand detection (default 1: in this process; the CLI and the studio pass
            :func:`pipeline.vision.hands.default_hand_workers`). The image model meanwhile gets the torch
            threads the cores leave (:func:`image_threads`). The processes start once per process and
            stay (:func:`pipeline.vision.hands.start_hand_workers` starts them ahead); they do not run
            the caller's main script again. Each frame is detected on its own, so the results do not
            depend on it; a clip of under :data:`PARALLEL_MIN_FRAMES` sampled frames, or a given
            ``detector``, is detected here.
        find_hands: True looks for hands in every frame (the apps draw them); None only when a model
            reads them (a landmark model, or an image model that sees a region: no MediaPipe at all
            for a whole-frame image model alone); False never.

    Returns:
        The analysis.

    Raises:
        InputError: the clip cannot be read, or the arguments do not fit it.
    """
    models = models if isinstance(models, ModelSet) else ModelSet(landmarks=models)
    info = probe(path)
    span_start = start or 0.0
    span_end = info.duration if end is None else min(end, info.duration)
    rate = fps if fps is not None else info.fps
    expected = 1 if info.is_image else max(1, math.ceil((span_end - span_start) * min(rate, info.fps or rate)))
    if find_hands is None:
        find_hands = models.landmarks is not None or (models.image is not None and sees_region(models.image))
    workers = hand_workers or 1
    if detector is not None or expected < PARALLEL_MIN_FRAMES:
        workers = 1
    seen: list[tuple[int, float, HandsResult, object, object]] = []
    image_inputs: list[np.ndarray] = []
    image_predictions: list[ChordPrediction] = []

    def predict_images() -> None:
        # Only the cores left free: torch's default (every core) beside busy hand processes, or on a machine
        # shared with other work, spins its threads against them (8x slower measured on two cores).
        with torch_threads(image_threads(workers if find_hands else 0)):
            image_predictions.extend(models.image.predict(image_inputs))
        image_inputs.clear()

    def located():
        for frame in iter_frames(path, fps=fps, start=start, end=end):
            fretboard = models.detector.detect(frame.image) if models.detector is not None else None
            yield (frame, fretboard), frame.image, hand_choice_box(fretboard, frame.image.shape)

    if not find_hands:
        found = (((frame, fretboard), HandsResult((), None, image.shape[1], image.shape[0]))
                 for (frame, fretboard), image, _ in located())
    elif detector is not None:
        found = (((tag, detector.detect(image, fretboard_box=box)) for tag, image, box in located()))
    else:
        found = detect_stream(located(), hand_settings_for(models), workers)
    for (frame, fretboard), hands in found:
        region = None
        if models.image is not None:
            model_sees, region = image_model_input(frame.image, models.image, fretboard, hands)
            image_inputs.append(model_sees)
            if len(image_inputs) == IMAGE_BATCH:
                predict_images()
        seen.append((frame.index, frame.time, hands, fretboard, region))
        if progress:
            progress(min(1.0, len(seen) / expected))
    if image_inputs:
        predict_images()
    by_model: dict[str, list[ChordPrediction]] = {}
    if models.landmarks is not None:
        # One batched predict: the classifier's per-call overhead dwarfs its per-row cost.
        by_model["landmarks"] = models.landmarks.predict([hands for _, _, hands, _, _ in seen])
    if models.image is not None:
        by_model["image"] = image_predictions
    frames = []
    for k, (index, time, hands, fretboard, region) in enumerate(seen):
        answers = {name: predictions[k] for name, predictions in by_model.items()}
        fused = fuse_answers(answers, models.weights)
        frames.append(FrameResult(index, time, hands, fused, fused.chord, answers, fretboard, region))
    raw = Analysis(info, fps, frames, Timeline([], None), models.classes, None if info.is_image else span_end)
    return resmooth(raw, smoothing)


def fuse_answers(answers: dict[str, ChordPrediction], weights: FusionWeights) -> ChordPrediction:
    """One frame's answer from each model's: fused when there are two, else the only one (tempered
    where it calls the frame unfamiliar: :func:`pipeline.timeline.fusion.fuse`).

    Args:
        answers: the frame's prediction by model name (``"landmarks"``, ``"image"``).
        weights: how the two are pooled.

    Returns:
        The frame's prediction.
    """
    if len(answers) == 1 and next(iter(answers.values())).familiar is not False:
        return next(iter(answers.values()))
    by_name = {"landmarks": weights.landmarks, "image": weights.image}
    return fuse(list(answers.values()), [by_name[name] for name in answers])


def predict_image_files(
    models: ModelSet | LandmarkChordModel,
    paths: list[str | Path],
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    hands: Sequence[HandsResult] | None = None,
) -> tuple[list[ChordPrediction], dict[str, list[ChordPrediction]]]:
    """The chord of each image file, as :func:`analyze_clip` decides a frame.

    Landmarks come from ``hands`` when given, else from the on-disk cache
    (:func:`pipeline.models.datasets.extract_landmarks`, with the models' :func:`hand_settings_for`); the
    image model reads the images in batches.

    Args:
        models: the models; a landmark model alone is a set of one.
        paths: image files.
        workers: processes for hand detection.
        progress: ``progress(done, total)`` during hand detection.
        hands: the files' hands, in order, when the caller has them (nothing is detected or looked up).

    Returns:
        (fused prediction per image, each model's predictions by name).
    """
    models = models if isinstance(models, ModelSet) else ModelSet(landmarks=models)
    wants_region = models.image is not None and sees_region(models.image)
    if hands is None and (models.landmarks or wants_region):
        hands = extract_landmarks(paths, hand_settings_for(models), workers=workers, progress=progress)
    by_model: dict[str, list[ChordPrediction]] = {}
    if models.landmarks is not None:
        by_model["landmarks"] = models.landmarks.predict(hands)
    if models.image is not None:
        predictions: list[ChordPrediction] = []
        for start in range(0, len(paths), 32):
            batch = []
            for k in range(start, min(start + 32, len(paths))):
                image = read_rgb(paths[k])
                if wants_region:
                    fretboard = models.detector.detect(image) if models.detector is not None else None
                    image = image_model_input(image, models.image, fretboard, hands[k])[0]
                batch.append(image)
            predictions += models.image.predict(batch)
        by_model["image"] = predictions
    fused = [fuse_answers({name: p[k] for name, p in by_model.items()}, models.weights) for k in range(len(paths))]
    return fused, by_model
