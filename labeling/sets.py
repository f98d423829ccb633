"""Labeled sets to score and compare models on: the sample clips with their ground truth, the shared
real frames' val split, and the label store's snapshots; each read as image files with their hands."""

from __future__ import annotations

import os
from collections.abc import Callable

from labeling.train import snapshot_images
from pipeline.compare.scoring import LabeledFrames
from pipeline.core.chords import NO_CHORD
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.studio import ground_truth, sample_clips
from pipeline.vision.video import VIDEO_SUFFIXES

SAMPLE_SET = "sample clips (ground truth)"
REAL_SET = "real frames (val split)"


def labeled_sets(store=None) -> list[str]:
    """Names of the labeled sets to compare models on: the sample clips, the real frames' val split
    (when present), and every snapshot of the label store (``"snapshot: <name>"``)."""
    names = [SAMPLE_SET]
    if (get_settings().real_data / "val").is_dir():
        names.append(REAL_SET)
    if store is not None:
        names += [f"snapshot: {s.name}" for s in store.snapshots()]
    return names


def load_labeled_set(name: str, store=None, fps: float = 2.0,
                     progress: Callable[[float], None] | None = None) -> LabeledFrames:
    """Read a labeled set (see :func:`labeled_sets`) and find the hands in its frames.

    Every set is a list of image files, so that every model kind reads the same pixels: sample clips
    are sampled at ``fps`` and their frames written once as PNG under ``<cache_dir>/labeled-sets``
    (lossless: the pixels Analyze decodes), with the chord of the ground-truth timeline at each frame's
    time (frames within 0.2 s of a change are left out: the hand is between shapes there). Hands come
    from the landmark cache, so a second call detects nothing.

    Raises:
        InputError: unknown set or snapshot, or a set without frames.
    """
    from pipeline.models.datasets import dataset_fingerprint, extract_landmarks, read_image_folder

    sources = None
    if name == SAMPLE_SET:
        images, sources = _sample_set_images(fps)
    elif name == REAL_SET:
        images = read_image_folder(get_settings().real_data, "val")
    elif name.startswith("snapshot: ") and store is not None:
        images = snapshot_images(store, name[len("snapshot: "):], split=None)
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


def _sample_set_images(fps: float) -> tuple[list, list[str]]:
    """The sample clips' frames at ``fps`` with their true chords, as PNG files in the cache folder.

    Files are named by the clip's content and the rate, and written once (atomically: sessions may
    share the cache).

    Returns:
        (:class:`~pipeline.models.datasets.LabeledImage` per frame, ``clip@time`` per frame).
    """
    import cv2

    from pipeline.models.datasets import LabeledImage, file_digest
    from pipeline.vision.video import iter_frames

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
