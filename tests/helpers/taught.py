"""A taught folder made in a second, as ``python -m pipeline teach`` lays one out: tiny frames per chord, their
hands put in the landmark cache (constructed, one fingertip pattern per chord), a tiny landmark model and a
random-weight CNN, and ``teach.json`` naming them and the frames."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.hands import CASCADE_HANDS
from pipeline.models.catalogue import TEACH_FILE
from pipeline.models.datasets import LandmarkCache, file_digest
from tests.helpers.hands import chord_hands
from tests.helpers.store import tiny_png
from tests.helpers.tiny_models import tiny_cnn, tiny_landmark_model

TRAIN_PER_CHORD = 6
HELD_PER_CHORD = 2


def make_taught(folder: Path, seed: int = 3) -> Path:
    """A taught folder at ``folder``: chords A, C, G, None, one clip each (``<chord>.mp4``), the last
    :data:`HELD_PER_CHORD` frames of each clip held out."""
    per_clip = TRAIN_PER_CHORD + HELD_PER_CHORD
    results, labels = chord_hands(per_clip, seed=seed)
    cache = LandmarkCache(CASCADE_HANDS)
    rows = []
    try:
        for k, (hands, chord) in enumerate(zip(results, labels)):
            path = folder / "frames" / chord / f"{k:05d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tiny_png(1000 * seed + k, 32))
            cache.put(file_digest(path), hands)
            rows.append({"path": str(path.relative_to(folder)), "chord": chord, "clip": f"{chord}.mp4",
                         "time": round(0.25 * (k % per_clip), 3), "held_out": k % per_clip >= TRAIN_PER_CHORD})
    finally:
        cache.close()
    tiny_landmark_model(folder / "landmarks")
    tiny_cnn(folder / "cnn")
    record = {"models": {"landmarks": "landmarks", "image": "cnn"}, "accuracy": {}, "counts": {},
              "n_train": TRAIN_PER_CHORD * 4, "n_held_out": HELD_PER_CHORD * 4, "seconds": 1.0, "frames": rows}
    (folder / TEACH_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return folder
