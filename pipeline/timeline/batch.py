"""Many clips in one batch, on Ray: one actor per worker holds the models, clips are the unit of work.

Each clip's results go to ``OUT/<name>/`` (``frames.csv`` and ``timeline.json`` as ``analyze`` writes
them, ``annotated.mp4`` on request); :data:`DONE_FILE` is written last, atomically, and holds the clip's
summary row, so a clip is done exactly when its folder holds it. A clip that fails leaves
:data:`FAILED_FILE` with its one-line reason instead and is tried again by the next run. The summary
(``summary.parquet`` and ``summary.csv``) is rebuilt from the folders after every run, interrupted or not.

On a Ray cluster (``address``) the workers read the clips and write ``OUT`` themselves: both must be on a
file system every node sees, and every node needs the project's requirements installed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.errors import InputError
from pipeline.models.registry import load_model_set
from pipeline.timeline.analyze import analyze_clip
from pipeline.vision.drawing import write_annotated_video
from pipeline.vision.video import VIDEO_SUFFIXES

DONE_FILE = "done.json"
"""A clip's completion marker: its summary row, written after its results."""
FAILED_FILE = "failed.json"
"""A failed clip's summary row (with the reason in ``error``); the clip is tried again next run."""
SUMMARY_FILE = "summary.csv"
"""The summary table every batch result folder holds (beside ``summary.parquet``)."""

SUMMARY_COLUMNS = ["clip", "name", "duration", "chords", "segments", "familiar_share", "seconds", "error"]


def _empty_row(clip: Path, folder: Path, error: str = "") -> dict:
    """A clip's summary row before (or without) its analysis: every column, ``error`` as given."""
    return {**dict.fromkeys(SUMMARY_COLUMNS), "clip": str(clip), "name": folder.name, "chords": "", "error": error}


@dataclass(frozen=True)
class BatchSettings:
    """What every clip of a batch is analysed with.

    Attributes:
        models: chord model folders (None: the sample model), as ``analyze --model``.
        detector: fretboard detector weights, or None.
        fps: frames sampled per second.
        video: also write each clip's annotated MP4.
    """

    models: tuple[str | None, ...] = (None,)
    detector: str | None = None
    fps: float = 5.0
    video: bool = False


def collect_clips(inputs: Sequence[str | Path]) -> list[Path]:
    """The clips a batch covers: video files, folders (searched recursively for video suffixes) and list
    files (``.txt``, one path per line, relative to the list's folder; blank and ``#`` lines skipped).

    Returns:
        Absolute paths, each once, in the order given (a folder's clips sorted).

    Raises:
        InputError: an input does not exist, is not a video, or nothing is left.
    """
    clips: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            clips += sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        elif item.suffix.lower() == ".txt" and item.is_file():
            lines = [line.strip() for line in item.read_text().splitlines()]
            listed = [item.parent / line for line in lines if line and not line.startswith("#")]
            missing = [str(p) for p in listed if not p.is_file()]
            if missing:
                raise InputError(f"{item} lists {len(missing)} clip(s) that do not exist, first {missing[0]}.")
            clips += listed
        elif not item.exists():
            raise InputError(f"{item} does not exist; give clips, folders of clips or a .txt list of clips.")
        elif item.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{item} is not a video ({', '.join(VIDEO_SUFFIXES)}), folder or .txt list.")
        else:
            clips.append(item)
    unique = list(dict.fromkeys(p.resolve() for p in clips))
    if not unique:
        raise InputError("No clips found in the batch's inputs.")
    return unique


def folder_names(clips: Sequence[Path]) -> list[str]:
    """Each clip's result folder name: its stem, or where stems repeat in the batch, the stem and a
    short hash of its path (stable between runs of the same batch)."""
    stems = [p.stem for p in clips]
    return [s if stems.count(s) == 1 else f"{s}-{hashlib.sha1(str(p).encode()).hexdigest()[:8]}"
            for s, p in zip(stems, clips)]


def analyze_into(clip: Path, folder: Path, settings: BatchSettings, models=None) -> dict:
    """Analyse one clip into its result folder and mark it done; a failure is recorded, never raised.

    Args:
        clip: the clip.
        folder: its result folder (created).
        settings: the batch's settings.
        models: the loaded :class:`pipeline.core.types.ModelSet` (default: loaded from ``settings``).

    Returns:
        The clip's summary row (``SUMMARY_COLUMNS``; ``error`` empty when it succeeded).
    """
    folder.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    row = _empty_row(clip, folder)
    try:
        if models is None:
            models = load_model_set(settings.models, detector=settings.detector)
        analysis = analyze_clip(clip, models, fps=settings.fps, hand_workers=1, find_hands=None)
        analysis.write(folder)
        if settings.video:
            write_annotated_video(analysis, folder / "annotated.mp4")
        segments = analysis.timeline.segments
        row.update(duration=round(analysis.clip.duration, 3), segments=len(segments),
                   chords=" ".join(dict.fromkeys(s.chord for s in segments)),
                   familiar_share=analysis.familiar_share, seconds=round(time.perf_counter() - began, 3))
        (folder / FAILED_FILE).unlink(missing_ok=True)
        _write_atomically(folder / DONE_FILE, row)
    except Exception as error:  # noqa: BLE001 - one clip's failure must not stop the batch
        row.update(error=" ".join(str(error).split()) or type(error).__name__,
                   seconds=round(time.perf_counter() - began, 3))
        _write_atomically(folder / FAILED_FILE, row)
    return row


def _write_atomically(path: Path, row: dict) -> None:
    """Write ``row`` as JSON through a temporary file and a rename (a reader never sees half of it)."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(row))
    os.replace(partial, path)


class ClipWorker:
    """A Ray actor's body: the batch's models loaded once, then clips analysed one at a time."""

    def __init__(self, settings: BatchSettings) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        self.settings = settings
        self.models = load_model_set(settings.models, detector=settings.detector)

    def analyze(self, clip: str, folder: str) -> dict:
        """:func:`analyze_into` with the worker's models."""
        return analyze_into(Path(clip), Path(folder), self.settings, self.models)


def write_summary(out: str | Path) -> pd.DataFrame:
    """Rebuild ``summary.parquet`` and ``summary.csv`` from the result folders under ``out``.

    Returns:
        The summary, one row per clip folder holding :data:`DONE_FILE` or :data:`FAILED_FILE`.
    """
    out = Path(out)
    rows = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        for marker in (DONE_FILE, FAILED_FILE):
            if (folder / marker).is_file():
                rows.append(json.loads((folder / marker).read_text()))
                break
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    table["familiar_share"] = table["familiar_share"].astype("float64")
    table.to_parquet(out / "summary.parquet", index=False)
    table.to_csv(out / SUMMARY_FILE, index=False)
    return table


def start_ray(workers: int, address: str | None = None) -> None:
    """Connect to the cluster at ``address``, or start a local Ray of ``workers`` CPUs in this process
    (no dashboard, quiet logs). The workers find this project on their path (local) or get it shipped
    (a cluster)."""
    import ray

    root = str(Path(__file__).resolve().parents[2])
    env = {"OMP_NUM_THREADS": "1", "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if address:
        package = str(Path(__file__).resolve().parents[1])
        ray.init(address=address, runtime_env={"py_modules": [package], "env_vars": env}, **quiet)
    else:
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        ray.init(num_cpus=workers, runtime_env={"env_vars": {**env, "PYTHONPATH": path}}, **quiet)


def run_batch(inputs: Sequence[str | Path], out: str | Path, settings: BatchSettings = BatchSettings(),
              workers: int | None = None, address: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Analyse many clips on Ray; clips already done under ``out`` are skipped.

    Args:
        inputs: clips, folders and ``.txt`` lists (:func:`collect_clips`).
        out: the batch's folder (created).
        settings: models and sampling for every clip.
        workers: Ray actors, one clip each at a time (default: the CPUs, locally; 2 on a cluster).
        address: a Ray cluster to join (``ray://host:10001`` or ``auto``); None starts Ray here.
        progress: show a progress bar over clips (on a terminal).

    Returns:
        The summary (:func:`write_summary`), also written when interrupted.

    Raises:
        InputError: bad inputs or models (checked before Ray starts).
    """
    import ray
    from tqdm import tqdm

    clips = collect_clips(inputs)
    load_model_set(settings.models, detector=settings.detector)  # bad models fail here, in one line
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(str(c), str(out / n)) for c, n in zip(clips, folder_names(clips)) if not (out / n / DONE_FILE).is_file()]
    workers = max(1, min(workers or (2 if address else os.cpu_count() or 1), len(jobs) or 1))
    bar = tqdm(total=len(clips), initial=len(clips) - len(jobs), unit="clip", desc="batch",
               disable=None if progress else True)
    try:
        if jobs:
            start_ray(workers, address)
            actor = ray.remote(num_cpus=1)(ClipWorker)
            idle = [actor.remote(settings) for _ in range(workers)]
            running: dict = {}
            queue = list(reversed(jobs))
            while queue or running:
                while queue and idle:
                    job, worker = queue.pop(), idle.pop()
                    running[worker.analyze.remote(*job)] = (job, worker)
                ready, _ = ray.wait(list(running), num_returns=1)
                job, worker = running.pop(ready[0])
                try:
                    ray.get(ready[0])
                    idle.append(worker)
                except ray.exceptions.RayError as error:  # the worker died (memory, a crash): record, replace
                    _record_crash(Path(job[0]), Path(job[1]), error)
                    idle.append(actor.remote(settings))
                bar.update(1)
    finally:
        bar.close()
        summary = write_summary(out)  # also on Ctrl-C: the finished clips' rows
        if ray.is_initialized():
            ray.shutdown()
    return summary


def _record_crash(clip: Path, folder: Path, error: Exception) -> None:
    """Record a clip whose worker died as failed, with the first line of Ray's reason."""
    folder.mkdir(parents=True, exist_ok=True)
    reason = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    _write_atomically(folder / FAILED_FILE, _empty_row(clip, folder, f"worker died: {reason}"))
