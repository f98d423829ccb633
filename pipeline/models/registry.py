"""One place that turns a model name or folder into a loaded model, once per process.

Models are loaded lazily, on first use, and kept in one cache shared by every caller of the process
(the apps' sessions, the CLI, batch workers) behind a lock; they are keyed by folder and card time, so
a retrained model is loaded again. What a folder holds is read from its card
(:func:`pipeline.models.cards.model_kind`), never guessed.

``None`` names the sample model: a landmark model trained on the project's own synthetic renders,
built on first use under ``CHORD_STUDIO_HOME/models``. The renders' hand landmarks ship with the code
(:data:`SAMPLE_LANDMARKS`, written at development time by ``python -m tools.samplegen.sample_landmarks``),
so building it is training an SVM on them, seconds, not rendering and running MediaPipe (a minute or
more): a Space restarts on a fresh disk, and its cold start must stay short.
Like the real data (one player, one guitar, one camera), it is trained on fresh renders of the sample
clips' own scenes: new poses and noise, never the clips' frames. So it recognises the sample clips
and nothing else; for real footage, train a model on real frames (``python -m pipeline train``) and
pass its folder. Its card says ``synthetic: true`` and the apps say so.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.core.hands import HandSettings, HandsResult
from pipeline.core.types import FusionWeights, ImageChordModel, ModelKind, ModelSet
from pipeline.models.cards import CARD_FILE, model_kind
from pipeline.models.datasets import hands_result
from pipeline.models.image.loading import load_image_model
from pipeline.models.landmark import LandmarkChordModel, train_landmark_model
from pipeline.vision.detection import FretboardDetector

SAMPLE_MODEL = "landmarks-sample-v3"  # v3: skops and a familiarity reference (a cached v2 is pickled)
SAMPLE_IMAGES_PER_CHORD = 40
SAMPLE_SEED = 1
SAMPLE_LANDMARKS = Path(__file__).resolve().parents[1] / "assets" / "sample_landmarks.npz"
"""The sample model's training data: the hands MediaPipe finds in the renders, their chords, and the
renders' dataset fingerprint."""
SAMPLE_COMMAND = "python -m tools.samplegen.sample_landmarks"
"""The development-time command that writes :data:`SAMPLE_LANDMARKS`."""

LOADERS: dict[ModelKind, Callable[[Path], object]] = {
    ModelKind.LANDMARKS: LandmarkChordModel.load,
    ModelKind.IMAGE: load_image_model,
    ModelKind.CNN: load_image_model,
    ModelKind.DETECTOR: FretboardDetector,
}
"""How a folder of each kind is loaded."""

_lock = threading.Lock()
_models: dict[tuple[str, int], object] = {}


def hub_cache_dirs() -> list[Path]:
    """Where the Hugging Face hub library downloads repos (hub ids), as resolved folders."""
    places = [os.environ.get("HF_HUB_CACHE"), os.environ.get("HUGGINGFACE_HUB_CACHE")]
    if os.environ.get("HF_HOME"):
        places.append(str(Path(os.environ["HF_HOME"]) / "hub"))
    try:
        from huggingface_hub import constants

        places.append(constants.HF_HUB_CACHE)
    except ImportError:  # without the hub library nothing can have come from the hub
        pass
    return [Path(p).expanduser().resolve() for p in places if p]


def check_trusted_detector(path: str | Path) -> None:
    """Refuse detector weights that came from the hub (a hub id resolves into the hub's cache).

    YOLO weights (``best.pt``) are a full pickle: loading them runs whatever code they hold. They are
    therefore loaded only from places the user chose: a local path given on the command line or in
    the studio, or this project's own cache (Ultralytics' assets); never from a hub id
    (``CHORD_SPACE_DETECTOR``, ``CHORD_SPACE_MODELS``) or an upload.

    Raises:
        InputError: ``path`` lies in the Hugging Face hub cache.
    """
    resolved = Path(path).expanduser().resolve()
    for place in hub_cache_dirs():
        if resolved.is_relative_to(place):
            raise InputError(
                f"{Path(path).name} is YOLO weights from the Hugging Face hub: a .pt file is a pickle, and loading "
                "a pickle can run any code, so a detector loads only from a local path you give or this "
                "project's cache; download and check it yourself, then pass its local path.")


def sample_model_dir() -> Path:
    """Folder of the sample model under the configured home."""
    return get_settings().models_dir / SAMPLE_MODEL


def read_sample_landmarks(path: str | Path = SAMPLE_LANDMARKS, per_chord: int = SAMPLE_IMAGES_PER_CHORD
                          ) -> tuple[list[HandsResult], list[str], str] | None:
    """The shipped training data of the sample model.

    Args:
        path: the ``.npz`` written by ``python -m tools.samplegen.sample_landmarks``.
        per_chord: renders per chord the caller wants.

    Returns:
        (hands per render, chord per render, the renders' dataset fingerprint); None when the file is
        absent or was written for other settings (``per_chord`` or seed).
    """
    path = Path(path)
    if not path.is_file():
        return None
    with np.load(path) as data:
        if int(data["per_chord"]) != per_chord or int(data["seed"]) != SAMPLE_SEED:
            return None
        # each array read once: an NpzFile decompresses an array on every access
        landmarks, handedness, scores = data["landmarks"], data["handedness"], data["scores"]
        settings, results, k = HandSettings(), [], 0
        for (width, height), count in zip(data["sizes"], data["counts"]):
            results.append(hands_result(landmarks[k:k + count], handedness[k:k + count], scores[k:k + count],
                                        width, height, settings))
            k += count
        return results, [str(c) for c in data["chords"]], str(data["fingerprint"])


def build_sample_model(folder: str | Path, per_chord: int = SAMPLE_IMAGES_PER_CHORD) -> LandmarkChordModel:
    """Train the sample landmark model on the shipped landmarks and save it to ``folder``.

    Written to a temporary folder first and moved into place, so a reader never sees half a model and
    two processes building it at once both end with a whole one.

    Args:
        folder: where the model goes.
        per_chord: renders per chord of the training data (the shipped file's setting).

    Returns:
        The trained model.

    Raises:
        InputError: the shipped landmarks are missing or were written for other settings; the message
            names the command that writes them.
    """
    folder = Path(folder)
    shipped = read_sample_landmarks(per_chord=per_chord)
    if shipped is None:
        raise InputError(f"The sample model's landmarks ({SAMPLE_LANDMARKS.name}, {per_chord} per chord, seed "
                         f"{SAMPLE_SEED}) are missing or were written for other settings: run `{SAMPLE_COMMAND}`.")
    results, chords, fingerprint = shipped
    folder.parent.mkdir(parents=True, exist_ok=True)
    model = train_landmark_model(
        results, chords, estimators=("svm",),
        trained_on=f"synthetic renders of the sample clips' scenes ({per_chord} per chord, seed {SAMPLE_SEED})",
        data_fingerprint=fingerprint, synthetic=True,
    )
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        staged = model.save(Path(scratch) / "model")
        try:
            staged.rename(folder)
        except OSError:  # another process finished first; keep its model
            if not folder.is_dir():
                raise
    return model


def load_model(spec: str | Path | None = None):
    """Any model by folder (or detector weights), loaded once per process; None is the sample model.

    Models are cached by path and card time, so reloading after retraining works.

    Returns:
        A :class:`LandmarkChordModel`, an image chord model (:mod:`pipeline.models.image`) or a
        :class:`pipeline.vision.detection.FretboardDetector`.

    Raises:
        InputError: no model there, or of a kind this version cannot load.
    """
    folder = Path(spec) if spec is not None else sample_model_dir()
    with _lock:
        if spec is None and not folder.is_dir():
            build_sample_model(folder)
        kind = model_kind(folder)
        stamp = folder / CARD_FILE if kind != ModelKind.DETECTOR or folder.is_dir() else folder
        key = (str(folder.resolve()), stamp.stat().st_mtime_ns if stamp.exists() else 0)
        if key not in _models:
            if kind == ModelKind.DETECTOR:
                check_trusted_detector(folder)
            _models[key] = LOADERS[kind](folder)
        return _models[key]


def forget_models(folder: str | Path) -> int:
    """Drop the cached models loaded from ``folder`` or below it (e.g. a Space session's taught pair when
    the session ends), so a long-lived process does not keep every folder it ever loaded.

    Returns:
        How many cached models were dropped.
    """
    root = Path(folder).resolve()
    with _lock:
        gone = [key for key in _models if Path(key[0]) == root or root in Path(key[0]).parents]
        for key in gone:
            del _models[key]
    return len(gone)


def load_landmark_model(spec: str | Path | None = None) -> LandmarkChordModel:
    """The landmark model of a folder, or the sample model for ``None`` (built if missing).

    Raises:
        InputError: the folder is not a landmark model.
    """
    model = load_model(spec)
    if not isinstance(model, LandmarkChordModel):
        raise InputError(f"{spec} is not a landmark model.")
    return model


def chord_model_slot(model) -> ModelKind | None:
    """Which slot of a :class:`pipeline.core.types.ModelSet` a loaded model fills.

    Returns:
        ``ModelKind.IMAGE`` for a model that reads pixels (:class:`pipeline.core.types.ImageChordModel`:
        the CNN, a transformers model), ``ModelKind.LANDMARKS`` for a :class:`LandmarkChordModel`, None
        for anything else (a detector).
    """
    if isinstance(model, ImageChordModel):
        return ModelKind.IMAGE
    return ModelKind.LANDMARKS if isinstance(model, LandmarkChordModel) else None


def load_model_set(chord_models: Sequence[str | Path | None] = (None,), detector: str | Path | None = None,
                   weights: FusionWeights | None = None) -> ModelSet:
    """The models of an analysis: chord model folders (landmarks and / or image), and a detector.

    Args:
        chord_models: folders of at most one landmark and one image model; ``None`` is the sample model.
        detector: detector weights (``best.pt`` or its folder), or None for no detector.
        weights: how the chord models are pooled; default from the models' held-out accuracy
            (:meth:`~pipeline.core.types.FusionWeights.from_models`).

    Raises:
        InputError: a folder is not a chord model, or two of one kind are given.
    """
    chosen: dict[ModelKind, object] = {}
    for spec in chord_models:
        model = load_model(spec)
        slot = chord_model_slot(model)
        if slot is None:
            raise InputError(f"{spec} is not a chord model (pass detectors with --detector).")
        if slot in chosen:
            raise InputError(f"Two {slot} models given; an analysis fuses at most one of each kind.")
        chosen[slot] = model
    landmarks, image = chosen.get(ModelKind.LANDMARKS), chosen.get(ModelKind.IMAGE)
    return ModelSet(landmarks=landmarks, image=image,
                    detector=load_model(detector) if detector is not None else None,
                    weights=weights or FusionWeights.from_models(landmarks, image))
