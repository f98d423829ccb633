"""Explanations: where an image chord model looks (occlusion heatmaps) and which fingers decided a
landmark model's chord.

Occlusion (Zeiler & Fergus; ``captum.attr.Occlusion``) slides a window over the frame, replaces what it
covers with a baseline (black, a blurred copy of the frame, or the frame's mean colour) and records how
much the target chord's probability drops; a pixel's attribution is the mean drop over the windows that
cover it. Positive values are evidence for the chord.

One entry point, :func:`explain_frame`, with five methods that compute the same quantity:

* ``"plain"``: Captum on the full-resolution frame, one occluded copy per forward pass; the model's
  resize runs inside every pass. The reference (what the seed ran).
* ``"batched"``: the frame (and the baseline) are resized to the model's input size ONCE; Captum slides
  the same windows over a frame-sized mask, which alone is resized per pass and blends the two, and
  evaluates ``perturbations_per_eval`` occluded copies per pass under ``torch.inference_mode``. The
  same windows and the same numbers up to the resize filter at the window's edges, cheaper passes.
* ``"tokens"`` (ViT / DINOv2 backbones): whole patches are occluded by swapping their patch embeddings for
  the baseline image's patch embeddings (a forward hook on ``embeddings.patch_embeddings``). A patch
  embedding is a function of its own pixels only and position embeddings are added after it, so this is
  exactly pixel occlusion of patch-aligned windows; window and stride are rounded to whole patches, and
  Captum's Occlusion runs over the (patch rows x patch columns) mask, one pass per patch group.
* ``"adaptive"``: the windows of ``batched`` (on every model, ViT / DINOv2 too: the windows plain
  Captum slides), evaluated coarse to fine. Each window's drop is computed directly (a window is a
  rectangle, and resizing is separable, so its resized mask is the outer product of two precomputed
  resized 1-D masks: no resize per pass). First the windows that tile the frame (every third position
  along each axis for a window three strides wide: each pixel under exactly one of them); then, round
  after round, every window next to an evaluated one whose drop is at least ``refine`` of the largest
  so far, so the evaluation grows from each peak along the evidence as far as it reaches. Drops are
  compared in log-odds: a confident model's probability barely moves until most of the evidence is
  covered, so a window over part of a deciding finger can look quiet in probability, not in log-odds. The windows
  never reached, all in quiet parts of the frame, take the bilinear interpolation of the tiling. The
  map is then made as Captum makes it, each pixel the mean drop over the windows that cover it. The
  batches run one single-threaded pass per core (torch's intra-op threads are set to 1 meanwhile).
  ``refine=0`` evaluates every window (Captum's numbers); the default 0.3 evaluates about a quarter to
  a third of them on real frames, where the evidence sits around the hand (map correlation with plain
  Captum 0.97 and more on a DINOv2 and a CNN trained here; see ``benchmarks/bench_explain.py``).
* ``"auto"``: ``adaptive``.

Window and stride are in FRAME pixels, an int (square) or (height, width); ``None`` gives the defaults,
the seed's full-frame settings scaled to the frame: a square window a sixth of the frame's shorter side
and a stride a third of the window (60 px every 20 px on a 640x360 frame; the ``tokens`` method rounds
that on a 224 px ViT with 14 px patches to 3x2 patches every patch, as the frame is squashed to a square).

:func:`explain_landmarks` attributes a landmark model's chord to finger groups
(:data:`pipeline.vision.hands.FINGERS`) with Captum ``FeatureAblation`` (or ``ShapleyValueSampling``) over
the 21 x 3 landmarks. Drawing is apart from computing: :class:`HeatmapAnnotator`,
:class:`FingerAnnotator` and :func:`side_by_side`. :func:`explain_path` is what the command line runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.hands import FINGERS, N_LANDMARKS, Hand

METHODS = ("auto", "plain", "batched", "tokens", "adaptive")
BASELINES = ("zero", "blur", "mean")
LANDMARK_METHODS = ("ablation", "shapley")
SEED_WINDOW, SEED_STRIDE = 60, 20
"""The seed's full-frame occlusion settings (frame pixels on a 640x360 frame)."""
DEFAULT_WINDOW_FRACTION = 1 / 6
"""Default window: a square this share of the frame's shorter side (the seed's 60 px on 360)."""
DEFAULT_STRIDE_FRACTION = 1 / 3
"""Default stride: this share of the window (the seed's 20 px for 60)."""
DEFAULT_REFINE = 0.3
"""``adaptive``: windows next to an evaluated window whose log-odds drop is at least this share of the
largest so far are evaluated too (0: every window)."""

Image = np.ndarray


# --------------------------------------------------------------------------------------------------
# Results


@dataclass
class Attribution:
    """An occlusion attribution map of one frame.

    Attributes:
        map: (H, W) float32 in frame coordinates: the mean drop of the target's probability when the
            pixel is occluded (positive: evidence for the target).
        target: the chord explained.
        probability: the model's probability of ``target`` on the unoccluded frame.
        settings: method, window and stride (frame pixels, and as used), baseline, passes, input size...
        seconds: wall-clock time of the explanation.
    """

    map: np.ndarray
    target: str
    probability: float
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def peak(self) -> tuple[int, int]:
        """(row, column) of the largest attribution."""
        return tuple(int(v) for v in np.unravel_index(int(np.argmax(self.map)), self.map.shape))


@dataclass
class FingerAttribution:
    """Which finger groups decided a landmark model's chord.

    Attributes:
        scores: finger group name (thumb, index, middle, ring, little, palm) -> attribution: the drop
            of the target's probability when that group is removed (ablation) or its Shapley value.
        target: the chord explained.
        probability: the model's probability of ``target`` with the hand as seen.
        hand: the fretting hand explained (for drawing).
        settings: method, baseline, samples.
        seconds: wall-clock time.
    """

    scores: dict[str, float]
    target: str
    probability: float
    hand: Hand | None = None
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def decisive(self) -> str:
        """The finger group with the largest attribution."""
        return max(self.scores, key=self.scores.get)


def map_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two attribution maps (resized to ``a``'s shape if they differ)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        import cv2

        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


# --------------------------------------------------------------------------------------------------
# Checking parameters


def _pair(value, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise InputError(f"The {name} must be a whole number of pixels or (height, width); got {value!r}.")
    if min(pair) <= 0:
        raise InputError(f"The {name} must be at least 1 pixel; got {value!r}.")
    return pair


def _geometry(shape: Sequence[int], window, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    """Checked (window, stride) in frame pixels; defaults from the frame's size."""
    height, width = int(shape[0]), int(shape[1])
    if window is None:
        window = max(1, round(min(height, width) * DEFAULT_WINDOW_FRACTION))
    window = _pair(window, "window")
    if stride is None:
        stride = tuple(max(1, round(side * DEFAULT_STRIDE_FRACTION)) for side in window)
    stride = _pair(stride, "stride")
    if window[0] > height or window[1] > width:
        raise InputError(f"The occlusion window {window[0]}x{window[1]} (height x width) is larger than the "
                         f"{height}x{width} image; choose a smaller window.")
    return window, stride


def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise InputError(f"An RGB image of shape (H, W, 3) is needed; got shape {image.shape}.")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def _target_index(classes: Sequence[str], target, probabilities: np.ndarray) -> int:
    if target is None:
        return int(np.argmax(probabilities))
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if 0 <= int(target) < len(classes):
            return int(target)
    elif str(target) in classes:
        return list(classes).index(str(target))
    raise InputError(f"Unknown target chord {target!r}; this model answers {', '.join(classes)}.")


def _positions(length: int, window: int, stride: int) -> int:
    """Window positions along one axis, as Captum's Occlusion counts them (the last one may be cut off)."""
    return int(np.ceil((length - window) / stride)) + 1


# --------------------------------------------------------------------------------------------------
# The model as a torch function of pixels


def _probabilities_fn(model):
    """A function: normalised float batch at the model's input size -> probabilities tensor (n, C)."""
    import torch

    from pipeline.models.image import ImageChordModel, TransformerChordModel

    if isinstance(model, TransformerChordModel) and model.card.mode != "fine-tune":
        head = _torch_probe(model)
        if head is not None:
            from pipeline.models.image import _backbone_features

            return lambda x: head(_backbone_features(model.backbone, x))
    uses_softmax = type(model)._probabilities is ImageChordModel._probabilities

    def forward(x):
        logits, embedding = model._logits_and_embedding(x)
        if uses_softmax and logits is not None:
            return torch.softmax(logits.float(), dim=1)
        return torch.as_tensor(np.asarray(model._probabilities(embedding, logits), np.float32))

    return forward


def _torch_probe(model):
    """The linear probe's scikit-learn head (StandardScaler + LogisticRegression) as torch ops, in the
    order of ``model.classes``; None for any other head (then scikit-learn runs on numpy)."""
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


def _to_tensor(image: Image):
    """RGB uint8 (H, W, 3) -> float (1, 3, H, W) in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 255.0


def _resize(x, size: Sequence[int]):
    """Resize a float batch to (height, width): antialiased bilinear, so shrinking does not alias."""
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == (int(size[0]), int(size[1])):
        return x
    shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False, antialias=shrink)


def _baseline(x, kind: str, window: tuple[int, int]):
    """The baseline image (same shape as ``x``, pixels in [0, 1]) that occluded pixels take."""
    import torch

    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x).contiguous()
    import cv2

    # blur at the window's scale: occluding then shows a smooth version of what was there
    sigma_y, sigma_x = max(1.0, window[0] / 3), max(1.0, window[1] / 3)
    image = x[0].permute(1, 2, 0).numpy()
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y, borderType=cv2.BORDER_REFLECT)
    return torch.from_numpy(np.ascontiguousarray(blurred)).permute(2, 0, 1)[None].contiguous()


def patch_embedder(model):
    """(patch embedding module, patch size) of a ViT / DINOv2 model's backbone, or None when it has none."""
    backbone = getattr(model, "backbone", None)
    embeddings = getattr(backbone, "embeddings", None)
    module = getattr(embeddings, "patch_embeddings", None)
    patch = getattr(getattr(backbone, "config", None), "patch_size", None)
    if module is None or patch is None:
        return None
    patch = patch if isinstance(patch, (tuple, list)) else (patch, patch)
    return module, (int(patch[0]), int(patch[1]))


# --------------------------------------------------------------------------------------------------
# Occlusion


def explain_frame(
    image: Image,
    model,
    target: str | int | None = None,
    window: int | tuple[int, int] | None = None,
    stride: int | tuple[int, int] | None = None,
    baseline: str = "zero",
    method: str = "auto",
    batch_size: int = 16,
    threads: int | None = None,
    refine: float = DEFAULT_REFINE,
) -> Attribution:
    """Occlusion attribution of an image chord model's answer on one frame.

    Args:
        image: RGB uint8 frame (H, W, 3) (or a crop: the map is then in the crop's coordinates).
        model: an :class:`~pipeline.models.image.ImageChordModel` (CNN, ViT / DINOv2, or any subclass).
        target: chord name (or column index) to explain; None explains the predicted chord.
        window: occlusion window in frame pixels, an int or (height, width); None: a square a sixth of
            the frame's shorter side (60 px on a 640x360 frame, the seed's setting).
        stride: step between windows in frame pixels; None: a third of the window (20 px).
        baseline: what occluded pixels become: "zero" (black), "blur" (a Gaussian blur of the frame at
            the window's scale) or "mean" (the frame's mean colour).
        method: "auto", "plain", "batched", "tokens" or "adaptive" (see the module's docstring).
        batch_size: occluded copies per forward pass (``perturbations_per_eval``) for the fast methods.
        threads: torch intra-op threads for the call (None: torch's setting).
        refine: for "adaptive", windows next to an evaluated window whose log-odds drop is at least this
            share of the largest so far are evaluated, the rest interpolated; 0 evaluates every window.

    Returns:
        An :class:`Attribution` whose ``map`` is (H, W) float32.

    Raises:
        InputError: a bad image, window larger than the image, window or stride below 1 pixel, an
            unknown target, baseline or method, or "tokens" for a model without patch embeddings.
    """
    import torch
    from captum.attr import Occlusion

    from pipeline.models.image import _normalise, _torch_threads

    start = time.perf_counter()
    image = _check_image(image)
    if method not in METHODS:
        raise InputError(f"Unknown explanation method {method!r}; choose one of {', '.join(METHODS)}.")
    if not 0 <= refine <= 1:
        raise InputError(f"refine must be between 0 (every window) and 1; got {refine!r}.")
    if baseline not in BASELINES:
        raise InputError(f"Unknown baseline {baseline!r}; choose one of {', '.join(BASELINES)}.")
    height, width = image.shape[:2]
    window, stride = _geometry((height, width), window, stride)
    embedder = patch_embedder(model)
    if method == "tokens" and embedder is None:
        raise InputError(f"The tokens method needs a ViT / DINOv2 backbone with patch embeddings; "
                         f"this is a {type(model).__name__}. Use 'batched'.")
    if method == "auto":
        method = "adaptive"
    size = model.input_size
    mean, std = model.card.mean, model.card.std
    probabilities = _probabilities_fn(model)
    batch_size = max(1, int(batch_size))

    frame = _to_tensor(image)
    base_frame = _baseline(frame, baseline, window)
    settings = {"method": method, "window": list(window), "stride": list(stride), "baseline": baseline,
                "frame_size": [height, width], "input_size": list(size)}
    with model.lock, _torch_threads(threads):
        if method == "plain":
            # the reference: Captum as a user would first call it, full frame, one copy per pass
            def forward(x):
                return probabilities(_normalise(_resize(x, size), mean, std))

            with torch.no_grad():
                p = forward(frame)[0].numpy()
            index = _target_index(model.classes, target, p)
            attribution = Occlusion(forward).attribute(
                frame, sliding_window_shapes=(3, *window), strides=(3, *stride), baselines=base_frame,
                target=index, perturbations_per_eval=1)
            heatmap = attribution[0].mean(0).numpy()
            settings.update(passes=_positions(height, window[0], stride[0]) * _positions(width, window[1], stride[1]),
                            perturbations_per_eval=1)
        else:
            x = _resize(frame, size)
            base = _resize(base_frame, size)
            with torch.inference_mode():
                x_norm = _normalise(x, mean, std)
                p = probabilities(x_norm)[0].numpy()
            index = _target_index(model.classes, target, p)
            if method == "batched":
                heatmap, used = _occlude_pixels(x, base, probabilities, mean, std, index, window, stride,
                                                (height, width), batch_size)
            elif method == "adaptive":
                heatmap, used = _occlude_adaptive(x, base, probabilities, mean, std, index, float(p[index]), window,
                                                  stride, (height, width), batch_size, refine)
            else:
                heatmap, used = _occlude_tokens(model, x, base, probabilities, mean, std, index, window, stride,
                                                (height, width), embedder, batch_size)
            settings.update(used)
    return Attribution(map=np.ascontiguousarray(heatmap, dtype=np.float32), target=model.classes[index],
                       probability=float(p[index]), settings=settings, seconds=time.perf_counter() - start)


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


def _occlude_pixels(x, base, probabilities, mean, std, index, window, stride, frame, batch_size):
    """Captum Occlusion over a frame-sized mask, evaluated on the frame resized once.

    The occluded frame is ``frame * keep + baseline * (1 - keep)`` with ``keep`` 0 inside the window;
    resizing is linear, so resizing it is (up to the few pixels where the window's edge falls inside the
    resize filter) ``x * k + base * (1 - k)`` with ``k`` the resized mask: the window keeps its exact
    place and size, no rounding to input pixels, and each pass resizes one channel, not three."""
    import torch
    from captum.attr import Occlusion

    from pipeline.models.image import _normalise

    size = tuple(x.shape[-2:])
    with torch.inference_mode():
        x_norm, base_norm = _normalise(x, mean, std), _normalise(base, mean, std)  # affine: blends commute

        def forward(keep):
            k = _resize(keep, size)
            return probabilities(x_norm * k + base_norm * (1 - k))

        attribution = Occlusion(forward).attribute(
            torch.ones(1, 1, *frame), sliding_window_shapes=(1, *window), strides=(1, *stride), baselines=0.0,
            target=index, perturbations_per_eval=batch_size)
        heatmap = attribution[0, 0].numpy()
    passes = _positions(frame[0], window[0], stride[0]) * _positions(frame[1], window[1], stride[1])
    return heatmap, {"units": "frame pixels (mask resized to the input)", "passes": passes,
                     "perturbations_per_eval": batch_size}


def _occlude_tokens(model, x, base, probabilities, mean, std, index, window, stride, frame, embedder, batch_size):
    """Occlusion of whole patches: Captum over a (patch rows, patch columns) mask whose zeros swap a
    patch's embedding for the baseline image's embedding of that patch."""
    import torch
    from captum.attr import Occlusion

    from pipeline.models.image import _normalise

    module, (ph, pw) = embedder
    size = tuple(x.shape[-2:])
    rows, cols = size[0] // ph, size[1] // pw
    if rows < 1 or cols < 1:
        raise InputError(f"The model's input {size[0]}x{size[1]} is smaller than one {ph}x{pw} patch.")
    window_p, stride_p = _patch_geometry(window, stride, frame, size, (ph, pw), (rows, cols))
    x_norm = _normalise(x, mean, std)
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
        state["base"] = module(_normalise(base, mean, std))  # (1, patches, dim)
        handle = module.register_forward_hook(hook)
        try:
            ones = torch.ones(1, 1, rows, cols)
            attribution = Occlusion(forward).attribute(
                ones, sliding_window_shapes=(1, *window_p), strides=(1, *stride_p), baselines=0.0, target=index,
                perturbations_per_eval=batch_size)
        finally:
            handle.remove()
        heatmap = _patches_to_frame(attribution[0, 0], (ph, pw), size, frame)
    passes = _positions(rows, window_p[0], stride_p[0]) * _positions(cols, window_p[1], stride_p[1])
    return heatmap, {"window_used": list(window_p), "stride_used": list(stride_p), "units": "patches",
                     "patch_size": [ph, pw], "patch_grid": [rows, cols], "passes": passes,
                     "perturbations_per_eval": batch_size}


def _window_starts(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, stop) of each window along one axis, as Captum places them (the last one cut at the edge)."""
    return [(i * stride, min(i * stride + window, length)) for i in range(_positions(length, window, stride))]


def _resized_window_masks(length: int, size: int, window: int, stride: int):
    """(positions, size) float: each window's 1-D indicator over ``length`` frame pixels, resized to ``size``.

    Resizing is separable, so a window's resized 2-D mask is the outer product of its row and column
    masks. (A resize to width 1 is wrong in torch's antialiased bilinear, hence two columns.)"""
    import torch

    starts = _window_starts(length, window, stride)
    masks = torch.zeros(len(starts), 1, length, 2)
    for i, (a, b) in enumerate(starts):
        masks[i, 0, a:b] = 1.0
    return _resize(masks, (size, 2))[:, 0, :, 0].contiguous()


def _lattice(n: int, step: int) -> np.ndarray:
    """Every ``step``-th index of ``range(n)``, and the last one (so interpolation reaches the edge)."""
    return np.unique(np.r_[np.arange(0, n, max(1, step)), n - 1])


def _interpolate(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear interpolation over the whole grid of the values at (rows x cols)."""
    lattice = values[np.ix_(rows, cols)]
    along = np.stack([np.interp(np.arange(values.shape[1]), cols, row) for row in lattice])
    return np.stack([np.interp(np.arange(values.shape[0]), rows, column) for column in along.T], axis=1)


def coarse_to_fine(evaluate, shape: tuple[int, int], refine: float, step: tuple[int, int] = (2, 2),
                   strength=np.abs) -> tuple[np.ndarray, int]:
    """Values on a (rows, columns) grid of window positions, most of them evaluated only where it matters.

    First every ``step``-th position along each axis (for windows ``step`` strides wide these tile the
    frame: every pixel is under one of them). Then, over and over until nothing is added, every position
    next to (within one step of) an evaluated position whose strength is at least ``refine`` times the
    largest strength evaluated so far: the evaluation grows from each peak of the lattice along the
    evidence, however far it extends. Positions never reached take the bilinear interpolation of the
    lattice.

    Args:
        evaluate: list of (row, column) positions -> their values (a sequence of floats).
        shape: the grid's shape.
        refine: 0 evaluates every position; 1 only grows along the largest values.
        step: the lattice's step along rows and columns.
        strength: values (array) -> how strong they are (array, >= 0); the absolute value by default.

    Returns:
        (grid, evaluated): the values, evaluated or interpolated, and how many positions were evaluated.
    """
    rows, cols = _lattice(shape[0], step[0]), _lattice(shape[1], step[1])
    values = np.full(shape, np.nan)
    frontier = [(int(i), int(j)) for i in rows for j in cols]
    values[tuple(np.array(frontier).T)] = evaluate(frontier)
    estimate = _interpolate(values, rows, cols)
    largest = 0.0
    while frontier:
        found = np.asarray(strength(values[tuple(np.array(frontier).T)]), float)
        largest = max(largest, float(found.max()))
        grow = set()
        for (i, j), s in zip(frontier, found):
            if s >= refine * largest:
                grow.update((r, c) for r in range(max(0, i - 1), min(shape[0], i + 2))
                            for c in range(max(0, j - 1), min(shape[1], j + 2)) if np.isnan(values[r, c]))
        frontier = sorted(grow)
        if frontier:
            values[tuple(np.array(frontier).T)] = evaluate(frontier)
    evaluated = ~np.isnan(values)
    return np.where(evaluated, values, estimate), int(evaluated.sum())


def _mean_over_windows(drops: np.ndarray, shape: tuple[int, int], window, stride) -> np.ndarray:
    """Each pixel's mean drop over the windows that cover it: the map Captum's Occlusion returns."""
    total, count = np.zeros(shape), np.zeros(shape)
    row_starts = _window_starts(shape[0], window[0], stride[0])
    col_starts = _window_starts(shape[1], window[1], stride[1])
    for (r0, r1), row in zip(row_starts, drops):
        for (c0, c1), drop in zip(col_starts, row):
            total[r0:r1, c0:c1] += drop
            count[r0:r1, c0:c1] += 1
    return total / np.maximum(count, 1)


def _map_on_cores(fn, items: list, batch_size: int) -> list:
    """``fn`` over ``items`` in batches of at most ``batch_size``, one single-threaded torch worker per
    intra-op thread, the batches spread evenly over the workers.

    Independent passes keep the cores busier than one pass split across them when the model's operations
    are small: 1.5x the throughput on a small DINOv2 on two cores, the same on the CNN (the numbers
    are the same)."""
    import math
    from concurrent.futures import ThreadPoolExecutor

    import torch

    threads = torch.get_num_threads()
    count = max(1, math.ceil(len(items) / batch_size))
    workers = min(threads, len(items))
    if workers > 1:
        count = math.ceil(max(count, workers) / workers) * workers
    size = math.ceil(len(items) / count)
    batches = [items[k:k + size] for k in range(0, len(items), size)]
    if workers < 2:
        return [fn(batch) for batch in batches]
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, batches))
    finally:
        torch.set_num_threads(threads)


def _log_odds(p):
    p = np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _occlude_adaptive(x, base, probabilities, mean, std, index, probability, window, stride, frame, batch_size,
                      refine):
    """Occlusion evaluated coarse to fine (module docstring): Captum's windows in frame coordinates, each
    window's drop computed directly from its resized mask, without Captum's bookkeeping."""
    import torch

    from pipeline.models.image import _normalise

    size = tuple(x.shape[-2:])
    x_norm = _normalise(x, mean, std)
    difference = _normalise(base, mean, std) - x_norm  # occluded = x + (base - x) * mask
    row_masks = _resized_window_masks(frame[0], size[0], window[0], stride[0])
    col_masks = _resized_window_masks(frame[1], size[1], window[1], stride[1])
    grid_shape = (len(row_masks), len(col_masks))

    def drops_of(chunk):
        with torch.inference_mode():  # thread-local: each worker enters it
            i, j = torch.tensor(chunk).T
            masks = row_masks[i][:, :, None] * col_masks[j][:, None, :]
            return probability - probabilities(x_norm + difference * masks[:, None])[:, index].float().numpy()

    def evaluate(positions):
        return np.concatenate(_map_on_cores(drops_of, positions, batch_size))

    def strength(drops):  # in log-odds, which a confident model's probability squashes
        return np.abs(_log_odds(probability) - _log_odds(probability - drops))

    lattice_step = (max(1, window[0] // stride[0]), max(1, window[1] // stride[1]))
    drops, evaluated = coarse_to_fine(evaluate, grid_shape, refine, lattice_step, strength)
    heatmap = _mean_over_windows(drops, frame, window, stride)
    return heatmap, {"units": "frame pixels (window masks resized to the input)", "passes": evaluated,
                     "windows": int(np.prod(grid_shape)), "refine": refine, "lattice_step": list(lattice_step),
                     "perturbations_per_eval": batch_size}


# --------------------------------------------------------------------------------------------------
# Landmark models: which fingers decided


FINGER_NAMES = tuple(FINGERS)


def finger_mask():
    """Captum feature mask (1, 21, 3) long: each landmark's finger group (index into FINGER_NAMES)."""
    import torch

    mask = torch.zeros(1, N_LANDMARKS, 3, dtype=torch.long)
    for group, name in enumerate(FINGER_NAMES):
        for landmark in FINGERS[name]:
            mask[0, landmark, :] = group
    return mask


def explain_landmarks(
    hand: Hand,
    model,
    target: str | int | None = None,
    method: str = "ablation",
    baseline: str | np.ndarray = "centroid",
    n_samples: int = 25,
    width: int | None = None,
    height: int | None = None,
) -> FingerAttribution:
    """Attribute a landmark model's chord to finger groups (thumb, index, middle, ring, little, palm).

    A group is removed by moving its landmarks to the baseline and recomputing the model's features
    (any feature version), so the same code serves ``raw63`` and ``centred`` models.

    Args:
        hand: the fretting hand (``HandsResult.fretting``).
        model: a :class:`~pipeline.models.landmark.LandmarkChordModel`.
        target: chord to explain; None: the predicted one.
        method: "ablation" (Captum FeatureAblation, one pass per group) or "shapley" (Captum
            ShapleyValueSampling, ``n_samples`` permutations).
        baseline: "centroid" (a removed landmark moves to the hand's centroid: the finger's shape is
            gone, the hand's place kept), "wrist" (moves onto the wrist; the palm group then moves to the
            centroid) or a (21, 3) array of normalised landmarks.
        n_samples: permutations for "shapley".
        width, height: the frame's size in pixels (default: recovered from the hand's two coordinate forms).

    Returns:
        A :class:`FingerAttribution`.

    Raises:
        InputError: no hand, an unknown method, baseline or target.
    """
    import torch
    from captum.attr import FeatureAblation, ShapleyValueSampling

    from pipeline.models.features import hand_features

    start = time.perf_counter()
    if hand is None:
        raise InputError("No hand to explain: the landmark model decides only frames where a hand is found.")
    if method not in LANDMARK_METHODS:
        raise InputError(f"Unknown method {method!r}; choose one of {', '.join(LANDMARK_METHODS)}.")
    norm = np.asarray(hand.landmarks_norm, np.float32).reshape(N_LANDMARKS, 3)
    if width is None or height is None:
        px = np.asarray(hand.landmarks_px, np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.nanmedian(np.where(np.abs(norm[:, 0]) > 1e-6, px[:, 0] / norm[:, 0], np.nan))
            h = np.nanmedian(np.where(np.abs(norm[:, 1]) > 1e-6, px[:, 1] / norm[:, 1], np.nan))
        width = int(round(w)) if np.isfinite(w) else 1
        height = int(round(h)) if np.isfinite(h) else 1
    if isinstance(baseline, str):
        centroid = np.broadcast_to(norm.mean(0), norm.shape)
        if baseline == "centroid":
            reference = np.array(centroid)
        elif baseline == "wrist":
            reference = np.broadcast_to(norm[FINGERS["palm"][0]], norm.shape).copy()
            reference[list(FINGERS["palm"])] = centroid[list(FINGERS["palm"])]
        else:
            raise InputError(f"Unknown landmark baseline {baseline!r}; choose centroid, wrist or a (21, 3) array.")
        baseline_name = baseline
    else:
        reference = np.asarray(baseline, np.float32)
        if reference.shape != (N_LANDMARKS, 3):
            raise InputError(f"A landmark baseline must be a (21, 3) array; got shape {reference.shape}.")
        baseline_name = "array"
    version = model.card.feature_version

    def forward(points):
        rows = [hand_features(Hand.from_normalised(p, hand.handedness, hand.score, width, height), version)
                for p in points.detach().cpu().numpy().reshape(-1, N_LANDMARKS, 3)]
        return torch.as_tensor(np.asarray(model.predict_proba(np.stack(rows)), np.float32))

    inputs = torch.from_numpy(norm[None].copy())
    base = torch.from_numpy(np.asarray(reference, np.float32)[None].copy())
    p = forward(inputs)[0].numpy()
    index = _target_index(model.classes, target, p)
    mask = finger_mask()
    if method == "ablation":
        attribution = FeatureAblation(forward).attribute(inputs, baselines=base, target=index, feature_mask=mask,
                                                         perturbations_per_eval=len(FINGER_NAMES))
    else:
        torch.manual_seed(0)  # Shapley sampling draws permutations: the same hand gives the same answer
        attribution = ShapleyValueSampling(forward).attribute(inputs, baselines=base, target=index, feature_mask=mask,
                                                              n_samples=int(n_samples),
                                                              perturbations_per_eval=len(FINGER_NAMES))
    values = attribution[0].numpy()
    scores = {name: float(values[FINGERS[name][0], 0]) for name in FINGER_NAMES}
    return FingerAttribution(scores=scores, target=model.classes[index], probability=float(p[index]), hand=hand,
                             settings={"method": method, "baseline": baseline_name, "feature_version": version,
                                       "n_samples": int(n_samples) if method == "shapley" else 0},
                             seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------------------------------
# Drawing


COLORMAPS = ("jet", "inferno", "viridis", "magma", "turbo", "hot")


def _colormap(name: str) -> int:
    import cv2

    if name not in COLORMAPS:
        raise InputError(f"Unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}.")
    return getattr(cv2, f"COLORMAP_{name.upper()}")


def _colorize(values01: np.ndarray, colormap: str) -> np.ndarray:
    """[0, 1] floats -> RGB uint8 through an OpenCV colormap."""
    import cv2

    grey = np.clip(np.round(values01 * 255), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, _colormap(colormap)), cv2.COLOR_BGR2RGB)


def _legend(out: np.ndarray, colormap: str, low: float, high: float, title: str) -> None:
    """A vertical colour bar with its top and bottom values, drawn in the right margin of ``out``."""
    import cv2

    height, width = out.shape[:2]
    bar_h = max(20, int(height * 0.5))
    bar_w = max(6, width // 60)
    scale = max(0.3, min(height, width) / 900)
    x1 = width - bar_w - max(6, width // 80)
    y1 = (height - bar_h) // 2
    ramp = np.linspace(1, 0, bar_h)[:, None].repeat(bar_w, 1)
    out[y1:y1 + bar_h, x1:x1 + bar_w] = _colorize(ramp, colormap)
    cv2.rectangle(out, (x1 - 1, y1 - 1), (x1 + bar_w, y1 + bar_h), (255, 255, 255), 1)
    thickness = max(1, int(round(scale * 2)))
    for text, y in ((f"{high:.3g}", y1 - 4), (f"{low:.3g}", y1 + bar_h + int(22 * scale) + 2)):
        (tw, _), _ = cv2.getTextSize(text, 0, scale, thickness)
        org = (max(0, x1 + bar_w - tw), int(min(max(y, 12), height - 2)))
        cv2.putText(out, text, org, 0, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(out, text, org, 0, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    if title:
        (tw, th), _ = cv2.getTextSize(title, 0, scale, thickness)
        org = (max(0, width - tw - 4), max(th + 2, y1 - int(30 * scale) - 4))
        cv2.putText(out, title, org, 0, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(out, title, org, 0, scale, (255, 255, 255), thickness, cv2.LINE_AA)


class HeatmapAnnotator:
    """Blends an occlusion map over a frame (or a crop) with a colour-scale legend.

    The map is scaled to [0, 1] by its largest value (negative evidence shows as none, or, with
    ``signed=True``, scaled by the largest magnitude around the middle of the colormap); where the
    map is strong the colour covers the frame up to ``alpha``, so unimportant regions stay visible.

    Args:
        alpha: largest opacity of the heatmap, 0 to 1.
        colormap: one of :data:`COLORMAPS`.
        legend: draw the colour bar and its values.
        signed: show negative evidence too (colormap centred on 0) instead of clipping it.
    """

    def __init__(self, alpha: float = 0.6, colormap: str = "jet", legend: bool = True, signed: bool = False) -> None:
        if not 0 <= alpha <= 1:
            raise InputError(f"alpha must be from 0 to 1; got {alpha}.")
        _colormap(colormap)
        self.alpha, self.colormap, self.legend, self.signed = float(alpha), colormap, legend, signed

    def annotate(self, image: np.ndarray, attribution) -> np.ndarray:
        """Return a copy of ``image`` with ``attribution`` blended over it.

        Args:
            image: RGB uint8 (H, W, 3): the frame, or the crop that was explained.
            attribution: an :class:`Attribution` or an (h, w) map (resized to the image if it differs);
                None returns an unchanged copy.
        """
        import cv2

        from pipeline.vision.drawing import _copy

        out = _copy(image)
        if attribution is None:
            return out
        heat = np.asarray(getattr(attribution, "map", attribution), np.float32)
        if heat.ndim != 2:
            raise InputError(f"An attribution map must be 2-D; got shape {heat.shape}.")
        if heat.shape != out.shape[:2]:
            heat = cv2.resize(heat, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
        heat = np.nan_to_num(heat)
        if self.signed:
            top = float(np.abs(heat).max()) or 1.0
            values = (heat / top + 1) / 2
            weight = np.abs(heat) / top
            low, high = -top, top
        else:
            top = float(heat.max()) if heat.max() > 0 else 1.0
            values = np.clip(heat / top, 0, 1)
            weight = values
            low, high = 0.0, top
        colour = _colorize(values, self.colormap).astype(np.float32)
        a = (self.alpha * np.sqrt(weight))[..., None]  # sqrt: middling evidence stays visible
        out = np.round(out.astype(np.float32) * (1 - a) + colour * a).astype(np.uint8)
        if self.legend:
            target = getattr(attribution, "target", None)
            _legend(out, self.colormap, low, high, f"drop in p({target})" if target else "attribution")
        return out


class FingerAnnotator:
    """Draws the fretting hand with each finger group coloured by its attribution, and a ranked list.

    Args:
        colormap: one of :data:`COLORMAPS` (the largest positive score takes the top colour).
        thickness: skeleton line width.
        radius: landmark dot radius.
    """

    def __init__(self, colormap: str = "jet", thickness: int = 3, radius: int = 4) -> None:
        _colormap(colormap)
        self.colormap, self.thickness, self.radius = colormap, int(thickness), int(radius)

    def annotate(self, image: np.ndarray, result: FingerAttribution | None) -> np.ndarray:
        """Return a copy of ``image`` with the hand of ``result`` drawn by finger attribution."""
        import cv2

        from pipeline.vision.drawing import _copy, _label

        out = _copy(image)
        if result is None or result.hand is None:
            return out
        top = max(max(result.scores.values()), 1e-12)
        colours = {name: tuple(int(c) for c in _colorize(np.array([[max(score, 0) / top]]), self.colormap)[0, 0])
                   for name, score in result.scores.items()}
        points = np.round(np.asarray(result.hand.landmarks_px)[:, :2]).astype(np.int64)
        wrist = FINGERS["palm"][0]
        for name, chain in FINGERS.items():
            if name == "palm":
                continue
            chain = (wrist, *chain)
            for a, b in zip(chain[:-1], chain[1:]):
                cv2.line(out, tuple(map(int, points[a])), tuple(map(int, points[b])), colours[name],
                         self.thickness, cv2.LINE_AA)
        for name, chain in FINGERS.items():
            for landmark in chain:
                x, y = map(int, points[landmark])
                cv2.circle(out, (x, y), self.radius, colours[name], -1, cv2.LINE_AA)
                cv2.circle(out, (x, y), self.radius, (0, 0, 0), 1, cv2.LINE_AA)
        scale = max(0.4, min(out.shape[:2]) / 720)
        line = int(40 * scale) + 8
        ranked = sorted(result.scores.items(), key=lambda item: -item[1])
        _label(out, f"{result.target} {result.probability:.2f}: which fingers decided", (4, line), scale,
               (255, 255, 255), (40, 40, 40))
        for i, (name, score) in enumerate(ranked, start=2):
            _label(out, f"{name} {score:+.3f}", (4, i * line), scale, (255, 255, 255), colours[name])
        return out


def side_by_side(image: np.ndarray, attributions: Sequence, titles: Sequence[str] | None = None,
                 annotator: HeatmapAnnotator | None = None, gap: int = 8) -> np.ndarray:
    """Overlays of several explanations of one frame in a row (two models, or trained vs untrained).

    Args:
        image: RGB uint8 (H, W, 3).
        attributions: :class:`Attribution` objects (or maps) of that image.
        titles: one caption per panel (default: the target chord and its probability).
        annotator: how to draw each panel (default :class:`HeatmapAnnotator`).
        gap: white pixels between panels.

    Returns:
        RGB uint8 (H, n * W + (n - 1) * gap, 3).
    """
    from pipeline.vision.drawing import _label

    annotator = annotator or HeatmapAnnotator()
    if titles is not None and len(titles) != len(attributions):
        raise InputError(f"{len(titles)} titles for {len(attributions)} explanations.")
    panels = []
    for i, attribution in enumerate(attributions):
        panel = annotator.annotate(image, attribution)
        title = titles[i] if titles is not None else (
            f"{attribution.target} p={attribution.probability:.2f}" if hasattr(attribution, "target") else "")
        if title:
            _label(panel, title, (4, max(24, panel.shape[0] // 14)), max(0.4, min(panel.shape[:2]) / 720),
                   (255, 255, 255), (30, 30, 30))
        panels.append(panel)
    if not panels:
        raise InputError("No explanations to show side by side.")
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [spacer, panel]
    return np.concatenate(row, axis=1)


def untrained_like(model, seed: int = 0):
    """The same architecture with fresh random weights (for the trained vs untrained comparison).

    Args:
        model: a CNN or a fine-tuned / linear-probe transformer image model.
        seed: torch seed for the new weights.

    Returns:
        An image model of the same class, card and head shape, whose weights were never trained.
    """
    import copy

    import torch

    from pipeline.models.image import CNNChordModel, TransformerChordModel, _cnn_from_card

    torch.manual_seed(seed)
    card = copy.deepcopy(model.card)
    card.metrics, card.history = {}, []
    card.trained_on = "untrained (random weights)"
    if isinstance(model, CNNChordModel):
        return CNNChordModel(_cnn_from_card(card), card)
    if isinstance(model, TransformerChordModel):
        from transformers import AutoModel

        backbone = AutoModel.from_config(model.backbone.config)
        head = model.head
        if isinstance(head, torch.nn.Module):
            head = torch.nn.Linear(head.in_features, head.out_features)
        return TransformerChordModel(backbone, model.processor, head, card)
    raise InputError(f"Cannot build an untrained copy of a {type(model).__name__}.")


# --------------------------------------------------------------------------------------------------
# What the command line runs


def explain_path(path: str | Path, model, out: str | Path, time_s: float = 0.0, target: str | None = None,
                 **kwargs) -> tuple[Attribution | FingerAttribution, Path]:
    """Explain one frame of a clip (or a still image) and write the overlay as a PNG.

    Image models get an occlusion heatmap (:func:`explain_frame`, ``kwargs`` passed on); landmark models
    get finger attributions drawn on the hand (hands found with MediaPipe).

    Args:
        path: a video or still image.
        model: an image chord model or a landmark chord model.
        out: the PNG to write (its folder is created).
        time_s: the frame's time in seconds (ignored for a still image).
        target: chord to explain (None: the predicted one).

    Returns:
        (the attribution, the PNG path).

    Raises:
        InputError: unreadable input, a time outside the clip, no hand for a landmark model, bad settings.
    """
    import cv2

    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.vision.video import read_frame

    frame = read_frame(path, float(time_s)).image
    if isinstance(model, LandmarkChordModel):
        from pipeline.vision.hands import HandDetector

        with HandDetector() as detector:
            hands = detector.detect(frame)
        if hands.fretting is None:
            raise InputError(f"No hand found in {Path(path).name} at {time_s:g} s: "
                             "the landmark model cannot decide it.")
        result = explain_landmarks(hands.fretting, model, target=target, width=frame.shape[1], height=frame.shape[0])
        picture = FingerAnnotator().annotate(frame, result)
    else:
        result = explain_frame(frame, model, target=target, **kwargs)
        picture = HeatmapAnnotator().annotate(frame, result)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
        raise InputError(f"Cannot write {out}.")
    return result, out


__all__ = [
    "Attribution", "BASELINES", "FingerAnnotator", "FingerAttribution", "HeatmapAnnotator", "METHODS",
    "explain_frame", "explain_landmarks", "explain_path", "finger_mask", "map_correlation", "patch_embedder",
    "side_by_side", "untrained_like",
]
