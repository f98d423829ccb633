"""One place that turns a model name or folder into a loaded model, once per process.

``None`` names the sample model: a landmark model trained on the project's own synthetic renders
(:mod:`pipeline.synthetic`), built on first use (under a minute) under ``CHORD_STUDIO_HOME/models``.
Like the real data (one player, one guitar, one camera), it is trained on fresh renders of the sample
clips' own scenes: new poses and noise, never the clips' frames. So it recognises the sample clips
and nothing else; for real footage, train a model on real frames (``python -m pipeline train``) and
pass its folder. Its card says ``synthetic: true`` and the apps say so.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.config import get_settings
from pipeline.landmark_model import LandmarkChordModel

SAMPLE_MODEL = "landmarks-sample-v2"
SAMPLE_IMAGES_PER_CHORD = 40

_lock = threading.Lock()
_loaded: dict[tuple[str, int], LandmarkChordModel] = {}


def sample_model_dir() -> Path:
    """Folder of the sample model under the configured home."""
    return get_settings().models_dir / SAMPLE_MODEL


def build_sample_model(folder: str | Path, per_chord: int = SAMPLE_IMAGES_PER_CHORD,
                       progress: Callable[[int, int], None] | None = None) -> LandmarkChordModel:
    """Render a synthetic training set, train a landmark model on it and save it to ``folder``.

    Written to a temporary folder first and moved into place, so a reader never sees half a model
    and two processes building it at once both end with a whole one.
    """
    from pipeline.datasets import dataset_fingerprint, extract_landmarks, read_image_folder
    from pipeline.landmark_model import train_landmark_model
    from pipeline.synthetic import make_image_folder, sample_scenes

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        images_root = Path(scratch) / "images"
        make_image_folder(images_root, per_chord, seed=1, scenes=sample_scenes())
        images = read_image_folder(images_root)
        results = extract_landmarks([image.path for image in images], progress=progress)
        model = train_landmark_model(
            results, [image.chord for image in images], estimators=("svm",),
            trained_on=f"synthetic renders of the sample clips' scenes ({per_chord} per chord, seed 1)",
            data_fingerprint=dataset_fingerprint(images), synthetic=True,
        )
        staged = model.save(Path(scratch) / "model")
        try:
            staged.rename(folder)
        except OSError:  # another process finished first; keep its model
            if not folder.is_dir():
                raise
    return model


def load_landmark_model(spec: str | Path | None = None) -> LandmarkChordModel:
    """The landmark model of a folder, or the sample model for ``None`` (built if missing).

    Models are cached per process by folder and card time, so reloading after retraining works.

    Raises:
        InputError: the folder is not a landmark model.
    """
    folder = Path(spec) if spec is not None else sample_model_dir()
    with _lock:
        if spec is None and not folder.is_dir():
            build_sample_model(folder)
        card = folder / "card.json"
        key = (str(folder.resolve()), card.stat().st_mtime_ns if card.exists() else 0)
        if key not in _loaded:
            _loaded[key] = LandmarkChordModel.load(folder)
        return _loaded[key]


def clear_cache() -> None:
    """Forget loaded models (tests; after deleting a model folder)."""
    with _lock:
        _loaded.clear()


__all__ = ["SAMPLE_MODEL", "build_sample_model", "clear_cache", "load_landmark_model", "sample_model_dir"]
