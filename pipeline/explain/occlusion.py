"""Occlusion of an image chord model's frame (Zeiler & Fergus; ``captum.attr.Occlusion``), one class per way
of computing it.

Occlusion slides a window over the frame, replaces what it covers with a baseline (black, a blurred copy of
the frame, or the frame's mean colour) and records how much the target chord's probability drops; a
pixel's attribution is the mean drop over the windows that cover it. Positive values are evidence for the
chord. Every class here computes that quantity, with settings in ``__init__`` and one ``attribute``:

* :class:`Occlusion` (``"plain"``): Captum on the full-resolution frame, one occluded copy per forward
  pass; the model's resize runs inside every pass. The reference: exactly Captum's numbers.
* :class:`MaskOcclusion` (``"batched"``): the frame (and the baseline) are resized to the model's input
  size ONCE; Captum slides the same windows over a frame-sized mask, which alone is resized per pass and
  blends the two, and evaluates ``batch_size`` occluded copies per pass under ``torch.inference_mode``.
  The same windows and the same numbers up to the resize filter at the window's edges, cheaper passes.
* :class:`~pipeline.explain.adaptive.AdaptiveOcclusion` (``"adaptive"``, the default): the same windows,
  evaluated coarse to fine.
* :class:`~pipeline.explain.tokens.TokenOcclusion` (``"tokens"``, ViT / DINOv2): whole patches occluded in
  the patch embeddings.

:func:`pipeline.explain.service.explain_frame` picks one by name. Window and stride are in FRAME pixels
(:func:`pipeline.explain.checks.window_and_stride`).
"""

from __future__ import annotations

import time

import numpy as np

from pipeline.core.types import ExplainMethod
from pipeline.explain.attribution import Attribution
from pipeline.explain.checks import (
    BASELINES,
    check_choice,
    check_image,
    target_index,
    window_and_stride,
    window_positions,
)
from pipeline.explain.forward import baseline_image, probabilities_fn, resize_batch, to_tensor
from pipeline.models.image.inputs import normalise, torch_threads


class FrameOcclusion:
    """What every occlusion algorithm shares: checks, the frame and baseline as tensors, the model's lock.

    A subclass names its ``method`` and implements ``_occlude``; callers use :meth:`attribute`.

    Args:
        model: an :class:`~pipeline.models.image.base.TorchImageModel` (CNN, ViT / DINOv2, or any subclass).
        batch_size: occluded copies per forward pass (``perturbations_per_eval``) for the fast methods.
        threads: torch intra-op threads for the call (None: torch's setting).
    """

    method: ExplainMethod | None = None

    def __init__(self, model, batch_size: int = 16, threads: int | None = None) -> None:
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.threads = threads

    def check_model(self) -> None:
        """Raise :class:`~pipeline.core.errors.InputError` when the algorithm cannot run on this model."""

    def attribute(self, image: np.ndarray, target: str | int | None = None,
                  window: int | tuple[int, int] | None = None, stride: int | tuple[int, int] | None = None,
                  baseline: str = "zero") -> Attribution:
        """Occlusion attribution of the model's answer on one frame.

        Args:
            image: RGB uint8 frame (H, W, 3) (or a crop: the map is then in the crop's coordinates).
            target: chord name (or column index) to explain; None explains the predicted chord.
            window: occlusion window in frame pixels, an int or (height, width); None: a square a sixth of
                the frame's shorter side (60 px on a 640x360 frame, the seed's setting).
            stride: step between windows in frame pixels; None: a third of the window (20 px).
            baseline: what occluded pixels become: "zero" (black), "blur" (a Gaussian blur of the frame at
                the window's scale) or "mean" (the frame's mean colour).

        Returns:
            An :class:`~pipeline.explain.attribution.Attribution` whose ``map`` is (H, W) float32.

        Raises:
            InputError: a bad image, window larger than the image, window or stride below 1 pixel, an
                unknown target or baseline, or a model the algorithm cannot run on.
        """
        start = time.perf_counter()
        image = check_image(image)
        baseline = check_choice(baseline, BASELINES, "baseline")
        height, width = image.shape[:2]
        window, stride = window_and_stride((height, width), window, stride)
        self.check_model()
        model = self.model
        frame = to_tensor(image)
        base_frame = baseline_image(frame, baseline, window)
        settings = {"method": str(self.method), "window": list(window), "stride": list(stride), "baseline": baseline,
                    "frame_size": [height, width], "input_size": list(model.input_size)}
        with model.lock, torch_threads(self.threads):
            heatmap, p, index, used = self._occlude(frame, base_frame, probabilities_fn(model), target, window,
                                                    stride)
        settings.update(used)
        return Attribution(map=np.ascontiguousarray(heatmap, dtype=np.float32), target=model.classes[index],
                           probability=float(p[index]), settings=settings, seconds=time.perf_counter() - start)

    def _occlude(self, frame, base_frame, probabilities, target, window, stride):
        """(heatmap (H, W), probabilities (C,) of the unoccluded frame, target column, settings used)."""
        raise NotImplementedError

    def _resized(self, frame, base_frame, probabilities, target):
        """The frame and baseline resized once to the model's input, the answer on it and the target column."""
        import torch

        size, mean, std = self.model.input_size, self.model.card.mean, self.model.card.std
        x, base = resize_batch(frame, size), resize_batch(base_frame, size)
        with torch.inference_mode():
            p = probabilities(normalise(x, mean, std))[0].numpy()
        return x, base, p, target_index(self.model.classes, target, p)


class Occlusion(FrameOcclusion):
    """Captum's Occlusion on the full-resolution frame, one occluded copy per pass (``"plain"``): the reference."""

    method = ExplainMethod.PLAIN

    def _occlude(self, frame, base_frame, probabilities, target, window, stride):
        import torch
        from captum.attr import Occlusion as CaptumOcclusion

        size, mean, std = self.model.input_size, self.model.card.mean, self.model.card.std

        def forward(x):
            return probabilities(normalise(resize_batch(x, size), mean, std))

        with torch.no_grad():
            p = forward(frame)[0].numpy()
        index = target_index(self.model.classes, target, p)
        attribution = CaptumOcclusion(forward).attribute(
            frame, sliding_window_shapes=(3, *window), strides=(3, *stride), baselines=base_frame,
            target=index, perturbations_per_eval=1)
        height, width = frame.shape[-2:]
        passes = window_positions(height, window[0], stride[0]) * window_positions(width, window[1], stride[1])
        return attribution[0].mean(0).numpy(), p, index, {"passes": passes, "perturbations_per_eval": 1}


class MaskOcclusion(FrameOcclusion):
    """Captum Occlusion over a frame-sized mask, evaluated on the frame resized once (``"batched"``).

    The occluded frame is ``frame * keep + baseline * (1 - keep)`` with ``keep`` 0 inside the window;
    resizing is linear, so resizing it is (up to the few pixels where the window's edge falls inside the
    resize filter) ``x * k + base * (1 - k)`` with ``k`` the resized mask: the window keeps its exact
    place and size, no rounding to input pixels, and each pass resizes one channel, not three.
    """

    method = ExplainMethod.BATCHED

    def _occlude(self, frame, base_frame, probabilities, target, window, stride):
        import torch
        from captum.attr import Occlusion as CaptumOcclusion

        x, base, p, index = self._resized(frame, base_frame, probabilities, target)
        mean, std = self.model.card.mean, self.model.card.std
        size = tuple(x.shape[-2:])
        shape = tuple(frame.shape[-2:])
        with torch.inference_mode():
            x_norm, base_norm = normalise(x, mean, std), normalise(base, mean, std)  # affine: blends commute

            def forward(keep):
                k = resize_batch(keep, size)
                return probabilities(x_norm * k + base_norm * (1 - k))

            attribution = CaptumOcclusion(forward).attribute(
                torch.ones(1, 1, *shape), sliding_window_shapes=(1, *window), strides=(1, *stride), baselines=0.0,
                target=index, perturbations_per_eval=self.batch_size)
            heatmap = attribution[0, 0].numpy()
        passes = window_positions(shape[0], window[0], stride[0]) * window_positions(shape[1], window[1], stride[1])
        return heatmap, p, index, {"units": "frame pixels (mask resized to the input)", "passes": passes,
                                   "perturbations_per_eval": self.batch_size}


__all__ = ["FrameOcclusion", "MaskOcclusion", "Occlusion"]
