"""A taught folder's frames (``python -m pipeline teach``, the studio's Teach page) in the label store: one
labeled group per clip, so Label can review and correct them and a snapshot can retrain on them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from labeling.names import clip_name
from labeling.records import AddResult, ClipInfo, NewFrame
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from pipeline.teach.training import is_taught, read_teach_record

TEACH_AUTHOR = "teach"
"""Who the taught frames' labels are from (the chord each clip was named after)."""


def taught_clip_name(folder: str | Path, clip: str) -> str:
    """The store's name of a taught clip's group: ``<taught folder>-<clip>``."""
    return clip_name(f"{Path(folder).name}-{clip}", hashlib.sha256(f"{folder}/{clip}".encode()).hexdigest())


def store_taught_frames(store: LabelStore, folder: str | Path, author: str = TEACH_AUTHOR) -> AddResult:
    """Add a taught folder's frames to the label store, labeled with their clip's chord.

    Each clip becomes a group named ``<taught folder>-<clip>`` (frames of one clip share a split on export);
    frames already stored are skipped, so storing the same folder twice adds nothing.

    Args:
        store: the label store.
        folder: a taught folder (it holds ``teach.json``).
        author: who the labels are from.

    Returns:
        The new frame ids and the sources skipped as already stored.

    Raises:
        InputError: the folder is not a taught one, or a frame file is missing or corrupt.
    """
    folder = Path(folder)
    if not is_taught(folder):
        raise InputError(f"{folder} is not a taught model folder; teach one first.")
    by_clip: dict[str, list[NewFrame]] = {}
    for row in read_teach_record(folder)["frames"]:
        path = folder / row["path"]
        if not path.is_file():
            raise InputError(f"The taught frame {path} is missing; teach again.")
        by_clip.setdefault(row["clip"], []).append(NewFrame(
            source=f"{row['clip']}@{row['time']:.3f}s", path=path, time=row["time"], chord=row["chord"],
            split="val" if row["held_out"] else "train"))
    ids, skipped, labeled = [], [], []
    for clip, items in by_clip.items():
        result = store.add_frames(items, ClipInfo(taught_clip_name(folder, clip)), author=author, on_duplicate="skip")
        ids += result.frame_ids
        skipped += result.skipped
        labeled += result.labeled
    return AddResult(ids, skipped, labeled)
