"""Chord models on hand-landmark features: SVM, random forest and MLP, chosen by cross-validation.

Training tries every (feature version, estimator) pair with a small grid, scores each by stratified
k-fold accuracy on the frames that show a hand (folds keep whole groups where groups are given:
:func:`pipeline.models.datasets.holdout_groups`, so a frame is not scored against its near twins),
keeps the best, and calibrates its probabilities (Platt scaling through ``CalibratedClassifierCV``) so
that fusion and review queues can trust them.

A model is a folder::

    model.skops              the fitted scikit-learn estimator (skops: loading runs no code,
                             :mod:`pipeline.models.sklearn_io`)
    familiarity.safetensors  training feature rows the familiarity of a frame is measured against
                             (:mod:`pipeline.models.familiarity`)
    card.json                what it is (:class:`pipeline.models.cards.LandmarkCard`)

A frame without a hand cannot be decided by this model: it is predicted ``None`` with probability 0
and ``covered=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY
from pipeline.core.errors import InputError
from pipeline.core.hands import CASCADE_HANDS, HandSettings, HandsResult
from pipeline.core.types import NOT_COVERED, ChordPrediction, ModelKind
from pipeline.models.cards import CARD_FILE, LandmarkCard, library_versions, read_card
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, extract_landmarks, group_folds, holdout_groups
from pipeline.models.familiarity import STANDARDIZED, FamiliarityReference, default_domains, fit_reference
from pipeline.models.features import FEATURE_VERSIONS, features_matrix
from pipeline.models.sklearn_io import load_estimator, refuse_pickles, save_estimator

MODEL_FILE = "model.skops"


def _candidates(seed: int) -> dict[str, tuple[object, dict]]:
    """Estimator name -> (unfitted estimator, parameter grid)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return {
        "svm": (make_pipeline(StandardScaler(), SVC(kernel="rbf")), {"svc__C": [1.0, 10.0, 100.0]}),
        "rf": (RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1), {"max_features": ["sqrt"]}),
        "mlp": (
            make_pipeline(StandardScaler(), MLPClassifier((128,), max_iter=2000, random_state=seed)),
            {"mlpclassifier__alpha": [1e-4, 1e-2]},
        ),
    }


ESTIMATORS = ("svm", "rf", "mlp")


class LandmarkChordModel:
    """A fitted landmark chord model and its card.

    Args:
        estimator: a fitted scikit-learn classifier with ``predict_proba``.
        card: its card; ``card.classes`` must match the estimator's classes.
        familiarity: the training features' reference set (None: familiarity unknown).
    """

    def __init__(self, estimator, card: LandmarkCard, familiarity: FamiliarityReference | None = None) -> None:
        self.estimator = estimator
        self.card = card
        self.familiarity = familiarity

    @property
    def classes(self) -> list[str]:
        """Chord names the model answers, in the order of its probability columns."""
        return [str(c) for c in self.estimator.classes_]

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) for feature rows (n, D) of this model's feature version."""
        return self.estimator.predict_proba(np.asarray(features, dtype=np.float32))

    def predict(self, results: Sequence[HandsResult]) -> list[ChordPrediction]:
        """The chord of each frame from its fretting hand; frames without a hand are not covered.

        Args:
            results: hands per frame.

        Returns:
            One prediction per frame, in order, with the frame's familiarity when the model has a
            reference (:mod:`pipeline.models.familiarity`).
        """
        features, covered = features_matrix(results, self.card.feature_version)
        probabilities = self.predict_proba(features) if len(features) else np.zeros((0, len(self.classes)))
        reference = self.familiarity
        scores = reference.score(features) if reference is not None and len(features) else [None] * len(features)
        threshold = reference.threshold if reference is not None else None
        rows = iter(zip(probabilities, scores))
        predictions = []
        for is_covered in covered:
            if not is_covered:
                predictions.append(NOT_COVERED)
                continue
            row, score = next(rows)
            predictions.append(ChordPrediction.from_row(row, self.classes, score, threshold))
        return predictions

    def predict_one(self, result: HandsResult) -> ChordPrediction:
        """The chord of one frame (see :meth:`predict`)."""
        return self.predict([result])[0]

    def save(self, folder: str | Path) -> Path:
        """Write ``model.skops``, ``familiarity.safetensors`` (when the model has a reference) and
        ``card.json`` into ``folder`` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_estimator(self.estimator, folder / MODEL_FILE)
        if self.familiarity is not None:
            self.familiarity.save(folder)
            self.card.familiarity = self.familiarity.card_entry()
        self.card.write(folder)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> LandmarkChordModel:
        """Read a model folder written by :meth:`save`; nothing in it is unpickled.

        Raises:
            InputError: the folder is missing, incomplete, not a landmark model, of the pickle era
                (``model.joblib``: retrain it), or unreadable; the estimator's classes differ from the card's.
        """
        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file():
            refuse_pickles(folder)
        if not (folder / CARD_FILE).is_file() or not (folder / MODEL_FILE).is_file():
            raise InputError(f"{folder} is not a model folder (it needs {MODEL_FILE} and {CARD_FILE}).")
        card = read_card(folder, expect=ModelKind.LANDMARKS)
        estimator = load_estimator(folder / MODEL_FILE)
        if sorted(map(str, estimator.classes_)) != sorted(card.classes):
            raise InputError(f"{folder.name}/{MODEL_FILE} answers other chords than its card names.")
        return cls(estimator, card, FamiliarityReference.load(folder, card.familiarity))


def train_landmark_model(
    results: Sequence[HandsResult],
    labels: Sequence[str],
    *,
    feature_versions: Sequence[str] = tuple(FEATURE_VERSIONS),
    estimators: Sequence[str] = ESTIMATORS,
    folds: int = 5,
    seed: int = 0,
    trained_on: str = "",
    data_fingerprint: str = "",
    synthetic: bool = False,
    hand_settings: HandSettings = HandSettings(),
    domains: Sequence[str] = (),
    groups: Sequence[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> LandmarkChordModel:
    """Train landmark chord models, keep the best by cross-validation, calibrate it.

    Args:
        results: hands per training image.
        labels: vocabulary chord per image (``None`` frames with a visible hand teach "no chord").
        feature_versions: feature versions to try.
        estimators: estimator names to try (subset of :data:`ESTIMATORS`).
        folds: stratified CV folds (reduced for classes with fewer examples).
        seed: random seed of folds and estimators.
        trained_on, data_fingerprint, synthetic: recorded in the card.
        hand_settings: how ``results`` were detected (the card keeps them: analysis detects the same way).
        domains: the data sets the frames come from (their names), for the card.
        groups: each frame's group (:func:`pipeline.models.datasets.holdout_groups`): cross-validation,
            calibration and the familiarity threshold then use folds that keep groups whole; None:
            folds of single frames.
        progress: called as ``progress("raw63/svm", cv_accuracy)`` after each candidate.

    Returns:
        The fitted model with its card.

    Raises:
        InputError: fewer than two chords, or too few frames with a hand to cross-validate.
    """
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import GridSearchCV

    labels = np.asarray(labels)
    if len(labels) != len(results) or (groups is not None and len(groups) != len(results)):
        raise ValueError("results, labels and groups must have the same length")
    unknown = sorted(set(labels) - set(VOCABULARY))
    if unknown:
        raise InputError(f"Labels {unknown} are not chord names of the vocabulary.")
    covered = np.array([r.fretting is not None for r in results])
    if np.sum(covered & (labels == "None")) < 2:
        # "None" frames rarely show a hand; one stray detection among them cannot teach "no chord"
        results = [HandsResult((), None, r.width, r.height) if chord == "None" else r
                   for r, chord in zip(results, labels)]
        covered &= labels != "None"
    y = labels[covered]
    chords, counts = np.unique(y, return_counts=True)
    if len(chords) < 2:
        raise InputError(f"Need frames with a hand for at least two chords; found {list(chords)}.")
    folds = int(min(folds, counts.min()))
    if folds < 2:
        rare = [str(c) for c, n in zip(chords, counts) if n < 2]
        raise InputError(f"Chords {rare} have fewer than 2 frames with a hand; add frames to cross-validate.")
    covered_groups = None if groups is None else [str(g) for g, c in zip(groups, covered) if c]
    splitter = group_folds(y, covered_groups, folds, seed)
    candidates = _candidates(seed)
    scores: dict[str, float] = {}
    best = None
    for version in feature_versions:
        X, _ = features_matrix(results, version)
        for name in estimators:
            estimator, grid = candidates[name]
            search = GridSearchCV(clone(estimator), grid, cv=splitter, n_jobs=1).fit(X, y)
            key = f"{version}/{name}"
            scores[key] = float(search.best_score_)
            if progress:
                progress(key, scores[key])
            if best is None or search.best_score_ > best[0]:
                best = (search.best_score_, version, name, search.best_params_, search.best_estimator_)
    score, version, name, params, estimator = best
    X, _ = features_matrix(results, version)
    # Platt scaling on held-out folds, one model refit on all data (ensemble=False): calibrated
    # probabilities at the cost of one more cross-validation.
    calibrated = CalibratedClassifierCV(clone(estimator), method="sigmoid", cv=splitter, ensemble=False).fit(X, y)
    order = [c for c in VOCABULARY if c in set(map(str, calibrated.classes_))]
    card = LandmarkCard(
        estimator=name,
        feature_version=version,
        classes=order,
        trained_on=trained_on,
        data_fingerprint=data_fingerprint,
        n_images=len(labels),
        n_covered=int(covered.sum()),
        cv_scores=scores,
        cv_accuracy=float(score),
        params={k: v for k, v in params.items()},
        synthetic=synthetic,
        hands=hand_settings.to_json(),
        domains=list(domains),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=library_versions(ModelKind.LANDMARKS),
    )
    # familiarity: the chosen features of the frames with a hand; threshold from the CV folds
    reference = fit_reference(X, y, method=STANDARDIZED, folds=folds, seed=seed, groups=covered_groups,
                              domains=list(domains) or default_domains(trained_on))
    card.familiarity = reference.card_entry()
    return LandmarkChordModel(calibrated, card, reference)


def train_landmark_model_on_images(
    images: Sequence[LabeledImage],
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    hand_settings: HandSettings = CASCADE_HANDS,
    detection_progress: Callable[[int, int], None] | None = None,
    hands_found: Callable[[list[HandsResult]], None] | None = None,
    **training,
) -> LandmarkChordModel:
    """Train a landmark chord model on labeled image files, recording their fingerprint, and save it.

    Hands come from the landmark cache (:func:`pipeline.models.datasets.extract_landmarks`: only files never
    seen are detected); the card's ``data_fingerprint`` is :func:`pipeline.models.datasets.dataset_fingerprint`
    of ``images``.

    Args:
        images: the labeled training frames.
        out: the model folder to write (None: the model is returned unsaved).
        workers: processes for hand detection.
        hand_settings: how hands are found (default the cascade); recorded in the card.
        detection_progress: called as ``progress(done, total)`` during hand detection.
        hands_found: called with the hands per image once detection is done, before training.
        **training: passed on to :func:`train_landmark_model` (``feature_versions``, ``estimators``,
            ``folds``, ``trained_on``, ``synthetic``, ``progress`` ...).

    Returns:
        The trained model (saved to ``out`` when given).

    Raises:
        InputError: an image cannot be read, or too few frames with a hand per chord.
    """
    hands = extract_landmarks([image.path for image in images], hand_settings, workers=workers,
                              progress=detection_progress)
    if hands_found:
        hands_found(hands)
    training.setdefault("domains", list(dict.fromkeys(image.domain for image in images if image.domain)))
    training.setdefault("groups", holdout_groups(images))
    model = train_landmark_model(hands, [image.chord for image in images], data_fingerprint=dataset_fingerprint(images),
                                 hand_settings=hand_settings, **training)
    if out is not None:
        model.save(out)
    return model
