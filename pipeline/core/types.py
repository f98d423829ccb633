"""The result types every part of the pipeline shares, at the bottom of the import graph.

A chord model's answer for one frame (:class:`ChordPrediction`), the models an analysis runs
(:class:`ModelSet`) and how their answers are pooled (:class:`FusionWeights`), and what an analysis
finds (:class:`FrameResult` per sampled frame, :class:`Analysis` per clip), with the enums of model
kinds, box sources and explanation methods and the protocols every chord model meets. Hands and
timelines are data of their own in ``core`` (:mod:`pipeline.core.hands`, :mod:`pipeline.core.timeline`);
fretboard boxes and regions are held as they come (their types live in ``vision``, above ``core``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.core.errors import InputError
from pipeline.core.hands import HandsResult
from pipeline.core.timeline import Timeline


class ModelKind(StrEnum):
    """What a model folder holds (its card's ``kind``)."""

    LANDMARKS = "landmarks"
    IMAGE = "image"  # a transformers backbone with a chord head
    CNN = "cnn"
    DETECTOR = "detector"

    @property
    def reads_images(self) -> bool:
        """Whether the model classifies pixels (an image chord model)."""
        return self in (ModelKind.IMAGE, ModelKind.CNN)


class BoxSource(StrEnum):
    """Where the region an image model saw came from (:mod:`pipeline.vision.regions`)."""

    FRETBOARD = "fretboard"  # the detector's fretboard box
    HAND = "hand"  # a box around the fretting hand's landmarks
    FRAME = "frame"  # the whole frame


class ExplainMethod(StrEnum):
    """How an occlusion explanation is computed (:mod:`pipeline.explain`); all give the same quantity."""

    AUTO = "auto"  # the default: adaptive
    PLAIN = "plain"  # Captum on the full-resolution frame, one occluded copy per forward pass
    BATCHED = "batched"  # Captum on the frame resized once to the model's input size
    TOKENS = "tokens"  # a ViT / DINOv2's patch embeddings swapped, not pixels painted over
    ADAPTIVE = "adaptive"  # the windows of batched, evaluated coarse to fine


@runtime_checkable
class ChordModel(Protocol):
    """What every chord model offers (landmark and image models alike).

    ``isinstance(model, ChordModel)`` checks that these members exist (not their signatures).

    Attributes:
        card: its model card (:class:`pipeline.models.cards.ModelCard`: ``kind``, ``classes``,
            ``metrics``, ``synthetic`` ...).
    """

    card: object

    @property
    def classes(self) -> list[str]:
        """The chords it can answer, in the order of its probability columns."""
        ...

    def predict_proba(self, inputs) -> np.ndarray:
        """(n, len(classes)) probabilities for a batch of inputs: (n, D) feature rows of its feature
        version for a landmark model, n RGB uint8 images (H, W, 3) for an image model."""
        ...

    def predict(self, inputs) -> list[ChordPrediction]:
        """One prediction per input: hands per frame (:class:`HandsResult`) for a landmark model (frames
        without a hand are not covered), RGB images for an image model (always covered)."""
        ...

    def save(self, folder: str | Path) -> Path:
        """Write the model folder (``card.json`` and weights); returns the folder."""
        ...


@runtime_checkable
class ImageChordModel(ChordModel, Protocol):
    """A chord model that reads pixels: a batch of RGB images in, probabilities and embeddings out."""

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model resizes its input to."""
        ...

    @property
    def lock(self):
        """A lock held while the model runs (a ``threading.Lock``): a model shared between threads
        runs one forward pass (or one explanation's many) at a time."""
        ...

    def probabilities_and_embeddings(self, images) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass over RGB uint8 images (H, W, 3): (n, classes) probabilities and (n, d)
        embeddings, float32."""
        ...

    def embed(self, images) -> np.ndarray:
        """(n, d) float32 embeddings of RGB images (for comparing models)."""
        ...


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns about a clip or still image.

    Attributes:
        path: the file.
        fps: average frames per second; 0.0 for a still image (it has no frame rate).
        frame_count: frames that actually decode; 1 for a still image.
        width: frame width in pixels as displayed, i.e. after ``rotation`` is applied.
        height: frame height in pixels as displayed.
        duration: ``frame_count / fps`` seconds; 0.0 for a still image.
        rotation: clockwise degrees (0, 90, 180, 270) the container asks players to turn the stored
            frames by; frames from this module are already turned. 0 for images (OpenCV applies
            their EXIF orientation itself).
        is_image: True for a still image.
        warning: a sentence for the user when the clip reads but is damaged (a truncated upload: fewer
            frames decode than the container declares), else None.
    """

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    rotation: int = 0
    is_image: bool = False
    warning: str | None = None


@dataclass(frozen=True)
class ChordPrediction:
    """A chord model's answer for one frame.

    Attributes:
        chord: vocabulary name of the most probable chord (``None`` when the frame shows no hand).
        probability: its probability; 0 when the model could not decide (no hand).
        probabilities: chord -> probability over the model's classes (empty when not covered).
        covered: whether the model could decide (a hand was found).
        familiarity: how familiar the frame is to this model relative to its training data (higher
            is more familiar; :mod:`pipeline.models.familiarity`); ``None`` when the model has no
            familiarity reference or did not decide.
        familiar: ``familiarity`` >= the threshold in the model's card; ``None`` when unknown.
    """

    chord: str
    probability: float
    probabilities: dict[str, float] = field(default_factory=dict)
    covered: bool = True
    familiarity: float | None = None
    familiar: bool | None = None

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable chords with their probabilities."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    @classmethod
    def from_row(
        cls,
        row: Sequence[float],
        classes: Sequence[str],
        familiarity: float | None = None,
        threshold: float | None = None,
    ) -> ChordPrediction:
        """The covered prediction of one row of class probabilities: its most probable class (the
        first on a tie), with every class's probability, and the frame's ``familiarity`` (familiar
        when it reaches ``threshold``; unknown without either)."""
        best = int(np.argmax(row))
        familiar = None
        if familiarity is not None and threshold is not None:
            familiar = bool(familiarity >= threshold)
        return cls(
            classes[best],
            float(row[best]),
            dict(zip(classes, map(float, row))),
            familiarity=None if familiarity is None else float(familiarity),
            familiar=familiar,
        )


NOT_COVERED = ChordPrediction(NO_CHORD, 0.0, {}, covered=False)


@dataclass(frozen=True)
class FusionWeights:
    """Exponents of each model's probabilities in the product (1, 1: equal say)."""

    landmarks: float = 1.0
    image: float = 1.0

    @classmethod
    def from_models(cls, landmarks=None, image=None) -> FusionWeights:
        """Weights from the held-out accuracy in each model's card, as odds of being right.

        The landmark model's cross-validated accuracy and the image model's holdout (or
        cross-validated) accuracy, clipped to [0.5, 0.995] so that no model gets all or no say;
        a model whose card records neither gets accuracy 0.9. Only the ratio matters (:func:`fuse`
        scales the weights).
        """
        return cls(landmarks=_odds(_held_out_accuracy(landmarks)), image=_odds(_held_out_accuracy(image)))


def _held_out_accuracy(model) -> float:
    card = getattr(model, "card", None)
    metrics = getattr(card, "metrics", None) or {}
    for value in (getattr(card, "cv_accuracy", None), metrics.get("holdout_accuracy"), metrics.get("cv_accuracy")):
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return 0.9


def _odds(accuracy: float) -> float:
    accuracy = min(max(accuracy, 0.5), 0.995)
    return accuracy / (1.0 - accuracy)


@dataclass
class ModelSet:
    """The models an analysis runs. Any may be absent, but not both chord models.

    Attributes:
        landmarks: the hand-landmark chord model.
        image: an image chord model (:mod:`pipeline.models.image`).
        detector: the fretboard detector (:class:`pipeline.vision.detection.FretboardDetector`).
        weights: how the two chord models are pooled.
    """

    landmarks: ChordModel | None = None
    image: ImageChordModel | None = None
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
        fretboard: the detector's boxes (:class:`pipeline.vision.detection.FretboardDetections`), if it ran.
        region: what the image model saw (:class:`pipeline.vision.regions.Region`), if it saw a region.
        unsure: whether the timeline marks this frame's chord as a guess: it lies in a stretch of frames
            the models call unfamiliar (set with ``chord``, by :func:`pipeline.timeline.analyze.resmooth`).
    """

    index: int
    time: float
    hands: HandsResult
    prediction: ChordPrediction
    chord: str
    by_model: dict[str, ChordPrediction] = field(default_factory=dict)
    fretboard: object | None = None
    region: object | None = None
    unsure: bool = False

    @property
    def familiar(self) -> bool | None:
        """Whether the frame is familiar to the models that decided it (:func:`frame_familiar` of
        ``by_model``, or of ``prediction`` when there is no model's own answer)."""
        return frame_familiar(self.by_model.values() if self.by_model else [self.prediction])


def frame_familiar(predictions: Iterable[ChordPrediction]) -> bool | None:
    """Whether a frame is familiar, from the answers of the models that looked at it.

    A frame is familiar when every model that decided it (``covered``) and knows its familiarity calls
    it familiar, unfamiliar as soon as one of them does not; a model without a familiarity reference
    (``familiar`` None) has no say, and a frame no deciding model knows stays unknown.

    Args:
        predictions: the models' answers for the frame.

    Returns:
        True, False, or None when unknown.
    """
    votes = [p.familiar for p in predictions if p.covered and p.familiar is not None]
    return all(votes) if votes else None


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

    @property
    def hand_share(self) -> float:
        """Share of sampled frames with a fretting hand (nan for no frames)."""
        if not self.frames:
            return float("nan")
        return sum(f.hands.fretting is not None for f in self.frames) / len(self.frames)

    @property
    def coverage(self) -> float:
        """Share of sampled frames where the model could decide (nan for no frames)."""
        return sum(f.prediction.covered for f in self.frames) / len(self.frames) if self.frames else float("nan")

    @property
    def familiar_share(self) -> float | None:
        """Share of the frames whose familiarity is known (:attr:`FrameResult.familiar`) that are familiar;
        None when no frame's is (no model has a familiarity reference, or none decided a frame)."""
        flags = [f.familiar for f in self.frames if f.familiar is not None]
        return sum(flags) / len(flags) if flags else None

    def model_familiar_shares(self) -> dict[str, float]:
        """Model name -> share of the frames it decided, with a known familiarity, that it calls familiar
        (models that know no frame's familiarity are left out)."""
        shares = {}
        for name in dict.fromkeys(name for f in self.frames for name in f.by_model):
            flags = [p.familiar for f in self.frames if (p := f.by_model.get(name)) is not None
                     and p.covered and p.familiar is not None]
            if flags:
                shares[name] = sum(flags) / len(flags)
        return shares

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
            corners = best if best is not None else [None] * 4
            row.update({f"fretboard_{k}": _round(v) for k, v in zip(("x1", "y1", "x2", "y2"), corners)})
            row["region"] = frame.region.source if frame.region is not None else ""
            for name, prediction in frame.by_model.items():
                row[f"{name}_chord"] = prediction.chord if prediction.covered else ""
                row[f"{name}_probability"] = round(prediction.probability, 4) if prediction.covered else ""
                row[f"familiarity_{name}"] = _round(prediction.familiarity, 4)
                row[f"familiar_{name}"] = _flag(prediction.familiar)
            row["familiar"] = _flag(frame.familiar)
            row["unsure"] = int(frame.unsure)
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
        frames_path.write_text(self.frames_csv(), newline="")
        return {"frames": frames_path, "timeline": self.timeline.save(out_dir / "timeline.json")}

    def frames_csv(self) -> str:
        """The text of ``frames.csv``: :meth:`frame_rows` under a header (the apps' download too)."""
        rows = self.frame_rows()
        columns = list(rows[0]) if rows else ["frame", "time", "hands", "chord", "probability", "covered"]
        table = io.StringIO(newline="")
        writer = csv.DictWriter(table, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return table.getvalue()


def _round(value, digits: int = 1) -> float | str:
    return "" if value is None else round(float(value), digits)


def _flag(value: bool | None) -> int | str:
    """A flag as a CSV cell: 1, 0, or empty when unknown."""
    return "" if value is None else int(value)
