"""A clip in, chords out: sample frames, find fretboard and hand, classify the chord, make a timeline.

Per sampled frame: the fretboard detector (if any) finds the neck, whose box also helps pick the
fretting hand; MediaPipe finds the hands; the landmark model reads the fretting hand and the image
model the frame (or the region :func:`pipeline.regions.classifier_region` gives, when the model was
trained on regions: :func:`image_model_input`); :mod:`pipeline.fusion` pools their probabilities;
:mod:`pipeline.smoothing` turns the frames into a timeline.

Frames stream from :func:`pipeline.video.iter_frames` one at a time; only the per-frame results
(landmarks and probabilities, a few hundred bytes each) are kept, and image-model inputs wait in a
batch of at most :data:`IMAGE_BATCH` frames.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.chords import VOCABULARY
from pipeline.errors import InputError
from pipeline.fusion import FusionWeights, fuse
from pipeline.hands import HandDetector, HandsResult
from pipeline.landmark_model import ChordPrediction, LandmarkChordModel
from pipeline.smoothing import SmoothingSettings, smooth
from pipeline.timeline import Timeline, timeline_from_frames
from pipeline.video import VideoInfo, iter_frames, probe


IMAGE_BATCH = 16


@dataclass
class ModelSet:
    """The models an analysis runs. Any may be absent, but not both chord models.

    Attributes:
        landmarks: the hand-landmark chord model.
        image: an image chord model (:mod:`pipeline.image_models`).
        detector: the fretboard detector (:class:`pipeline.detection.FretboardDetector`).
        weights: how the two chord models are pooled.
    """

    landmarks: LandmarkChordModel | None = None
    image: object | None = None
    detector: object | None = None
    weights: FusionWeights = field(default_factory=FusionWeights)

    def __post_init__(self) -> None:
        if self.landmarks is None and self.image is None:
            raise InputError("Choose at least one chord model (landmarks or image).")

    @property
    def classes(self) -> list[str]:
        """The chords any of the models can answer, in vocabulary order."""
        known = set(self.landmarks.classes if self.landmarks else []) | set(self.image.classes if self.image else [])
        return [c for c in VOCABULARY if c in known]

    @property
    def synthetic(self) -> bool:
        """Whether a chord model was trained on synthetic renders (the apps and CLI say so)."""
        return any(getattr(getattr(m, "card", None), "synthetic", False) for m in (self.landmarks, self.image) if m)


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline found in one sampled frame.

    Attributes:
        index, time: the source frame and its time in seconds.
        hands: the hands found.
        prediction: the fused answer for this frame alone (the only model's, with one model).
        chord: the chord after smoothing over the clip (what the timeline shows).
        by_model: each chord model's own answer ("landmarks", "image").
        fretboard: the detector's boxes (:class:`pipeline.detection.FretboardDetections`), if it ran.
        region: what the image model saw (:class:`pipeline.regions.Region`), if it saw a region.
    """

    index: int
    time: float
    hands: HandsResult
    prediction: ChordPrediction
    chord: str
    by_model: dict[str, ChordPrediction] = field(default_factory=dict)
    fretboard: object | None = None
    region: object | None = None


@dataclass
class Analysis:
    """The result of analysing a clip.

    Attributes:
        clip: the clip's probe.
        fps: sampling rate used.
        frames: per sampled frame, in time order.
        timeline: the frames' chords merged into segments.
        classes: the model's chords (columns of the per-frame probabilities).
        end: end of the analysed span in seconds (None for a still image).
    """

    clip: VideoInfo
    fps: float | None
    frames: list[FrameResult]
    timeline: Timeline
    classes: list[str]
    end: float | None = None

    def probability_table(self) -> np.ndarray:
        """(n_frames, n_classes) per-frame probabilities in ``classes`` order (zeros where undecided)."""
        rows = [[f.prediction.probabilities.get(c, 0.0) for c in self.classes] for f in self.frames]
        return np.array(rows, dtype=np.float64).reshape(len(self.frames), len(self.classes))

    def resmoothed(self, settings: SmoothingSettings) -> Analysis:
        """The same frames smoothed another way (no model runs again).

        Returns:
            A new analysis whose frames' ``chord`` and whose timeline follow ``settings``.
        """
        times = [f.time for f in self.frames]
        chords = smooth(times, self.probability_table(), self.classes, [f.prediction.covered for f in self.frames], settings)
        frames = [replace(f, chord=c) for f, c in zip(self.frames, chords)]
        timeline = timeline_from_frames(
            times, chords, [f.prediction.probabilities.get(c, 0.0) for f, c in zip(self.frames, chords)], end=self.end
        )
        return replace(self, frames=frames, timeline=timeline)

    @property
    def hand_share(self) -> float:
        """Share of sampled frames with a fretting hand (nan for no frames)."""
        return sum(f.hands.fretting is not None for f in self.frames) / len(self.frames) if self.frames else float("nan")

    @property
    def coverage(self) -> float:
        """Share of sampled frames where the model could decide (nan for no frames)."""
        return sum(f.prediction.covered for f in self.frames) / len(self.frames) if self.frames else float("nan")

    def frame_rows(self) -> list[dict]:
        """One flat dict per frame (the columns of ``frames.csv``)."""
        rows = []
        for frame in self.frames:
            hand = frame.hands.fretting
            box = hand.bbox if hand is not None else [None] * 4
            row = {
                "frame": frame.index,
                "time": round(frame.time, 4),
                "hands": len(frame.hands),
                "handedness": hand.handedness if hand else "",
                "hand_score": round(hand.score, 4) if hand else "",
                "x1": _round(box[0]), "y1": _round(box[1]), "x2": _round(box[2]), "y2": _round(box[3]),
                "chord": frame.chord,
                "frame_chord": frame.prediction.chord,
                "probability": round(frame.prediction.probability, 4),
                "covered": int(frame.prediction.covered),
            }
            best = frame.fretboard.best if frame.fretboard is not None and not frame.fretboard.empty else None
            row["fretboard_score"] = round(frame.fretboard.best_score, 4) if best is not None else ""
            row.update({f"fretboard_{k}": _round(v) for k, v in zip(("x1", "y1", "x2", "y2"), best if best is not None else [None] * 4)})
            row["region"] = frame.region.source if frame.region is not None else ""
            for name, prediction in frame.by_model.items():
                row[f"{name}_chord"] = prediction.chord if prediction.covered else ""
                row[f"{name}_probability"] = round(prediction.probability, 4) if prediction.covered else ""
            row.update({f"p_{c}": round(frame.prediction.probabilities.get(c, 0.0), 4) for c in self.classes})
            rows.append(row)
        return rows

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``frames.csv`` and ``timeline.json`` into ``out_dir`` (created if needed).

        Returns:
            Name -> path of the files written.
        """
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        frames_path = out_dir / "frames.csv"
        rows = self.frame_rows()
        columns = list(rows[0]) if rows else ["frame", "time", "hands", "chord", "probability", "covered"]
        with frames_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return {"frames": frames_path, "timeline": self.timeline.save(out_dir / "timeline.json")}


def _round(value) -> float | str:
    return "" if value is None else round(float(value), 1)


def sees_region(model) -> bool:
    """Whether an image chord model was trained on regions (``card.input_region != "frame"``), so sees the
    region :func:`pipeline.regions.classifier_region` picks rather than the whole frame."""
    return getattr(model.card, "input_region", "frame") != "frame"


def image_model_input(image: np.ndarray, model, fretboard=None, hands: HandsResult | None = None,
                      region=None) -> tuple[np.ndarray, object | None]:
    """What an image chord model sees of a frame: the whole frame, or for a model trained on regions
    (:func:`sees_region`) the region :func:`pipeline.regions.classifier_region` picks, cut out.

    :func:`analyze_clip`, :func:`predict_image_files` and the apps (:func:`pipeline.studio.model_input`)
    all go through here, so a model sees the same thing wherever it runs.

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        model: an image chord model (its ``card.input_region`` says what it was trained on).
        fretboard: the detector's boxes (:class:`pipeline.detection.FretboardDetections`), if it ran.
        hands: the hands found in the frame.
        region: the region to cut out when it is already known (an analysed frame's own); None picks one.

    Returns:
        (the model's input, RGB uint8; the :class:`~pipeline.regions.Region` cut out, or None for the
        whole frame).
    """
    if not sees_region(model):
        return image, None
    from pipeline.regions import classifier_region, crop_region

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
) -> Analysis:
    """Analyse a clip (or a still image) into per-frame chords and a chord timeline.

    Args:
        path: video or image file.
        models: the models to run; a landmark model alone is a set of one.
        fps: frames sampled per second (None: every frame).
        start, end: the part of the clip to analyse, in seconds (default all).
        detector: hand detector; default a new one in image mode, the mode the models' training
            landmarks come from. MediaPipe's video (tracking) mode is faster and finds more hands,
            but its landmarks differ enough to cost accuracy: on the sample clips 0.48 and 0.80 of
            frames right with tracking against 0.74 and 0.93 without.
        smoothing: how per-frame chords become the timeline (see :mod:`pipeline.smoothing`).
        progress: called with the done fraction in [0, 1] after each frame.

    Returns:
        The analysis.

    Raises:
        InputError: the clip cannot be read, or the arguments do not fit it.
    """
    from pipeline.regions import hand_choice_box

    models = models if isinstance(models, ModelSet) else ModelSet(landmarks=models)
    info = probe(path)
    own_detector = detector is None
    detector = detector or HandDetector()
    span_start = start or 0.0
    span_end = info.duration if end is None else min(end, info.duration)
    rate = fps if fps is not None else info.fps
    expected = 1 if info.is_image else max(1, math.ceil((span_end - span_start) * min(rate, info.fps or rate)))
    seen: list[tuple[int, float, HandsResult, object, object]] = []
    image_inputs: list[np.ndarray] = []
    image_predictions: list[ChordPrediction] = []
    try:
        for frame in iter_frames(path, fps=fps, start=start, end=end):
            fretboard = models.detector.detect(frame.image) if models.detector is not None else None
            hands = detector.detect(frame.image, fretboard_box=hand_choice_box(fretboard, frame.image.shape))
            region = None
            if models.image is not None:
                model_sees, region = image_model_input(frame.image, models.image, fretboard, hands)
                image_inputs.append(model_sees)
                if len(image_inputs) == IMAGE_BATCH:
                    image_predictions += models.image.predict(image_inputs)
                    image_inputs.clear()
            seen.append((frame.index, frame.time, hands, fretboard, region))
            if progress:
                progress(min(1.0, len(seen) / expected))
        if image_inputs:
            image_predictions += models.image.predict(image_inputs)
    finally:
        if own_detector:
            detector.close()
    by_model: dict[str, list[ChordPrediction]] = {}
    if models.landmarks is not None:
        # One batched predict: the classifier's per-call overhead dwarfs its per-row cost.
        by_model["landmarks"] = models.landmarks.predict([hands for _, _, hands, _, _ in seen])
    if models.image is not None:
        by_model["image"] = image_predictions
    frames = []
    for k, (index, time, hands, fretboard, region) in enumerate(seen):
        answers = {name: predictions[k] for name, predictions in by_model.items()}
        fused = _fuse_answers(answers, models.weights)
        frames.append(FrameResult(index, time, hands, fused, fused.chord, answers, fretboard, region))
    raw = Analysis(info, fps, frames, Timeline([], None), models.classes, None if info.is_image else span_end)
    return raw.resmoothed(smoothing)


def _fuse_answers(answers: dict[str, ChordPrediction], weights: FusionWeights) -> ChordPrediction:
    """One frame's answer from each model's: fused when there are two, else the only one."""
    if len(answers) == 1:
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
    (:func:`pipeline.datasets.extract_landmarks`); the image model reads the images in batches.

    Args:
        models: the models; a landmark model alone is a set of one.
        paths: image files.
        workers: processes for hand detection.
        progress: ``progress(done, total)`` during hand detection.
        hands: the files' hands, in order, when the caller has them (nothing is detected or looked up).

    Returns:
        (fused prediction per image, each model's predictions by name).
    """
    from pipeline.datasets import extract_landmarks
    from pipeline.image_models import read_rgb

    models = models if isinstance(models, ModelSet) else ModelSet(landmarks=models)
    wants_region = models.image is not None and sees_region(models.image)
    if hands is None and (models.landmarks or wants_region):
        hands = extract_landmarks(paths, workers=workers, progress=progress)
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
    fused = [_fuse_answers({name: p[k] for name, p in by_model.items()}, models.weights) for k in range(len(paths))]
    return fused, by_model


def write_annotated_video(analysis: Analysis, clip: str | Path, out: str | Path) -> Path:
    """Write the sampled frames with the fretboard box, hand landmarks and chord drawn on them, as the
    apps draw them (:func:`pipeline.studio.write_annotated_video`: streaming, one MP4 frame per
    sampled frame).

    Args:
        analysis: the result of :func:`analyze_clip` on ``clip``.
        clip: the clip analysed (it must be the analysis's own).
        out: the MP4 to write.

    Returns:
        The path written.
    """
    from pipeline.studio import write_annotated_video as write

    if Path(clip).resolve() != Path(analysis.clip.path).resolve():
        raise InputError(f"{Path(clip).name} is not the clip this analysis read ({Path(analysis.clip.path).name}).")
    return write(analysis, out)
