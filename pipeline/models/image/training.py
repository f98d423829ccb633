"""Training image chord models: the CNN from scratch, a linear probe, or a fine-tuned backbone.

* ``kind="cnn"``: the compact CNN, trained **from scratch** (no network needed).
* ``kind="image"``: a transformers backbone, either as a **linear probe** (frozen backbone, embeddings
  cached on disk by backbone + image content + input size, a logistic regression head) or
  **fine-tuned** (all or the last N blocks plus a linear head, geometry-keeping augmentation, early
  stopping on a held-out part, best checkpoint kept).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY
from pipeline.core.errors import InputError
from pipeline.core.types import ModelKind
from pipeline.models.cards import CNN_INPUT_SIZE, IMAGENET_MEAN, IMAGENET_STD, ImageModelCard, library_versions
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, group_folds, group_holdout, holdout_groups
from pipeline.models.familiarity import COSINE, default_domains, fit_reference
from pipeline.models.image.base import TorchImageModel
from pipeline.models.image.cache import EmbeddingCache, cached_embeddings, embedding_key
from pipeline.models.image.cnn import CNNChordModel, cnn_module
from pipeline.models.image.inputs import (
    Augmentation,
    Image,
    augment_batch,
    bf16_supported,
    decode_images,
    normalise,
    torch_threads,
)
from pipeline.models.image.transformer import (
    DEFAULT_BACKBONE,
    TransformerChordModel,
    backbone_classifier,
    backbone_features,
    block_list,
    load_backbone,
    processor_settings,
    weights_digest,
)

KINDS = (ModelKind.IMAGE, ModelKind.CNN)
MODES = ("linear-probe", "fine-tune", "from-scratch")


def _split_holdout(labels: np.ndarray, fraction: float, seed: int,
                   groups: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) indices; no holdout when a class has fewer than 3 images or fraction 0.

    With ``groups`` (:func:`pipeline.models.datasets.holdout_groups`) whole groups are held out
    (:func:`pipeline.models.datasets.group_holdout`), so held-out frames are not near twins of training
    frames; without them, or when no group fits, a stratified share of single images.
    """
    index = np.arange(len(labels))
    _, counts = np.unique(labels, return_counts=True)
    if fraction <= 0 or counts.min() < 3:
        return index, index[:0]
    if groups is not None:
        split = group_holdout(labels, groups, fraction, seed)
        if split is not None:
            return split
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
            x = normalise(augment_batch(x_train[batch], generator, augmentation), mean, std)
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
            xb = normalise(x[start:start + max(batch_size, 64)], mean, std).contiguous(memory_format=memory)
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
) -> TorchImageModel:
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
    with torch_threads(threads):
        torch.manual_seed(seed)
        started = time.perf_counter()
        card = ImageModelCard(
            kind=kind, mode=mode, classes=classes, trained_on=trained_on, input_region=input_region,
            data_fingerprint=dataset_fingerprint(images), n_images=len(images), synthetic=synthetic,
            domains=list(dict.fromkeys(image.domain for image in images if image.domain)),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            versions=library_versions(ModelKind(kind)),
        )
        groups = holdout_groups(images)
        common = dict(card=card, images=images, y=y, groups=groups, epochs=epochs, progress=progress, seed=seed,
                      input_size=input_size, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                      holdout_fraction=holdout_fraction, patience=patience, augmentation=augmentation,
                      preprocess=preprocess, autocast=bf16_supported() if autocast is None else autocast)
        if kind == "cnn":
            model = _train_cnn(**common)
        elif mode == "linear-probe":
            model = _train_probe(card, images, y, groups, backbone or DEFAULT_BACKBONE, input_size, seed, progress,
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


def _train_cnn(card, images, y, groups, epochs, progress, seed, input_size, batch_size, lr, weight_decay,
               holdout_fraction, patience, augmentation, preprocess, autocast) -> CNNChordModel:
    import torch

    size = list(input_size or CNN_INPUT_SIZE)
    epochs, batch_size, lr = epochs or 6, batch_size or 32, lr or 3e-3
    arch = {"name": "ChordCNN", "stem": 24, "widths": [32, 64, 128, 256], "dropout": 0.2}
    x = decode_images([image.path for image in images], size, preprocess)
    train_idx, hold_idx = _split_holdout(y, holdout_fraction, seed, groups)
    net = cnn_module(len(card.classes), arch["stem"], arch["widths"], arch["dropout"])
    net = net.to(memory_format=torch.channels_last)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    parameter_groups = [{"params": decay, "lr": lr, "weight_decay": weight_decay},
                        {"params": no_decay, "lr": lr, "weight_decay": 0.0}]
    result = _fit(net, x[train_idx], y[train_idx], x[hold_idx], y[hold_idx], mean=IMAGENET_MEAN, std=IMAGENET_STD,
                  epochs=epochs, batch_size=batch_size, param_groups=parameter_groups, seed=seed, patience=patience,
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
        holdout_by=_holdout_by(groups, hold_idx), seed=seed))
    return _with_familiarity(CNNChordModel(net, card), x, y, train_idx, hold_idx, seed)


def _holdout_by(groups: Sequence[str], hold_idx: np.ndarray) -> str:
    """How the early-stopping holdout was chosen, for the card's recipe."""
    if not len(hold_idx):
        return "none"
    held = {groups[i] for i in hold_idx}
    whole = all(groups[i] not in held for i in np.setdiff1d(np.arange(len(groups)), hold_idx))
    return "group" if whole else "file"


def _with_familiarity(model: TorchImageModel, x, y: np.ndarray, train_idx: np.ndarray, hold_idx: np.ndarray,
                      seed: int, embeddings: np.ndarray | None = None,
                      groups: Sequence[str] | None = None) -> TorchImageModel:
    """Give a trained model its familiarity reference (:func:`pipeline.models.familiarity.fit_reference`):
    the embeddings of its training images (unaugmented), the threshold set on the holdout's
    (cross-validation folds by ``groups`` when there is none), the card's domains (else ``trained_on``'s
    name)."""
    if embeddings is None:
        embeddings = model.probabilities_and_embeddings(list(x.permute(0, 2, 3, 1).numpy()))[1]
    card = model.card
    domains = list(getattr(card, "domains", None) or default_domains(card.trained_on))
    model.familiarity = fit_reference(embeddings[train_idx], y[train_idx], method=COSINE, seed=seed, domains=domains,
                                      holdout=embeddings[hold_idx] if len(hold_idx) else None,
                                      groups=None if groups is None else [groups[i] for i in train_idx])
    card.familiarity = model.familiarity.card_entry()
    return model


def _record_fit(card: ImageModelCard, result: dict, n_train: int, n_holdout: int, epochs: int, recipe: dict) -> None:
    card.n_train, card.n_holdout = n_train, n_holdout
    card.epochs, card.epochs_run, card.best_epoch = epochs, result["epochs_run"], result["best_epoch"]
    card.history = [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in result["history"]]
    card.recipe = recipe
    if result["holdout_accuracy"] is not None:
        card.metrics["holdout_accuracy"] = result["holdout_accuracy"]


def _backbone_card(card: ImageModelCard, spec, backbone, processor,
                   input_size) -> tuple[list[int], list[float], list[float]]:
    size, mean, std = processor_settings(processor, backbone.config)
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


def _train_probe(card, images, y, groups, spec, input_size, seed, progress, preprocess,
                 cache_folder) -> TransformerChordModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    backbone, processor = load_backbone(spec)
    size, mean, std = _backbone_card(card, spec, backbone, processor, input_size)
    # a local folder is named by its weights alone, so a moved or copied folder still hits the cache
    label = "local" if Path(str(spec)).exists() else str(spec)
    key = embedding_key(label, weights_digest(backbone), size)
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
                              cv=group_folds(names, groups, folds, seed), n_jobs=1).fit(X, names)
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
    everything = np.arange(len(y))
    return _with_familiarity(TransformerChordModel(backbone, processor, head, card), None, y, everything,
                             everything[:0], seed, embeddings=np.asarray(X, np.float32), groups=groups)


def _train_fine_tune(card, images, y, groups, epochs, progress, seed, input_size, batch_size, lr, weight_decay,
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
        dim = int(backbone_features(model.eval(), normalise(x[:1], mean, std)).shape[1])
    head = nn.Linear(dim, len(card.classes))
    net = backbone_classifier(model, head)
    trainable = list(model.parameters())
    if unfreeze_blocks is not None:
        for p in model.parameters():
            p.requires_grad_(False)
        blocks = block_list(model)
        chosen = list(blocks[len(blocks) - unfreeze_blocks:]) if blocks is not None and unfreeze_blocks > 0 else []
        # the final norm comes after the blocks: train it with them
        chosen += [m for name, m in model.named_children() if "norm" in name.lower()]
        for module in chosen:
            for p in module.parameters():
                p.requires_grad_(True)
        trainable = [p for p in model.parameters() if p.requires_grad]
    parameter_groups = [{"params": head.parameters(), "lr": lr * 20, "weight_decay": 0.0}]
    if trainable:
        parameter_groups.insert(0, {"params": trainable, "lr": lr, "weight_decay": weight_decay})
    train_idx, hold_idx = _split_holdout(y, holdout_fraction, seed, groups)
    result = _fit(net, x[train_idx], y[train_idx], x[hold_idx], y[hold_idx], mean=mean, std=std, epochs=epochs,
                  batch_size=batch_size, param_groups=parameter_groups, seed=seed, patience=patience,
                  augmentation=augmentation, channels_last=False, autocast=autocast, label_smoothing=0.05,
                  progress=progress)
    for p in model.parameters():
        p.requires_grad_(True)
    card.embedding_dim = dim
    _record_fit(card, result, len(train_idx), len(hold_idx), epochs, dict(
        optimizer="AdamW", lr_backbone=lr, lr_head=lr * 20, weight_decay=weight_decay,
        schedule="one-cycle (25 % warm-up, cosine)", batch_size=batch_size, label_smoothing=0.05,
        unfreeze_blocks=unfreeze_blocks, augmentation=asdict(augmentation), horizontal_flip=False,
        bf16_autocast=bool(autocast), patience=patience, holdout_fraction=holdout_fraction,
        holdout_by=_holdout_by(groups, hold_idx), seed=seed))
    return _with_familiarity(TransformerChordModel(model, processor, head, card), x, y, train_idx, hold_idx, seed)
