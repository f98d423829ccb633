"""Model cards: what a saved model is, written as ``card.json`` beside its weights.

One base (:class:`ModelCard`: kind, classes, training data, scores, provenance) and one subclass per
kind (:class:`LandmarkCard`, :class:`ImageModelCard`, :class:`DetectorCard`); one reader
(:func:`read_card`) that checks a folder's card and names what is wrong in one line; one answer to
"what is in this folder" (:func:`model_kind`); one record of library versions (:func:`library_versions`).

The JSON field names are those cards have always had, so folders written before still load; fields a
card does not know are ignored, fields it lacks take their defaults.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import ClassVar

from pipeline.core.errors import InputError
from pipeline.core.hands import HandSettings
from pipeline.core.types import ModelKind
from pipeline.models.features import FEATURE_VERSIONS

CARD_FILE = "card.json"
DETECTOR_WEIGHTS = "best.pt"

CNN_INPUT_SIZE = (72, 128)
"""(height, width) the CNN sees by default: the 640x360 frame at a fifth of its size, aspect kept.
On the shared real frames 72x128 for 6 epochs scored as well as 96x160 for 8 (100 % of val) in a third
of the time (benchmarks/bench_image_models.py)."""
MIN_INPUT_SIDE, MAX_INPUT_SIDE = 8, 2048
"""Bounds of each side of an image model's input size a card may give."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DESCRIPTIONS = {
    ModelKind.LANDMARKS: "a landmark model",
    ModelKind.IMAGE: "an image model",
    ModelKind.CNN: "an image model",
    ModelKind.DETECTOR: "a detector",
}
"""How a message names a model of each kind."""

LIBRARIES = {
    ModelKind.LANDMARKS: ("scikit-learn",),
    ModelKind.IMAGE: ("torch", "scikit-learn", "transformers"),
    ModelKind.CNN: ("torch", "scikit-learn", "transformers"),
    ModelKind.DETECTOR: ("ultralytics", "torch"),
}
"""The libraries (besides Python and numpy) whose versions matter for reproducing a model of each kind."""


@dataclass
class ModelCard:
    """What every saved model records, whatever its kind.

    Attributes:
        kind: what the folder holds.
        classes: the chords (or detector classes) it can answer, in vocabulary order.
        trained_on: a description of the training data (a path, a snapshot name).
        data_fingerprint: SHA-256 over the training images' contents and labels.
        metrics: scores (held-out, cross-validated, on a validation split ...).
        synthetic: trained on synthetic renders, not real footage (the apps say so).
        domains: the data sets it learned from (their folder names), e.g. ``["guitar-chords-real"]``.
        created: ISO time of training.
        versions: library versions at training time (:func:`library_versions`).
        familiarity: how the model says a frame is familiar (:mod:`pipeline.models.familiarity`):
            ``{"method", "k", "threshold", "n_reference", "domains", ...}``; empty for a model
            trained before it existed (its predictions' familiarity is then unknown).
    """

    JSON_NAMES: ClassVar[dict[str, str]] = {}
    """Attribute -> JSON field name, where a kind's ``card.json`` has always spelled it otherwise."""

    kind: ModelKind = ModelKind.LANDMARKS
    classes: list[str] = field(default_factory=list)
    trained_on: str = ""
    data_fingerprint: str = ""
    metrics: dict = field(default_factory=dict)
    synthetic: bool = False
    domains: list[str] = field(default_factory=list)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    familiarity: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kind = ModelKind(self.kind)
        if not isinstance(self.familiarity, dict):
            raise TypeError("familiarity is not a JSON object")

    def to_json(self) -> dict:
        """The card as the JSON object ``card.json`` holds."""
        return {self.JSON_NAMES.get(k, k): v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> ModelCard:
        """The card of a ``card.json`` object (unknown fields ignored, missing ones defaulted).

        Raises:
            TypeError, ValueError: a field has a value the card cannot take.
        """
        names = {cls.JSON_NAMES.get(f.name, f.name): f.name for f in fields(cls)}
        return cls(**{names[k]: v for k, v in data.items() if k in names})

    def write(self, folder: str | Path) -> Path:
        """Write ``card.json`` into ``folder`` (which must exist); returns its path."""
        path = Path(folder) / CARD_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path

    def check(self, folder: Path) -> None:
        """Raise :class:`InputError` when the card cannot describe a model this version runs."""


@dataclass
class LandmarkCard(ModelCard):
    """A hand-landmark chord model's card (kind "landmarks").

    Attributes:
        estimator: the chosen estimator ("svm", "rf", "mlp").
        feature_version: the feature version it reads (see :mod:`pipeline.models.features`).
        n_images: training images; n_covered: of them, those with a hand (the ones it learned from).
        cv_scores: "feature/estimator" -> mean cross-validated accuracy, for every candidate tried.
        cv_accuracy: the chosen candidate's cross-validated accuracy.
        params: the chosen candidate's grid parameters.
        hands: how the hands were found (:meth:`pipeline.core.hands.HandSettings.to_json`); analysis
            finds them the same way. Empty on cards older than the setting: MediaPipe's defaults.
    """

    kind: ModelKind = ModelKind.LANDMARKS
    estimator: str = ""
    feature_version: str = "raw63"
    n_images: int = 0
    n_covered: int = 0
    cv_scores: dict[str, float] = field(default_factory=dict)
    cv_accuracy: float = 0.0
    params: dict = field(default_factory=dict)
    hands: dict = field(default_factory=dict)

    @property
    def hand_settings(self) -> HandSettings:
        """The hand settings the model learned with (``HandSettings()`` for a card that names none)."""
        return HandSettings.from_json(self.hands)

    def check(self, folder: Path) -> None:
        """Raise :class:`InputError` when the features are of a version this one cannot compute."""
        if self.feature_version not in FEATURE_VERSIONS:
            raise InputError(f"{folder.name} is a landmark model with features {self.feature_version!r}, "
                             "which this version cannot compute.")


@dataclass
class ImageModelCard(ModelCard):
    """An image chord model's card (kind "image": a transformers backbone; kind "cnn": the compact CNN).

    Attributes:
        mode: "linear-probe", "fine-tune" or "from-scratch".
        backbone: the hub id or path it was loaded from ("" for the CNN).
        architecture: for the CNN its layer widths (``{"stem": 24, "widths": [...], "dropout": ...}``);
            for a backbone its config's model type and size.
        input_size: (height, width) the model sees; frames are resized (squashed) to it.
        input_region: what the images were: "frame" (whole frames) or a region name a caller sets.
        mean, std: per-channel normalisation of pixels in [0, 1].
        embedding_dim: length of the model's embedding rows.
        n_images: training images given; n_train / n_holdout: how they were split for early stopping.
        epochs: epochs asked for; epochs_run: epochs trained (early stopping may stop sooner);
            best_epoch: the epoch whose weights were kept (1-based; 0 for a linear probe).
        history: per epoch ``{"epoch", "loss", "holdout_accuracy", "holdout_loss", "seconds"}``.
        recipe: optimiser, schedule, batch size, augmentation and other settings used.
        trained_from_scratch: True when no pretrained weights were used (the CNN; a backbone built
            from a config alone).
    """

    kind: ModelKind = ModelKind.CNN
    mode: str = "from-scratch"
    backbone: str = ""
    architecture: dict = field(default_factory=dict)
    input_size: list[int] = field(default_factory=lambda: list(CNN_INPUT_SIZE))
    input_region: str = "frame"
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    embedding_dim: int = 0
    n_images: int = 0
    n_train: int = 0
    n_holdout: int = 0
    epochs: int = 0
    epochs_run: int = 0
    best_epoch: int = 0
    history: list[dict] = field(default_factory=list)
    recipe: dict = field(default_factory=dict)
    trained_from_scratch: bool = False

    def check(self, folder: Path) -> None:
        """Raise :class:`InputError` when the card names no classes, or an input size, mean or std
        outside what a model can have (a size of [0, -5] or [100000, 100000] would fail or allocate
        gigabytes per frame)."""
        if not self.classes or not isinstance(self.classes, list):
            raise InputError(f"{folder.name}/{CARD_FILE} names no classes.")
        size = self.input_size
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
                or not all(MIN_INPUT_SIDE <= v <= MAX_INPUT_SIDE for v in size)):
            raise InputError(f"{folder.name}/{CARD_FILE} has input_size {size!r}: it must be [height, width], "
                             f"whole numbers from {MIN_INPUT_SIDE} to {MAX_INPUT_SIDE}.")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if (not isinstance(values, (list, tuple)) or len(values) != 3
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
                    or (name == "std" and not all(v > 0 for v in values))):
                raise InputError(f"{folder.name}/{CARD_FILE} has {name} {values!r}: it must be three finite "
                                 "numbers" + (" above 0." if name == "std" else "."))


@dataclass
class DetectorCard(ModelCard):
    """A fretboard detector's card (kind "detector"), beside its ``best.pt``.

    ``created`` is spelled ``date`` in the JSON, as detector cards always had it.

    Attributes:
        base: the yaml or weights it was trained from.
        data: the YOLO data set's yaml.
        names: class index (a string in JSON) -> class name.
        epochs, epochs_run, imgsz, batch, freeze, patience, seed: the training settings and run.
        overrides: further Ultralytics training arguments given.
        train_seconds: training time.
    """

    JSON_NAMES: ClassVar[dict[str, str]] = {"created": "date"}

    kind: ModelKind = ModelKind.DETECTOR
    base: str = ""
    data: str = ""
    names: dict = field(default_factory=dict)
    epochs: int = 0
    epochs_run: int = 0
    imgsz: int = 0
    batch: int = 0
    freeze: int | None = None
    patience: int = 0
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    train_seconds: float = 0.0


CARDS: dict[ModelKind, type[ModelCard]] = {
    ModelKind.LANDMARKS: LandmarkCard,
    ModelKind.IMAGE: ImageModelCard,
    ModelKind.CNN: ImageModelCard,
    ModelKind.DETECTOR: DetectorCard,
}
"""The card class of each kind."""


def read_card(folder: str | Path, expect: ModelKind | tuple[ModelKind, ...] = ()) -> ModelCard:
    """Read and check the ``card.json`` of a model folder.

    Args:
        folder: the model folder (or a detector's ``best.pt``, whose folder is read).
        expect: the kinds the caller can use (empty: any kind this version knows).

    Returns:
        The card, of the subclass of its kind.

    Raises:
        InputError: no card, a card that is not valid JSON of a card, a kind other than expected or
            unknown, or a card its kind finds wrong (one line each).
    """
    folder = Path(folder)
    folder = folder.parent if folder.suffix == ".pt" else folder
    path = folder / CARD_FILE
    if not path.is_file():
        raise InputError(f"{folder} is not a model folder (it has no {CARD_FILE}).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
    except (ValueError, TypeError, OSError, RecursionError) as error:  # bad JSON, not UTF-8, unreadable
        why = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else type(error).__name__
        raise InputError(f"{folder.name}/{CARD_FILE} is not a valid model card ({why}).") from error
    kind = str(data.get("kind", ""))
    expected = (expect,) if isinstance(expect, ModelKind) else tuple(expect)
    if expected and kind not in expected:
        raise InputError(f"{folder.name} is a {kind!r} model, not {DESCRIPTIONS[expected[0]]}.")
    if kind not in CARDS:
        raise InputError(f"{folder.name} holds a model of kind {kind!r}, which this version cannot load.")
    try:
        card = CARDS[ModelKind(kind)].from_json(data)
    except (TypeError, ValueError) as error:
        raise InputError(f"{folder.name}/{CARD_FILE} is not a valid model card ({type(error).__name__}).") from error
    card.check(folder)
    return card


def model_kind(spec: str | Path) -> ModelKind:
    """The kind of a model folder or file.

    Detector weights (a ``.pt`` file, or a folder holding ``best.pt``) are a detector even without a
    card; any other folder is what its card says.

    Raises:
        InputError: there is no model there, or its card is invalid (see :func:`read_card`).
    """
    path = Path(spec)
    if path.suffix == ".pt" or (path.is_dir() and (path / DETECTOR_WEIGHTS).is_file()):
        return ModelKind.DETECTOR
    return read_card(path).kind


def library_versions(kind: ModelKind) -> dict[str, str]:
    """The versions of Python, numpy and the libraries a model of ``kind`` needs (those installed).

    Returns:
        Name -> version, e.g. ``{"python": "3.11.9", "numpy": "1.26.4", "scikit-learn": "1.9.1"}``.
    """
    versions = {"python": platform.python_version(), "numpy": metadata.version("numpy")}
    for library in LIBRARIES[ModelKind(kind)]:
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            continue
    return versions
