"""Training sets of rendered frames: image folders (one folder per chord) and YOLO fretboard sets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY, parse_chord
from pipeline.core.errors import InputError
from tools.samplegen.backdrop import render_backdrop
from tools.samplegen.pose import chord_pose
from tools.samplegen.render import compose_frame, render_frame
from tools.samplegen.scene import HEIGHT, WIDTH, Scene



def write_jpeg(path: Path, frame: np.ndarray, quality: int = 90) -> None:
    """Write an RGB frame as a JPEG.

    Args:
        path: the file to write.
        frame: (H, W, 3) uint8 RGB.
        quality: JPEG quality, 0-100.

    Raises:
        InputError: OpenCV could not write the file.
    """
    if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise InputError(f"Could not write {path}.")


def make_image_folder(
    root: str | Path,
    per_class: int,
    seed: int = 0,
    chords: Sequence[str] = VOCABULARY,
    no_hand_share: float = 0.5,
    scenes: Sequence[Scene] | None = None,
) -> list[Path]:
    """Write a training set of rendered frames as ``<root>/<chord>/<n>.jpg`` (an ImageFolder).

    Every frame has its own random scene, unless ``scenes`` are given: then the frames take turns
    over those scenes (like real data filmed with one camera and guitar), with fresh poses and noise.
    Like the real data, part of the ``None`` class shows no hand at all (``no_hand_share``); the rest
    show the hand resting.

    Args:
        root: folder to write into (created).
        per_class: frames per chord.
        seed: seed of everything drawn.
        chords: which classes to render (vocabulary names).
        no_hand_share: share of ``None`` frames without a hand.
        scenes: fixed scenes to render in (e.g. :func:`sample_scenes`); None draws one per frame.

    Returns:
        The paths written, class by class.

    Raises:
        InputError: a chord is unknown or ``per_class`` is negative.
    """
    if per_class < 0:
        raise InputError(f"per_class must be 0 or more, got {per_class}.")
    names = [parse_chord(c) for c in chords]
    root = Path(root)
    rng = np.random.default_rng(seed)
    backdrops = [render_backdrop(scene) for scene in scenes] if scenes else []
    written = []
    for chord in names:
        folder = root / chord
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            hand = not (chord == NO_CHORD and rng.random() < no_hand_share)
            if scenes:
                scene = scenes[n % len(scenes)]
                joints = chord_pose(chord, scene, rng) if hand else None
                frame, _ = compose_frame(backdrops[n % len(scenes)], scene, chord, joints, rng)
            else:
                frame, _ = render_frame(chord, rng, hand=hand)
            path = folder / f"{n}.jpg"
            write_jpeg(path, frame)
            written.append(path)
    return written


def make_yolo_dataset(root: str | Path, n_train: int, n_val: int, seed: int = 0, imgsz: int = 640) -> Path:
    """Write a YOLO detection data set of the fretboard (one class, ``fretboard``).

    Layout: ``images/{train,val}/<n>.jpg``, ``labels/{train,val}/<n>.txt`` with one line
    ``0 cx cy w h`` (normalised to the image) per image, and ``data.yaml`` with ``path``, ``train``,
    ``val`` and ``names``. Frames show random chords, with no hand in one of five.

    Args:
        root: folder to write into (created).
        n_train: training images.
        n_val: validation images.
        seed: seed of everything drawn.
        imgsz: longest side of the written images in pixels (frames are 640x360).

    Returns:
        Path of ``data.yaml``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    resize = imgsz / max(WIDTH, HEIGHT)
    size = (int(round(WIDTH * resize)), int(round(HEIGHT * resize)))
    for split, count in (("train", n_train), ("val", n_val)):
        images, labels = root / "images" / split, root / "labels" / split
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for n in range(count):
            chord = VOCABULARY[int(rng.integers(len(VOCABULARY)))]
            frame, truth = render_frame(chord, rng, hand=bool(rng.random() >= 0.2))
            if size != (WIDTH, HEIGHT):
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            write_jpeg(images / f"{n}.jpg", frame)
            x1, y1, x2, y2 = truth.fretboard_box
            cx, cy, w, h = (x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT, (x2 - x1) / WIDTH, (y2 - y1) / HEIGHT
            (labels / f"{n}.txt").write_text(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    data = root / "data.yaml"
    data.write_text(
        f"# Synthetic fretboard detection data written by tools.samplegen (seed {seed}).\n"
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: fretboard\n"
    )
    return data
