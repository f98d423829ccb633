"""One place that turns a model name or folder into a loaded model, once per process.

``None`` names the sample model: a landmark model trained on the project's own synthetic renders
(:mod:`tools.samplegen.synthetic`), built on first use under ``CHORD_STUDIO_HOME/models``. The renders' hand
landmarks ship with the code (:data:`SAMPLE_LANDMARKS`, written by :func:`write_sample_landmarks`), so
building it is training an SVM on them, seconds, not rendering and running MediaPipe again (a minute
or more): a Space restarts on a fresh disk, and its cold start must stay short.
Like the real data (one player, one guitar, one camera), it is trained on fresh renders of the sample
clips' own scenes: new poses and noise, never the clips' frames. So it recognises the sample clips
and nothing else; for real footage, train a model on real frames (``python -m pipeline train``) and
pass its folder. Its card says ``synthetic: true`` and the apps say so.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.models.landmark import LandmarkChordModel

SAMPLE_MODEL = "landmarks-sample-v2"
SAMPLE_IMAGES_PER_CHORD = 40
SAMPLE_SEED = 1
SAMPLE_LANDMARKS = Path(__file__).resolve().parents[1] / "assets" / "sample_landmarks.npz"
"""The sample model's training data: the hands MediaPipe finds in the renders, their chords, and the
renders' dataset fingerprint."""

_lock = threading.Lock()
_loaded: dict[tuple[str, int], LandmarkChordModel] = {}


def sample_model_dir() -> Path:
    """Folder of the sample model under the configured home."""
    return get_settings().models_dir / SAMPLE_MODEL


def _render_and_detect(per_chord: int, progress: Callable[[int, int], None] | None = None):
    """Render the sample model's training set and find the hands: (results, chords, fingerprint)."""
    from pipeline.models.datasets import dataset_fingerprint, extract_landmarks, read_image_folder
    from tools.samplegen.synthetic import make_image_folder, sample_scenes

    with tempfile.TemporaryDirectory() as scratch:
        make_image_folder(scratch, per_chord, seed=SAMPLE_SEED, scenes=sample_scenes())
        images = read_image_folder(scratch)
        results = extract_landmarks([image.path for image in images], progress=progress)
        return results, [image.chord for image in images], dataset_fingerprint(images)


def write_sample_landmarks(path: str | Path = SAMPLE_LANDMARKS, per_chord: int = SAMPLE_IMAGES_PER_CHORD) -> Path:
    """Render the sample model's training set, find its hands and write them to ``path`` (.npz).

    Stored per frame: its chord, size and number of hands; per hand its normalised landmarks,
    handedness and score (all :func:`pipeline.models.datasets.extract_landmarks` keeps).
    """
    results, chords, fingerprint = _render_and_detect(per_chord)
    hands = [hand for result in results for hand in result.hands]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, chords=np.array(chords), sizes=np.array([[r.width, r.height] for r in results], np.int32),
        counts=np.array([len(r.hands) for r in results], np.int32),
        landmarks=np.array([h.landmarks_norm for h in hands], np.float32).reshape(-1, 21, 3),
        handedness=np.array([h.handedness for h in hands], dtype="U5"),
        scores=np.array([h.score for h in hands], np.float32),
        fingerprint=np.array(fingerprint), per_chord=np.array(per_chord), seed=np.array(SAMPLE_SEED))
    return path


def read_sample_landmarks(path: str | Path = SAMPLE_LANDMARKS, per_chord: int = SAMPLE_IMAGES_PER_CHORD):
    """The shipped training data as (results, chords, fingerprint); None when the file is absent or
    was written for other settings."""
    from pipeline.core.hands import HandSettings
    from pipeline.models.datasets import hands_result

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


def build_sample_model(folder: str | Path, per_chord: int = SAMPLE_IMAGES_PER_CHORD,
                       progress: Callable[[int, int], None] | None = None) -> LandmarkChordModel:
    """Train the sample landmark model and save it to ``folder``.

    The training data are the shipped landmarks (:func:`read_sample_landmarks`) when they match
    ``per_chord``, else fresh renders run through MediaPipe. Written to a temporary folder first and
    moved into place, so a reader never sees half a model and two processes building it at once both
    end with a whole one.
    """
    from pipeline.models.landmark import train_landmark_model

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    results, chords, fingerprint = read_sample_landmarks(per_chord=per_chord) or _render_and_detect(per_chord, progress)
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


def model_kind(spec: str | Path) -> str:
    """The kind of a model folder or file: "landmarks", "image", "cnn" or "detector".

    Raises:
        InputError: there is no model there.
    """
    path = Path(spec)
    if path.suffix == ".pt" or (path.is_dir() and (path / "best.pt").is_file()):
        return "detector"
    card = path / "card.json"
    if not card.is_file():
        raise InputError(f"{path} is not a model folder (it has no card.json).")
    try:
        return str(json.loads(card.read_text()).get("kind", ""))
    except (json.JSONDecodeError, AttributeError) as error:
        raise InputError(f"{path.name}/card.json is not a valid model card: {error}.") from error


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
        stamp = folder / ("card.json" if kind != "detector" or folder.is_dir() else "")
        key = (str(folder.resolve()), stamp.stat().st_mtime_ns if stamp.exists() else 0)
        if key not in _loaded:
            if kind == "landmarks":
                _loaded[key] = LandmarkChordModel.load(folder)
            elif kind in ("image", "cnn"):
                from pipeline.models.image import load_image_model

                _loaded[key] = load_image_model(folder)
            elif kind == "detector":
                from pipeline.vision.detection import FretboardDetector

                _loaded[key] = FretboardDetector(folder)
            else:
                raise InputError(f"{folder.name} holds a model of kind {kind!r}, which this version cannot load.")
        return _loaded[key]


def load_landmark_model(spec: str | Path | None = None) -> LandmarkChordModel:
    """The landmark model of a folder, or the sample model for ``None`` (built if missing).

    Raises:
        InputError: the folder is not a landmark model.
    """
    model = load_model(spec)
    if not isinstance(model, LandmarkChordModel):
        raise InputError(f"{spec} is not a landmark model.")
    return model


def chord_model_slot(model) -> str | None:
    """Which slot of a :class:`pipeline.timeline.analyze.ModelSet` a loaded model fills: "landmarks", "image"
    (anything giving probabilities and embeddings of images: the CNN, a transformers model), or None
    (not a chord model)."""
    if isinstance(model, LandmarkChordModel):
        return "landmarks"
    return "image" if callable(getattr(model, "probabilities_and_embeddings", None)) else None


def load_model_set(chord_models: Sequence[str | Path | None] = (None,), detector: str | Path | None = None,
                   weights=None):
    """The models of an analysis: chord model folders (landmarks and / or image), and a detector.

    Args:
        chord_models: folders of at most one landmark and one image model; ``None`` is the sample model.
        detector: detector weights (``best.pt`` or its folder), or None for no detector.
        weights: :class:`pipeline.timeline.fusion.FusionWeights`; default from the models' held-out accuracy
            (:meth:`~pipeline.timeline.fusion.FusionWeights.from_models`).

    Raises:
        InputError: a folder is not a chord model, or two of one kind are given.
    """
    from pipeline.core.types import FusionWeights, ModelSet

    chosen: dict[str, object] = {}
    for spec in chord_models:
        model = load_model(spec)
        slot = chord_model_slot(model)
        if slot is None:
            raise InputError(f"{spec} is not a chord model (pass detectors with --detector).")
        if slot in chosen:
            raise InputError(f"Two {slot} models given; an analysis fuses at most one of each kind.")
        chosen[slot] = model
    return ModelSet(landmarks=chosen.get("landmarks"), image=chosen.get("image"),
                    detector=load_model(detector) if detector is not None else None,
                    weights=weights or FusionWeights.from_models(chosen.get("landmarks"), chosen.get("image")))


__all__ = [
    "SAMPLE_LANDMARKS", "SAMPLE_MODEL", "build_sample_model", "chord_model_slot", "load_landmark_model", "load_model",
    "load_model_set", "model_kind", "read_sample_landmarks", "sample_model_dir", "write_sample_landmarks",
]


if __name__ == "__main__":  # python -m pipeline.models.registry: rewrite the shipped sample landmarks
    print(f"wrote {write_sample_landmarks()}")
