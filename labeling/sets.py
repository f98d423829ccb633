"""Labeled sets to score and compare models on: the sample clips with their ground truth, the shared
real frames' val split, and the label store's snapshots; each read as image files with their hands.

Every set is a list of image files, so every model kind reads the same pixels (see :func:`load_labeled_set`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import cv2

from labeling.store import LabelStore
from labeling.train import snapshot_images
from pipeline.compare.scoring import LabeledFrames
from pipeline.core.chords import NO_CHORD
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.models.datasets import (
    LabeledImage,
    dataset_fingerprint,
    extract_landmarks,
    file_digest,
    read_image_folder,
)
from pipeline.samples import ground_truth, sample_clips
from pipeline.vision.video import VIDEO_SUFFIXES, iter_frames

SAMPLE_SET = "sample clips (ground truth)"
"""The sample clips, sampled at a rate, with the chord of their ground-truth timelines."""
REAL_SET = "real frames (val split)"
"""The val split of the shared real frames (``Settings.real_data``), listed only when it is there."""
SNAPSHOT_PREFIX = "snapshot: "
"""A label store snapshot's set is named ``"snapshot: <name>"``."""


def labeled_sets(store: LabelStore | None = None) -> list[str]:
    """Names of the labeled sets to compare models on.

    Args:
        store: the label store whose snapshots are listed too; None lists none.

    Returns:
        :data:`SAMPLE_SET`, :data:`REAL_SET` (when the real frames' val split is present), then every
        snapshot of the store as ``"snapshot: <name>"``, oldest first.
    """
    names = [SAMPLE_SET]
    if (get_settings().real_data / "val").is_dir():
        names.append(REAL_SET)
    if store is not None:
        names += [f"{SNAPSHOT_PREFIX}{s.name}" for s in store.snapshots()]
    return names


def load_labeled_set(name: str, store: LabelStore | None = None, fps: float = 2.0,
                     progress: Callable[[float], None] | None = None) -> LabeledFrames:
    """Read a labeled set (see :func:`labeled_sets`) and find the hands in its frames.

    Every set is a list of image files, so that every model kind reads the same pixels: sample clips
    are sampled at ``fps`` and their frames written once as PNG under ``<cache_dir>/labeled-sets``
    (lossless: the pixels Analyze decodes), with the chord of the ground-truth timeline at each frame's
    time (frames within 0.2 s of a change are left out: the hand is between shapes there). Hands come
    from the landmark cache, so a second call detects nothing.

    Args:
        name: one of :func:`labeled_sets`.
        store: the label store a snapshot set is read from.
        fps: frames per second sampled from the sample clips.
        progress: called with the fraction of frames whose hands are found (0 to 1).

    Returns:
        The frames with their true chords, hands, sources (``clip@time`` for sample clips, else the file)
        and the set's fingerprint.

    Raises:
        InputError: unknown set or snapshot, or a set without frames.
    """
    sources = None
    if name == SAMPLE_SET:
        images, sources = _sample_set_images(fps)
    elif name == REAL_SET:
        images = read_image_folder(get_settings().real_data, "val")
    elif name.startswith(SNAPSHOT_PREFIX) and store is not None:
        images = snapshot_images(store, name[len(SNAPSHOT_PREFIX):], split=None)
    else:
        raise InputError(f"Unknown labeled set {name!r}; choose one of {', '.join(labeled_sets(store))}.")
    if not images:
        raise InputError(f"The labeled set {name!r} has no frames.")

    def report(done: int, total: int) -> None:
        if progress and total:
            progress(done / total)

    paths = [image.path for image in images]
    hands = extract_landmarks(paths, workers=1, progress=report)
    return LabeledFrames(name, [image.chord for image in images], hands, sources or [str(p) for p in paths],
                         dataset_fingerprint(images), paths)


def _sample_set_images(fps: float) -> tuple[list[LabeledImage], list[str]]:
    """The sample clips' frames at ``fps`` with their true chords, as PNG files in the cache folder.

    Files are named by the clip's content and the rate, and written once (atomically: sessions may
    share the cache).

    Returns:
        (:class:`~pipeline.models.datasets.LabeledImage` per frame, ``clip@time`` per frame).

    Raises:
        InputError: a frame could not be encoded as PNG.
    """
    images, sources = [], []
    for path in sample_clips():
        timeline = ground_truth(path) if path.suffix.lower() in VIDEO_SUFFIXES else None
        if timeline is None:
            continue
        folder = get_settings().cache_dir / "labeled-sets" / f"{file_digest(path)[:16]}-{fps:g}fps"
        folder.mkdir(parents=True, exist_ok=True)
        changes = [s.start for s in timeline.segments[1:]]
        for frame in iter_frames(path, fps=fps):
            if any(abs(frame.time - c) < 0.2 for c in changes):
                continue
            file = folder / f"{path.stem}-{frame.index:06d}.png"
            if not file.exists():
                ok, data = cv2.imencode(".png", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
                if not ok:
                    raise InputError(f"Could not encode frame {frame.index} of {path.name}.")
                temp = file.with_name(f".{file.name}.{os.getpid()}.part")
                temp.write_bytes(data.tobytes())
                temp.replace(file)
            images.append(LabeledImage(file, timeline.chord_at(frame.time) or NO_CHORD))
            sources.append(f"{path.name}@{frame.time:.2f}s")
    return images, sources
