"""Compare chord models on the same labeled frames: embeddings, 2-D maps, metrics and a teaching view.

Every model kind gives an embedding of a frame:

* a landmark model: its hand-landmark features (``raw63`` or ``centred``, the version in its card); a
  frame without a hand has **no embedding** (marked, not dropped: it keeps its place and counts in
  the metrics as an undecided frame);
* the spec ``"features:raw63"`` / ``"features:centred"``: the landmark features alone, with no
  classifier (what a landmark model sees, without its answers);
* the CNN: its penultimate layer (global average pool); a ViT / DINOv2 model: CLS and mean-pooled
  tokens, with the class probabilities from the same forward pass
  (:meth:`pipeline.models.image.ImageChordModel.probabilities_and_embeddings`).

Embeddings are cached on disk by model and frame: landmarks through the landmark cache of
:func:`pipeline.models.datasets.extract_landmarks`; image models through
:class:`pipeline.models.image.EmbeddingCache`, keyed by the model's weights digest, input size and the
image file's SHA-256 (a linear probe shares the cache its training filled). Image models' class
probabilities are cached the same way, so a second report reads instead of running the network.

Maps are t-SNE (PCA initialisation, a perplexity safe for small sets, fixed seed; PCA to 50 dimensions
first) and PCA, one per model, on the same frames in the same order. The report is one self-contained
HTML file (plotly's JS inlined once).

Entry point: :func:`compare_models`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.core.errors import InputError
from pipeline.core.types import ChordPrediction
from pipeline.models.datasets import LabeledImage, file_digest, read_image_folder
from pipeline.models.landmark import LandmarkChordModel
from pipeline.timeline.evaluation import EvaluationReport, evaluate_chord_predictions

FEATURE_SPEC_PREFIX = "features:"
TSNE_PCA_DIMS = 50
TSNE_MAX_ITER = 500
TSNE_PERPLEXITY = 30.0
TSNE_THREADS = 1
"""OpenMP threads of the t-SNE gradient. One, because the Barnes-Hut gradient's threads spin-wait:
on a busy two-core machine (measured here, load 7) 3,000 points took 12 s with one thread and 48 s
with two; 340 points 1.1 s against 18.7 s with every thread."""
THUMB_SIZE = (64, 36)
"""(width, height) of hover thumbnails: a tenth of a 640x360 frame, about 1 KB as JPEG."""
COMPARE_VERSION = "compare-v1"


# --------------------------------------------------------------------------------------------------
# Result types


@dataclass
class ModelEmbedding:
    """One model's view of the frames.

    Attributes:
        name: display name (unique within a comparison).
        kind: "landmarks", "features", "cnn", "image" or "unknown".
        description: what the embedding is ("landmarks raw63", "CNN penultimate layer", ...).
        vectors: (n, D) float32, one row per frame in frame order; rows of frames without an embedding
            are NaN. None when the model has no embedding at all.
        has_embedding: (n,) bool, which frames have one.
        predictions: one prediction per frame (None when the model does not classify, e.g. features).
        classes: chords the model answers.
        note: why frames or the whole model have no embedding / predictions ("" when all is well).
        cache_hits, cache_misses: embedding cache lookups (image models).
    """

    name: str
    kind: str
    description: str = ""
    vectors: np.ndarray | None = None
    has_embedding: np.ndarray | None = None
    predictions: list[ChordPrediction] | None = None
    classes: list[str] = field(default_factory=list)
    note: str = ""
    cache_hits: int = 0
    cache_misses: int = 0

    @property
    def n_embedded(self) -> int:
        """Frames with an embedding."""
        return int(self.has_embedding.sum()) if self.has_embedding is not None else 0

    @property
    def dim(self) -> int:
        """Embedding length (0 without embeddings)."""
        return int(self.vectors.shape[1]) if self.vectors is not None and self.vectors.ndim == 2 else 0


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


@dataclass
class ModelComparison:
    """A model's row of the comparison: its embedding, maps, scores.

    Attributes:
        embedding: the :class:`ModelEmbedding`.
        maps: "tsne" / "pca" -> (n, 2) float, frame order, NaN for frames without an embedding.
        report: scores of its predictions over every frame (None for a model that does not classify).
        separation: how its embedding separates the chords.
    """

    embedding: ModelEmbedding
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    report: EvaluationReport | None = None
    separation: Separation = field(default_factory=Separation)

    @property
    def name(self) -> str:
        return self.embedding.name


@dataclass
class Comparison:
    """Models compared on the same frames.

    Attributes:
        frames: the labeled frames, in the order of every array here.
        labels: (n,) true chord per frame.
        models: one :class:`ModelComparison` per model, in the order given.
        thumbnails: per frame a small JPEG as a ``data:image/jpeg;base64,...`` URI ("" when not made).
        seconds: time per stage ("embed", "maps", "metrics", "figures", "report").
        html_path: the report, when written.
    """

    frames: list[LabeledImage]
    labels: np.ndarray
    models: list[ModelComparison]
    thumbnails: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    html_path: Path | None = None

    def model(self, name: str) -> ModelComparison:
        """The model of that name."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def metrics_rows(self) -> list[dict]:
        """The metrics table: one dict per model (NaN where a value does not apply)."""
        rows = []
        for m in self.models:
            e, r, s = m.embedding, m.report, m.separation
            rows.append({
                "model": m.name, "kind": e.kind, "embedding": e.description, "dim": e.dim,
                "embedded": f"{e.n_embedded}/{len(self.frames)}",
                "accuracy": r.accuracy if r else float("nan"),
                "macro_f1": r.macro_f1 if r else float("nan"),
                "coverage": r.coverage if r else float("nan"),
                "covered_accuracy": r.covered_accuracy if r else float("nan"),
                "knn_accuracy": s.knn_accuracy, "silhouette": s.silhouette,
                "per_class_f1": dict(r.per_class_f1) if r else {},
                "note": "; ".join(x for x in (e.note, s.note) if x),
            })
        return rows


# --------------------------------------------------------------------------------------------------
# Frames and models


def _frames(data: str | Path | Sequence[LabeledImage], split: str | None) -> list[LabeledImage]:
    if isinstance(data, (str, Path)):
        root = Path(data)
        if split is None and (root / "val").is_dir():
            try:
                return read_image_folder(root, "val")
            except InputError:
                pass
        return read_image_folder(root, split)
    frames = list(data)
    if not frames:
        raise InputError("No frames to compare.")
    return frames


def _resolve_models(specs) -> list[tuple[str, object]]:
    """(name, model-or-spec) pairs; names made unique. A spec that fails to load stays a string here."""
    named: list[tuple[str, object]] = []
    if isinstance(specs, dict):
        specs = list(specs.items())
    for spec in specs:
        if isinstance(spec, tuple) and len(spec) == 2:
            name, obj = spec
        elif isinstance(spec, (str, Path)):
            name, obj = (str(spec) if str(spec).startswith(FEATURE_SPEC_PREFIX) else Path(spec).name or str(spec)), spec
        else:
            card = getattr(spec, "card", None)
            label = getattr(card, "feature_version", "") if isinstance(spec, LandmarkChordModel) else getattr(card, "kind", "")
            name, obj = f"{type(spec).__name__}" + (f" {label}" if label else ""), spec
        base, k = str(name), 2
        while any(n == name for n, _ in named):
            name, k = f"{base} ({k})", k + 1
        named.append((str(name), obj))
    return named


def _image_cache_key(model) -> str:
    """Embedding cache key of an image model: for a linear probe the key its training used (shared
    cache); otherwise the whole network's weights, input size and region."""
    from pipeline.models.image import _weights_digest, embedding_key

    card = model.card
    region = getattr(card, "input_region", "frame")
    if getattr(card, "mode", "") == "linear-probe" and hasattr(model, "backbone"):
        label = "local" if Path(str(card.backbone)).exists() else str(card.backbone)
        key = embedding_key(label, _weights_digest(model.backbone), model.input_size)
    else:
        net = getattr(model, "net", None) or getattr(model, "backbone", None)
        digest = _weights_digest(net) if net is not None else hashlib.sha256(repr(card).encode()).hexdigest()
        key = embedding_key(f"{COMPARE_VERSION}|{card.kind}|{card.mode}", digest, model.input_size)
    return key + (f"-{region}" if region != "frame" else "")


def _embed_image_model(name: str, model, frames: Sequence[LabeledImage], hands, cache_folder,
                       batch_size: int = 32) -> ModelEmbedding:
    from pipeline.models.image import EmbeddingCache, read_rgb
    from pipeline.timeline.analyze import image_model_input

    card = model.card
    classes = list(model.classes)
    kind = getattr(card, "kind", "image")
    description = ("CNN penultimate layer" if kind == "cnn"
                   else f"{card.architecture.get('model_type') or 'transformer'} CLS + mean tokens")
    region = getattr(card, "input_region", "frame")
    digests = [file_digest(f.path) for f in frames]
    key = _image_cache_key(model)
    embed_cache, proba_cache = EmbeddingCache(key, cache_folder), EmbeddingCache(key + "-proba", cache_folder)
    try:
        vectors, probas = embed_cache.get_many(digests), proba_cache.get_many(digests)
        todo = [i for i, d in enumerate(digests) if d not in vectors or d not in probas]
        todo = list(dict.fromkeys(todo))
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            # a model trained on regions sees the hand region (no detector here)
            images = [image_model_input(read_rgb(frames[i].path), model, hands=hands[i] if hands is not None else None)[0]
                      for i in chunk]
            prob, emb = model.probabilities_and_embeddings(images)
            fresh_e = {digests[i]: v for i, v in zip(chunk, emb)}
            fresh_p = {digests[i]: p for i, p in zip(chunk, prob)}
            embed_cache.put_many(fresh_e)
            proba_cache.put_many(fresh_p)
            vectors.update(fresh_e)
            probas.update(fresh_p)
        hits, misses = embed_cache.hits, embed_cache.misses
    finally:
        embed_cache.close()
        proba_cache.close()
    X = np.stack([vectors[d] for d in digests]).astype(np.float32)
    P = np.stack([probas[d] for d in digests]).astype(np.float32)
    predictions = [ChordPrediction.from_row(row, classes) for row in P]
    note = f"model sees the {region} region (hand crop, no detector)" if region != "frame" else ""
    return ModelEmbedding(name, kind, description, X, np.ones(len(frames), bool), predictions, classes, note,
                          hits, misses)


def _landmark_embedding(name: str, version: str, hands, model: LandmarkChordModel | None) -> ModelEmbedding:
    from pipeline.models.features import features_matrix

    X_covered, covered = features_matrix(hands, version)
    X = np.full((len(hands), X_covered.shape[1]), np.nan, np.float32)
    X[covered] = X_covered
    missing = int((~covered).sum())
    note = f"{missing} frame(s) without a hand have no embedding" if missing else ""
    predictions = model.predict(hands) if model is not None else None
    return ModelEmbedding(name, "landmarks" if model is not None else "features", f"landmarks {version}", X, covered,
                          predictions, list(model.classes) if model is not None else [], note)


def frame_embeddings(
    models,
    frames: Sequence[LabeledImage],
    *,
    cache_folder: str | Path | None = None,
    workers: int | None = None,
    hands: Sequence | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ModelEmbedding]:
    """Embeddings (and predictions) of the same frames from every model, from the on-disk caches.

    Args:
        models: model folders, ``"features:raw63"`` / ``"features:centred"`` specs, loaded model objects,
            or ``(name, folder_or_object)`` pairs.
        frames: labeled frames.
        cache_folder: embedding cache folder (default ``<cache_dir>/embeddings``).
        workers: processes for hand detection of frames not in the landmark cache.
        hands: the frames' :class:`~pipeline.vision.hands.HandsResult` when the caller has them (else read
            from the landmark cache, detected where missing).
        progress: called with a short message as each model is embedded.

    Returns:
        One :class:`ModelEmbedding` per model, in order. A model that cannot be loaded or has no
        embedding is returned with ``vectors=None`` and a ``note`` saying why; it never raises.
    """
    from pipeline.models.features import FEATURE_VERSIONS
    from pipeline.models.registry import chord_model_slot, load_model
    from pipeline.timeline.analyze import sees_region

    named = _resolve_models(models)
    if hands is not None and len(hands) != len(frames):
        raise ValueError("hands and frames must have the same length")

    def need_hands():
        nonlocal hands
        if hands is None:
            from pipeline.models.datasets import extract_landmarks

            hands = extract_landmarks([f.path for f in frames], workers=workers)
        return hands

    out: list[ModelEmbedding] = []
    for name, obj in named:
        if progress:
            progress(f"embedding {name}")
        try:
            if isinstance(obj, (str, Path)) and str(obj).startswith(FEATURE_SPEC_PREFIX):
                version = str(obj)[len(FEATURE_SPEC_PREFIX):]
                if version not in FEATURE_VERSIONS:
                    raise InputError(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}")
                out.append(_landmark_embedding(name, version, need_hands(), None))
                continue
            if isinstance(obj, (str, Path)):
                obj = load_model(obj)
            if isinstance(obj, LandmarkChordModel):
                out.append(_landmark_embedding(name, obj.card.feature_version, need_hands(), obj))
            elif chord_model_slot(obj) == "image":
                out.append(_embed_image_model(name, obj, frames, need_hands() if sees_region(obj) else None,
                                              cache_folder))
            else:
                predictions, classes = None, []
                note = f"{type(obj).__name__} has no embeddings"
                out.append(ModelEmbedding(name, "unknown", "", None, np.zeros(len(frames), bool), predictions,
                                          classes, note))
        except Exception as error:  # one bad model must not sink the comparison of the others
            out.append(ModelEmbedding(name, "unknown", "", None, np.zeros(len(frames), bool), None, [],
                                      f"not compared: {type(error).__name__}: {error}"))
    return out


# --------------------------------------------------------------------------------------------------
# Maps and separation


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
    import contextlib

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


# --------------------------------------------------------------------------------------------------
# Thumbnails


def thumbnail_uri(path: str | Path, size: tuple[int, int] = THUMB_SIZE, quality: int = 70) -> str:
    """A tiny JPEG of an image file as a ``data:`` URI ("" when unreadable).

    Args:
        path: the image file.
        size: (width, height) it is fitted into, aspect kept.
        quality: JPEG quality.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return ""
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode() if ok else ""


# --------------------------------------------------------------------------------------------------
# The comparison


def compare_models(
    model_folders_or_objects,
    data_dir_or_images: str | Path | Sequence[LabeledImage],
    out_html: str | Path | None = None,
    *,
    split: str | None = None,
    limit: int | None = None,
    methods: Sequence[str] = ("tsne", "pca"),
    seed: int = 0,
    teach_frame: int | None = None,
    thumbnails: bool = True,
    cache_folder: str | Path | None = None,
    workers: int | None = None,
    hands: Sequence | None = None,
    title: str = "Chord model comparison",
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Compare chord models on the same labeled frames, optionally writing an HTML report.

    Args:
        model_folders_or_objects: model folders (landmark, CNN, image), ``"features:raw63"`` /
            ``"features:centred"`` (landmark features without a classifier), loaded model objects, or
            ``(name, folder_or_object)`` pairs; a dict name -> folder_or_object works too.
        data_dir_or_images: an ImageFolder root (``<root>/<split>/<chord>/*.jpg`` or
            ``<root>/<chord>/*.jpg``) or a list of :class:`~pipeline.models.datasets.LabeledImage`.
        out_html: write the self-contained report here when given.
        split: split of an ImageFolder with splits (default "val" when there is one, else all frames).
        limit: use at most this many frames (evenly spread over the list, which is sorted by chord).
        methods: maps to draw ("tsne", "pca").
        seed: seed of the maps and the k-NN folds.
        teach_frame: index of the frame of the teaching view (default: the first frame where the
            models disagree, else frame 0).
        thumbnails: make hover thumbnails (about 1 KB per frame in the report).
        cache_folder: embedding cache folder (default ``<cache_dir>/embeddings``).
        workers: hand detection processes for frames not in the landmark cache.
        hands: the frames' hand landmarks when the caller has them (in frame order, before ``limit``).
        title: the report's title.
        progress: called with a short message per stage.

    Returns:
        The :class:`Comparison` (``html_path`` set when a report was written).

    Raises:
        InputError: no frames, or the data folder is not an ImageFolder tree. Models that fail are
        reported in the comparison, never raised.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    frames = _frames(data_dir_or_images, split)
    if limit is not None and 0 < limit < len(frames):
        picks = np.unique(np.linspace(0, len(frames) - 1, int(limit)).round().astype(int))
        frames = [frames[i] for i in picks]
        hands = [hands[i] for i in picks] if hands is not None else None
    labels = np.array([f.chord for f in frames])
    embeddings = frame_embeddings(model_folders_or_objects, frames, cache_folder=cache_folder, workers=workers,
                                  hands=hands, progress=progress)
    seconds["embed"] = time.perf_counter() - started

    t = time.perf_counter()
    if progress:
        progress("maps")
    models = []
    for e in embeddings:
        maps = {m: embedding_map(e.vectors, m, seed=seed) for m in methods} if e.vectors is not None else {}
        models.append(ModelComparison(e, maps))
    seconds["maps"] = time.perf_counter() - t

    t = time.perf_counter()
    for m in models:
        e = m.embedding
        if e.predictions is not None:
            m.report = evaluate_chord_predictions(labels, e.predictions)
        if e.vectors is not None:
            m.separation = separation_scores(e.vectors, labels, seed=seed)
        else:
            m.separation = Separation(note="no embedding")
    seconds["metrics"] = time.perf_counter() - t

    t = time.perf_counter()
    thumbs = [thumbnail_uri(f.path) for f in frames] if thumbnails else []
    seconds["thumbnails"] = time.perf_counter() - t
    comparison = Comparison(frames, labels, models, thumbs, seconds)
    if out_html is not None:
        t = time.perf_counter()
        if progress:
            progress("report")
        write_report(comparison, out_html, title=title, teach_frame=teach_frame)
        seconds["report"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    return comparison


def default_teach_frame(comparison: Comparison) -> int:
    """The first frame where the models that classify disagree (else 0): the interesting one to teach."""
    answers = [m.embedding.predictions for m in comparison.models if m.embedding.predictions is not None]
    for i in range(len(comparison.frames)):
        if len({a[i].chord for a in answers}) > 1:
            return i
    return 0


# --------------------------------------------------------------------------------------------------
# Figures


def _chord_colours(labels: Sequence[str]) -> dict[str, str]:
    import plotly.express as px

    palette = px.colors.qualitative.Dark24
    present = [c for c in VOCABULARY if c in set(labels)] + sorted(set(labels) - set(VOCABULARY))
    return {c: palette[i % len(palette)] for i, c in enumerate(present)}


MAP_TITLES = {"tsne": "t-SNE", "pca": "PCA"}


def maps_figure(comparison: Comparison, methods: Sequence[str] | None = None, *, thumbnails_in_customdata: bool = False):
    """A grid of maps: one row per model, one column per method; colour = true chord, symbol = right / wrong.

    Frames without an embedding are not drawn on that model's map (its subplot title counts them).
    ``customdata`` of every point is ``[frame index, true chord, predicted chord, probability, file]``
    (and the thumbnail data URI last when ``thumbnails_in_customdata``); the report shows the
    thumbnail on hover from the frame index.

    Returns:
        A plotly Figure.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = [m for m in comparison.models if m.maps]
    methods = list(methods or (list(rows[0].maps) if rows else ["tsne"]))
    titles = []
    for m in rows:
        for method in methods:
            titles.append(f"{m.name}: {MAP_TITLES.get(method, method)} ({m.embedding.n_embedded}/{len(comparison.frames)} frames)")
    fig = make_subplots(rows=max(1, len(rows)), cols=len(methods), subplot_titles=titles or ["no model has embeddings"],
                        horizontal_spacing=0.06, vertical_spacing=0.12 / max(1, len(rows)) + 0.04)
    colours = _chord_colours(comparison.labels)
    names = [Path(f.path).name for f in comparison.frames]
    shown: set[str] = set()
    for r, m in enumerate(rows, start=1):
        preds = m.embedding.predictions
        for c, method in enumerate(methods, start=1):
            Y = m.maps.get(method)
            if Y is None:
                continue
            for chord in colours:
                for outcome, symbol in (("right", "circle"), ("wrong", "x"), ("no prediction", "circle-open")):
                    idx = []
                    for i in np.flatnonzero((comparison.labels == chord) & ~np.isnan(Y).any(axis=1)):
                        if preds is None or not preds[i].covered:
                            o = "no prediction"
                        else:
                            o = "right" if preds[i].chord == chord else "wrong"
                        if o == outcome:
                            idx.append(int(i))
                    if not idx:
                        continue
                    custom = [[i, chord, preds[i].chord if preds else "", round(preds[i].probability, 3) if preds else float("nan"),
                               names[i]] + ([comparison.thumbnails[i]] if thumbnails_in_customdata and comparison.thumbnails else [])
                              for i in idx]
                    legend = chord not in shown
                    shown.add(chord)
                    fig.add_trace(go.Scattergl(
                        x=Y[idx, 0], y=Y[idx, 1], mode="markers", name=chord, legendgroup=chord, showlegend=legend,
                        marker=dict(color=colours[chord], symbol=symbol, size=7 if symbol != "x" else 8,
                                    line=dict(width=1, color=colours[chord])),
                        customdata=custom,
                        hovertemplate=("<b>%{customdata[4]}</b><br>true %{customdata[1]}<br>"
                                       "predicted %{customdata[2]} (%{customdata[3]})<br>" + outcome + "<extra></extra>"),
                    ), row=r, col=c)
            fig.update_xaxes(showticklabels=False, row=r, col=c)
            fig.update_yaxes(showticklabels=False, row=r, col=c)
    fig.update_layout(height=max(380, 360 * len(rows)), title="Embeddings of the same frames (colour: true chord; "
                      "circle right, x wrong, open circle no prediction)", legend_title_text="true chord",
                      margin=dict(t=80, l=20, r=20, b=20))
    return fig


def confusion_figure(model: ModelComparison):
    """The model's confusion matrix as a heatmap (rows true, columns predicted); None without predictions."""
    import plotly.graph_objects as go

    r = model.report
    if r is None or not r.labels:
        return None
    z = np.asarray(r.confusion)
    fig = go.Figure(go.Heatmap(z=z, x=r.labels, y=r.labels, colorscale="Blues", text=z, texttemplate="%{text}",
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{z} frames<extra></extra>"))
    fig.update_layout(title=f"{model.name}: confusion (accuracy {r.accuracy:.3f}, coverage {r.coverage:.3f})",
                      xaxis_title="predicted", yaxis_title="true", yaxis_autorange="reversed",
                      height=420, width=480, margin=dict(t=60, l=60, r=20, b=50))
    return fig


def top_k(comparison: Comparison, frame: int, k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """Each classifying model's ``k`` most probable chords for one frame (empty list: not covered)."""
    out = {}
    for m in comparison.models:
        preds = m.embedding.predictions
        if preds is not None:
            out[m.name] = preds[frame].top(k) if preds[frame].covered else []
    return out


def teaching_figure(comparison: Comparison, frame: int, k: int = 3):
    """The teaching view of one frame: each model's top-``k`` chords with probabilities, side by side,
    the frame's thumbnail beside them and its true chord in the title."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tops = top_k(comparison, frame, k)
    names = list(tops) or ["no classifying model"]
    fig = make_subplots(rows=1, cols=len(names) + 1, column_widths=[1.2] + [1.0] * len(names),
                        subplot_titles=["frame"] + names, horizontal_spacing=0.05)
    true = comparison.labels[frame]
    for c, name in enumerate(names, start=2):
        rows = tops.get(name, [])
        if not rows:
            fig.add_annotation(text="no hand: not covered", showarrow=False, row=1, col=c, x=0.5, y=0.5)
            fig.update_xaxes(visible=False, row=1, col=c)
            fig.update_yaxes(visible=False, row=1, col=c)
            continue
        chords = [ch for ch, _ in rows][::-1]
        probs = [p for _, p in rows][::-1]
        fig.add_trace(go.Bar(x=probs, y=chords, orientation="h", text=[f"{p:.2f}" for p in probs], textposition="auto",
                             marker_color=["#2ca02c" if ch == true else "#999999" for ch in chords], showlegend=False,
                             hovertemplate="%{y}: %{x:.3f}<extra>" + html.escape(name) + "</extra>"), row=1, col=c)
        fig.update_xaxes(range=[0, 1], row=1, col=c)
    fig.update_xaxes(visible=False, range=[0, 1], row=1, col=1)
    fig.update_yaxes(visible=False, range=[0, 1], row=1, col=1)
    if comparison.thumbnails and comparison.thumbnails[frame]:
        big = thumbnail_uri(comparison.frames[frame].path, size=(320, 180), quality=80) or comparison.thumbnails[frame]
        fig.add_layout_image(dict(source=big, xref="x", yref="y", x=0, y=1, sizex=1, sizey=1, sizing="contain",
                                  layer="below"), row=1, col=1)
    fig.update_layout(title=f"Teaching view: frame {frame} ({Path(comparison.frames[frame].path).name}), "
                            f"true chord {true}; green = the true chord", height=320,
                      margin=dict(t=70, l=40, r=20, b=30))
    return fig


# --------------------------------------------------------------------------------------------------
# The report


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def metrics_table_html(comparison: Comparison) -> str:
    """The metrics table (and the per-class F1 table) as HTML."""
    rows = comparison.metrics_rows()
    cols = [("model", "model"), ("kind", "kind"), ("embedding", "embedding"), ("dim", "dim"),
            ("embedded", "frames embedded"), ("accuracy", "accuracy"), ("macro_f1", "macro F1"),
            ("coverage", "coverage"), ("covered_accuracy", "covered accuracy"), ("knn_accuracy", "k-NN accuracy (CV)"),
            ("silhouette", "silhouette"), ("note", "note")]
    out = ["<table class='metrics'><thead><tr>" + "".join(f"<th>{h}</th>" for _, h in cols) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_fmt(row[k])}</td>" for k, _ in cols) + "</tr>")
    out.append("</tbody></table>")
    chords = [c for c in VOCABULARY if c in set(comparison.labels)] + sorted(set(comparison.labels) - set(VOCABULARY))
    out.append("<h3>Per-class F1</h3><table class='metrics'><thead><tr><th>model</th>"
               + "".join(f"<th>{html.escape(c)}</th>" for c in chords) + "</tr></thead><tbody>")
    for row in rows:
        f1 = row["per_class_f1"]
        out.append(f"<tr><td>{_fmt(row['model'])}</td>" + "".join(f"<td>{_fmt(f1.get(c, float('nan')))}</td>" for c in chords) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_HOVER_SCRIPT = """
<div id="thumb" style="position:fixed;display:none;pointer-events:none;z-index:10;border:1px solid #888;background:#fff"></div>
<script>
(function () {
  var THUMBS = %s;
  var box = document.getElementById('thumb');
  document.addEventListener('mousemove', function (e) { box.style.left = (e.clientX + 16) + 'px'; box.style.top = (e.clientY + 16) + 'px'; });
  function attach() {
    document.querySelectorAll('.js-plotly-plot.chord-map').forEach(function (div) {
      if (div._thumbs) return; div._thumbs = true;
      div.on('plotly_hover', function (d) {
        var p = d.points[0]; var i = p.customdata ? p.customdata[0] : null;
        if (i === null || !THUMBS[i]) return;
        box.innerHTML = '<img src="' + THUMBS[i] + '" width="192">'; box.style.display = 'block';
      });
      div.on('plotly_unhover', function () { box.style.display = 'none'; });
    });
  }
  if (document.readyState === 'complete') attach(); else window.addEventListener('load', attach);
})();
</script>
"""


def write_report(comparison: Comparison, out_html: str | Path, *, title: str = "Chord model comparison",
                 teach_frame: int | None = None) -> Path:
    """Write the comparison as one self-contained HTML file (plotly JS inlined once, no network needed).

    Contents: the metrics table and per-class F1, the grid of maps (thumbnail on hover), one confusion
    heatmap per classifying model, the teaching view of one frame, and the models not compared.

    Args:
        comparison: from :func:`compare_models`.
        out_html: the file to write (folders are created).
        title: page title.
        teach_frame: frame of the teaching view (default :func:`default_teach_frame`).

    Returns:
        The path written.
    """
    import json

    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    frame = default_teach_frame(comparison) if teach_frame is None else int(teach_frame)
    frame = min(max(frame, 0), len(comparison.frames) - 1)
    figures = [("maps", maps_figure(comparison), "chord-map")]
    figures += [(f"confusion {m.name}", confusion_figure(m), "") for m in comparison.models]
    figures.append(("teaching", teaching_figure(comparison, frame), ""))
    divs = []
    first = True
    for label, fig, css in figures:
        if fig is None:
            continue
        divs.append(fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False},
                                div_id=f"fig-{len(divs)}").replace("class=\"plotly-graph-div\"", f"class=\"plotly-graph-div {css}\""))
        first = False
    # the maps' div gets the class the hover script looks for
    maps_div = divs[0] if divs else ""
    confusion_divs = [d for d in divs[1:-1]]
    teaching_div = divs[-1] if len(divs) > 1 else ""
    missing = [m for m in comparison.models if m.embedding.vectors is None or m.embedding.note]
    notes = "".join(f"<li><b>{html.escape(m.name)}</b>: {html.escape(m.embedding.note or 'no embedding')}</li>"
                    for m in missing)
    model_list = ", ".join(html.escape(m.name) for m in comparison.models)
    thumbs = json.dumps(comparison.thumbnails)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table.metrics {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
table.metrics th, table.metrics td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }}
table.metrics th {{ background: #f3f3f3; }}
.confusions {{ display: flex; flex-wrap: wrap; gap: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(comparison.frames)} labeled frames; models: {model_list}. Every model sees the same frames in the same order.
Accuracy counts every frame (a frame a model cannot decide counts as {NO_CHORD}); k-NN accuracy (cross-validated)
and silhouette measure how well each embedding separates the true chords, on the frames that have one.</p>
<h2>Metrics</h2>
{metrics_table_html(comparison)}
{"<h3>Notes</h3><ul>" + notes + "</ul>" if notes else ""}
<h2>Maps</h2>
<p>Hover a point for the frame, its true and predicted chord and the probability.</p>
{maps_div}
<h2>Confusion matrices</h2>
<div class="confusions">{"".join(confusion_divs)}</div>
<h2>Teaching view</h2>
{teaching_div}
{_HOVER_SCRIPT % thumbs}
</body></html>
"""
    out_html.write_text(page, encoding="utf-8")
    comparison.html_path = out_html
    return out_html


__all__ = [
    "Comparison", "ModelComparison", "ModelEmbedding", "Separation", "compare_models", "confusion_figure",
    "default_teach_frame", "embedding_map", "frame_embeddings", "maps_figure", "metrics_table_html",
    "safe_perplexity", "separation_scores", "teaching_figure", "thumbnail_uri", "top_k", "write_report",
]
