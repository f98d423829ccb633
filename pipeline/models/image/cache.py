"""The linear probe's embedding cache: backbone embeddings by image content, in SQLite."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.core.config import get_settings
from pipeline.models.datasets import LabeledImage, file_digest
from pipeline.models.image.inputs import Image, decode_images, normalise
from pipeline.models.image.transformer import backbone_features

EMBED_VERSION = "cls+mean-v1"
"""Part of the embedding cache key: bump when the way embeddings are computed changes."""


class EmbeddingCache:
    """Backbone embeddings by image content, one SQLite file per (backbone weights, input size).

    Keyed like the landmark cache: the SHA-256 of the image file's bytes, so a renamed image hits and an
    edited one misses. ``hits`` and ``misses`` count lookups since the cache was opened.

    Args:
        key: identifies backbone weights, input size and embedding version (see :func:`embedding_key`).
        folder: where the files go; default ``<cache_dir>/embeddings``.
    """

    def __init__(self, key: str, folder: str | Path | None = None) -> None:
        folder = Path(folder) if folder else get_settings().cache_dir / "embeddings"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{key}.sqlite"
        self.hits = self.misses = 0
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS embeddings (digest TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._db.commit()

    def get_many(self, digests: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached embeddings among ``digests``."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(digests))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT digest, vector FROM embeddings WHERE digest IN ({marks})"
            for digest, blob in self._db.execute(query, chunk):
                found[digest] = np.frombuffer(blob, np.float32).copy()
        self.hits += sum(d in found for d in digests)
        self.misses += sum(d not in found for d in digests)
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        """Store embeddings (one transaction)."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)",
                                 [(d, np.asarray(v, np.float32).tobytes()) for d, v in vectors.items()])

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()


def embedding_key(backbone_label: str, weights_digest: str, input_size: Sequence[int]) -> str:
    """Cache key of a backbone (its name and weights digest), an input size and the embedding version."""
    text = f"{backbone_label}|{weights_digest}|{int(input_size[0])}x{int(input_size[1])}|{EMBED_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_embeddings(backbone, images: Sequence[LabeledImage], input_size: Sequence[int], mean, std,
                      cache: EmbeddingCache, batch_size: int = 16,
                      preprocess: Callable[[Image], Image] | None = None) -> np.ndarray:
    """Embeddings of image files, computed only for contents the cache does not hold.

    Returns:
        (n, D) float32 in the order of ``images``.
    """
    import torch

    digests = [file_digest(image.path) for image in images]
    known = cache.get_many(digests)
    todo = {d: image.path for d, image in zip(digests, images) if d not in known}
    items = list(todo.items())
    backbone.eval()
    with torch.inference_mode():
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            x = normalise(decode_images([p for _, p in chunk], input_size, preprocess), mean, std)
            vectors = backbone_features(backbone, x).float().numpy()
            fresh = {d: v for (d, _), v in zip(chunk, vectors)}
            cache.put_many(fresh)
            known.update(fresh)
    return np.stack([known[d] for d in digests]).astype(np.float32)
