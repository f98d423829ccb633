"""Occlusion of whole patches of a ViT / DINOv2 model, in its patch embeddings (a forward hook on
``embeddings.patch_embeddings``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.types import ExplainMethod
from pipeline.explain.checks import window_positions
from pipeline.explain.forward import patch_embedder
from pipeline.explain.occlusion import FrameOcclusion
from pipeline.models.image.inputs import normalise


def _scaled(pair: tuple[int, int], frame: tuple[int, int], size: Sequence[int]) -> tuple[int, int]:
    # half up, not Python's half to even: 45 px of 360 on a 36 px input is 5 px, as 4.5 suggests
    return (max(1, int(pair[0] * size[0] / frame[0] + 0.5)), max(1, int(pair[1] * size[1] / frame[1] + 0.5)))


def _upsample(heatmap, frame: tuple[int, int]) -> np.ndarray:
    """(h, w) torch map -> (H, W) numpy map in frame coordinates.

    Nearest neighbour: Captum's own map is constant between window edges, and so is this one."""
    import torch.nn.functional as F

    out = F.interpolate(heatmap[None, None].float(), size=frame, mode="nearest-exact")
    return out[0, 0].numpy()


def _patch_geometry(window, stride, frame, size, patch, grid) -> tuple[tuple[int, int], tuple[int, int]]:
    """Window and stride in whole patches (at least one; the window at most the patch grid)."""
    window_m, stride_m = _scaled(window, frame, size), _scaled(stride, frame, size)
    window_p = tuple(min(n, max(1, int(v / p + 0.5))) for v, p, n in zip(window_m, patch, grid))
    stride_p = tuple(max(1, int(v / p + 0.5)) for v, p in zip(stride_m, patch))
    return window_p, stride_p


def _patches_to_frame(grid, patch, size, frame) -> np.ndarray:
    """A (patch rows, patch columns) map -> (H, W) in frame coordinates: each patch's input pixels take
    its value (pixels right of / below the last whole patch take the edge's), then the frame's size."""
    import torch
    import torch.nn.functional as F

    grid = torch.as_tensor(np.asarray(grid, np.float32))
    covered = grid.repeat_interleave(patch[0], 0).repeat_interleave(patch[1], 1)[None, None]
    if covered.shape[-2:] != size:
        covered = F.pad(covered, (0, size[1] - covered.shape[-1], 0, size[0] - covered.shape[-2]), mode="replicate")
    return _upsample(covered[0, 0], frame)


class TokenOcclusion(FrameOcclusion):
    """Occlusion of whole patches (``"tokens"``, ViT / DINOv2 backbones): Captum over a (patch rows, patch
    columns) mask whose zeros swap a patch's embedding for the baseline image's embedding of that patch.

    A patch embedding is a function of its own pixels only and position embeddings are added after it,
    so this is exactly pixel occlusion of patch-aligned windows; window and stride are rounded to whole
    patches (the default 60 px every 20 px on a 640x360 frame is, on a 224 px ViT with 14 px patches,
    3x2 patches every patch, as the frame is squashed to a square), and Captum's Occlusion runs over the
    patch mask, ``batch_size`` patch groups per pass.

    Args:
        model: a ViT / DINOv2 image chord model (one with ``backbone.embeddings.patch_embeddings``).
        batch_size: patch groups per forward pass.
        threads: torch intra-op threads for the call (None: torch's setting).
    """

    method = ExplainMethod.TOKENS

    def check_model(self) -> None:
        """Raise :class:`~pipeline.core.errors.InputError` for a model without patch embeddings."""
        if patch_embedder(self.model) is None:
            raise InputError(f"The tokens method needs a ViT / DINOv2 backbone with patch embeddings; "
                             f"this is a {type(self.model).__name__}. Use 'batched'.")

    def _occlude(self, frame, base_frame, probabilities, target, window, stride):
        import torch
        from captum.attr import Occlusion as CaptumOcclusion

        x, base, p, index = self._resized(frame, base_frame, probabilities, target)
        mean, std, batch_size = self.model.card.mean, self.model.card.std, self.batch_size
        shape = tuple(frame.shape[-2:])
        module, (ph, pw) = patch_embedder(self.model)
        size = tuple(x.shape[-2:])
        rows, cols = size[0] // ph, size[1] // pw
        if rows < 1 or cols < 1:
            raise InputError(f"The model's input {size[0]}x{size[1]} is smaller than one {ph}x{pw} patch.")
        window_p, stride_p = _patch_geometry(window, stride, shape, size, (ph, pw), (rows, cols))
        x_norm = normalise(x, mean, std)
        state: dict = {}

        def hook(_module, _inputs, output):
            keep = state["mask"]
            if output.ndim != 3 or output.shape[1] != keep.shape[1]:
                raise RuntimeError(f"unexpected patch embedding shape {tuple(output.shape)}")
            keep = keep.to(output.dtype).unsqueeze(-1)
            return output * keep + state["base"] * (1 - keep)

        def forward(mask):
            n = mask.shape[0]
            state["mask"] = mask.reshape(n, rows * cols)
            return probabilities(x_norm.expand(n, -1, -1, -1))

        with torch.inference_mode():
            state["base"] = module(normalise(base, mean, std))  # (1, patches, dim)
            handle = module.register_forward_hook(hook)
            try:
                ones = torch.ones(1, 1, rows, cols)
                attribution = CaptumOcclusion(forward).attribute(
                    ones, sliding_window_shapes=(1, *window_p), strides=(1, *stride_p), baselines=0.0, target=index,
                    perturbations_per_eval=batch_size)
            finally:
                handle.remove()
            heatmap = _patches_to_frame(attribution[0, 0], (ph, pw), size, shape)
        passes = window_positions(rows, window_p[0], stride_p[0]) * window_positions(cols, window_p[1], stride_p[1])
        return heatmap, p, index, {"window_used": list(window_p), "stride_used": list(stride_p), "units": "patches",
                                   "patch_size": [ph, pw], "patch_grid": [rows, cols], "passes": passes,
                                   "perturbations_per_eval": batch_size}


__all__ = ["TokenOcclusion"]
