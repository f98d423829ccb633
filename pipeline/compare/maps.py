"""2-D maps of embeddings (t-SNE / PCA) and how well an embedding separates the chords.

Maps are t-SNE (PCA initialisation, a perplexity safe for small sets, fixed seed; PCA to 50 dimensions
first) and PCA, one per model, on the same frames in the same order; frames without an embedding stay NaN.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TSNE_PCA_DIMS = 50
"""Dimensions kept (PCA) before t-SNE."""
TSNE_MAX_ITER = 500
"""t-SNE iterations."""
TSNE_PERPLEXITY = 30.0
"""The t-SNE perplexity asked for (lowered for small sets: :func:`safe_perplexity`)."""
TSNE_THREADS = 1
"""OpenMP threads of the t-SNE gradient. One, because the Barnes-Hut gradient's threads spin-wait:
on a busy two-core machine (measured here, load 7) 3,000 points took 12 s with one thread and 48 s
with two; 340 points 1.1 s against 18.7 s with every thread."""


@dataclass
class Separation:
    """How well an embedding separates the chords (on the frames that have an embedding).

    Attributes:
        knn_accuracy: k-nearest-neighbour accuracy (euclidean) by stratified cross-validation.
        silhouette: silhouette score of the true chords (euclidean), in [-1, 1].

    Both read the embedding as it is, unscaled: standardising every dimension would blow up
    near-constant ones (a CNN's dead channels, a fixed landmark depth) into noise as loud as the signal.
        k: neighbours; folds: cross-validation folds (0: not computed).
        n: frames used.
        note: why a value is NaN.
    """

    knn_accuracy: float = float("nan")
    silhouette: float = float("nan")
    k: int = 0
    folds: int = 0
    n: int = 0
    note: str = ""


def safe_perplexity(n: int, requested: float = TSNE_PERPLEXITY) -> float:
    """A t-SNE perplexity that works for ``n`` points: below n / 3, at least 2, never above ``requested``.

    For n <= 6 the floor of 2 wins (scikit-learn only needs perplexity < n).
    """
    return float(max(2.0, min(requested, (n - 1) / 3.0)))


def embedding_map(X: np.ndarray, method: str = "tsne", *, seed: int = 0, perplexity: float | None = None,
                  max_iter: int = TSNE_MAX_ITER, pca_dims: int = TSNE_PCA_DIMS, n_jobs: int | None = None,
                  threads: int | None = TSNE_THREADS) -> np.ndarray:
    """A 2-D map of embedding rows, in the same order; NaN rows (no embedding) stay NaN.

    Args:
        X: (n, D) embeddings, NaN rows for frames without one.
        method: "tsne" (PCA to ``pca_dims`` first, PCA initialisation, Barnes-Hut) or "pca".
        seed: random seed (the same frames and seed give the same map).
        perplexity: t-SNE perplexity; default :func:`safe_perplexity` of the number of rows.
        max_iter: t-SNE iterations (scikit-learn's minimum is 250).
        pca_dims: dimensions kept before t-SNE (None: none dropped).
        n_jobs: t-SNE neighbour search jobs (scikit-learn's ``n_jobs``).
        threads: OpenMP / BLAS threads while mapping (None: the libraries' default); see
            :data:`TSNE_THREADS`.

    Returns:
        (n, 2) float64. With fewer than 4 embedded rows t-SNE falls back to PCA; fewer than 2 rows or a
        single distinct point give zeros.
    """
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=np.float64)
    out = np.full((len(X), 2), np.nan)
    if X.ndim != 2 or len(X) == 0:
        return out
    ok = ~np.isnan(X).any(axis=1)
    Z = X[ok]
    n = len(Z)
    if n == 0:
        return out
    if n < 2 or np.allclose(Z, Z[0]):
        out[ok] = 0.0
        return out
    components = min(2, n, Z.shape[1])
    with threadpool_limits(limits=threads) if threads else contextlib.nullcontext():
        Y = _map(Z, method, n, components, seed, perplexity, max_iter, pca_dims, n_jobs)
    if Y.shape[1] < 2:
        Y = np.column_stack([Y, np.zeros(len(Y))])
    out[ok] = Y
    return out


def _map(Z, method, n, components, seed, perplexity, max_iter, pca_dims, n_jobs) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if method == "pca" or n < 4:
        Y = PCA(components, random_state=seed).fit_transform(Z)
    elif method == "tsne":
        if pca_dims and Z.shape[1] > pca_dims and n > pca_dims:
            Z = PCA(pca_dims, random_state=seed).fit_transform(Z)
        perplexity = safe_perplexity(n) if perplexity is None else min(float(perplexity), n - 1.0)
        Y = TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", max_iter=max(250, max_iter),
                 random_state=seed, method="barnes_hut", n_jobs=n_jobs).fit_transform(Z.astype(np.float32))
    else:
        raise ValueError(f"unknown map method {method!r}; use 'tsne' or 'pca'")
    return Y


def separation_scores(X: np.ndarray, labels: Sequence[str], *, k: int = 5, folds: int = 5, seed: int = 0) -> Separation:
    """How well an embedding separates the chords: k-NN accuracy (cross-validated) and silhouette.

    Args:
        X: (n, D) embeddings; NaN rows (frames without one) are left out.
        labels: (n,) true chords.
        k: neighbours (fewer when a training fold is small).
        folds: stratified folds (fewer when a chord has fewer frames; a chord with one frame is left
            out of the k-NN score, since no fold can hold it out and train on it).
        seed: fold shuffling seed.

    Returns:
        The scores; NaN with a note when they cannot be computed (fewer than 2 chords, too few frames).
    """
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import KNeighborsClassifier

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(labels)
    if X.ndim != 2 or len(X) != len(y):
        return Separation(note="no embedding")
    ok = ~np.isnan(X).any(axis=1)
    X, y = X[ok], y[ok]
    result = Separation(n=int(len(y)))
    chords, counts = np.unique(y, return_counts=True)
    if len(chords) < 2:
        result.note = "fewer than two chords among the embedded frames"
        return result
    notes = []
    if 2 <= len(chords) <= len(y) - 1:
        result.silhouette = float(silhouette_score(X, y, metric="euclidean"))
    else:
        notes.append("silhouette needs more frames than chords")
    keep = np.isin(y, chords[counts >= 2])
    yk, Xk = y[keep], X[keep]
    kept_chords, kept_counts = np.unique(yk, return_counts=True)
    if len(kept_chords) >= 2:
        n_folds = int(min(folds, kept_counts.min()))
        smallest_train = len(yk) - math.ceil(len(yk) / n_folds)
        neighbours = int(max(1, min(k, smallest_train)))
        knn = KNeighborsClassifier(neighbours)
        predicted = cross_val_predict(knn, Xk, yk, cv=StratifiedKFold(n_folds, shuffle=True, random_state=seed))
        result.knn_accuracy, result.k, result.folds = float(np.mean(predicted == yk)), neighbours, n_folds
        if not keep.all():
            notes.append(f"k-NN leaves out {int((~keep).sum())} frame(s) of chords seen once")
    else:
        notes.append("k-NN needs two chords with at least two frames")
    result.note = "; ".join(notes)
    return result


__all__ = ["Separation", "embedding_map", "safe_perplexity", "separation_scores"]
