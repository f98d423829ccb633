"""Write the sample model's training data: the hands MediaPipe finds in fresh renders of the sample scenes.

A development-time step (it renders with this generator and runs MediaPipe: a minute or more); the
run-time registry only reads the file it writes (:data:`pipeline.models.registry.SAMPLE_LANDMARKS`).
Run it when the generator or the hand detector changes::

    python -m tools.samplegen.sample_landmarks
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.core.hands import HandsResult
from pipeline.models.datasets import dataset_fingerprint, extract_landmarks, read_image_folder
from pipeline.models.registry import SAMPLE_IMAGES_PER_CHORD, SAMPLE_LANDMARKS, SAMPLE_SEED
from tools.samplegen.datasets import make_image_folder
from tools.samplegen.samples import sample_scenes


def render_and_detect(per_chord: int = SAMPLE_IMAGES_PER_CHORD, progress: Callable[[int, int], None] | None = None
                      ) -> tuple[list[HandsResult], list[str], str]:
    """Render the sample model's training set and find the hands in it.

    Args:
        per_chord: renders per chord.
        progress: called as ``progress(done, total)`` during hand detection.

    Returns:
        (hands per render, chord per render, the renders' dataset fingerprint).
    """
    with tempfile.TemporaryDirectory() as scratch:
        make_image_folder(scratch, per_chord, seed=SAMPLE_SEED, scenes=sample_scenes())
        images = read_image_folder(scratch)
        results = extract_landmarks([image.path for image in images], progress=progress)
        return results, [image.chord for image in images], dataset_fingerprint(images)


def write_sample_landmarks(path: str | Path = SAMPLE_LANDMARKS, per_chord: int = SAMPLE_IMAGES_PER_CHORD) -> Path:
    """Render the sample model's training set, find its hands and write them to ``path`` (.npz).

    Stored per frame: its chord, size and number of hands; per hand its normalised landmarks
    (21, 3), handedness and score (all :func:`pipeline.models.datasets.extract_landmarks` keeps); and
    the fingerprint, ``per_chord`` and seed the registry checks before it trusts the file.

    Returns:
        The path written.
    """
    results, chords, fingerprint = render_and_detect(per_chord)
    hands = [hand for result in results for hand in result.hands]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, chords=np.array(chords), sizes=np.array([[r.width, r.height] for r in results], np.int32),
        counts=np.array([len(r.hands) for r in results], np.int32),
        landmarks=np.array([h.landmarks_norm for h in hands], np.float32).reshape(-1, 21, 3),
        handedness=np.array([h.handedness for h in hands], dtype="U5"),
        scores=np.array([h.score for h in hands], np.float32),
        fingerprint=np.array(fingerprint), per_chord=np.array(per_chord), seed=np.array(SAMPLE_SEED))
    return path


if __name__ == "__main__":
    print(f"wrote {write_sample_landmarks()}")
