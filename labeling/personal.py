"""Correct and retrain: the labels set in Label retrain a taught model (``python -m pipeline teach``, the
studio's Teach page) on its frames as the label store now labels them.

The landmark part retrains in the caller (an SVM on cached hand landmarks: seconds), the CNN in a
background job (:func:`start_cnn_retrain`: the store's job runner, :func:`labeling.train.run_job`, runs
``python -m labeling.personal FOLDER --store DIR``). Either part is written to a temporary folder inside the
taught folder and renamed over the old one only when it is complete, so a failure leaves the previous model
in use. Both are scored on the frames the taught clips held out (their ``val`` split in the store), with the
other part as it stands, and ``teach.json`` records the new scores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labeling.records import Job
from labeling.store import LabelStore
from labeling.teach import TEACH_AUTHOR, store_taught_frames, taught_clip_name
from labeling.train import job_status, launch_job
from pipeline import text
from pipeline.core.errors import InputError
from pipeline.core.hands import CASCADE_HANDS
from pipeline.models.cards import read_card
from pipeline.models.catalogue import TEACH_FILE
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, extract_landmarks
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import train_landmark_model
from pipeline.teach.training import CNN_EPOCHS, MIN_EPOCHS, MODEL_FOLDERS, is_taught, read_teach_record, score_held_out

CNN_JOB = "personal-cnn"
"""The job kind of a taught model's CNN retraining in the background."""


@dataclass
class PersonalFrames:
    """A taught model's frames as the label store labels them now.

    Attributes:
        train: the labeled frames of its clips' training part.
        held_out: the labeled frames its clips held out (scored on, never trained on).
        corrections: labels among them set by a person in Label (not by Teach).
    """

    train: list[LabeledImage]
    held_out: list[LabeledImage]
    corrections: int


@dataclass
class Retrained:
    """One retrained part of a taught model.

    Attributes:
        folder: the taught folder.
        part: ``"landmarks"`` or ``"cnn"``.
        accuracy: held-out accuracy by ``"landmarks"``, ``"image"``, ``"fused"`` (empty: nothing held out).
        cv_accuracy: the landmark model's cross-validated accuracy (None for the CNN).
        n_train, corrections, seconds: frames trained on, labels set in Label, wall time.
    """

    folder: Path
    part: str
    accuracy: dict[str, float]
    cv_accuracy: float | None
    n_train: int
    corrections: int
    seconds: float

    @property
    def message(self) -> str:
        """The line the apps and the job's log show."""
        return text.personal_retrained(self.folder.name, self.part, self.n_train, self.corrections, self.accuracy,
                                       self.cv_accuracy, self.seconds)


def taught_folders(model_folders: Iterable[str | Path | None]) -> list[Path]:
    """The taught folders among the parents of ``model_folders`` (e.g. the catalogue's entries), each once."""
    found: list[Path] = []
    for folder in model_folders:
        parent = Path(folder).parent if folder is not None else None
        if parent is not None and is_taught(parent) and parent not in found:
            found.append(parent)
    return found


def personal_frames(store: LabelStore, folder: str | Path) -> PersonalFrames:
    """The taught folder's frames with their labels in the store (its frames are stored first if they are not).

    Raises:
        InputError: not a taught folder, or fewer than two chords left labeled to train on.
    """
    folder = Path(folder)
    if not is_taught(folder):
        raise InputError(f"{folder} is not a taught model folder (no {TEACH_FILE}); teach one first.")
    clips = list(dict.fromkeys(row["clip"] for row in read_teach_record(folder)["frames"]))
    names = [taught_clip_name(folder, clip) for clip in clips]
    if not set(names) <= {c.name for c in store.clips()}:
        store_taught_frames(store, folder)
    train, held = [], []
    for name in names:
        for frame in store.frames(clip=name):
            if frame.chord is not None:
                image = LabeledImage(frame.path, frame.chord, "val" if frame.split == "val" else "train", name,
                                     f"taught: {folder.name}")
                (held if image.split == "val" else train).append(image)
    marks = ",".join("?" * len(names))
    corrections = store.query(
        "SELECT COUNT(*) FROM frames f JOIN labels l ON l.id = f.label_id JOIN clips c ON c.id = f.clip_id"
        f" WHERE l.author <> ? AND c.name IN ({marks})", [TEACH_AUTHOR, *names]).fetchone()[0]
    if len({i.chord for i in train}) < 2:
        raise InputError(f"{folder.name} has fewer than two labeled chords left to train on; label more frames.")
    return PersonalFrames(train, held, int(corrections))


def retrain_landmarks(store: LabelStore, folder: str | Path) -> Retrained:
    """Retrain a taught folder's landmark model on its frames as labeled now, and put it in place.

    Hands come from the landmark cache (Teach filled it), so this is an SVM fit: seconds.

    Raises:
        InputError: as :func:`personal_frames`, or too few frames with a hand per chord.
    """
    started = time.perf_counter()
    folder = Path(folder)
    frames = personal_frames(store, folder)
    hands = extract_landmarks([i.path for i in frames.train], CASCADE_HANDS, workers=1)
    target = _part_folder(folder, "landmarks")
    model = train_landmark_model(
        hands, [i.chord for i in frames.train], estimators=("svm",), folds=3, hand_settings=CASCADE_HANDS,
        trained_on=_trained_on(store, folder, frames), domains=_domains(target, folder),
        data_fingerprint=dataset_fingerprint(frames.train))
    _put_in_place(model.save, target)
    return _scored(store, folder, frames, "landmarks", model.card.cv_accuracy, started)


def retrain_cnn(store: LabelStore, folder: str | Path, epochs: int = CNN_EPOCHS, threads: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> Retrained:
    """Retrain a taught folder's CNN on its frames as labeled now, and put it in place (minutes: run it as a
    job, :func:`start_cnn_retrain`).

    Args:
        store, folder: the label store and the taught folder.
        epochs: CNN epochs (at least :data:`pipeline.teach.training.MIN_EPOCHS`).
        threads: torch threads.
        progress: called as ``progress(epoch, epochs)``.

    Raises:
        InputError: as :func:`personal_frames`.
    """
    started = time.perf_counter()
    folder = Path(folder)
    epochs = max(MIN_EPOCHS, epochs)
    frames = personal_frames(store, folder)
    target = _part_folder(folder, "image")
    model = train_image_model(frames.train, "cnn", epochs=epochs, trained_on=_trained_on(store, folder, frames),
                              threads=threads, patience=epochs,
                              progress=lambda epoch, _: progress(epoch, epochs) if progress else None)
    model.card.domains = _domains(target, folder)
    _put_in_place(model.save, target)
    return _scored(store, folder, frames, "cnn", None, started)


def start_cnn_retrain(store: LabelStore, folder: str | Path, epochs: int = CNN_EPOCHS) -> Job:
    """Retrain a taught folder's CNN in a background job (one at a time per folder); returns at once.

    Raises:
        InputError: not a taught folder, or its CNN is retraining already.
    """
    folder = Path(folder).resolve()
    if not is_taught(folder):
        raise InputError(f"{folder} is not a taught model folder (no {TEACH_FILE}); teach one first.")
    running = cnn_job(store, folder)
    if running is not None and running.status in ("queued", "running"):
        raise InputError(f"The CNN of {folder.name} is retraining already (job {running.id}).")
    command = [sys.executable, "-m", "labeling.personal", str(folder), "--store", str(store.root),
               "--epochs", str(epochs), "--threads", "1"]
    return launch_job(store, CNN_JOB, f"taught {folder.name}", command, folder)


def cnn_job(store: LabelStore, folder: str | Path) -> Job | None:
    """The latest background CNN retrain of a taught folder, as it stands now (None: never started)."""
    out = str(Path(folder).resolve())
    for job in store.jobs():  # newest first
        if job.kind == CNN_JOB and job.out == out:
            return job_status(store, job.id)
    return None


# --------------------------------------------------------------------------------------------------


def _part_folder(folder: Path, slot: str) -> Path:
    models = read_teach_record(folder).get("models") or MODEL_FOLDERS
    return folder / str(models.get(slot, MODEL_FOLDERS[slot]))


def _domains(target: Path, folder: Path) -> list[str]:
    """The domains the old model's card names (the new one learns from the same footage)."""
    try:
        return list(read_card(target).domains) or [f"taught: {folder.name}"]
    except (InputError, AttributeError):
        return [f"taught: {folder.name}"]


def _trained_on(store: LabelStore, folder: Path, frames: PersonalFrames) -> str:
    return (f"taught {folder.name}, retrained on its {len(frames.train)} training frames as labeled in the label "
            f"store {store.root} ({frames.corrections} labels set in Label)")


def _put_in_place(save: Callable[[Path], Path], target: Path) -> None:
    """Save into a temporary folder beside ``target``, then rename it over ``target`` (the old one is kept
    aside until the rename is done, and put back if it fails)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    try:
        save(staging)
        if target.exists():
            target.rename(old)
        try:
            staging.rename(target)
        except BaseException:
            if old.exists():
                old.rename(target)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _scored(store: LabelStore, folder: Path, frames: PersonalFrames, part: str, cv_accuracy: float | None,
            started: float) -> Retrained:
    """Score the pair on the held-out frames and record the result in ``teach.json``."""
    hands = extract_landmarks([i.path for i in frames.held_out], CASCADE_HANDS, workers=1)
    accuracy = score_held_out(folder, frames.held_out, hands)
    result = Retrained(folder, part, accuracy, cv_accuracy, len(frames.train), frames.corrections,
                       round(time.perf_counter() - started, 1))
    record = read_teach_record(folder)
    if accuracy:
        record["accuracy"] = accuracy
    record.setdefault("retrained", {})[part] = {
        "n_train": result.n_train, "n_held_out": len(frames.held_out), "corrections": result.corrections,
        "accuracy": accuracy, "cv_accuracy": cv_accuracy, "seconds": result.seconds, "store": str(store.root)}
    staging = folder / f".{TEACH_FILE}.{os.getpid()}"
    staging.write_text(json.dumps(record, indent=1), encoding="utf-8")
    staging.replace(folder / TEACH_FILE)  # a reader never sees half a record
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """The background job: ``python -m labeling.personal FOLDER --store DIR [--epochs N] [--threads N]``."""
    parser = argparse.ArgumentParser(prog="python -m labeling.personal", description="Retrain a taught CNN.")
    parser.add_argument("folder")
    parser.add_argument("--store", required=True)
    parser.add_argument("--epochs", type=int, default=CNN_EPOCHS)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        with LabelStore(args.store) as store:
            result = retrain_cnn(store, args.folder, args.epochs, args.threads,
                                 progress=lambda epoch, total: print(f"epoch {epoch} of {total}", flush=True))
    except InputError as error:
        print(f"error: {error}", flush=True)
        return 2
    print(result.message, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CNN_JOB", "PersonalFrames", "Retrained", "cnn_job", "personal_frames", "retrain_cnn",
           "retrain_landmarks", "start_cnn_retrain", "taught_folders"]
