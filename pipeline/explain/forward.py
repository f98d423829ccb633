"""An image chord model seen as a torch function of pixels, and the tensors occlusion works on."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.models.image.base import TorchImageModel
from pipeline.models.image.transformer import TransformerChordModel, backbone_features


def probabilities_fn(model):
    """An image chord model as a torch function of its normalised input.

    A linear probe's scikit-learn head runs as torch ops (:func:`torch_probe`), so a batch never leaves torch.

    Args:
        model: an :class:`~pipeline.models.image.base.TorchImageModel`.

    Returns:
        A function: (n, 3, h, w) float batch at the model's input size, normalised -> (n, C) probabilities
        tensor, columns in the order of ``model.classes``.
    """
    import torch

    if isinstance(model, TransformerChordModel) and model.card.mode != "fine-tune":
        head = torch_probe(model)
        if head is not None:
            return lambda x: head(backbone_features(model.backbone, x))
    uses_softmax = type(model).probabilities_from_logits is TorchImageModel.probabilities_from_logits

    def forward(x):
        logits, embedding = model.logits_and_embedding(x)
        if uses_softmax and logits is not None:
            return torch.softmax(logits.float(), dim=1)
        return torch.as_tensor(np.asarray(model.probabilities_from_logits(embedding, logits), np.float32))

    return forward


def torch_probe(model):
    """A linear probe's scikit-learn head (StandardScaler + LogisticRegression) as torch ops.

    Args:
        model: anything with ``head`` (a scikit-learn pipeline) and ``classes``.

    Returns:
        A function: (n, D) embeddings tensor -> (n, C) probabilities in the order of ``model.classes``; None for
        any other head (then scikit-learn runs on numpy).
    """
    import torch

    head = model.head
    steps = getattr(head, "steps", None)
    if not steps or len(steps) != 2:
        return None
    scaler, logistic = steps[0][1], steps[1][1]
    if type(scaler).__name__ != "StandardScaler" or type(logistic).__name__ != "LogisticRegression":
        return None
    mean = torch.tensor(getattr(scaler, "mean_", None) if scaler.with_mean else 0.0, dtype=torch.float32)
    scale = torch.tensor(scaler.scale_ if scaler.with_std and scaler.scale_ is not None else 1.0, dtype=torch.float32)
    coef = torch.tensor(logistic.coef_, dtype=torch.float32)
    intercept = torch.tensor(logistic.intercept_, dtype=torch.float32)
    order = [list(map(str, logistic.classes_)).index(c) for c in model.classes]

    def head_fn(embedding):
        z = ((embedding.float() - mean) / scale) @ coef.T + intercept
        if coef.shape[0] == 1:  # binary: one logit for classes_[1]
            p1 = torch.sigmoid(z[:, 0])
            p = torch.stack([1 - p1, p1], dim=1)
        else:
            p = torch.softmax(z, dim=1)
        return p[:, order]

    return head_fn


def to_tensor(image: np.ndarray):
    """An RGB frame as a torch batch of one.

    Args:
        image: RGB uint8 (H, W, 3).

    Returns:
        float tensor (1, 3, H, W) in [0, 1].
    """
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0


def resize_batch(x, size: Sequence[int]):
    """Resize a float batch: antialiased bilinear when shrinking, so it does not alias.

    Args:
        x: (n, c, h, w) float tensor.
        size: (height, width) wanted.

    Returns:
        (n, c, height, width) float tensor (``x`` itself when it has that size).
    """
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == (int(size[0]), int(size[1])):
        return x
    shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False, antialias=shrink)


def baseline_image(x, kind: str, window: tuple[int, int]):
    """The baseline image that occluded pixels take.

    Args:
        x: (1, 3, H, W) float tensor in [0, 1]: the frame.
        kind: one of :data:`pipeline.explain.checks.BASELINES`.
        window: (height, width) of the occlusion window, the scale of the blur.

    Returns:
        (1, 3, H, W) float tensor in [0, 1].
    """
    import torch

    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x).contiguous()
    # blur at the window's scale: occluding then shows a smooth version of what was there
    sigma_y, sigma_x = max(1.0, window[0] / 3), max(1.0, window[1] / 3)
    image = x[0].permute(1, 2, 0).numpy()
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REFLECT)
    return torch.from_numpy(np.ascontiguousarray(blurred)).permute(2, 0, 1)[None].contiguous()


def patch_embedder(model):
    """The patch embedding of a ViT / DINOv2 model's backbone.

    Args:
        model: an image chord model.

    Returns:
        (the ``embeddings.patch_embeddings`` module, (patch height, patch width)), or None when the model has
        no patch embeddings (a CNN).
    """
    backbone = getattr(model, "backbone", None)
    embeddings = getattr(backbone, "embeddings", None)
    module = getattr(embeddings, "patch_embeddings", None)
    patch = getattr(getattr(backbone, "config", None), "patch_size", None)
    if module is None or patch is None:
        return None
    patch = patch if isinstance(patch, (tuple, list)) else (patch, patch)
    return module, (int(patch[0]), int(patch[1]))


__all__ = ["baseline_image", "patch_embedder", "probabilities_fn", "resize_batch", "to_tensor", "torch_probe"]
