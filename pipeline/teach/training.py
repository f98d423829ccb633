"""Train a fused pair of chord models (the landmark model and the CNN) on a teaching session's frames,
score them on the held-out end of each clip, and put them in place only when everything worked.

A taught folder holds ``landmarks/`` and ``cnn/`` (two ordinary model folders), ``frames/<chord>/*.jpg``
(the frames, for the label store) and ``teach.json`` naming both models, the frames and the scores.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from pipeline.core.chords import NO_CHORD
from pipeline.core.errors import InputError
from pipeline.core.hands import CASCADE_HANDS
from pipeline.core.types import ModelSet
from pipeline.models.catalogue import TEACH_FILE, taught_model_folders
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, extract_landmarks
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import train_landmark_model
from pipeline.models.registry import load_model_set
from pipeline.teach.clips import TEACH_FPS, FrameCounts, SampledFrame, check_counts, sample_clips, teach_clips
from pipeline.timeline.analyze import predict_image_files

MODEL_FOLDERS = {"landmarks": "landmarks", "image": "cnn"}
"""Slot -> subfolder of a taught folder."""
CNN_EPOCHS = 14
"""CNN epochs: 8 left the CNN at 0.74 on later frames of the same player, 14 reach 0.92 (bench_teach), in
well under two minutes on two CPU cores."""

MIN_EPOCHS = 3
"""Fewest CNN epochs (fewer are raised to this)."""

Progress = Callable[[float, str], None]


@dataclass
class TeachResult:
    """What a teaching session made.

    Attributes:
        folder: the taught folder.
        accuracy: held-out accuracy by ``"landmarks"``, ``"image"`` and ``"fused"``.
        counts: per chord, what the checks did with its frames.
        n_train, n_held_out: frames trained on and scored on.
        seconds: wall time from clips to saved models.
    """

    folder: Path
    accuracy: dict[str, float]
    counts: dict[str, FrameCounts]
    n_train: int
    n_held_out: int
    seconds: float

    def model_folders(self) -> list[Path]:
        """The two model folders (landmarks, CNN)."""
        return taught_models(self.folder)


def is_taught(folder: str | Path) -> bool:
    """Whether a folder is a taught pair (it holds ``teach.json``)."""
    return (Path(folder) / TEACH_FILE).is_file()


def taught_models(folder: str | Path) -> list[Path]:
    """The model folders of a taught pair, landmarks first.

    Raises:
        InputError: the folder is not a taught pair.
    """
    folders = taught_model_folders(folder)
    if not folders:
        raise InputError(f"{folder} is not a taught model folder (no readable {TEACH_FILE}).")
    return folders


def expand_taught(specs: Sequence[str | Path | None]) -> list[str | Path | None]:
    """Model specs with each taught folder replaced by its two model folders (others unchanged)."""
    out: list[str | Path | None] = []
    for spec in specs:
        out += [str(p) for p in taught_models(spec)] if spec is not None and is_taught(spec) else [spec]
    return out


def read_teach_record(folder: str | Path) -> dict:
    """The ``teach.json`` of a taught folder: models, frames (path relative to it, chord, clip, time,
    held_out), accuracy, counts."""
    return json.loads((Path(folder) / TEACH_FILE).read_text(encoding="utf-8"))


def teach(clips: Sequence[str | Path], out: str | Path, *, chord_times: str | None = None,
          chords: Sequence[str | None] | None = None, name: str | None = None, fps: float = TEACH_FPS,
          base_images: Sequence[LabeledImage] = (), epochs: int = CNN_EPOCHS, threads: int | None = None,
          progress: Progress | None = None, after_training: Callable[[Path], None] | None = None) -> TeachResult:
    """Teach a fused pair from one short clip per chord (or one clip with chord times), into ``out``.

    Everything is built in a temporary folder beside ``out`` and moved into place at the end, so a failure
    midway leaves ``out`` as it was.

    Args:
        clips: the clips.
        out: the taught folder to write (replaced when it exists).
        chord_times: ``"G:0-4,C:4-8"`` for one clip with several chords.
        chords: the chord of each clip (None entries: from the file name).
        name: whose setup (for the cards' domain; default the folder name).
        fps: frames sampled per second.
        base_images: more labeled frames to train on (e.g. the shared real data).
        epochs: CNN epochs (at least :data:`MIN_EPOCHS`).
        threads: torch threads.
        progress: called as ``progress(fraction, step)``.
        after_training: called with the temporary folder once it is complete, before it is moved in place.

    Raises:
        InputError: a clip without a chord, unreadable, with no hand, or a chord with too few frames.
    """
    started = time.perf_counter()
    epochs = max(MIN_EPOCHS, epochs)  # the one-cycle schedule needs a few epochs
    out = Path(out)
    name = name or out.name
    report = progress or (lambda fraction, step: None)
    stretches = teach_clips(clips, chord_times, chords)
    report(0.0, "sampling frames")
    frames, counts = sample_clips(stretches, fps, lambda done, total: report(0.15 * done / total, "sampling frames"))
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        images = _write_frames(frames, work / "frames", name)
        report(0.2, "finding hands")
        hands = extract_landmarks([image.path for image in images], CASCADE_HANDS,
                                  progress=lambda done, total: report(0.2 + 0.3 * done / max(total, 1), "hands"))
        _check_hands(frames, hands, counts)
        train = [k for k, f in enumerate(frames) if not f.held_out]
        held = [k for k, f in enumerate(frames) if f.held_out]
        trained_on = f"taught from {len(stretches)} clips: " + ", ".join(s.name for s in stretches)
        domains = [f"taught: {name}"] + list(dict.fromkeys(i.domain for i in base_images if i.domain))
        report(0.5, "training the landmark model")
        train_images = [images[k] for k in train] + list(base_images)
        base_hands = extract_landmarks([i.path for i in base_images], CASCADE_HANDS) if base_images else []
        landmarks = train_landmark_model([hands[k] for k in train] + base_hands,
                                         [i.chord for i in train_images], estimators=("svm",), folds=3,
                                         trained_on=trained_on, domains=domains, hand_settings=CASCADE_HANDS,
                                         data_fingerprint=dataset_fingerprint(train_images))
        landmarks.save(work / MODEL_FOLDERS["landmarks"])
        report(0.6, "training the CNN")
        cnn = train_image_model(train_images, "cnn", epochs=epochs, trained_on=trained_on, threads=threads,
                                patience=epochs, progress=lambda e, m: report(0.6 + 0.3 * e / epochs, "CNN"))
        cnn.card.domains = domains
        cnn.save(work / MODEL_FOLDERS["image"])
        report(0.92, "scoring the held-out frames")
        accuracy = score_held_out(work, [images[k] for k in held], [hands[k] for k in held])
        result = TeachResult(out, accuracy, counts, len(train), len(held), round(time.perf_counter() - started, 1))
        _write_record(work, result, frames, images)
        if after_training:
            after_training(work)
        _replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report(1.0, "done")
    return result


def score_held_out(folder: Path, images: Sequence[LabeledImage], hands) -> dict[str, float]:
    """Accuracy of each model of a taught folder, and of the pair fused, on held-out frames."""
    if not images:
        return {}
    models = load_model_set([folder / MODEL_FOLDERS["landmarks"], folder / MODEL_FOLDERS["image"]])
    fused, by_model = predict_image_files(models, [i.path for i in images], hands=hands)
    truth = [i.chord for i in images]

    def share(predictions) -> float:
        return round(sum(p.chord == t for p, t in zip(predictions, truth)) / len(truth), 4)

    return {**{slot: share(p) for slot, p in by_model.items()}, "fused": share(fused)}


def _write_frames(frames: Sequence[SampledFrame], root: Path, name: str) -> list[LabeledImage]:
    images = []
    for k, frame in enumerate(frames):
        path = root / frame.chord / f"{k:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise InputError(f"Could not write the frame {path}.")
        images.append(LabeledImage(path, frame.chord, "val" if frame.held_out else "train", frame.clip,
                                   f"taught: {name}"))
    return images


def _check_hands(frames: Sequence[SampledFrame], hands, counts: dict[str, FrameCounts]) -> None:
    """Count frames without a hand; a clip with no hand at all, or a chord left short, is an error ("None"
    frames need no hand: no chord is played)."""
    by_clip: dict[str, int] = {}
    chord_of = {frame.clip: frame.chord for frame in frames}
    for frame, found in zip(frames, hands):
        by_clip[frame.clip] = by_clip.get(frame.clip, 0) + bool(found)
        counts[frame.chord].no_hand += not found
    empty = [clip for clip, n in by_clip.items() if n == 0 and chord_of[clip] != NO_CHORD]
    if empty:
        raise InputError(f"No hand found in {', '.join(empty)}: film the fretting hand in view, in good light.")
    check_counts(counts, lambda c: c.kept - c.no_hand, exempt=(NO_CHORD,))


def _write_record(work: Path, result: TeachResult, frames: Sequence[SampledFrame], images) -> None:
    record = {
        "models": dict(MODEL_FOLDERS),
        "accuracy": result.accuracy,
        "counts": {chord: asdict(c) for chord, c in result.counts.items()},
        "n_train": result.n_train, "n_held_out": result.n_held_out, "seconds": result.seconds,
        "frames": [{"path": str(i.path.relative_to(work)), "chord": f.chord, "clip": f.clip,
                    "time": round(f.time, 3), "held_out": f.held_out} for f, i in zip(frames, images)],
    }
    (work / TEACH_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")


def _replace(work: Path, out: Path) -> None:
    """Move ``work`` to ``out``; an old ``out`` is kept aside until the move is done."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        work.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def make_model_set(folder: str | Path) -> ModelSet:
    """The loaded pair of a taught folder, ready for :func:`pipeline.timeline.analyze.analyze_clip`."""
    return load_model_set(taught_models(folder))
