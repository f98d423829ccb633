"""The compact CNN trained from scratch (kind "cnn"): the image model that learns without a network.

A folder holds ``card.json``, ``model.safetensors`` (weights only: nothing is unpickled) and
``familiarity.safetensors`` (:mod:`pipeline.models.familiarity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.models.cards import ImageModelCard
from pipeline.models.image.base import TorchImageModel

CNN_WEIGHTS = "model.safetensors"


def cnn_module(n_classes: int, stem: int = 24, widths: Sequence[int] = (32, 64, 128, 256), dropout: float = 0.2):
    """The CNN as an untrained torch module.

    Stem (3x3 stride 2) then one conv-BN-ReLU block per width, max-pooling between blocks, global
    average pool, dropout, linear. About 0.4 M parameters; 50 M multiply-adds per 72x128 frame.

    Args:
        n_classes: outputs of the classifier.
        stem: channels of the stem convolution.
        widths: channels of each block; the last is the embedding length.
        dropout: dropout before the classifier.

    Returns:
        A ``torch.nn.Module`` mapping (n, 3, h, w) normalised images to (n, n_classes) logits, with
        ``embed(x)`` giving the (n, widths[-1]) pooled features.
    """
    import torch.nn as nn

    class ChordCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem),
                                       nn.ReLU(inplace=True)]
            channels = stem
            for i, width in enumerate(widths):
                layers += [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                           nn.ReLU(inplace=True)]
                if i < len(widths) - 1:
                    layers.append(nn.MaxPool2d(2))
                channels = width
            self.features = nn.Sequential(*layers)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(channels, n_classes)

        def embed(self, x):
            return self.pool(self.features(x)).flatten(1)

        def forward(self, x):
            return self.classifier(self.dropout(self.embed(x)))

    return ChordCNN()


class CNNChordModel(TorchImageModel):
    """The compact CNN trained from scratch (kind "cnn").

    Args:
        net: the torch module (from :func:`cnn_module`).
        card: its card.
    """

    def __init__(self, net, card: ImageModelCard) -> None:
        import torch

        self.net = net.eval().to(memory_format=torch.channels_last)
        self.card = card

    def logits_and_embedding(self, x):
        """Logits (n, len(classes)) and penultimate-layer embedding (n, card.embedding_dim) of a normalised
        float batch (n, 3, H, W) (:meth:`TorchImageModel.logits_and_embedding`)."""
        import torch

        embedding = self.net.embed(x.contiguous(memory_format=torch.channels_last))
        return self.net.classifier(embedding), embedding

    def save(self, folder: str | Path) -> Path:
        """Write ``model.safetensors``, ``familiarity.safetensors`` and ``card.json`` into ``folder``
        (created if needed)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(folder / CNN_WEIGHTS))
        self.write_card(folder)
        return folder

    @classmethod
    def from_folder(cls, folder: Path, card: ImageModelCard) -> CNNChordModel:
        """Load the weights of a CNN folder whose card was read already.

        Raises:
            InputError: the weights are missing, damaged or of another architecture.
        """
        from safetensors.torch import load_file

        net = cnn_from_card(card)
        try:
            net.load_state_dict(load_file(str(folder / CNN_WEIGHTS)))
        except Exception as error:  # safetensors and torch raise several types for damaged weights
            raise InputError(f"{folder.name}/{CNN_WEIGHTS} does not hold this CNN's weights "
                             f"({type(error).__name__}).") from error
        return cls(net, card)


def cnn_from_card(card: ImageModelCard):
    """The (untrained) CNN module a card's architecture describes (older cards: the defaults).

    Args:
        card: the model's card (its ``classes`` and ``architecture``).

    Returns:
        The module of :func:`cnn_module`, with random weights.
    """
    arch = card.architecture
    return cnn_module(len(card.classes), **{k: arch[k] for k in ("stem", "widths", "dropout") if k in arch})
