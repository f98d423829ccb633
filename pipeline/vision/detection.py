"""The fretboard detector: Ultralytics YOLO, trained or fine-tuned on a YOLO-format data set.

:class:`FretboardDetector` turns an RGB frame into :class:`FretboardDetections` (boxes, scores and
classes as numpy arrays; no Ultralytics object leaves this module). Weights are given by path (a
trained ``best.pt``, or the folder :func:`train_detector` wrote) or by an Ultralytics asset name
(``"yolov8n.pt"``), which only a machine with a network can fetch; offline, a missing name is an
:class:`~pipeline.core.errors.InputError` that says so at once, instead of a download that hangs.

:func:`train_detector` trains from a model yaml (``"yolov8n.yaml"``: from scratch, works offline) or
fine-tunes weights (``"yolov8n.pt"`` or a path), optionally with the first layers frozen (the seed
work froze the backbone: ``freeze=10`` for YOLOv8), and writes ``best.pt`` and a ``card.json``.

Offline, Ultralytics still asks the network for two things, which this module avoids:

- the Arial font its data-set check fetches for plots (``check_det_dataset`` calls ``check_font``
  even with ``plots=False``): skipped while training when ``YOLO_OFFLINE`` is set or no network is
  seen (plots are off, so no font is needed);
- ``yolov8n.pt`` for the AMP check: only on CUDA, and ``amp=False`` is passed on CPU.

Ultralytics writes its run folder to ``runs/`` of the working directory by default; here it goes to
a temporary folder, and only ``best.pt``, ``card.json`` and ``results.csv`` are kept in ``out_dir``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


def _offline() -> bool:
    """True when Ultralytics must not (YOLO_OFFLINE) or cannot reach the network."""
    if os.environ.get("YOLO_OFFLINE", "").lower() in ("1", "true", "yes"):
        return True
    from ultralytics.utils import is_online

    return not is_online()


def _weights_cache() -> Path:
    """Where Ultralytics assets named by users with a network are downloaded (never the working dir)."""
    from pipeline.core.config import get_settings

    return get_settings().models_dir / "ultralytics"


def resolve_weights(weights: str | Path) -> str:
    """The file that ``weights`` names, checked before Ultralytics sees it.

    Args:
        weights: a ``.pt`` file, a folder holding ``best.pt`` (what :func:`train_detector` writes),
            a model yaml (``"yolov8n.yaml"``: untrained), or an Ultralytics asset name
            (``"yolov8n.pt"``), looked up in Ultralytics' weights folder and this project's cache,
            and downloaded into the cache when there is a network.

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
            if _offline():
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


_detectors: dict[tuple, FretboardDetector] = {}
_detectors_lock = threading.Lock()


def load_detector(weights: str | Path = DEFAULT_WEIGHTS, **kwargs) -> FretboardDetector:
    """One shared :class:`FretboardDetector` per weights file (and its modification time) and settings.

    Args:
        weights: as for :class:`FretboardDetector`.
        kwargs: ``conf``, ``imgsz``, ``device``, ``max_det``.
    """
    resolved = resolve_weights(weights)
    stamp = Path(resolved).stat().st_mtime_ns if Path(resolved).is_file() else 0
    key = (resolved, stamp, tuple(sorted(kwargs.items())))
    with _detectors_lock:
        if key not in _detectors:
            _detectors[key] = FretboardDetector(resolved, **kwargs)
        return _detectors[key]


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


def grow_box(box, margin: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A box grown by ``margin`` of its width and height on each side, clipped to ``shape`` if given.

    Args:
        box: (4,) x1, y1, x2, y2.
        margin: fraction of the width (height) added left and right (top and bottom); may be negative.
        shape: (H, W, ...) of the image to clip to, or None.

    Returns:
        (4,) float32 box.
    """
    x1, y1, x2, y2 = np.asarray(box, dtype=np.float64).reshape(4)
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    out = np.array([x1 - dx, y1 - dy, x2 + dx, y2 + dy])
    if shape is not None:
        height, width = shape[:2]
        out = np.clip(out, 0, [width, height, width, height])
    return out.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Training


def evaluate_detector(weights: str | Path, data_yaml: str | Path, imgsz: int = 640, split: str = "val",
                      device: str = "cpu") -> dict[str, float]:
    """Score a detector on a YOLO data set's split: mAP50, mAP50-95, precision, recall.

    Runs Ultralytics' validation offline (no plots, no font download, nothing in the working
    directory).

    Raises:
        InputError: the weights or the data set's yaml are missing.
    """
    data_yaml = Path(data_yaml)
    if not data_yaml.is_file():
        raise InputError(f"No YOLO data set file at {data_yaml} (a data.yaml with train/val paths and names).")
    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    model = YOLO(resolve_weights(weights), task="detect")
    level = LOGGER.level
    with tempfile.TemporaryDirectory(prefix="chord-yolo-val-") as project, _no_font_download():
        LOGGER.setLevel("WARNING")
        try:
            metrics = model.val(data=str(data_yaml), imgsz=imgsz, split=split, device=device, plots=False,
                                project=project, name="val", exist_ok=True, verbose=False)
        finally:
            LOGGER.setLevel(level)
    return {
        "mAP50": float(metrics.box.map50), "mAP50-95": float(metrics.box.map),
        "precision": float(metrics.box.mp), "recall": float(metrics.box.mr),
    }


@contextlib.contextmanager
def _no_font_download():
    """Skip Ultralytics' font fetch in its data-set check while offline (plots are off; no font is needed)."""
    import ultralytics.data.utils as data_utils

    if not _offline():
        yield
        return
    original = data_utils.check_font
    data_utils.check_font = lambda *args, **kwargs: None
    try:
        yield
    finally:
        data_utils.check_font = original


def _versions() -> dict[str, str]:
    import torch
    import ultralytics

    return {
        "python": platform.python_version(),
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def train_detector(
    data_yaml: str | Path,
    out_dir: str | Path,
    base: str | Path = "yolov8n.yaml",
    epochs: int = 20,
    imgsz: int = 640,
    batch: int = 16,
    freeze: int | None = None,
    patience: int = 10,
    workers: int = 0,
    seed: int = 0,
    device: str = "cpu",
    verbose: bool = False,
    **overrides,
) -> Path:
    """Train (or fine-tune) a fretboard detector and save it with its card.

    Args:
        data_yaml: a YOLO data set's yaml (``path``, ``train``, ``val``, ``names``), e.g. from
            :func:`tools.samplegen.synthetic.make_yolo_dataset`.
        out_dir: folder to write ``best.pt``, ``card.json`` and ``results.csv`` into (created).
        base: ``"yolov8n.yaml"`` trains from scratch (offline); ``"yolov8n.pt"`` or a path to a
            ``.pt`` fine-tunes those weights.
        epochs: most training epochs.
        imgsz: training size in pixels (the seed used 640).
        batch: images per batch.
        freeze: number of leading layers to freeze (the seed's frozen backbone: 10 for YOLOv8);
            None trains all.
        patience: stop after this many epochs without a better validation fitness.
        workers: data-loader processes (0 loads in this process: fewest surprises on 2 cores).
        seed: random seed (Ultralytics trains deterministically with it).
        device: ``"cpu"`` or a CUDA device.
        verbose: let Ultralytics print its progress.
        overrides: further Ultralytics training arguments (``warmup_epochs=1``, ``lr0=...``,
            ``mosaic=0.5``, ...), recorded in the card; not ``project``, ``name``, ``plots`` or ``amp``.

    Returns:
        Path of ``out_dir/best.pt``.

    Raises:
        InputError: the data yaml or the base weights are missing.
    """
    data_yaml = Path(data_yaml).expanduser()
    if not data_yaml.is_file():
        raise InputError(f"No YOLO data set yaml at {data_yaml}.")
    if epochs < 1:
        raise InputError(f"Epochs must be at least 1, not {epochs}.")
    fixed = sorted(set(overrides) & {"project", "name", "exist_ok", "data", "plots", "amp"})
    if fixed:  # the run folder stays a temporary one; plots and AMP would fetch files offline
        raise InputError(f"train_detector sets {', '.join(fixed)} itself; leave them out.")
    base_spec = resolve_weights(base)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)

    from ultralytics import YOLO
    from ultralytics.utils import LOGGER

    model = YOLO(base_spec, task="detect")
    level = LOGGER.level
    started = _dt.datetime.now(_dt.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="chord-yolo-") as project, _no_font_download():
        if not verbose:
            LOGGER.setLevel("WARNING")
        try:
            model.train(
                data=str(data_yaml), epochs=epochs, imgsz=imgsz, batch=batch, freeze=freeze, patience=patience,
                workers=workers, seed=seed, device=device,
                project=project, name="train", exist_ok=True,  # never ./runs in the working directory
                plots=False, amp=False,  # no plot fonts, no AMP check (it fetches yolov8n.pt)
                verbose=verbose,
                **overrides,
            )
        finally:
            LOGGER.setLevel(level)
        trainer = model.trainer
        best = Path(trainer.best) if Path(trainer.best).is_file() else Path(trainer.last)
        shutil.copy2(best, out_dir / "best.pt")
        results = Path(trainer.save_dir) / "results.csv"
        if results.is_file():
            shutil.copy2(results, out_dir / "results.csv")
        metrics = dict(trainer.metrics or {})
        epochs_run = int(getattr(trainer, "epoch", epochs - 1)) + 1
    seconds = (_dt.datetime.now(_dt.timezone.utc) - started).total_seconds()
    card = {
        "kind": "detector",
        "base": str(base),
        "data": str(data_yaml.resolve()),
        "names": {int(k): str(v) for k, v in model.names.items()},
        "epochs": epochs,
        "epochs_run": epochs_run,
        "imgsz": imgsz,
        "batch": batch,
        "freeze": freeze,
        "patience": patience,
        "seed": seed,
        "overrides": {k: v for k, v in overrides.items() if isinstance(v, (int, float, str, bool, type(None)))},
        "metrics": {
            "mAP50": float(metrics.get("metrics/mAP50(B)", float("nan"))),
            "mAP50-95": float(metrics.get("metrics/mAP50-95(B)", float("nan"))),
            "precision": float(metrics.get("metrics/precision(B)", float("nan"))),
            "recall": float(metrics.get("metrics/recall(B)", float("nan"))),
        },
        "train_seconds": round(seconds, 1),
        "date": started.isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    (out_dir / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return out_dir / "best.pt"


def read_card(folder: str | Path) -> dict:
    """The ``card.json`` of a trained detector's folder (or of the folder of its ``best.pt``)."""
    folder = Path(folder)
    folder = folder.parent if folder.suffix == ".pt" else folder
    card = folder / "card.json"
    if not card.is_file():
        raise InputError(f"No card.json in {folder}: not a detector trained by this project.")
    return json.loads(card.read_text())


__all__ = [
    "DEFAULT_WEIGHTS",
    "FretboardDetections",
    "FretboardDetector",
    "crop",
    "grow_box",
    "load_detector",
    "read_card",
    "resolve_weights",
    "train_detector",
]
