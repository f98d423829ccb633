"""A batch result folder (``python -m pipeline batch``) into the label store: every finished clip's
analysed frames, with the batch's fused answer stored as each frame's prediction, so the review queue
walks a whole corpus and Compare can score models on what labelers confirm."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from labeling.ingest import JPEG_QUALITY, encode_jpeg
from labeling.names import clip_name
from labeling.records import AddResult, ClipInfo, NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from pipeline.models.datasets import file_digest
from pipeline.timeline.batch import DONE_FILE, SUMMARY_FILE
from pipeline.vision.video import iter_frames, probe

BATCH_MODEL = "batch"
"""The model name the batch's answers are stored under (its version is the result folder's name)."""


def is_batch_folder(path: str | Path) -> bool:
    """Whether ``path`` is a batch result folder (it holds the batch's summary table)."""
    return (Path(path) / SUMMARY_FILE).is_file()


def batch_folder(path: str | Path) -> Path:
    """A batch result folder typed by a person (the studio's Label page), checked before anything is read.

    Raises:
        InputError: empty, a path with a ``..`` part (give the folder's own path, not a way around to it),
            nothing there, or a folder that is not a batch result.
    """
    typed = str(path).strip()
    if not typed:
        raise InputError("Give a batch result folder: the --out folder of python -m pipeline batch.")
    if ".." in typed.replace("\\", "/").split("/"):
        raise InputError(f"The path {typed!r} has a '..' part; give the batch result folder's own full path.")
    folder = Path(typed).expanduser()
    if not folder.is_dir():
        raise InputError(f"No folder at {folder}.")
    if not is_batch_folder(folder):
        raise InputError(f"{folder} is not a batch result folder (it has no {SUMMARY_FILE}): give the --out folder "
                         "of python -m pipeline batch.")
    return folder


def add_batch(store: LabelStore, folder: str | Path, *, on_duplicate: str = "skip") -> AddResult:
    """Add every finished clip of a batch result folder: the frames its ``frames.csv`` lists, decoded
    from the clip again (the batch keeps no images), each with the batch's fused answer.

    Args:
        store: the label store.
        folder: the folder ``python -m pipeline batch --out`` wrote.
        on_duplicate: "skip" (default: a batch re-imported adds only what is new) or "error".

    Returns:
        The frames added, skipped and labeled, over all clips.

    Raises:
        InputError: not a batch folder, no finished clip, or a finished clip whose video is gone.
    """
    folder = Path(folder)
    if not is_batch_folder(folder):
        raise InputError(f"{folder} is not a batch result folder (it has no {SUMMARY_FILE}).")
    finished = sorted(folder.glob(f"*/{DONE_FILE}"))
    if not finished:
        raise InputError(f"{folder} holds no finished clip: run the batch to the end first.")
    added, skipped, labeled = [], [], []
    taken = {clip.name for clip in store.clips()}
    for done in finished:
        result = _add_clip_result(store, done.parent, json.loads(done.read_text()), folder.name, taken, on_duplicate)
        added += result.frame_ids
        skipped += result.skipped
        labeled += result.labeled
    return AddResult(added, skipped, labeled)


def _add_clip_result(store: LabelStore, result: Path, row: dict, batch: str, taken: set[str],
                     on_duplicate: str) -> AddResult:
    """One finished clip of a batch: its frames, decoded again at the batch's frame indices."""
    clip = Path(row["clip"])
    if not clip.is_file():
        raise InputError(f"The batch's clip {clip} is gone; {result.name} cannot be imported without it.")
    with (result / "frames.csv").open(newline="") as handle:
        rows = {int(r["frame"]): r for r in csv.DictReader(handle)}
    info = probe(clip)
    digest = file_digest(clip)
    name = clip_name(Path(row["clip"]).stem, digest, taken)  # the folder's name may hold any character
    taken.add(name)
    items = []
    # every frame, picked by index: the batch's sampling rate is not stored, and its times are rounded
    for frame in iter_frames(clip, fps=None):
        answer = rows.get(frame.index)
        if answer is None:
            continue
        covered = answer.get("covered") == "1"
        prediction = NewPrediction(BATCH_MODEL, batch, answer["frame_chord"], float(answer["probability"] or 0),
                                   covered)
        items.append(NewFrame(source=f"{clip.name}@{frame.time:.3f}s", time=frame.time, frame_index=frame.index,
                              data=encode_jpeg(frame.image, f"frame {frame.index} of {clip.name}", JPEG_QUALITY),
                              ext=".jpg", predictions=(prediction,)))
    prepared, skipped = store.prepare(items, on_duplicate)
    info_row = ClipInfo(name, digest, str(clip.resolve()), info.fps, info.duration)
    stored = store.commit(prepared, info_row, "import", on_duplicate) if prepared else AddResult([])
    return AddResult(stored.frame_ids, skipped + stored.skipped, stored.labeled)
