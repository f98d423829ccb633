"""Occlusion evaluated coarse to fine: the windows of plain Captum, most of them only where it matters.

Each window's drop is computed directly (a window is a rectangle, and resizing is separable, so its
resized mask is the outer product of two precomputed resized 1-D masks: no resize per pass). First the
windows that tile the frame (every third position along each axis for a window three strides wide: each
pixel under exactly one of them); then, round after round, every window next to an evaluated one whose
drop is at least ``refine`` of the largest so far, so the evaluation grows from each peak along the
evidence as far as it reaches. Drops are compared in log-odds: a confident model's probability barely
moves until most of the evidence is covered, so a window over part of a deciding finger can look quiet
in probability, not in log-odds. The windows never reached, all in quiet parts of the frame, take the
bilinear interpolation of the tiling. The map is then made as Captum makes it, each pixel the mean drop
over the windows that cover it. The batches run one single-threaded pass per core (torch's intra-op
threads are set to 1 meanwhile).

``refine=0`` evaluates every window (Captum's numbers); the default 0.3 evaluates about a quarter to a
third of them on real frames, where the evidence sits around the hand (map correlation with plain Captum
0.97 and more on a DINOv2 and a CNN trained here; see ``benchmarks/bench_explain.py``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.types import ExplainMethod
from pipeline.explain.checks import DEFAULT_REFINE, window_positions
from pipeline.explain.forward import resize_batch
from pipeline.explain.occlusion import FrameOcclusion
from pipeline.models.image.inputs import normalise


def _window_starts(length: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, stop) of each window along one axis, as Captum places them (the last one cut at the edge)."""
    return [(i * stride, min(i * stride + window, length)) for i in range(window_positions(length, window, stride))]


def _resized_window_masks(length: int, size: int, window: int, stride: int):
    """(positions, size) float: each window's 1-D indicator over ``length`` frame pixels, resized to ``size``.

    Resizing is separable, so a window's resized 2-D mask is the outer product of its row and column
    masks. (A resize to width 1 is wrong in torch's antialiased bilinear, hence two columns.)"""
    import torch

    starts = _window_starts(length, window, stride)
    masks = torch.zeros(len(starts), 1, length, 2)
    for i, (a, b) in enumerate(starts):
        masks[i, 0, a:b] = 1.0
    return resize_batch(masks, (size, 2))[:, 0, :, 0].contiguous()


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


class AdaptiveOcclusion(FrameOcclusion):
    """Occlusion evaluated coarse to fine (``"adaptive"``): Captum's windows in frame coordinates, each
    window's drop computed directly from its resized mask, without Captum's bookkeeping.

    Args:
        model: an :class:`~pipeline.models.image.base.TorchImageModel`.
        batch_size: windows per forward pass.
        threads: torch intra-op threads for the call (None: torch's setting); the batches run one
            single-threaded pass per thread.
        refine: windows next to an evaluated window whose log-odds drop is at least this share of the
            largest so far are evaluated, the rest interpolated; 0 evaluates every window.

    Raises:
        InputError: ``refine`` outside [0, 1].
    """

    method = ExplainMethod.ADAPTIVE

    def __init__(self, model, batch_size: int = 16, threads: int | None = None,
                 refine: float = DEFAULT_REFINE) -> None:
        if not 0 <= refine <= 1:
            raise InputError(f"refine must be between 0 (every window) and 1; got {refine!r}.")
        super().__init__(model, batch_size, threads)
        self.refine = refine

    def _occlude(self, frame, base_frame, probabilities, target, window, stride):
        import torch

        x, base, p, index = self._resized(frame, base_frame, probabilities, target)
        probability = float(p[index])
        mean, std, batch_size, refine = self.model.card.mean, self.model.card.std, self.batch_size, self.refine
        shape = tuple(frame.shape[-2:])
        size = tuple(x.shape[-2:])
        x_norm = normalise(x, mean, std)
        difference = normalise(base, mean, std) - x_norm  # occluded = x + (base - x) * mask
        row_masks = _resized_window_masks(shape[0], size[0], window[0], stride[0])
        col_masks = _resized_window_masks(shape[1], size[1], window[1], stride[1])
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
        heatmap = _mean_over_windows(drops, shape, window, stride)
        return heatmap, p, index, {"units": "frame pixels (window masks resized to the input)", "passes": evaluated,
                                   "windows": int(np.prod(grid_shape)), "refine": refine,
                                   "lattice_step": list(lattice_step), "perturbations_per_eval": batch_size}


__all__ = ["AdaptiveOcclusion", "coarse_to_fine"]
