"""Transformers image backbones with a chord head (kind "image").

Any backbone ``transformers`` loads (``facebook/dinov2-small``, ``google/vit-base-patch16-224-in21k``,
a local ``save_pretrained`` folder, ...) through ``AutoModel.from_pretrained`` and
``AutoImageProcessor.from_pretrained``, with either a linear-probe head (a scikit-learn pipeline on
frozen embeddings) or a fine-tuned linear head. The processor gives the normalisation (mean, std)
and the default input size.

A folder holds::

    card.json            what it is (see :class:`pipeline.models.cards.ImageModelCard`)
    backbone/            the transformers backbone and its image processor
    head.skops           linear-probe head: a scikit-learn pipeline (skops: loading runs no code)
    head.safetensors     fine-tuned linear head
    familiarity.safetensors  training embeddings familiarity is measured against (:mod:`pipeline.models.familiarity`)

Nothing is unpickled: the backbone loads from safetensors only, the probe head through
:mod:`pipeline.models.sklearn_io`; a folder of the pickle era (``head.joblib``) is refused.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError
from pipeline.models.cards import IMAGENET_MEAN, IMAGENET_STD, ImageModelCard
from pipeline.models.image.base import TorchImageModel
from pipeline.models.sklearn_io import load_estimator, refuse_pickles, save_estimator

DEFAULT_BACKBONE = "facebook/dinov2-small"
BACKBONE_DIR = "backbone"
HEAD_SKOPS = "head.skops"
HEAD_WEIGHTS = "head.safetensors"


def load_backbone(spec: str | Path, safetensors_only: bool = False):
    """Load a transformers image backbone and its image processor by hub id or local folder.

    Args:
        spec: a hub id (``facebook/dinov2-small``; needs the network or the local hub cache) or a
            folder written by ``save_pretrained``.
        safetensors_only: refuse weights in any other format (a ``pytorch_model.bin`` is a pickle);
            a chord model folder's backbone is loaded so.

    Returns:
        (model, processor or None). The processor is None when the folder has none; then ImageNet
        normalisation and the config's image size are used.

    Raises:
        InputError: it cannot be loaded (offline and not cached, not a model folder, ...).
    """
    from transformers import AutoImageProcessor, AutoModel

    spec = str(spec)
    try:
        model = AutoModel.from_pretrained(spec, **({"use_safetensors": True} if safetensors_only else {}))
    except (OSError, ValueError, KeyError) as error:
        raise InputError(
            f"Cannot load the image backbone {spec!r} ({type(error).__name__}): give a hub id that is cached "
            "or reachable, or a folder written by save_pretrained."
        ) from error
    try:
        processor = AutoImageProcessor.from_pretrained(spec)
    except (OSError, ValueError, KeyError):
        processor = None
    return model, processor


def processor_settings(processor, config) -> tuple[list[int], list[float], list[float]]:
    """The input a backbone expects, from its image processor, else its config and ImageNet.

    Args:
        processor: a transformers image processor, or None.
        config: the backbone's config (its ``image_size`` is the fallback size).

    Returns:
        ([height, width], per-channel mean [3], per-channel std [3]).
    """
    size = None
    if processor is not None:
        crop = getattr(processor, "crop_size", None) if getattr(processor, "do_center_crop", False) else None
        for candidate in (crop, getattr(processor, "size", None)):
            if isinstance(candidate, dict):
                if "height" in candidate and "width" in candidate:
                    size = [int(candidate["height"]), int(candidate["width"])]
                elif "shortest_edge" in candidate:
                    size = [int(candidate["shortest_edge"])] * 2
            if size:
                break
    if size is None:
        side = getattr(config, "image_size", 224)
        size = list(side) if isinstance(side, (list, tuple)) else [int(side), int(side)]
    mean = list(getattr(processor, "image_mean", None) or IMAGENET_MEAN)
    std = list(getattr(processor, "image_std", None) or IMAGENET_STD)
    if len(mean) != 3 or len(std) != 3:
        mean, std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    return size, [float(v) for v in mean], [float(v) for v in std]


def backbone_features(backbone, x):
    """The embedding of a normalised batch: [CLS, mean of the other tokens] for a transformer,
    global average pool (and pooler output if any) for a convolutional backbone.

    Args:
        backbone: a transformers model returning ``last_hidden_state``.
        x: float tensor (n, 3, h, w), normalised (:func:`pipeline.models.image.inputs.normalise`).

    Returns:
        Float tensor (n, D).
    """
    import torch

    kwargs = {}
    if "interpolate_pos_encoding" in inspect.signature(backbone.forward).parameters:
        kwargs["interpolate_pos_encoding"] = True  # any input size, not only the pretraining one
    out = backbone(pixel_values=x, **kwargs)
    hidden = out.last_hidden_state
    if hidden.ndim == 3:
        return torch.cat([hidden[:, 0], hidden[:, 1:].mean(1)], dim=1)
    pooled = hidden.mean((2, 3))
    pooler = getattr(out, "pooler_output", None)
    if pooler is not None and pooler.ndim >= 2:
        return torch.cat([pooled, pooler.flatten(1)], dim=1)
    return pooled


def weights_digest(backbone) -> str:
    """SHA-256 over a torch module's parameters and buffers: the embedding cache's idea of "which weights".

    Args:
        backbone: any ``torch.nn.Module``.

    Returns:
        The hex digest (64 characters).
    """
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(backbone.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def block_list(backbone):
    """The backbone's list of transformer (or conv stage) blocks: its longest ModuleList.

    Args:
        backbone: a torch module.

    Returns:
        The ``torch.nn.ModuleList``, or None when it has none.
    """
    import torch.nn as nn

    lists = [m for m in backbone.modules() if isinstance(m, nn.ModuleList)]
    return max(lists, key=len) if lists else None


def backbone_classifier(backbone, head):
    """A backbone and a linear head as one torch module, for fine-tuning.

    Args:
        backbone: a transformers model (see :func:`backbone_features`).
        head: a ``torch.nn.Linear`` from the embedding length to the classes.

    Returns:
        A ``torch.nn.Module``: ``forward(x)`` (n, classes) logits, ``embed(x)`` (n, D) embeddings of
        a normalised batch x (n, 3, h, w).
    """
    import torch.nn as nn

    class BackboneClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.head = head

        def embed(self, x):
            return backbone_features(self.backbone, x)

        def forward(self, x):
            return self.head(self.embed(x))

    return BackboneClassifier()


class TransformerChordModel(TorchImageModel):
    """A transformers backbone with a chord head (kind "image").

    Args:
        backbone: a transformers model (``AutoModel``) returning ``last_hidden_state``.
        processor: its image processor (saved with the model; may be None).
        head: a fitted scikit-learn pipeline (linear probe) or a ``torch.nn.Linear`` (fine-tune).
        card: its card.
    """

    batch_size = 16

    def __init__(self, backbone, processor, head, card: ImageModelCard) -> None:
        self.backbone = backbone.eval()
        self.processor = processor
        self.head = head.eval() if hasattr(head, "eval") and callable(head.eval) else head
        self.card = card

    def logits_and_embedding(self, x):
        """Logits (n, len(classes); None for a probe head) and backbone embedding (n, card.embedding_dim)
        of a normalised float batch (n, 3, H, W) (:meth:`TorchImageModel.logits_and_embedding`)."""
        embedding = backbone_features(self.backbone, x)
        logits = self.head(embedding) if self.card.mode == "fine-tune" else None
        return logits, embedding

    def probabilities_from_logits(self, embedding, logits) -> np.ndarray:
        """Probabilities (n, len(classes)): the softmax when fine-tuned, else the probe head's on the embedding."""
        if self.card.mode == "fine-tune":
            return super().probabilities_from_logits(embedding, logits)
        probabilities = self.head.predict_proba(embedding.float().numpy())
        order = [list(map(str, self.head.classes_)).index(c) for c in self.classes]
        return probabilities[:, order]

    def save(self, folder: str | Path) -> Path:
        """Write ``card.json``, ``backbone/`` (weights, config, image processor) and the head."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(folder / BACKBONE_DIR)
        if self.processor is not None:
            self.processor.save_pretrained(folder / BACKBONE_DIR)
        if self.card.mode == "fine-tune":
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(folder / HEAD_WEIGHTS))
        else:
            save_estimator(self.head, folder / HEAD_SKOPS)
        self.write_card(folder)
        return folder

    @classmethod
    def from_folder(cls, folder: Path, card: ImageModelCard) -> TransformerChordModel:
        """Load the backbone and head of a model folder whose card was read already.

        Raises:
            InputError: an unknown mode, a missing backbone or head, a head of the pickle era
                (``head.joblib``: retrain), a backbone not in safetensors, or a damaged head.
        """
        if card.mode not in ("linear-probe", "fine-tune"):
            raise InputError(f"{folder.name} is an image model with unknown mode {card.mode!r}.")
        head_file = folder / (HEAD_WEIGHTS if card.mode == "fine-tune" else HEAD_SKOPS)
        if not head_file.is_file():
            refuse_pickles(folder)
        if not (folder / BACKBONE_DIR).is_dir() or not head_file.is_file():
            raise InputError(f"{folder} is not a whole image model folder "
                             f"(it needs {BACKBONE_DIR}/ and {head_file.name}).")
        backbone, processor = load_backbone(folder / BACKBONE_DIR, safetensors_only=True)
        if card.mode == "fine-tune":
            try:
                import torch.nn as nn
                from safetensors.torch import load_file

                head = nn.Linear(card.embedding_dim, len(card.classes))
                head.load_state_dict(load_file(str(head_file)))
            except Exception as error:  # safetensors and torch raise many types for damaged files
                raise InputError(f"{folder.name}/{head_file.name} cannot be read "
                                 f"({type(error).__name__}).") from error
        else:
            head = load_estimator(head_file)
        return cls(backbone, processor, head, card)
