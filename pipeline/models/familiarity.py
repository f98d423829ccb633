"""How familiar a frame is to a chord model: nearness of its embedding to the model's training data.

Every chord model turns a frame into a vector: an image model its penultimate embedding
(:meth:`pipeline.models.image.base.TorchImageModel.probabilities_and_embeddings`), a landmark model
its feature row (:mod:`pipeline.models.features`). A :class:`FamiliarityReference` keeps a compact,
class-stratified sample of the training vectors (at most :data:`MAX_REFERENCE`, float16) in the
model folder as ``familiarity.safetensors``; a frame's familiarity is its mean similarity to its
``k`` nearest reference vectors (higher is more familiar). The threshold is the
:data:`UNFAMILIAR_SHARE` quantile of the familiarity of held-out training-domain frames (the
training split's holdout, or cross-validation folds where there is none), so about 5 % of familiar
frames fall below it; a frame below it is "unfamiliar". Held-out frames must be unseen footage of the
domain, not near twins of training frames (a recording's neighbouring frames): holdouts and folds keep
whole groups (:func:`pipeline.models.datasets.holdout_groups`: a tree's ``groups.csv`` groups, else
contiguous runs of files in name order), else the threshold sits too high and unseen frames of the
training domain fall below it.

Two methods, both k-nearest neighbours:

* ``knn-cosine`` (image models): vectors L2-normalised; familiarity is the mean cosine similarity
  to the k nearest (1: the same direction as training frames; ReLU embeddings stay in [0, 1]).
* ``knn-standardized`` (landmark models): vectors standardised by the training mean and spread;
  familiarity is minus the mean Euclidean distance to the k nearest, divided by the square root of
  the dimension (0: on a training frame).

The card's ``familiarity`` dict records the method, k, threshold, the reference's size, how the
threshold was set and the training domains; a model without one (older cards) answers ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError
from pipeline.models.datasets import group_folds

FAMILIARITY_FILE = "familiarity.safetensors"
COSINE = "knn-cosine"
STANDARDIZED = "knn-standardized"
METHODS = (COSINE, STANDARDIZED)
DEFAULT_K = 5
MAX_REFERENCE = 2000
UNFAMILIAR_SHARE = 0.05
"""Share of held-out training-domain frames the threshold puts below it."""
_CHUNK = 1024


@dataclass
class FamiliarityReference:
    """A model's reference set of training vectors and its familiarity threshold.

    Attributes:
        vectors: (n, d) float16, already transformed (L2-normalised or standardised).
        method: :data:`COSINE` or :data:`STANDARDIZED`.
        k: neighbours averaged.
        threshold: familiarity at or above which a frame is familiar.
        mean, std: (d,) float32 standardisation (``knn-standardized``; empty otherwise).
        domains: names of the training data.
        info: further card fields (how the threshold was set, on how many frames).
    """

    vectors: np.ndarray
    method: str = COSINE
    k: int = DEFAULT_K
    threshold: float = float("-inf")
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    std: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    domains: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Raw vectors (n, d) as this reference compares them (float32)."""
        return _transform(np.asarray(vectors, np.float32), self.method, self.mean, self.std)

    def score(self, vectors: np.ndarray) -> np.ndarray:
        """Familiarity (n,) float32 of raw vectors (embeddings or feature rows); higher is more familiar.

        Raises:
            ValueError: the vectors' length differs from the reference's.
        """
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"vectors of shape {vectors.shape} do not fit a reference of dimension "
                             f"{self.vectors.shape[1]}")
        return _knn_familiarity(self.transform(vectors), self.vectors.astype(np.float32), self.method, self.k)

    def familiar(self, scores: np.ndarray) -> np.ndarray:
        """Which familiarity scores reach the threshold (bool array)."""
        return np.asarray(scores) >= self.threshold

    def card_entry(self) -> dict:
        """The card's ``familiarity`` dict: method, k, threshold, n_reference, domains and :attr:`info`."""
        return {"method": self.method, "k": int(self.k), "threshold": float(self.threshold),
                "n_reference": int(len(self.vectors)), "domains": list(self.domains), **self.info}

    def save(self, folder: str | Path) -> Path:
        """Write ``familiarity.safetensors`` into ``folder`` (the card entry goes into ``card.json``)."""
        from safetensors.numpy import save_file

        path = Path(folder) / FAMILIARITY_FILE
        save_file({"vectors": np.ascontiguousarray(self.vectors, np.float16),
                   "mean": np.ascontiguousarray(self.mean, np.float32),
                   "std": np.ascontiguousarray(self.std, np.float32)}, str(path))
        return path

    @classmethod
    def load(cls, folder: str | Path, entry: dict | None) -> FamiliarityReference | None:
        """The reference of a model folder, given its card's ``familiarity`` entry.

        Returns:
            None when the card has no entry (a model trained before familiarity existed).

        Raises:
            InputError: the entry or the file is missing, damaged or inconsistent (one line).
        """
        if not entry:
            return None
        folder = Path(folder)
        path = folder / FAMILIARITY_FILE
        try:
            method, k, threshold = str(entry["method"]), int(entry["k"]), float(entry["threshold"])
            domains = [str(d) for d in entry.get("domains", [])]
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{folder.name}/card.json has an invalid familiarity entry "
                             f"({type(error).__name__}).") from error
        if method not in METHODS or k < 1 or not np.isfinite(threshold):
            raise InputError(f"{folder.name}/card.json has an invalid familiarity entry "
                             f"(method {method!r}, k {k}, threshold {threshold}).")
        if not path.is_file():
            raise InputError(f"{folder.name} has a familiarity entry in its card but no {FAMILIARITY_FILE}.")
        try:
            from safetensors.numpy import load_file

            arrays = load_file(str(path))
            vectors, mean, std = arrays["vectors"], arrays["mean"], arrays["std"]
        except Exception as error:  # safetensors raises several types for a damaged file
            raise InputError(f"{folder.name}/{FAMILIARITY_FILE} cannot be read ({type(error).__name__}).") from error
        standardized = method == STANDARDIZED
        if (vectors.ndim != 2 or not len(vectors)
                or (standardized and (mean.shape != (vectors.shape[1],) or std.shape != mean.shape))):
            raise InputError(f"{folder.name}/{FAMILIARITY_FILE} does not hold a reference set of its card's method.")
        info = {key: value for key, value in entry.items()
                if key not in ("method", "k", "threshold", "n_reference", "domains")}
        return cls(vectors.astype(np.float16), method, k, threshold, mean.astype(np.float32),
                   std.astype(np.float32), domains, info)


def _transform(vectors: np.ndarray, method: str, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    if method == COSINE:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
    return (vectors - mean) / std


def _knn_familiarity(queries: np.ndarray, reference: np.ndarray, method: str, k: int) -> np.ndarray:
    """Mean similarity of each (transformed) query to its k nearest (transformed) reference rows."""
    k = max(1, min(int(k), len(reference)))
    out = np.empty(len(queries), np.float32)
    squared = (reference ** 2).sum(1)
    for start in range(0, len(queries), _CHUNK):
        q = queries[start:start + _CHUNK]
        dots = q @ reference.T
        if method == COSINE:
            nearest = -np.partition(-dots, k - 1, axis=1)[:, :k]
            out[start:start + len(q)] = nearest.mean(1)
        else:
            distances = np.sqrt(np.maximum((q ** 2).sum(1, keepdims=True) + squared - 2 * dots, 0.0))
            nearest = np.partition(distances, k - 1, axis=1)[:, :k]
            out[start:start + len(q)] = -nearest.mean(1) / np.sqrt(reference.shape[1])
    return out


def stratified_sample(labels: Sequence, limit: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``limit`` items, each class keeping its share (at least one each), sorted.

    Args:
        labels: class of each item.
        limit: most indices returned.
        seed: random seed of the choice within each class.
    """
    labels = np.asarray(labels)
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, int(round(limit * len(members) / len(labels))))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    chosen = np.sort(np.concatenate(chosen))
    if len(chosen) > limit:
        chosen = np.sort(rng.choice(chosen, size=limit, replace=False))
    return chosen


def fit_reference(
    vectors: np.ndarray,
    labels: Sequence,
    *,
    method: str = COSINE,
    holdout: np.ndarray | None = None,
    k: int = DEFAULT_K,
    max_reference: int = MAX_REFERENCE,
    folds: int = 5,
    seed: int = 0,
    domains: Sequence[str] = (),
    groups: Sequence | None = None,
) -> FamiliarityReference:
    """Build a model's reference set from its training vectors and set the threshold.

    With ``holdout`` (vectors of held-out training-domain frames, e.g. the early-stopping holdout)
    the threshold is the :data:`UNFAMILIAR_SHARE` quantile of their familiarity against the stored
    reference. Without it (or with fewer than 10 held out), stratified folds of ``vectors`` are
    scored each against a reference built from the other folds; with ``groups`` the folds keep each
    group whole (:func:`pipeline.models.datasets.group_folds`), so a frame is never scored against its
    near twins.

    Args:
        vectors: (n, d) training vectors (raw: embeddings or feature rows).
        labels: class of each training vector (the sample is stratified by it).
        method: :data:`COSINE` or :data:`STANDARDIZED`.
        holdout: (m, d) held-out vectors, or None.
        k: neighbours averaged.
        max_reference: most vectors stored.
        folds: folds when there is no holdout.
        seed: random seed of the sample and the folds.
        domains: names of the training data, for the card.
        groups: group of each training vector (e.g. :func:`pipeline.models.datasets.holdout_groups`), or None.

    Returns:
        The reference (``threshold`` set; ``info`` says how).

    Raises:
        ValueError: fewer than two training vectors, or an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"unknown familiarity method {method!r}")
    vectors = np.asarray(vectors, np.float32)
    labels = np.asarray(labels)
    if vectors.ndim != 2 or len(vectors) < 2 or len(labels) != len(vectors):
        raise ValueError("need at least two training vectors (n, d), one label each")
    if method == STANDARDIZED:
        mean = vectors.mean(0)
        std = np.maximum(vectors.std(0), 1e-6 * max(float(vectors.std()), 1e-6)).astype(np.float32)
    else:
        mean = std = np.zeros(0, np.float32)
    transformed = _transform(vectors, method, mean, std)
    keep = stratified_sample(labels, max_reference, seed)
    reference = transformed[keep].astype(np.float16)
    if holdout is not None and len(holdout) >= 10:
        held = _transform(np.asarray(holdout, np.float32), method, mean, std)
        scores = _knn_familiarity(held, reference.astype(np.float32), method, k)
        info = {"threshold_set_on": "holdout", "n_threshold": int(len(held))}
    else:
        scores, by_group = _out_of_fold(transformed, labels, method, k, max_reference, folds, seed, groups)
        info = {"threshold_set_on": "group cross-validation" if by_group else "cross-validation",
                "n_threshold": int(len(scores))}
    threshold = float(np.quantile(scores, UNFAMILIAR_SHARE)) if len(scores) else float("-inf")
    if not np.isfinite(threshold):  # too few frames to say: everything counts as familiar
        threshold = float(np.min(scores)) if len(scores) else -1e30
    info["unfamiliar_share"] = UNFAMILIAR_SHARE
    return FamiliarityReference(reference, method, int(k), threshold, mean.astype(np.float32),
                                std.astype(np.float32), [str(d) for d in domains], info)


def _out_of_fold(transformed: np.ndarray, labels: np.ndarray, method: str, k: int, max_reference: int,
                 folds: int, seed: int, groups: Sequence | None = None) -> tuple[np.ndarray, bool]:
    """(familiarity of every vector against a reference of the other folds, whether the folds kept
    groups whole). Folds are :func:`pipeline.models.datasets.group_folds`: by group where ``groups`` allow."""
    splits = group_folds(labels, groups if len(labels) >= 2 * folds else None, folds, seed)
    by_group = groups is not None and all(not set(np.asarray(groups)[train]) & set(np.asarray(groups)[test])
                                          for train, test in splits)
    fold_of = np.empty(len(labels), int)
    for fold, (_, test) in enumerate(splits):
        fold_of[test] = fold
    folds = len(splits)
    scores = np.full(len(labels), np.nan, np.float32)
    for fold in range(folds):
        inside, outside = fold_of == fold, fold_of != fold
        if not inside.any() or outside.sum() < 1:
            continue
        rest = np.flatnonzero(outside)
        sample = rest[stratified_sample(labels[rest], max_reference, seed + fold)]
        reference = transformed[sample].astype(np.float16).astype(np.float32)
        scores[inside] = _knn_familiarity(transformed[inside], reference, method, k)
    return scores[np.isfinite(scores)], by_group


def default_domains(trained_on: str) -> list[str]:
    """The training domains a card records when the caller names none: the data folder's name, else
    ``trained_on`` itself ([] when empty)."""
    if not trained_on:
        return []
    path = Path(trained_on)
    return [path.name] if path.name and (path.is_absolute() or path.exists()) else [trained_on]
