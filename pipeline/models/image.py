"""Image chord models: transformers backbones (linear probe or fine-tune) and a compact CNN from scratch.

Two families behind one interface (:class:`ImageChordModel`): ``classes``, ``predict_proba(images)``,
``embed(images)`` (both from one pass: ``probabilities_and_embeddings(images)``), ``predict(images)``,
``save(folder)``, and :func:`load_image_model` for a folder.

* ``kind="image"``: any image backbone ``transformers`` loads (``facebook/dinov2-small``,
  ``google/vit-base-patch16-224-in21k``, a local ``save_pretrained`` folder, ...) through
  ``AutoModel.from_pretrained`` and ``AutoImageProcessor.from_pretrained``, either as a **linear probe**
  (frozen backbone, embeddings cached on disk by backbone + image content + input size, a logistic
  regression head) or **fine-tuned** (all or the last N blocks plus a linear head, geometry-keeping
  augmentation, early stopping on a held-out part, best checkpoint kept).
* ``kind="cnn"``: a compact CNN trained **from scratch**, the model that learns without a network.

Every model sees the whole frame (or the crop a caller passes) squashed to its input size. We do not
use the processors' centre crop: on a 16:9 frame it cuts away the sides, where the fretting hand often
is. The processor gives the normalisation (mean, std) and the default input size.

Augmentation never flips: a mirrored fretting hand is a different (left-handed) chord shape. It is a
small rotation, scale and shift plus brightness, contrast and saturation jitter.

A model is a folder::

    card.json            what it is (see :class:`ImageModelCard`)
    model.safetensors    CNN weights (kind "cnn")
    backbone/            the transformers backbone and its image processor (kind "image")
    head.joblib          linear-probe head: a scikit-learn pipeline (pickle: load only models you trust)
    head.safetensors     fine-tuned linear head

Threads: training and inference use ``torch.get_num_threads()`` unless ``threads`` is given; on a
shared two-core machine pass ``threads=2`` (or fewer) rather than oversubscribing.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import json
import math
import platform
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.core.types import ChordPrediction
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, file_digest
from pipeline.timeline.evaluation import EvaluationReport, evaluate_predictions

CARD_FILE = "card.json"
CNN_WEIGHTS = "model.safetensors"
BACKBONE_DIR = "backbone"
HEAD_JOBLIB = "head.joblib"
HEAD_WEIGHTS = "head.safetensors"

KINDS = ("image", "cnn")
MODES = ("linear-probe", "fine-tune", "from-scratch")
DEFAULT_BACKBONE = "facebook/dinov2-small"
CNN_INPUT_SIZE = (72, 128)
"""(height, width) the CNN sees by default: the 640x360 frame at a fifth of its size, aspect kept.
On the shared real frames 72x128 for 6 epochs scored as well as 96x160 for 8 (100 % of val) in a third
of the time (benchmarks/bench_image_models.py)."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EMBED_VERSION = "cls+mean-v1"
"""Part of the embedding cache key: bump when the way embeddings are computed changes."""

Image = np.ndarray
"""An RGB uint8 image of shape (H, W, 3)."""


# --------------------------------------------------------------------------------------------------
# The card


@dataclass
class ImageModelCard:
    """What a saved image model is; written as ``card.json`` beside its weights.

    Attributes:
        kind: "image" (a transformers backbone) or "cnn" (the compact CNN).
        mode: "linear-probe", "fine-tune" or "from-scratch".
        backbone: the hub id or path it was loaded from ("" for the CNN).
        architecture: for the CNN its layer widths (``{"stem": 24, "widths": [...], "dropout": ...}``);
            for a backbone its config's model type and size.
        input_size: (height, width) the model sees; frames are resized (squashed) to it.
        input_region: what the images were: "frame" (whole frames) or a region name a caller sets.
        mean, std: per-channel normalisation of pixels in [0, 1].
        classes: chords it can answer, in vocabulary order (= probability columns).
        embedding_dim: length of :meth:`ImageChordModel.embed` rows.
        trained_on: a description of the training data.
        data_fingerprint: SHA-256 over the training images' contents and labels.
        n_images: training images given; n_train / n_holdout: how they were split for early stopping.
        epochs: epochs asked for; epochs_run: epochs trained (early stopping may stop sooner);
            best_epoch: the epoch whose weights were kept (1-based; 0 for a linear probe).
        history: per epoch ``{"epoch", "loss", "holdout_accuracy", "holdout_loss", "seconds"}``.
        recipe: optimiser, schedule, batch size, augmentation and other settings used.
        metrics: scores (``holdout_accuracy``, ``cv_accuracy``, ``val_accuracy``, ``train_seconds`` ...).
        trained_from_scratch: True when no pretrained weights were used (the CNN; a backbone built
            from a config alone).
        synthetic: trained on synthetic renders, not real footage (the apps say so).
        created: ISO time of training.
        versions: library versions at training time.
    """

    kind: str = "cnn"
    mode: str = "from-scratch"
    backbone: str = ""
    architecture: dict = field(default_factory=dict)
    input_size: list[int] = field(default_factory=lambda: list(CNN_INPUT_SIZE))
    input_region: str = "frame"
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    classes: list[str] = field(default_factory=list)
    embedding_dim: int = 0
    trained_on: str = ""
    data_fingerprint: str = ""
    n_images: int = 0
    n_train: int = 0
    n_holdout: int = 0
    epochs: int = 0
    epochs_run: int = 0
    best_epoch: int = 0
    history: list[dict] = field(default_factory=list)
    recipe: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    trained_from_scratch: bool = False
    synthetic: bool = False
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    """Versions that matter for reproducing an image model."""
    import sklearn
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "scikit-learn": sklearn.__version__}
    with contextlib.suppress(ImportError):
        import transformers

        versions["transformers"] = transformers.__version__
    return versions


# --------------------------------------------------------------------------------------------------
# Pixels


def read_rgb(path: str | Path) -> Image:
    """Decode an image file to RGB uint8 (H, W, 3).

    Raises:
        InputError: the file cannot be read as an image.
    """
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{Path(path).name} is not a readable image.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_batch(images: Sequence[Image], size: Sequence[int]):
    """Resize RGB uint8 images to ``size`` = (height, width) and stack them as a uint8 tensor (n, 3, h, w).

    Area interpolation when shrinking (no aliasing of strings and frets), linear when growing.

    Raises:
        InputError: an image is not an (H, W, 3) array.
    """
    import cv2
    import torch

    height, width = int(size[0]), int(size[1])
    out = np.empty((len(images), height, width, 3), np.uint8)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3:
            raise InputError(f"Image {i} has shape {image.shape}; an RGB image of shape (H, W, 3) is needed.")
        if image.dtype != np.uint8:
            image = np.clip(image, 0, 255).astype(np.uint8)
        if image.shape[:2] != (height, width):
            shrink = image.shape[0] > height or image.shape[1] > width
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        out[i] = image
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def decode_images(
    paths: Sequence[str | Path],
    size: Sequence[int],
    preprocess: Callable[[Image], Image] | None = None,
    progress: Callable[[int, int], None] | None = None,
):
    """Decode image files once into one uint8 tensor (n, 3, h, w) at ``size`` (the fast-epoch trick).

    Args:
        paths: image files.
        size: (height, width).
        preprocess: applied to each decoded RGB frame before resizing (e.g. a region crop).
        progress: called as ``progress(done, total)`` every 100 images.
    """
    import torch

    height, width = int(size[0]), int(size[1])
    out = torch.empty((len(paths), 3, height, width), dtype=torch.uint8)
    for i, path in enumerate(paths):
        image = read_rgb(path)
        if preprocess is not None:
            image = preprocess(image)
        out[i] = resize_batch([image], size)[0]
        if progress and ((i + 1) % 100 == 0 or i + 1 == len(paths)):
            progress(i + 1, len(paths))
    return out


@dataclass(frozen=True)
class Augmentation:
    """Augmentation that keeps chord geometry: no flip, small affine, colour jitter.

    Attributes:
        degrees: largest rotation either way.
        scale: range of zoom factors.
        translate: largest shift as a share of width / height.
        brightness, contrast, saturation: largest relative change either way.
    """

    degrees: float = 5.0
    scale: tuple[float, float] = (0.92, 1.08)
    translate: float = 0.05
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.25


def augment_batch(x, generator=None, settings: Augmentation = Augmentation()):
    """Randomly transform a batch, never mirroring it.

    The affine map is a rotation and an isotropic zoom (determinant > 0, so never a reflection) plus a
    shift, sampled per image; borders are filled by replicating the edge, never by reflecting content.

    Args:
        x: uint8 tensor (n, 3, h, w) or float tensor in [0, 1].
        generator: a ``torch.Generator`` for reproducible draws.
        settings: ranges.

    Returns:
        Float tensor (n, 3, h, w) in [0, 1].
    """
    import torch
    import torch.nn.functional as F

    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    n, _, height, width = x.shape

    def uniform(low: float, high: float):
        return low + (high - low) * torch.rand(n, generator=generator)

    angle = uniform(-settings.degrees, settings.degrees) * math.pi / 180.0
    zoom = uniform(*settings.scale)
    shift_x = uniform(-settings.translate, settings.translate) * 2.0
    shift_y = uniform(-settings.translate, settings.translate) * 2.0
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    aspect = height / width
    # affine_grid maps output to input in [-1, 1] coordinates; scaling the off-diagonal terms by the
    # aspect ratio keeps the rotation a rotation in pixels (no shear on a 16:9 frame)
    theta = torch.stack([
        torch.stack([cos, -sin * aspect, shift_x], 1),
        torch.stack([sin / aspect, cos, shift_y], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness = uniform(1 - settings.brightness, 1 + settings.brightness).view(n, 1, 1, 1)
    contrast = uniform(1 - settings.contrast, 1 + settings.contrast).view(n, 1, 1, 1)
    saturation = uniform(1 - settings.saturation, 1 + settings.saturation).view(n, 1, 1, 1)
    x = x * brightness
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = (x - grey.mean((2, 3), keepdim=True)) * contrast + grey.mean((2, 3), keepdim=True)
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = (x - grey) * saturation + grey
    return x.clamp_(0.0, 1.0)


def _normalise(x, mean: Sequence[float], std: Sequence[float]):
    """uint8 (or [0, 1] float) batch -> normalised float batch."""
    import torch

    x = x.float() / 255.0 if x.dtype == torch.uint8 else x
    mean_t = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` intra-op threads inside the block (None: leave torch's setting)."""
    import torch

    if not threads:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _bf16_ok() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX): then training autocasts."""
    import torch

    with contextlib.suppress(Exception):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


# --------------------------------------------------------------------------------------------------
# The interface


class ImageChordModel:
    """A chord classifier on RGB frames (or crops). Subclasses implement the torch parts.

    Attributes:
        card: its :class:`ImageModelCard`.
    """

    card: ImageModelCard
    batch_size: int = 32

    @property
    def classes(self) -> list[str]:
        """Chord names, in the order of the probability columns."""
        return list(self.card.classes)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the model sees."""
        return int(self.card.input_size[0]), int(self.card.input_size[1])

    # subclasses: logits / embeddings of a normalised float batch
    def _logits_and_embedding(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _probabilities(self, embedding, logits) -> np.ndarray:
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
                x = _normalise(resize_batch(images[start:start + self.batch_size], self.input_size),
                               self.card.mean, self.card.std)
                logits, embedding = self._logits_and_embedding(x)
                probabilities.append(self._probabilities(embedding, logits))
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
        """The most probable chord of each image, with every class's probability (always covered)."""
        return [ChordPrediction.from_row(row, self.classes) for row in self.predict_proba(images)]

    def evaluate(self, images: Sequence[LabeledImage], preprocess: Callable[[Image], Image] | None = None) -> EvaluationReport:
        """Scores over labeled image files, counting every one (:func:`pipeline.timeline.evaluation.evaluate_predictions`:
        a label the model does not know counts as wrong)."""
        x = decode_images([image.path for image in images], self.input_size, preprocess)
        probabilities = self.predict_proba(list(x.permute(0, 2, 3, 1).numpy()))
        predicted = [self.classes[i] for i in probabilities.argmax(1)]
        return evaluate_predictions([image.chord for image in images], predicted)

    def save(self, folder: str | Path) -> Path:  # pragma: no cover - abstract
        """Write the model folder (card and weights)."""
        raise NotImplementedError

    def _write_card(self, folder: Path) -> None:
        (folder / CARD_FILE).write_text(json.dumps(asdict(self.card), indent=2))


# --------------------------------------------------------------------------------------------------
# The compact CNN


def _cnn_module(n_classes: int, stem: int = 24, widths: Sequence[int] = (32, 64, 128, 256), dropout: float = 0.2):
    """Stem (3x3 stride 2) then one conv-BN-ReLU block per width, max-pooling between blocks, global
    average pool, dropout, linear. About 0.4 M parameters; 50 M multiply-adds per 72x128 frame."""
    import torch.nn as nn

    class ChordCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)]
            channels = stem
            for i, width in enumerate(widths):
                layers += [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
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


class CNNChordModel(ImageChordModel):
    """The compact CNN trained from scratch (kind "cnn").

    Args:
        net: the torch module (from :func:`_cnn_module`).
        card: its card.
    """

    def __init__(self, net, card: ImageModelCard) -> None:
        import torch

        self.net = net.eval().to(memory_format=torch.channels_last)
        self.card = card

    def _logits_and_embedding(self, x):
        import torch

        embedding = self.net.embed(x.contiguous(memory_format=torch.channels_last))
        return self.net.classifier(embedding), embedding

    def save(self, folder: str | Path) -> Path:
        """Write ``model.safetensors`` and ``card.json`` into ``folder`` (created if needed)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, str(folder / CNN_WEIGHTS))
        self._write_card(folder)
        return folder

    @classmethod
    def from_folder(cls, folder: Path, card: ImageModelCard) -> CNNChordModel:
        from safetensors.torch import load_file

        net = _cnn_from_card(card)
        try:
            net.load_state_dict(load_file(str(folder / CNN_WEIGHTS)))
        except Exception as error:  # safetensors and torch raise several types for damaged weights
            raise InputError(f"{folder.name}/{CNN_WEIGHTS} does not hold this CNN's weights "
                             f"({type(error).__name__}).") from error
        return cls(net, card)


def _cnn_from_card(card: ImageModelCard):
    """The (untrained) CNN module a card's architecture describes (older cards: the defaults)."""
    arch = card.architecture
    return _cnn_module(len(card.classes), **{k: arch[k] for k in ("stem", "widths", "dropout") if k in arch})


# --------------------------------------------------------------------------------------------------
# Transformers backbones


def load_backbone(spec: str | Path):
    """Load a transformers image backbone and its image processor by hub id or local folder.

    Args:
        spec: a hub id (``facebook/dinov2-small``; needs the network or the local hub cache) or a
            folder written by ``save_pretrained``.

    Returns:
        (model, processor or None). The processor is None when the folder has none; then ImageNet
        normalisation and the config's image size are used.

    Raises:
        InputError: it cannot be loaded (offline and not cached, not a model folder, ...).
    """
    from transformers import AutoImageProcessor, AutoModel

    spec = str(spec)
    try:
        model = AutoModel.from_pretrained(spec)
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


def _processor_settings(processor, config) -> tuple[list[int], list[float], list[float]]:
    """(input size, mean, std) from an image processor, falling back to the config and ImageNet."""
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


def _backbone_features(backbone, x):
    """Embedding (n, D) of a normalised batch: [CLS, mean of the other tokens] for a transformer,
    global average pool (and pooler output if any) for a convolutional backbone."""
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


def _weights_digest(backbone) -> str:
    """SHA-256 over a backbone's parameters and buffers: the embedding cache's idea of "which weights"."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(backbone.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _block_list(backbone):
    """The backbone's list of transformer (or conv stage) blocks: its longest ModuleList."""
    import torch.nn as nn

    lists = [m for m in backbone.modules() if isinstance(m, nn.ModuleList)]
    return max(lists, key=len) if lists else None


class _BackboneClassifier:
    """backbone + linear head as one torch module (built lazily so torch is imported on use)."""

    @staticmethod
    def build(backbone, head):
        import torch.nn as nn

        class BackboneClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.backbone = backbone
                self.head = head

            def embed(self, x):
                return _backbone_features(self.backbone, x)

            def forward(self, x):
                return self.head(self.embed(x))

        return BackboneClassifier()


class TransformerChordModel(ImageChordModel):
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

    def _logits_and_embedding(self, x):
        embedding = _backbone_features(self.backbone, x)
        logits = self.head(embedding) if self.card.mode == "fine-tune" else None
        return logits, embedding

    def _probabilities(self, embedding, logits) -> np.ndarray:
        if self.card.mode == "fine-tune":
            return super()._probabilities(embedding, logits)
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
            import joblib

            joblib.dump(self.head, folder / HEAD_JOBLIB)
        self._write_card(folder)
        return folder

    @classmethod
    def from_folder(cls, folder: Path, card: ImageModelCard) -> TransformerChordModel:
        if card.mode not in ("linear-probe", "fine-tune"):
            raise InputError(f"{folder.name} is an image model with unknown mode {card.mode!r}.")
        head_file = folder / (HEAD_WEIGHTS if card.mode == "fine-tune" else HEAD_JOBLIB)
        if not (folder / BACKBONE_DIR).is_dir() or not head_file.is_file():
            raise InputError(f"{folder} is not a whole image model folder (it needs {BACKBONE_DIR}/ and {head_file.name}).")
        backbone, processor = load_backbone(folder / BACKBONE_DIR)
        try:
            if card.mode == "fine-tune":
                import torch.nn as nn
                from safetensors.torch import load_file

                head = nn.Linear(card.embedding_dim, len(card.classes))
                head.load_state_dict(load_file(str(head_file)))
            else:
                import joblib

                head = joblib.load(head_file)
        except Exception as error:  # joblib / safetensors raise many types for damaged files
            raise InputError(f"{folder.name}/{head_file.name} cannot be read ({type(error).__name__}).") from error
        return cls(backbone, processor, head, card)


# --------------------------------------------------------------------------------------------------
# Loading


def read_card(folder: str | Path) -> ImageModelCard:
    """Read and check an image model's card.

    Raises:
        InputError: no folder, no card, an unreadable card, or a kind this version cannot run.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"No image model folder at {folder}.")
    if not (folder / CARD_FILE).is_file():
        raise InputError(f"{folder} is not a model folder (it has no {CARD_FILE}).")
    try:
        data = json.loads((folder / CARD_FILE).read_text())
        card = ImageModelCard(**{k: v for k, v in data.items() if k in ImageModelCard.__dataclass_fields__})
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as error:
        raise InputError(f"{folder.name}/{CARD_FILE} is not a valid model card ({type(error).__name__}).") from error
    if card.kind not in KINDS:
        raise InputError(f"{folder.name} is a {card.kind!r} model, not an image model (kinds: {', '.join(KINDS)}).")
    if not card.classes:
        raise InputError(f"{folder.name}/{CARD_FILE} names no classes.")
    return card


def load_image_model(folder: str | Path) -> ImageChordModel:
    """Load an image model folder written by :meth:`ImageChordModel.save` (either kind).

    Raises:
        InputError: the folder is missing, incomplete, corrupt or of an unknown kind.
    """
    folder = Path(folder)
    card = read_card(folder)
    if card.kind == "cnn":
        if not (folder / CNN_WEIGHTS).is_file():
            raise InputError(f"{folder} is not a whole CNN model folder (it has no {CNN_WEIGHTS}).")
        return CNNChordModel.from_folder(folder, card)
    return TransformerChordModel.from_folder(folder, card)


# --------------------------------------------------------------------------------------------------
# Embedding cache (linear probe)


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
            for digest, blob in self._db.execute(f"SELECT digest, vector FROM embeddings WHERE digest IN ({marks})", chunk):
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
            x = _normalise(decode_images([p for _, p in chunk], input_size, preprocess), mean, std)
            vectors = _backbone_features(backbone, x).float().numpy()
            fresh = {d: v for (d, _), v in zip(chunk, vectors)}
            cache.put_many(fresh)
            known.update(fresh)
    return np.stack([known[d] for d in digests]).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Training


def _split_holdout(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, holdout) indices; no holdout when a class has fewer than 3 images or fraction 0."""
    index = np.arange(len(labels))
    _, counts = np.unique(labels, return_counts=True)
    if fraction <= 0 or counts.min() < 3:
        return index, index[:0]
    rng = np.random.default_rng(seed)
    holdout = []
    for chord in np.unique(labels):
        members = rng.permutation(index[labels == chord])
        holdout += list(members[:max(1, int(round(fraction * len(members))))])
    holdout_set = set(holdout)
    return np.array([i for i in index if i not in holdout_set]), np.array(sorted(holdout))


class EarlyStopping:
    """Keeps the best weights by holdout accuracy (ties: lower holdout loss) and says when to stop.

    Args:
        patience: epochs without improvement before stopping.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best: tuple[float, float] | None = None
        self.best_epoch = 0
        self.best_state: dict | None = None
        self.waited = 0

    def update(self, epoch: int, accuracy: float, loss: float, module) -> bool:
        """Record an epoch's score; copy the weights when it is the best. Returns True to stop."""
        score = (accuracy, -loss)
        if self.best is None or score > self.best:
            self.best, self.best_epoch, self.waited = score, epoch, 0
            self.best_state = copy.deepcopy({k: v.detach().clone() for k, v in module.state_dict().items()})
            return False
        self.waited += 1
        return self.waited >= self.patience


def _fit(net, x_train, y_train, x_hold, y_hold, *, mean, std, epochs: int, batch_size: int, param_groups,
         seed: int, patience: int, augmentation: Augmentation, channels_last: bool, autocast: bool,
         label_smoothing: float, progress, embed_fn=None) -> dict:
    """Shared training loop: AdamW + one-cycle schedule, augmentation on uint8 batches, early stopping.

    Returns:
        ``{"history", "best_epoch", "epochs_run", "holdout_accuracy", "seconds"}``; ``net`` ends with the
        best weights (the last ones when there is no holdout).
    """
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(param_groups)
    steps_per_epoch = max(1, math.ceil(len(y_train) / batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in param_groups], epochs=epochs, steps_per_epoch=steps_per_epoch,
        pct_start=0.25, div_factor=20.0, final_div_factor=200.0,
    )
    memory = torch.channels_last if channels_last else torch.contiguous_format
    y_train_t = torch.as_tensor(y_train, dtype=torch.long)
    stopper = EarlyStopping(patience)
    history = []
    start_all = time.perf_counter()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(len(y_train), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * batch_size:(step + 1) * batch_size]
            if len(batch) < 2 and len(y_train) >= 2:
                continue  # BatchNorm cannot train on a single image
            x = _normalise(augment_batch(x_train[batch], generator, augmentation), mean, std)
            x = x.contiguous(memory_format=memory)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                logits = net(x)
            loss = F.cross_entropy(logits.float(), y_train_t[batch], label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(batch)
        row = {"epoch": epoch, "loss": total / len(y_train)}
        stop = False
        if len(y_hold):
            accuracy, hold_loss = _score(net, x_hold, y_hold, mean, std, memory, batch_size)
            row.update(holdout_accuracy=accuracy, holdout_loss=hold_loss)
            stop = stopper.update(epoch, accuracy, hold_loss, net)
        row["seconds"] = time.perf_counter() - start
        history.append(row)
        if progress:
            progress(epoch, dict(row))
        if stop:
            break
    if stopper.best_state is not None:
        net.load_state_dict(stopper.best_state)
    best_epoch = stopper.best_epoch or len(history)
    return {"history": history, "best_epoch": best_epoch, "epochs_run": len(history),
            "holdout_accuracy": history[best_epoch - 1].get("holdout_accuracy"),
            "seconds": time.perf_counter() - start_all}


def _score(net, x, y, mean, std, memory, batch_size: int) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``net`` on a uint8 batch in eval mode (fp32)."""
    import torch
    import torch.nn.functional as F

    net.eval()
    right, loss = 0, 0.0
    y_t = torch.as_tensor(y, dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(y), max(batch_size, 64)):
            xb = _normalise(x[start:start + max(batch_size, 64)], mean, std).contiguous(memory_format=memory)
            logits = net(xb).float()
            yb = y_t[start:start + len(logits)]
            right += int((logits.argmax(1) == yb).sum())
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
    return right / len(y), loss / len(y)


def _labels(images: Sequence[LabeledImage]) -> tuple[list[str], np.ndarray]:
    """(classes in vocabulary order, integer labels) of labeled images.

    Raises:
        InputError: no images, unknown chord names, or fewer than two classes.
    """
    if not images:
        raise InputError("No training images were given.")
    names = [image.chord for image in images]
    unknown = sorted(set(names) - set(VOCABULARY))
    if unknown:
        raise InputError(f"Labels {unknown} are not chord names of the vocabulary.")
    classes = [c for c in VOCABULARY if c in set(names)]
    if len(classes) < 2:
        raise InputError(f"Need images of at least two chords to train; found {classes}.")
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[n] for n in names])


def train_image_model(
    images: Sequence[LabeledImage],
    kind: str = "cnn",
    backbone: str | Path | None = None,
    mode: str | None = None,
    epochs: int | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, dict], None] | None = None,
    seed: int = 0,
    *,
    input_size: Sequence[int] | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    weight_decay: float = 0.05,
    holdout_fraction: float = 0.1,
    patience: int = 4,
    unfreeze_blocks: int | None = None,
    augmentation: Augmentation = Augmentation(),
    val_images: Sequence[LabeledImage] | None = None,
    preprocess: Callable[[Image], Image] | None = None,
    input_region: str = "frame",
    trained_on: str = "",
    synthetic: bool = False,
    threads: int | None = None,
    autocast: bool | None = None,
    cache_folder: str | Path | None = None,
) -> ImageChordModel:
    """Train an image chord model on labeled image files (e.g. from ``read_image_folder``).

    Args:
        images: training images; labels are vocabulary names (``None`` a class like any other).
        kind: "cnn" (compact CNN from scratch) or "image" (a transformers backbone).
        backbone: for kind "image": hub id or ``save_pretrained`` folder (default facebook/dinov2-small).
        mode: "from-scratch" (cnn), "linear-probe" (image default) or "fine-tune".
        epochs: training epochs (cnn default 6, fine-tune default 5; unused by the probe).
        out: save the model folder here when given.
        progress: called as ``progress(epoch, metrics)`` after each epoch (the probe calls it once,
            with epoch 0).
        seed: seed of the split, the initialisation, the batches and the augmentation.
        input_size: (height, width) (cnn default 72x128; image default the processor's size).
        batch_size: cnn default 32, fine-tune 16.
        lr: peak learning rate (cnn 3e-3; fine-tune 5e-5 for the backbone, 20x for the head).
        weight_decay: AdamW weight decay.
        holdout_fraction: share of each class held out of training for early stopping.
        patience: epochs without holdout improvement before stopping.
        unfreeze_blocks: fine-tune only the last N blocks (and the final norm); None: the whole model.
        augmentation: augmentation ranges (never a flip).
        val_images: scored after training (every image counts) into ``card.metrics["val_*"]``.
        preprocess: applied to each decoded frame (e.g. a region crop); pass the same crops at predict time.
        input_region: what ``preprocess`` gives, for the card ("frame" when None).
        trained_on, synthetic: recorded in the card.
        threads: torch threads while training (None: torch's current setting).
        autocast: bfloat16 autocast while training (None: when the CPU has native bf16).
        cache_folder: the embedding cache folder (default ``<cache_dir>/embeddings``).

    Returns:
        The trained model (saved to ``out`` when given).

    Raises:
        InputError: bad images or labels, an unknown kind or mode, a backbone that cannot be loaded.
    """
    import torch

    if kind not in KINDS:
        raise InputError(f"Unknown image model kind {kind!r}; use one of {', '.join(KINDS)}.")
    mode = mode or ("from-scratch" if kind == "cnn" else "linear-probe")
    allowed = ("from-scratch",) if kind == "cnn" else ("linear-probe", "fine-tune")
    if mode not in allowed:
        raise InputError(f"Mode {mode!r} does not fit kind {kind!r}; use {' or '.join(allowed)}.")
    classes, y = _labels(images)
    with _torch_threads(threads):
        torch.manual_seed(seed)
        started = time.perf_counter()
        card = ImageModelCard(
            kind=kind, mode=mode, classes=classes, trained_on=trained_on, input_region=input_region,
            data_fingerprint=dataset_fingerprint(images), n_images=len(images), synthetic=synthetic,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"), versions=library_versions(),
        )
        common = dict(card=card, images=images, y=y, epochs=epochs, progress=progress, seed=seed,
                      input_size=input_size, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                      holdout_fraction=holdout_fraction, patience=patience, augmentation=augmentation,
                      preprocess=preprocess, autocast=_bf16_ok() if autocast is None else autocast)
        if kind == "cnn":
            model = _train_cnn(**common)
        elif mode == "linear-probe":
            model = _train_probe(card, images, y, backbone or DEFAULT_BACKBONE, input_size, seed, progress,
                                 preprocess, cache_folder)
        else:
            model = _train_fine_tune(backbone=backbone or DEFAULT_BACKBONE, unfreeze_blocks=unfreeze_blocks, **common)
        card.metrics["train_seconds"] = round(time.perf_counter() - started, 2)
        if val_images:
            report = model.evaluate(val_images, preprocess)
            card.metrics.update(val_accuracy=report.accuracy, val_n=report.n,
                                val_per_class_accuracy=report.per_class_accuracy)
    if out is not None:
        model.save(out)
    return model


def _train_cnn(card, images, y, epochs, progress, seed, input_size, batch_size, lr, weight_decay,
               holdout_fraction, patience, augmentation, preprocess, autocast) -> CNNChordModel:
    import torch

    size = list(input_size or CNN_INPUT_SIZE)
    epochs, batch_size, lr = epochs or 6, batch_size or 32, lr or 3e-3
    arch = {"name": "ChordCNN", "stem": 24, "widths": [32, 64, 128, 256], "dropout": 0.2}
    x = decode_images([image.path for image in images], size, preprocess)
    train_idx, hold_idx = _split_holdout(y, holdout_fraction, seed)
    net = _cnn_module(len(card.classes), arch["stem"], arch["widths"], arch["dropout"]).to(memory_format=torch.channels_last)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    groups = [{"params": decay, "lr": lr, "weight_decay": weight_decay},
              {"params": no_decay, "lr": lr, "weight_decay": 0.0}]
    result = _fit(net, x[train_idx], y[train_idx], x[hold_idx], y[hold_idx], mean=IMAGENET_MEAN, std=IMAGENET_STD,
                  epochs=epochs, batch_size=batch_size, param_groups=groups, seed=seed, patience=patience,
                  augmentation=augmentation, channels_last=True, autocast=autocast, label_smoothing=0.05,
                  progress=progress)
    card.architecture = arch
    card.input_size = size
    card.mean, card.std = list(IMAGENET_MEAN), list(IMAGENET_STD)
    card.embedding_dim = arch["widths"][-1]
    card.trained_from_scratch = True
    _record_fit(card, result, len(train_idx), len(hold_idx), epochs, dict(
        optimizer="AdamW", lr=lr, weight_decay=weight_decay, schedule="one-cycle (25 % warm-up, cosine)",
        batch_size=batch_size, label_smoothing=0.05, augmentation=asdict(augmentation), horizontal_flip=False,
        bf16_autocast=bool(autocast), channels_last=True, patience=patience, holdout_fraction=holdout_fraction,
        seed=seed))
    return CNNChordModel(net, card)


def _record_fit(card: ImageModelCard, result: dict, n_train: int, n_holdout: int, epochs: int, recipe: dict) -> None:
    card.n_train, card.n_holdout = n_train, n_holdout
    card.epochs, card.epochs_run, card.best_epoch = epochs, result["epochs_run"], result["best_epoch"]
    card.history = [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()} for row in result["history"]]
    card.recipe = recipe
    if result["holdout_accuracy"] is not None:
        card.metrics["holdout_accuracy"] = result["holdout_accuracy"]


def _backbone_card(card: ImageModelCard, spec, backbone, processor, input_size) -> tuple[list[int], list[float], list[float]]:
    size, mean, std = _processor_settings(processor, backbone.config)
    size = list(input_size or size)
    config = backbone.config
    card.backbone = str(spec)
    card.architecture = {"model_type": getattr(config, "model_type", ""),
                         "hidden_size": getattr(config, "hidden_size", None),
                         "num_hidden_layers": getattr(config, "num_hidden_layers", None),
                         "patch_size": getattr(config, "patch_size", None)}
    card.input_size, card.mean, card.std = size, mean, std
    # a folder made from a config alone holds random weights: it says so through its name only, so
    # the card cannot know; pretrained is what a hub id means
    card.trained_from_scratch = False
    return size, mean, std


def _train_probe(card, images, y, spec, input_size, seed, progress, preprocess, cache_folder) -> TransformerChordModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    backbone, processor = load_backbone(spec)
    size, mean, std = _backbone_card(card, spec, backbone, processor, input_size)
    # a local folder is named by its weights alone, so a moved or copied folder still hits the cache
    label = "local" if Path(str(spec)).exists() else str(spec)
    key = embedding_key(label, _weights_digest(backbone), size)
    if preprocess is not None:  # crops embed differently from whole frames
        key += f"-{getattr(preprocess, '__name__', 'crop')}"
    cache = EmbeddingCache(key, cache_folder)
    try:
        X = cached_embeddings(backbone, images, size, mean, std, cache, preprocess=preprocess)
        hits, misses = cache.hits, cache.misses
    finally:
        cache.close()
    names = np.array([card.classes[i] for i in y])
    head = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    _, counts = np.unique(y, return_counts=True)
    folds = int(min(5, counts.min()))
    if folds >= 2:
        search = GridSearchCV(head, {"logisticregression__C": [0.01, 0.1, 1.0]},
                              cv=StratifiedKFold(folds, shuffle=True, random_state=seed), n_jobs=1).fit(X, names)
        head = search.best_estimator_
        card.metrics["cv_accuracy"] = float(search.best_score_)
        card.recipe = {"head": "StandardScaler + LogisticRegression", "C": search.best_params_["logisticregression__C"],
                       "cv_folds": folds, "seed": seed}
    else:
        head.fit(X, names)
        card.recipe = {"head": "StandardScaler + LogisticRegression", "C": 1.0, "cv_folds": 0, "seed": seed}
    card.embedding_dim = int(X.shape[1])
    card.n_train = len(images)
    card.metrics.update(embedding_cache_hits=hits, embedding_cache_misses=misses)
    if progress:
        progress(0, {"cv_accuracy": card.metrics.get("cv_accuracy"), "embedding_cache_hits": hits,
                     "embedding_cache_misses": misses})
    return TransformerChordModel(backbone, processor, head, card)


def _train_fine_tune(card, images, y, epochs, progress, seed, input_size, batch_size, lr, weight_decay,
                     holdout_fraction, patience, augmentation, preprocess, autocast, backbone,
                     unfreeze_blocks) -> TransformerChordModel:
    import torch
    import torch.nn as nn

    spec = backbone
    model, processor = load_backbone(spec)
    size, mean, std = _backbone_card(card, spec, model, processor, input_size)
    epochs, batch_size, lr = epochs or 5, batch_size or 16, lr or 5e-5
    x = decode_images([image.path for image in images], size, preprocess)
    with torch.inference_mode():
        dim = int(_backbone_features(model.eval(), _normalise(x[:1], mean, std)).shape[1])
    head = nn.Linear(dim, len(card.classes))
    net = _BackboneClassifier.build(model, head)
    trainable = list(model.parameters())
    if unfreeze_blocks is not None:
        for p in model.parameters():
            p.requires_grad_(False)
        blocks = _block_list(model)
        chosen = list(blocks[len(blocks) - unfreeze_blocks:]) if blocks is not None and unfreeze_blocks > 0 else []
        # the final norm comes after the blocks: train it with them
        chosen += [m for name, m in model.named_children() if "norm" in name.lower()]
        for module in chosen:
            for p in module.parameters():
                p.requires_grad_(True)
        trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": head.parameters(), "lr": lr * 20, "weight_decay": 0.0}]
    if trainable:
        groups.insert(0, {"params": trainable, "lr": lr, "weight_decay": weight_decay})
    train_idx, hold_idx = _split_holdout(y, holdout_fraction, seed)
    result = _fit(net, x[train_idx], y[train_idx], x[hold_idx], y[hold_idx], mean=mean, std=std, epochs=epochs,
                  batch_size=batch_size, param_groups=groups, seed=seed, patience=patience,
                  augmentation=augmentation, channels_last=False, autocast=autocast, label_smoothing=0.05,
                  progress=progress)
    for p in model.parameters():
        p.requires_grad_(True)
    card.embedding_dim = dim
    _record_fit(card, result, len(train_idx), len(hold_idx), epochs, dict(
        optimizer="AdamW", lr_backbone=lr, lr_head=lr * 20, weight_decay=weight_decay,
        schedule="one-cycle (25 % warm-up, cosine)", batch_size=batch_size, label_smoothing=0.05,
        unfreeze_blocks=unfreeze_blocks, augmentation=asdict(augmentation), horizontal_flip=False,
        bf16_autocast=bool(autocast), patience=patience, holdout_fraction=holdout_fraction, seed=seed))
    return TransformerChordModel(model, processor, head, card)


__all__ = [
    "Augmentation", "CNNChordModel", "EarlyStopping", "EmbeddingCache", "ImageChordModel", "ImageModelCard",
    "TransformerChordModel", "augment_batch", "cached_embeddings", "decode_images",
    "embedding_key", "load_backbone", "load_image_model", "read_card", "read_rgb", "resize_batch",
    "train_image_model",
]
