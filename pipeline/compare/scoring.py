"""Scoring chord models of any kind, alone and fused in pairs, on a labeled set (the studio's Compare page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import FusionWeights, ModelKind, ModelSet
from pipeline.models.datasets import LabeledImage
from pipeline.models.evaluation import EvaluationReport, evaluate_chord_predictions
from pipeline.models.registry import chord_model_slot
from pipeline.timeline.analyze import predict_image_files
from pipeline.timeline.fusion import fuse_frames


@dataclass
class LabeledFrames:
    """Image files with their true chord and their hands, ready to score chord models of any kind on.

    Attributes:
        name: the set's name.
        truth: true chord per frame.
        hands: :class:`~pipeline.vision.hands.HandsResult` per frame (from the landmark cache).
        sources: where each frame comes from (``clip@time`` or a file path).
        fingerprint: changes whenever the set does (cache key).
        paths: the frames' image files, in the order of ``truth`` (a sample clip's frames are written
            once, losslessly, to the cache folder).
    """

    name: str
    truth: list[str]
    hands: list
    sources: list[str]
    fingerprint: str
    paths: list[Path]

    @property
    def images(self) -> list:
        """The frames as :class:`~pipeline.models.datasets.LabeledImage` (what
        :func:`pipeline.compare.report.compare_models` takes)."""
        return [LabeledImage(Path(path), chord) for path, chord in zip(self.paths, self.truth)]


def evaluate_models(models: Sequence[tuple[str, object]], frames: LabeledFrames) -> dict[str, EvaluationReport]:
    """Score chord models of any kind on a labeled set: each alone, and every landmark model fused with
    every image model.

    Each model decides each frame as Analyze does (:func:`pipeline.timeline.analyze.predict_image_files`: a
    landmark model reads the fretting hand, an image model the frame, or the hand region when it was
    trained on regions); a pair is pooled frame by frame with the weights from the two models' cards
    (:func:`pipeline.timeline.fusion.fuse_frames`, :meth:`~pipeline.timeline.fusion.FusionWeights.from_models`), as an
    analysis with both fuses them. Each model runs once, however many pairs it is in, on the hands the
    labeled set holds (no landmark cache lookup per model).

    Args:
        models: (name, loaded model) pairs, in display order: landmark models
            (:class:`~pipeline.models.landmark.LandmarkChordModel`) and image models (CNN or transformers).
        frames: the labeled set (:func:`labeling.sets.load_labeled_set`).

    Returns:
        Name -> :class:`~pipeline.models.evaluation.EvaluationReport`: the models in the order given, then
        ``"<landmark model> + <image model> (fused)"`` for each pair. A frame a model cannot decide (no
        hand, for a landmark model) counts as predicted ``None``.

    Raises:
        InputError: a model is neither a landmark nor an image chord model.
    """
    answers: dict[str, tuple[str, object, list]] = {}
    for name, model in models:
        slot = chord_model_slot(model)
        if slot is None:
            raise InputError(f"{name} is not a chord model (a landmark or an image model).")
        predictions = predict_image_files(ModelSet(**{slot: model}), frames.paths, workers=1, hands=frames.hands)[0]
        answers[name] = (slot, model, predictions)
    reports = {name: evaluate_chord_predictions(frames.truth, predictions)
               for name, (_, _, predictions) in answers.items()}
    for hand_name, (hand_slot, hand_model, hand_answers) in answers.items():
        for image_name, (image_slot, image_model, image_answers) in answers.items():
            if hand_slot == ModelKind.LANDMARKS and image_slot == ModelKind.IMAGE:
                fused = fuse_frames(hand_answers, image_answers, FusionWeights.from_models(hand_model, image_model))
                reports[f"{hand_name} + {image_name} (fused)"] = evaluate_chord_predictions(frames.truth, fused)
    return reports


__all__ = ["LabeledFrames", "evaluate_models"]
