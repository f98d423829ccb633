"""What each chord model makes of the same labeled frames: its embedding of each frame and its answers.

Every model kind gives an embedding of a frame:

* a landmark model: its hand-landmark features (``raw63`` or ``centred``, the version in its card); a
  frame without a hand has **no embedding** (marked, not dropped: it keeps its place and counts in
  the metrics as an undecided frame);
* the spec ``"features:raw63"`` / ``"features:centred"``: the landmark features alone, with no
  classifier (what a landmark model sees, without its answers);
* the CNN: its penultimate layer (global average pool); a ViT / DINOv2 model: CLS and mean-pooled
  tokens, with the class probabilities from the same forward pass
  (:meth:`pipeline.models.image.base.TorchImageModel.probabilities_and_embeddings`).

Embeddings are cached on disk by model and frame: landmarks through the landmark cache of
:func:`pipeline.models.datasets.extract_landmarks`; image models through
:class:`pipeline.models.image.cache.EmbeddingCache`, keyed by the model's weights digest, input size and
the image file's SHA-256 (a linear probe shares the cache its training filled). Image models' class
probabilities are cached the same way, so a second comparison reads instead of running the network.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.types import ChordPrediction
from pipeline.models.datasets import LabeledImage, extract_landmarks, file_digest, read_image_folder
from pipeline.models.features import FEATURE_VERSIONS, features_matrix
from pipeline.models.image.cache import EmbeddingCache, embedding_key
from pipeline.models.image.inputs import read_rgb
from pipeline.models.image.transformer import weights_digest
from pipeline.models.landmark import LandmarkChordModel
from pipeline.models.registry import chord_model_slot, load_model
from pipeline.timeline.analyze import image_model_input, sees_region

FEATURE_SPEC_PREFIX = "features:"
"""A model spec ``"features:<version>"`` stands for the landmark features alone, with no classifier."""
COMPARE_VERSION = "compare-v1"
"""Part of the embedding cache key of every image model that is not a linear probe."""


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


def comparison_frames(data: str | Path | Sequence[LabeledImage], split: str | None) -> list[LabeledImage]:
    """The labeled frames to compare models on.

    Args:
        data: an ImageFolder root (``<root>/<split>/<chord>/*.jpg`` or ``<root>/<chord>/*.jpg``) or a list of
            :class:`~pipeline.models.datasets.LabeledImage`.
        split: the split to read (None: "val" when the folder has one, else every frame).

    Returns:
        The frames, sorted by chord for a folder, in the given order for a list.

    Raises:
        InputError: no frames, or a folder that is not an ImageFolder tree.
    """
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
            landmark = isinstance(spec, LandmarkChordModel)
            label = getattr(card, "feature_version", "") if landmark else getattr(card, "kind", "")
            name, obj = f"{type(spec).__name__}" + (f" {label}" if label else ""), spec
        base, k = str(name), 2
        while any(n == name for n, _ in named):
            name, k = f"{base} ({k})", k + 1
        named.append((str(name), obj))
    return named


def _image_cache_key(model) -> str:
    """Embedding cache key of an image model: for a linear probe the key its training used (shared
    cache); otherwise the whole network's weights, input size and region."""
    card = model.card
    region = getattr(card, "input_region", "frame")
    if getattr(card, "mode", "") == "linear-probe" and hasattr(model, "backbone"):
        label = "local" if Path(str(card.backbone)).exists() else str(card.backbone)
        key = embedding_key(label, weights_digest(model.backbone), model.input_size)
    else:
        net = getattr(model, "net", None) or getattr(model, "backbone", None)
        digest = weights_digest(net) if net is not None else hashlib.sha256(repr(card).encode()).hexdigest()
        key = embedding_key(f"{COMPARE_VERSION}|{card.kind}|{card.mode}", digest, model.input_size)
    return key + (f"-{region}" if region != "frame" else "")


def _embed_image_model(name: str, model, frames: Sequence[LabeledImage], hands, cache_folder,
                       batch_size: int = 32) -> ModelEmbedding:
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
            images = [image_model_input(read_rgb(frames[i].path), model,
                                        hands=hands[i] if hands is not None else None)[0] for i in chunk]
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
    named = _resolve_models(models)
    if hands is not None and len(hands) != len(frames):
        raise ValueError("hands and frames must have the same length")

    def need_hands():
        nonlocal hands
        if hands is None:
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


__all__ = ["COMPARE_VERSION", "FEATURE_SPEC_PREFIX", "ModelEmbedding", "comparison_frames", "frame_embeddings"]
