"""Input checks and defaults shared by every explanation algorithm (as Captum's ``_utils`` are).

Window and stride are in FRAME pixels, an int (square) or (height, width); ``None`` gives the defaults,
the seed's full-frame settings scaled to the frame: a square window a sixth of the frame's shorter side
and a stride a third of the window (60 px every 20 px on a 640x360 frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import numpy as np

from pipeline.core.errors import InputError

BASELINES = ("zero", "blur", "mean")
"""What occluded pixels become: black, a blur of the frame at the window's scale, or its mean colour."""
SEED_WINDOW, SEED_STRIDE = 60, 20
"""The seed's full-frame occlusion settings (frame pixels on a 640x360 frame)."""
DEFAULT_WINDOW_FRACTION = 1 / 6
"""Default window: a square this share of the frame's shorter side (the seed's 60 px on 360)."""
DEFAULT_STRIDE_FRACTION = 1 / 3
"""Default stride: this share of the window (the seed's 20 px for 60)."""
DEFAULT_REFINE = 0.3
"""``adaptive``: windows next to an evaluated window whose log-odds drop is at least this share of the
largest so far are evaluated too (0: every window)."""


def check_choice(value, choices: Sequence[str], what: str) -> str:
    """``value`` as one of ``choices`` (an enum member is read as its value).

    Args:
        value: the caller's choice, a string or a string enum member.
        choices: the allowed values.
        what: what is chosen, for the message ("explanation method", "baseline").

    Returns:
        The plain string value.

    Raises:
        InputError: ``value`` is not among ``choices``.
    """
    text = value.value if isinstance(value, Enum) else value
    if not isinstance(text, str) or text not in choices:
        raise InputError(f"Unknown {what} {value!r}; choose one of {', '.join(choices)}.")
    return text


def pixel_pair(value, name: str) -> tuple[int, int]:
    """A window or stride as (height, width) whole pixels.

    Args:
        value: an int (square) or a (height, width) pair of ints.
        name: "window" or "stride", for the message.

    Returns:
        (height, width), each at least 1.

    Raises:
        InputError: not whole numbers, or below 1 pixel.
    """
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


def window_and_stride(shape: Sequence[int], window, stride) -> tuple[tuple[int, int], tuple[int, int]]:
    """Checked occlusion window and stride in frame pixels; defaults from the frame's size.

    Args:
        shape: the frame's (height, width, ...).
        window: an int, (height, width) or None (a square a sixth of the shorter side).
        stride: an int, (height, width) or None (a third of the window).

    Returns:
        ((window height, width), (stride height, width)).

    Raises:
        InputError: below 1 pixel, not whole pixels, or a window larger than the frame.
    """
    height, width = int(shape[0]), int(shape[1])
    if window is None:
        window = max(1, round(min(height, width) * DEFAULT_WINDOW_FRACTION))
    window = pixel_pair(window, "window")
    if stride is None:
        stride = tuple(max(1, round(side * DEFAULT_STRIDE_FRACTION)) for side in window)
    stride = pixel_pair(stride, "stride")
    if window[0] > height or window[1] > width:
        raise InputError(f"The occlusion window {window[0]}x{window[1]} (height x width) is larger than the "
                         f"{height}x{width} image; choose a smaller window.")
    return window, stride


def check_image(image) -> np.ndarray:
    """An RGB frame as uint8 (other dtypes clipped to [0, 255]).

    Args:
        image: (H, W, 3) array.

    Returns:
        RGB uint8 (H, W, 3).

    Raises:
        InputError: not (H, W, 3) with H, W >= 1.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise InputError(f"An RGB image of shape (H, W, 3) is needed; got shape {image.shape}.")
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def target_index(classes: Sequence[str], target, probabilities: np.ndarray) -> int:
    """The column of the chord to explain.

    Args:
        classes: the model's chords, in column order.
        target: a chord name, a column index, or None (the most probable chord).
        probabilities: (C,) the model's answer on the unoccluded input.

    Returns:
        The column index.

    Raises:
        InputError: a chord the model does not answer, or an index out of range.
    """
    if target is None:
        return int(np.argmax(probabilities))
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if 0 <= int(target) < len(classes):
            return int(target)
    elif str(target) in classes:
        return list(classes).index(str(target))
    raise InputError(f"Unknown target chord {target!r}; this model answers {', '.join(classes)}.")


def window_positions(length: int, window: int, stride: int) -> int:
    """Window positions along one axis, as Captum's Occlusion counts them (the last one may be cut off).

    Args:
        length: the axis's length in pixels (or patches).
        window: the window's length along it.
        stride: the step between windows.

    Returns:
        How many windows Captum slides along the axis.
    """
    return int(np.ceil((length - window) / stride)) + 1
