"""Saving and loading scikit-learn estimators without running code: skops files of known types only.

A pickle (``joblib``) runs whatever code its author put in it when it is loaded, so a model folder
from the hub, an upload or a colleague could create or delete files on load. Chord models therefore
keep their scikit-learn parts as skops files (``.skops``: a zip of JSON and numpy arrays), loaded
with :data:`TRUSTED_TYPES` only: skops' own safe set (scikit-learn estimators, numpy, builtins)
and the few scikit-learn helper types our estimators hold. A file asking for any other type is
refused before anything is built. Model folders of the pickle era (``model.joblib``,
``head.joblib``) are refused with the advice to retrain, and never opened.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError

TRUSTED_TYPES = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
)
"""Types outside skops' default safe set that the estimators this project saves hold (the calibrated
SVM, random forest and MLP of :mod:`pipeline.models.landmark`; the linear probe's pipeline)."""

PICKLE_FILES = ("model.joblib", "head.joblib")
"""Files the pickle era wrote into model folders."""


def save_estimator(estimator, path: str | Path) -> Path:
    """Write a fitted scikit-learn estimator as a skops file.

    Raises:
        ValueError: it holds a type :func:`load_estimator` would refuse (a bug: add it to
            :data:`TRUSTED_TYPES` only if it runs no code when loaded).
    """
    import skops.io as sio

    path = Path(path)
    data = sio.dumps(estimator)
    unknown = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if unknown:
        raise ValueError(f"the estimator holds types that loading would refuse: {unknown}")
    path.write_bytes(data)
    return path


def load_estimator(path: str | Path):
    """Read a skops file written by :func:`save_estimator`; build nothing outside :data:`TRUSTED_TYPES`.

    Returns:
        The fitted estimator (it has ``predict_proba`` and ``classes_``).

    Raises:
        InputError: the file is not a skops file, asks for another type, or holds no fitted
            classifier (one line each).
    """
    import skops.io as sio

    path = Path(path)
    where = f"{path.parent.name}/{path.name}"
    try:
        data = path.read_bytes()
        unknown = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    except Exception as error:  # zipfile, json and OSError for a file that is not a readable skops file
        raise InputError(f"{where} cannot be read: it is not a skops model file ({type(error).__name__}).") from error
    if unknown:
        raise InputError(f"{where} asks for types this project never saves ({', '.join(unknown[:3])}"
                         f"{', ...' if len(unknown) > 3 else ''}); it was refused unread.")
    try:
        estimator = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # skops raises many types for a damaged or foreign file
        raise InputError(f"{where} cannot be read ({type(error).__name__}).") from error
    if not callable(getattr(estimator, "predict_proba", None)) or not hasattr(estimator, "classes_"):
        raise InputError(f"{where} holds a {type(estimator).__name__}, not a fitted classifier.")
    return estimator


def refuse_pickles(folder: str | Path) -> None:
    """Refuse a model folder of the pickle era, without opening its pickle.

    Raises:
        InputError: ``folder`` holds ``model.joblib`` or ``head.joblib`` (and so no skops file).
    """
    folder = Path(folder)
    for name in PICKLE_FILES:
        if (folder / name).exists():
            raise InputError(
                f"{folder.name}/{name} is a pickle, and loading a pickle can run any code, so it is not opened: "
                "retrain the model (`python -m pipeline train ...`) to save it in the safe format.")
