"""Retrain from a snapshot: the landmark model in the foreground (seconds), any kind as a background job.

The landmark model trains on the snapshot's ``train`` split (the same by-clip split as its export)
straight from the store's frame files. Frames added with a prediction already have their hand
landmarks in the landmark cache under their digest, so only frames never seen are detected; the rest
is an SVM fit. The card's ``trained_on`` names the snapshot and its ``data_fingerprint`` is that of
the training frames, the formula ``python -m pipeline train`` uses on the exported folder.

Image models train for minutes to hours, so :func:`start_job` runs ``python -m pipeline train --kind
KIND`` on the snapshot's ImageFolder export in a detached process (:func:`run_job`, started as
``python -m labeling.train JOB_ID --store DIR``). The runner records its pid, the last line of output as
progress, the exit status and the end time in the store's ``jobs`` table, and the whole output in
``jobs/<id>/log.txt``; any process can read them (:func:`job_status`). It works for every kind the
``pipeline train`` command accepts; the kind is a parameter, not wired in here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from labeling.database import now
from labeling.export import SPLITS, assign_splits, export_snapshot
from labeling.records import Job
from labeling.store import LabelStore
from pipeline.core.config import REPO_ROOT
from pipeline.core.errors import InputError
from pipeline.core.types import ModelKind
from pipeline.models.cards import CARD_FILE, read_card
from pipeline.models.datasets import LabeledImage
from pipeline.models.landmark import train_landmark_model_on_images

TRAINABLE_KINDS = tuple(str(kind) for kind in ModelKind if kind is not ModelKind.DETECTOR)
"""The model kinds a snapshot (chord labels, by ImageFolder export) trains: landmarks, image, cnn."""


def snapshot_images(store: LabelStore, name: str, split: str | None = "train", seed: int = 0) -> list:
    """The snapshot's frames of one split (None: all) as :class:`pipeline.models.datasets.LabeledImage`.

    Raises:
        InputError: unknown snapshot or split, or no frames in that split.
    """
    if split is not None and split not in SPLITS:
        raise InputError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)} or all.")
    frames = store.snapshot_frames(name)
    splits = assign_splits([f for f, _ in frames], seed=seed)
    images = [LabeledImage(f.path, chord, splits[f.id]) for f, chord in frames if split in (None, splits[f.id])]
    if not images:
        raise InputError(f"Snapshot {name!r} has no frames in split {split!r}.")
    return images


def train_from_snapshot(
    store: LabelStore,
    name: str,
    out: str | Path | None = None,
    *,
    split: str | None = "train",
    estimators: Sequence[str] = ("svm",),
    feature_versions: Sequence[str] = ("raw63",),
    folds: int = 5,
    workers: int | None = None,
    progress: Callable[[str, float], None] | None = None,
):
    """Train a landmark chord model on a snapshot and save it.

    Args:
        store: the label store.
        name: the snapshot.
        out: model folder (default ``<store>/models/<snapshot>-landmarks``).
        split: the split to train on (None: every frame).
        estimators, feature_versions, folds: as :func:`pipeline.models.landmark.train_landmark_model`
            (defaults: the choice cross-validation makes on the real frames, for speed).
        workers: processes for hand detection of frames not in the cache.
        progress: called as ``progress("raw63/svm", cv_accuracy)`` per candidate.

    Returns:
        The trained :class:`pipeline.models.landmark.LandmarkChordModel` (saved to ``out``).

    Raises:
        InputError: unknown snapshot, or too few frames with a hand per chord.
    """
    snapshot = store.snapshot(name)
    return train_landmark_model_on_images(
        snapshot_images(store, name, split),
        Path(out) if out is not None else store.root / "models" / f"{name}-landmarks",
        workers=workers, feature_versions=feature_versions, estimators=estimators, folds=folds, progress=progress,
        trained_on=(f"label snapshot {name} (fingerprint {snapshot.fingerprint[:12]}, split {split or 'all'}) "
                    f"of store {store.root}"),
    )


# --------------------------------------------------------------------------------------------------
# Background jobs


def start_job(store: LabelStore, snapshot: str, kind: str = "landmarks", out: str | Path | None = None,
              extra_args: Sequence[str] = ()) -> Job:
    """Train a model of ``kind`` on a snapshot in a detached process; returns at once.

    The snapshot is exported (ImageFolder, by clip) to ``<store>/exports/<snapshot>`` unless it is
    there already (snapshots never change, so neither does their export).

    Args:
        store: the label store.
        snapshot: the snapshot.
        kind: a chord model kind of ``python -m pipeline train`` (one of :data:`TRAINABLE_KINDS`).
        out: model folder (default ``<store>/models/<snapshot>-<kind>``).
        extra_args: more arguments for ``pipeline train`` (e.g. ``["--estimators", "svm"]``).

    Returns:
        The job as recorded (status "queued"; the runner sets "running", then "done" or "failed").

    Raises:
        InputError: unknown snapshot, or a kind that is not a chord model kind (refused here, not by a job
            that fails later).
    """
    if kind not in TRAINABLE_KINDS:
        raise InputError(f"Unknown model kind {kind!r}; a snapshot trains one of {', '.join(TRAINABLE_KINDS)}.")
    store.snapshot(snapshot)
    data = store.root / "exports" / snapshot
    if not data.is_dir():
        export_snapshot(store, snapshot, data)
    out = Path(out) if out is not None else store.root / "models" / f"{snapshot}-{kind}"
    command = [sys.executable, "-m", "pipeline", "train", "--kind", kind, "--data", str(data), "--out", str(out),
               *map(str, extra_args)]
    return launch_job(store, kind, snapshot, command, out)


def launch_job(store: LabelStore, kind: str, snapshot: str, command: Sequence[str], out: str | Path) -> Job:
    """Record a job running ``command`` and start its detached runner (:func:`run_job`); returns at once.

    Args:
        store: the label store.
        kind: what the job trains (a :data:`TRAINABLE_KINDS` kind on a snapshot, or another job's own kind).
        snapshot: the snapshot it trains on (or what else names its data).
        command: the training command line; its output lines become the job's progress.
        out: the model folder it writes.

    Returns:
        The job as recorded (status "queued").
    """
    job_id = store.create_job(kind, snapshot, [str(c) for c in command], str(out), "")
    log = store.root / "jobs" / str(job_id) / "log.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    store.update_job(job_id, log=str(log))
    subprocess.Popen(
        [sys.executable, "-m", "labeling.train", str(job_id), "--store", str(store.root)],
        cwd=store.root, env=_child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,  # outlives the caller (a CLI call, a page rerun)
    )
    return store.job(job_id)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The runner imports labeling and pipeline from this checkout whatever the caller's working dir.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_job(store: LabelStore, job_id: int) -> int:
    """Run a queued job to its end, recording progress and the result (the detached runner's work).

    Returns:
        The training command's exit status.
    """
    job = store.job(job_id)
    store.update_job(job_id, status="running", pid=os.getpid(), progress="starting")
    command = json.loads(job.command)
    last = 0.0
    with open(job.log, "a", buffering=1) as log:
        process = subprocess.Popen(command, cwd=store.root, env=_child_env(), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            log.write(line)
            text = line.strip()
            if text and time.monotonic() - last > 0.5:  # a progress row per line would queue writers for nothing
                store.update_job(job_id, progress=text[-300:])
                last = time.monotonic()
        code = process.wait()
    if code == 0 and job.kind in TRAINABLE_KINDS:  # a snapshot's model: its card names the snapshot
        _record_snapshot(Path(job.out), store, job.snapshot)
    store.update_job(job_id, status="done" if code == 0 else "failed", returncode=code, finished_at=now(),
                     progress=_last_line(Path(job.log)))
    return code


def _record_snapshot(out: Path, store: LabelStore, snapshot: str) -> None:
    """Write the snapshot into the trained model's card (any kind whose card has ``trained_on``); a folder
    without a card that reads is left as it is."""
    if not (out / CARD_FILE).is_file():
        return
    try:
        card = read_card(out)
    except InputError:
        return
    fingerprint = store.snapshot(snapshot).fingerprint
    card.trained_on = (f"label snapshot {snapshot} (fingerprint {fingerprint[:12]}, split train) of store "
                       f"{store.root}; exported to {card.trained_on}")
    # written beside, then renamed over: a reader never sees half a card
    staging = out / ".card.tmp"
    staging.mkdir(exist_ok=True)
    card.write(staging).replace(out / CARD_FILE)
    staging.rmdir()


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][-300:] if lines else ""


def job_status(store: LabelStore, job_id: int) -> Job:
    """A job as recorded; one whose runner died without recording an end is marked failed.

    Raises:
        InputError: no such job.
    """
    job = store.job(job_id)
    if job.status == "running" and job.pid and not _alive(job.pid):
        store.update_job(job_id, status="failed", finished_at=now(), progress="the job's runner ended unexpectedly")
        job = store.job(job_id)
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_job(store: LabelStore, job_id: int, timeout: float = 600.0, poll: float = 0.5) -> Job:
    """Poll a job until it is done or failed, or ``timeout`` seconds pass; returns its last state."""
    deadline = time.monotonic() + timeout
    while True:
        job = job_status(store, job_id)
        if job.status in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(poll)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry of the detached runner: ``python -m labeling.train JOB_ID --store DIR``."""
    parser = argparse.ArgumentParser(prog="python -m labeling.train")
    parser.add_argument("job", type=int)
    parser.add_argument("--store", required=True)
    args = parser.parse_args(argv)
    with LabelStore(args.store) as store:
        try:
            return run_job(store, args.job)
        except BaseException as error:
            store.update_job(args.job, status="failed", finished_at=now(), progress=f"{type(error).__name__}: {error}")
            raise


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["TRAINABLE_KINDS", "job_status", "launch_job", "run_job", "snapshot_images", "start_job",
           "train_from_snapshot", "wait_job"]
