"""Training and evaluation of the fretboard detector (:class:`pipeline.vision.detection.FretboardDetector`).

:func:`train_detector` trains from a model yaml (``"yolov8n.yaml"``: from scratch, works offline) or
fine-tunes weights (``"yolov8n.pt"`` or a path), optionally with the first layers frozen (the seed
work froze the backbone: ``freeze=10`` for YOLOv8), and writes ``best.pt`` and a ``card.json``;
:func:`evaluate_detector` scores weights on a YOLO data set's split.

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
import shutil
import tempfile
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.types import ModelKind
from pipeline.models.cards import DetectorCard, library_versions
from pipeline.vision.detection import resolve_weights, ultralytics_offline


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

    if not ultralytics_offline():
        yield
        return
    original = data_utils.check_font
    data_utils.check_font = lambda *args, **kwargs: None
    try:
        yield
    finally:
        data_utils.check_font = original


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
            :func:`tools.samplegen.datasets.make_yolo_dataset`.
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
    names = {int(k): str(v) for k, v in model.names.items()}
    DetectorCard(
        base=str(base),
        data=str(data_yaml.resolve()),
        names=names,
        classes=list(names.values()),
        trained_on=str(data_yaml.resolve()),
        epochs=epochs,
        epochs_run=epochs_run,
        imgsz=imgsz,
        batch=batch,
        freeze=freeze,
        patience=patience,
        seed=seed,
        overrides={k: v for k, v in overrides.items() if isinstance(v, (int, float, str, bool, type(None)))},
        metrics={
            "mAP50": float(metrics.get("metrics/mAP50(B)", float("nan"))),
            "mAP50-95": float(metrics.get("metrics/mAP50-95(B)", float("nan"))),
            "precision": float(metrics.get("metrics/precision(B)", float("nan"))),
            "recall": float(metrics.get("metrics/recall(B)", float("nan"))),
        },
        train_seconds=round(seconds, 1),
        created=started.isoformat(timespec="seconds"),
        versions=library_versions(ModelKind.DETECTOR),
    ).write(out_dir)
    return out_dir / "best.pt"
