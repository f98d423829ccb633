"""The fretboard detector: Ultralytics YOLO, trained or fine-tuned on a YOLO-format data set.

:class:`FretboardDetector` turns an RGB frame into :class:`FretboardDetections` (boxes, scores and
classes as numpy arrays; no Ultralytics object leaves this module). Weights are given by path (a
trained ``best.pt``, or the folder :func:`pipeline.models.detector.train_detector` wrote) or by an
Ultralytics asset name (``"yolov8n.pt"``), which only a machine with a network can fetch; offline, a missing name is an
:class:`~pipeline.core.errors.InputError` that says so at once, instead of a download that hangs.

Inference only: training and evaluation are :mod:`pipeline.models.detector`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.config import get_settings
from pipeline.core.errors import InputError

DEFAULT_WEIGHTS = "yolov8n.pt"


# --------------------------------------------------------------------------------------------
# Result type


def _numpy(value, dtype) -> np.ndarray:
    """A torch tensor or array-like as a numpy array of ``dtype`` (read by attribute, no torch import)."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype=dtype)


@dataclass(frozen=True, eq=False)
class FretboardDetections:
    """Fretboard boxes found in one frame, best first.

    Attributes:
        boxes: (n, 4) float32 x1, y1, x2, y2 in pixels of the frame the detector saw.
        scores: (n,) float32 confidences in [0, 1].
        class_ids: (n,) int64 class indices (0 is ``fretboard`` in this project's data sets).
        names: class index to name, as the model was trained (may be empty).
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    class_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(-1)
        if not len(boxes) == len(scores) == len(class_ids):
            lengths = f"{len(boxes)}, {len(scores)}, {len(class_ids)}"
            raise ValueError(f"boxes, scores and class_ids differ in length: {lengths}")
        usable = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)  # a NaN row is no detection
        boxes, scores, class_ids = boxes[usable], scores[usable], class_ids[usable]
        order = np.argsort(-scores, kind="stable")  # best first, whatever order the library gave
        object.__setattr__(self, "boxes", boxes[order])
        object.__setattr__(self, "scores", scores[order])
        object.__setattr__(self, "class_ids", class_ids[order])

    @classmethod
    def from_ultralytics(cls, result) -> FretboardDetections:
        """Convert one Ultralytics ``Results`` (one image of ``model.predict``), read by attribute.

        Args:
            result: has ``.boxes`` with ``.xyxy`` (n, 4), ``.conf`` (n,) and ``.cls`` (n,) (tensors or
                arrays, in the original image's pixels), and optionally ``.names``.

        Returns:
            The detections; empty when ``result.boxes`` is None or has no rows.
        """
        names = {int(k): str(v) for k, v in (getattr(result, "names", None) or {}).items()}
        boxes = getattr(result, "boxes", None)
        if boxes is None:
            return cls(names=names)
        return cls(
            _numpy(boxes.xyxy, np.float32), _numpy(boxes.conf, np.float32), _numpy(boxes.cls, np.int64), names
        )

    @property
    def empty(self) -> bool:
        """True when nothing was detected."""
        return len(self.scores) == 0

    @property
    def best(self) -> np.ndarray | None:
        """(4,) float32 box of the highest score, or None when nothing was detected."""
        return None if self.empty else self.boxes[0].copy()

    @property
    def best_score(self) -> float | None:
        """Score of :attr:`best`, or None."""
        return None if self.empty else float(self.scores[0])

    def __len__(self) -> int:
        return len(self.scores)

    def above(self, min_score: float) -> FretboardDetections:
        """The detections scoring at least ``min_score``."""
        keep = self.scores >= min_score
        return FretboardDetections(self.boxes[keep], self.scores[keep], self.class_ids[keep], self.names)


# --------------------------------------------------------------------------------------------
# Weights


def ultralytics_offline() -> bool:
    """Whether Ultralytics must not (``YOLO_OFFLINE`` set) or cannot reach the network.

    Returns:
        True offline: no asset download and no font fetch is attempted then.
    """
    if os.environ.get("YOLO_OFFLINE", "").lower() in ("1", "true", "yes"):
        return True
    from ultralytics.utils import is_online

    return not is_online()


def _weights_cache() -> Path:
    """Where Ultralytics assets named by users with a network are downloaded (never the working dir)."""
    return get_settings().models_dir / "ultralytics"


def resolve_weights(weights: str | Path) -> str:
    """The file that ``weights`` names, checked before Ultralytics sees it.

    Args:
        weights: a ``.pt`` file, a folder holding ``best.pt`` (what
            :func:`pipeline.models.detector.train_detector` writes), a model yaml (``"yolov8n.yaml"``:
            untrained), or an Ultralytics asset name (``"yolov8n.pt"``), looked up in Ultralytics'
            weights folder and this project's cache, and downloaded into the cache when there is a network.

    Returns:
        A path (or yaml name) that ``ultralytics.YOLO`` loads without writing to the working directory.

    Raises:
        InputError: the file is missing, or it is an asset name that is not on this machine and there
            is no network to fetch it.
    """
    path = Path(weights).expanduser()
    if path.is_dir():
        if (path / "best.pt").is_file():
            return str(path / "best.pt")
        raise InputError(f"{path} holds no best.pt: pass a trained detector's folder or its .pt file.")
    if path.is_file():
        return str(path)
    name = str(weights)
    if path.suffix in (".yaml", ".yml") and path.parent == Path("."):
        return name  # a model definition shipped with Ultralytics (builds an untrained model)
    if path.parent == Path(".") and path.suffix == ".pt":
        from ultralytics.utils import SETTINGS
        from ultralytics.utils.downloads import GITHUB_ASSETS_NAMES

        cached = [Path(SETTINGS["weights_dir"]) / name, _weights_cache() / name]
        for candidate in cached:
            if candidate.is_file():
                return str(candidate)
        if name in GITHUB_ASSETS_NAMES:
            if ultralytics_offline():
                raise InputError(
                    f"{name} is not on this machine and there is no network: pass a path to trained weights "
                    "(e.g. the best.pt that `python -m pipeline train --kind detector` writes)."
                )
            cached[1].parent.mkdir(parents=True, exist_ok=True)
            return str(cached[1])  # Ultralytics downloads an asset to the path it is given
    raise InputError(f"No detector weights at {weights}: pass a trained detector's best.pt or its folder.")


# --------------------------------------------------------------------------------------------
# Detector


class FretboardDetector:
    """A YOLO fretboard detector, loaded on first use, safe to share between threads.

    Args:
        weights: see :func:`resolve_weights` (a ``best.pt``, a trained folder, ``"yolov8n.pt"``, ...).
            Checked at construction, so a missing file fails at once with :class:`InputError`.
        conf: lowest score kept.
        imgsz: inference size (longest side, pixels; a multiple of 32). 320 is about 2.5x faster than
            640 on CPU (see ``benchmarks/bench_detection.py``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...
        max_det: most boxes per frame.
    """

    def __init__(
        self,
        weights: str | Path = DEFAULT_WEIGHTS,
        conf: float = 0.25,
        imgsz: int = 640,
        device: str = "cpu",
        max_det: int = 10,
    ) -> None:
        if not 0.0 <= conf <= 1.0:
            raise InputError(f"Detector confidence {conf} is out of range: use 0 to 1.")
        self.weights = resolve_weights(weights)
        self.conf, self.imgsz, self.device, self.max_det = float(conf), int(imgsz), device, int(max_det)
        self._model = None
        # One Ultralytics model is not thread-safe (its predictor keeps per-call state); Streamlit's
        # cache_resource shares a detector between sessions, so predict runs under this lock.
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            from ultralytics import YOLO

            try:
                self._model = YOLO(self.weights, task="detect")
            except (RuntimeError, TypeError, ValueError, KeyError, AttributeError, EOFError, OSError) as error:
                raise InputError(f"{Path(self.weights).name} is not a YOLO detector's weights ({error}).") from error
        return self._model

    @property
    def names(self) -> dict[int, str]:
        """Class index to name of the loaded model (loads it)."""
        with self._lock:
            return {int(k): str(v) for k, v in self._load().names.items()}

    def detect(self, image: np.ndarray) -> FretboardDetections:
        """Find fretboards in one frame.

        Args:
            image: RGB uint8 array (H, W, 3).

        Returns:
            Boxes in this frame's pixels, best first; empty when none scores ``conf`` or more.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        bgr = np.ascontiguousarray(image[:, :, ::-1])  # Ultralytics reads numpy arrays as OpenCV's BGR
        with self._lock:
            results = self._load().predict(
                bgr, conf=self.conf, imgsz=self.imgsz, device=self.device, max_det=self.max_det, verbose=False
            )
        return FretboardDetections.from_ultralytics(results[0])


# --------------------------------------------------------------------------------------------
# Cropping


def crop(image: np.ndarray, box, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Cut a box, grown by a margin, out of an image, clipped to the image.

    Args:
        image: (H, W, ...) array.
        box: (4,) x1, y1, x2, y2 pixels (may lie partly or wholly outside the image).
        margin: growth on each side as a fraction of the box's width (left, right) and height (top,
            bottom); 0.1 makes a 100x50 box 120x60.

    Returns:
        (crop, clipped): ``crop`` a copy of ``image[y1:y2, x1:x2]``, at least 1x1 pixel, and
        ``clipped`` the (4,) int64 x1, y1, x2, y2 it was cut at.
    """
    image = np.asarray(image)
    height, width = image.shape[:2]
    clipped = grow_box(box, margin, (height, width)).round().astype(np.int64)
    x1, y1 = int(min(clipped[0], width - 1)), int(min(clipped[1], height - 1))
    x2, y2 = int(max(clipped[2], x1 + 1)), int(max(clipped[3], y1 + 1))
    clipped = np.array([x1, y1, x2, y2], dtype=np.int64)
    return image[y1:y2, x1:x2].copy(), clipped


def check_box(box, what: str = "A fretboard box") -> np.ndarray:
    """A box as a (4,) float64 array x1, y1, x2, y2, refused unless it is four finite numbers.

    Every box read from outside (a detector, a ``fretboard.csv``, a label file) passes here before it
    is used to cut pixels: a NaN box turns into garbage indices, not an error, further on.

    Raises:
        InputError: not four numbers, or any of them NaN or infinite; ``what`` names it in the message.
    """
    try:
        values = np.asarray(box, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if values.shape != (4,) or not np.isfinite(values).all():
        raise InputError(f"{what} needs four finite numbers x1 y1 x2 y2, not {np.asarray(box).tolist()!r}.")
    return values


def grow_box(box, margin: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A box grown by ``margin`` of its width and height on each side, clipped to ``shape`` if given.

    Args:
        box: (4,) x1, y1, x2, y2.
        margin: fraction of the width (height) added left and right (top and bottom); may be negative.
        shape: (H, W, ...) of the image to clip to, or None.

    Returns:
        (4,) float32 box.

    Raises:
        InputError: ``box`` is not four finite numbers (:func:`check_box`).
    """
    x1, y1, x2, y2 = check_box(box)
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    out = np.array([x1 - dx, y1 - dy, x2 + dx, y2 + dy])
    if shape is not None:
        height, width = shape[:2]
        out = np.clip(out, 0, [width, height, width, height])
    return out.astype(np.float32)


__all__ = [
    "DEFAULT_WEIGHTS",
    "FretboardDetections",
    "FretboardDetector",
    "check_box",
    "crop",
    "grow_box",
    "resolve_weights",
    "ultralytics_offline",
]
