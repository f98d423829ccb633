"""Pixels in for the image chord models: decoding, resizing, normalising and augmenting RGB frames.

Every model sees the whole frame (or the crop a caller passes) squashed to its input size; we do not
use the processors' centre crop, which on a 16:9 frame cuts away the sides, where the fretting hand
often is. Augmentation never flips: a mirrored fretting hand is a different (left-handed) chord shape.

Threads: training and inference use ``torch.get_num_threads()`` unless ``threads`` is given; on a
shared two-core machine pass ``threads=2`` (or fewer) rather than oversubscribing (:func:`torch_threads`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError
from pipeline.vision.video import read_image

Image = np.ndarray
"""An RGB uint8 image of shape (H, W, 3)."""


def read_rgb(path: str | Path) -> Image:
    """Decode an image file to RGB uint8 (H, W, 3), upright; :func:`pipeline.vision.video.read_image`, which
    refuses more pixels than ``CHORD_STUDIO_MAX_PIXELS`` from the header, before decoding.

    Raises:
        InputError: the file cannot be read as an image, or is too large in pixels.
    """
    return read_image(path)


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
    """Augmentation that keeps chord geometry: no flip, a small affine, strong photometric changes.

    Photometric changes (other lighting, cameras, white balance, focus, sensor noise) are what a model
    must shrug off to see another player's footage; on the shared sets, image models trained without
    them fell from 0.29 to 0.07 on photos of other guitars, while horizontal flips did not help (and a
    mirrored fretting hand is a different, left-handed chord shape).

    Attributes:
        degrees: largest rotation either way.
        scale: range of zoom factors.
        translate: largest shift as a share of width / height.
        brightness, contrast, saturation: largest relative change either way.
        colour: largest relative change of each channel's gain either way (a white-balance cast).
        grayscale: share of images turned grey.
        blur: share of images blurred, with a Gaussian of sigma up to ``blur_sigma`` pixels.
        noise: largest standard deviation of Gaussian pixel noise (pixels in [0, 1]).
    """

    degrees: float = 5.0
    scale: tuple[float, float] = (0.92, 1.08)
    translate: float = 0.05
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.5
    colour: float = 0.15
    grayscale: float = 0.1
    blur: float = 0.3
    blur_sigma: float = 1.5
    noise: float = 0.04


def augment_batch(x, generator=None, settings: Augmentation = Augmentation()):
    """Randomly transform a batch, never mirroring it: a small affine map, then :func:`photometric_batch`.

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
    return photometric_batch(x, generator, settings)


def photometric_batch(x, generator=None, settings: Augmentation = Augmentation()):
    """Change a batch's light and colour, never where anything is: brightness, contrast, saturation, a
    colour cast, grey for some images, blur for some, and noise, each drawn per image.

    Args:
        x: uint8 tensor (n, 3, h, w) or float tensor in [0, 1].
        generator: a ``torch.Generator`` for reproducible draws.
        settings: ranges and rates.

    Returns:
        Float tensor (n, 3, h, w) in [0, 1].
    """
    import torch
    import torch.nn.functional as F

    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    n = x.shape[0]

    def uniform(low: float, high: float, *shape: int):
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    def grey(pixels):
        return 0.299 * pixels[:, 0:1] + 0.587 * pixels[:, 1:2] + 0.114 * pixels[:, 2:3]

    x = x * uniform(1 - settings.brightness, 1 + settings.brightness).view(n, 1, 1, 1)
    x = x * uniform(1 - settings.colour, 1 + settings.colour, 3).view(n, 3, 1, 1)
    contrast = uniform(1 - settings.contrast, 1 + settings.contrast).view(n, 1, 1, 1)
    mean = grey(x).mean((2, 3), keepdim=True)
    x = (x - mean) * contrast + mean
    saturation = uniform(1 - settings.saturation, 1 + settings.saturation).view(n, 1, 1, 1)
    saturation = torch.where(uniform(0, 1).view(n, 1, 1, 1) < settings.grayscale, 0.0, saturation)
    x = (x - grey(x)) * saturation + grey(x)
    blurred = torch.rand(n, generator=generator) < settings.blur
    sigmas = uniform(0.3, max(0.3, settings.blur_sigma))
    for i in torch.nonzero(blurred).flatten().tolist():
        x[i:i + 1] = _gaussian_blur(x[i:i + 1], float(sigmas[i]), F)
    noise = uniform(0, settings.noise).view(n, 1, 1, 1)
    x = x + noise * torch.randn(x.shape, generator=generator)
    return x.clamp_(0.0, 1.0)


def _gaussian_blur(x, sigma: float, F):
    """A separable Gaussian blur of (1, 3, h, w), edges replicated (nothing moves: the kernel is symmetric)."""
    import torch

    radius = max(1, math.ceil(2 * sigma))
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, dtype=x.dtype) / sigma) ** 2)
    taps = taps / taps.sum()
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), taps.view(1, 1, 1, -1).repeat(3, 1, 1, 1),
                 groups=3)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), taps.view(1, 1, -1, 1).repeat(3, 1, 1, 1),
                    groups=3)


def normalise(x, mean: Sequence[float], std: Sequence[float]):
    """A batch of pixels as the model's normalised input.

    Args:
        x: uint8 tensor (n, 3, h, w), or float tensor in [0, 1].
        mean, std: per-channel normalisation (3 values each) of pixels in [0, 1].

    Returns:
        Float tensor (n, 3, h, w): ``(x / 255 - mean) / std``.
    """
    import torch

    x = x.float() / 255.0 if x.dtype == torch.uint8 else x
    mean_t = torch.tensor(mean, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Use ``threads`` intra-op threads inside the block, torch's former setting after it.

    Args:
        threads: intra-op threads; None or 0 leaves torch's setting as it is.
    """
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


def bf16_supported() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX): then training autocasts.

    Returns:
        True when oneDNN says so; False when it does not or cannot be asked.
    """
    import torch

    with contextlib.suppress(Exception):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False
