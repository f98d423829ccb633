"""The shared part of the image chord models (:class:`TorchImageModel`): batching, locking, predicting.

Two families implement its torch parts: the compact CNN (:mod:`pipeline.models.image.cnn`) and
transformers backbones with a chord head (:mod:`pipeline.models.image.transformer`). Both offer
``classes``, ``predict_proba(images)``, ``embed(images)`` (both from one pass:
``probabilities_and_embeddings(images)``), ``predict(images)``, ``evaluate(images)`` and
``save(folder)``; :func:`pipeline.models.image.loading.load_image_model` reads a folder back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.core.types import ChordPrediction
from pipeline.models.cards import ImageModelCard
from pipeline.models.datasets import LabeledImage
from pipeline.models.evaluation import EvaluationReport, evaluate_predictions
from pipeline.models.familiarity import FamiliarityReference
from pipeline.models.image.inputs import Image, decode_images, normalise, resize_batch


class TorchImageModel:
    """A chord classifier on RGB frames (or crops). Subclasses implement the torch parts.

    Attributes:
        card: its :class:`ImageModelCard`.
        familiarity: the training embeddings' reference set (:mod:`pipeline.models.familiarity`);
            None when the model has none (its predictions' familiarity is unknown).
    """

    card: ImageModelCard
    familiarity: FamiliarityReference | None = None
    batch_size: int = 32

    @property
    def classes(self) -> list[str]:
        """Chord names, in the order of the probability columns."""
        return list(self.card.classes)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model sees."""
        return int(self.card.input_size[0]), int(self.card.input_size[1])

    def logits_and_embedding(self, x):  # pragma: no cover - abstract
        """One forward pass on a normalised batch (subclasses implement it; the explainers call it too).

        Args:
            x: float tensor (n, 3, H, W), resized to :attr:`input_size` and normalised with the card's mean / std.

        Returns:
            (logits tensor (n, len(classes)), or None for a model whose head is not torch; embedding
            tensor (n, card.embedding_dim)).
        """
        raise NotImplementedError

    def probabilities_from_logits(self, embedding, logits) -> np.ndarray:
        """Class probabilities from the outputs of :meth:`logits_and_embedding` (softmax of the logits;
        a subclass whose head is not torch computes them from the embedding).

        Args:
            embedding: tensor (n, card.embedding_dim).
            logits: tensor (n, len(classes)), or None.

        Returns:
            (n, len(classes)) probabilities, rows summing to 1.
        """
        import torch

        return torch.softmax(logits.float(), dim=1).numpy()

    @property
    def lock(self) -> threading.Lock:
        """The model's lock: Streamlit shares a cached model between sessions' threads, and a forward
        pass (or an explanation's many) holds it."""
        return self.__dict__.setdefault("_lock", threading.Lock())

    def probabilities_and_embeddings(self, images: Sequence[Image]) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities and embeddings of the same images, from one forward pass per batch.

        Args:
            images: RGB uint8 arrays (H, W, 3) of any size (resized to the input size).

        Returns:
            (probabilities (n, len(classes)), rows summing to 1; embeddings (n, card.embedding_dim)),
            both float32.
        """
        import torch

        images = list(images)
        if not images:
            return np.zeros((0, len(self.classes)), np.float32), np.zeros((0, self.card.embedding_dim), np.float32)
        probabilities, embeddings = [], []
        with self.lock, torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                x = normalise(resize_batch(images[start:start + self.batch_size], self.input_size),
                               self.card.mean, self.card.std)
                logits, embedding = self.logits_and_embedding(x)
                probabilities.append(self.probabilities_from_logits(embedding, logits))
                embeddings.append(embedding.float().numpy())
        return np.concatenate(probabilities).astype(np.float32), np.concatenate(embeddings).astype(np.float32)

    def predict_proba(self, images: Sequence[Image]) -> np.ndarray:
        """Class probabilities (n, len(classes)), float32, rows summing to 1 (see
        :meth:`probabilities_and_embeddings`)."""
        return self.probabilities_and_embeddings(images)[0]

    def embed(self, images: Sequence[Image]) -> np.ndarray:
        """Embeddings for comparing models (t-SNE): CLS and mean-pooled tokens for a transformer,
        the penultimate layer (global average pool) for the CNN.

        Returns:
            (n, card.embedding_dim) float32 (see :meth:`probabilities_and_embeddings`).
        """
        return self.probabilities_and_embeddings(images)[1]

    def predict(self, images: Sequence[Image]) -> list[ChordPrediction]:
        """The most probable chord of each image, with every class's probability (always covered) and
        the image's familiarity when the model has a reference (from the same forward pass)."""
        probabilities, embeddings = self.probabilities_and_embeddings(images)
        reference = self.familiarity
        if reference is None:
            return [ChordPrediction.from_row(row, self.classes) for row in probabilities]
        scores = reference.score(embeddings)
        return [ChordPrediction.from_row(row, self.classes, float(score), reference.threshold)
                for row, score in zip(probabilities, scores)]

    def evaluate(self, images: Sequence[LabeledImage],
                 preprocess: Callable[[Image], Image] | None = None) -> EvaluationReport:
        """Scores over labeled image files, counting every one
        (:func:`pipeline.models.evaluation.evaluate_predictions`: a label the model does not know counts as wrong)."""
        x = decode_images([image.path for image in images], self.input_size, preprocess)
        probabilities = self.predict_proba(list(x.permute(0, 2, 3, 1).numpy()))
        predicted = [self.classes[i] for i in probabilities.argmax(1)]
        return evaluate_predictions([image.chord for image in images], predicted)

    def save(self, folder: str | Path) -> Path:  # pragma: no cover - abstract
        """Write the model folder (card and weights)."""
        raise NotImplementedError

    def write_card(self, folder: Path) -> None:
        """Write ``familiarity.safetensors`` (when the model has a reference, recorded in the card)
        and ``card.json`` into an existing folder (the last step of :meth:`save`)."""
        if self.familiarity is not None:
            self.familiarity.save(folder)
            self.card.familiarity = self.familiarity.card_entry()
        self.card.write(folder)
