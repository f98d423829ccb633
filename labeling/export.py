"""Export a snapshot: ImageFolder with train / val / test by clip, YOLO fretboard data, CSV.

Splits are made by group, never by frame: all frames of a clip (or named image group) go to one
split, because neighbouring frames of a clip are near-copies and would leak between training and
evaluation. A group's split is a hash of its name and the seed, so it is deterministic and stable:
adding clips to a later snapshot never moves an existing clip to another split (the price: with a
handful of clips the shares only roughly follow the ratios). Frames imported from a dataset that had
splits keep them (the dataset's authors made them; results stay comparable with theirs).

Files are copied byte for byte and keep their source file name where it is free, so an export trains
exactly like the folder it came from (same bytes, same order, same landmark cache entries). Each file is
checked against the SHA-256 it was stored under: a frame file changed on disk refuses the export rather
than hand out something that is not the snapshot. CSV cells that a spreadsheet would run as a formula
(a source or author starting with ``=``, ``+``, ``-``, ``@``) are written with a leading ``'``. Every
export is written to a temporary folder next to its target and renamed into place: a reader never
sees half an export.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labeling.records import FrameRecord
from labeling.store import LabelStore
from pipeline.core.errors import InputError

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
FORMATS = ("imagefolder", "yolo", "csv")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: its path and frames per split."""

    path: Path
    format: str
    counts: dict[str, int]


def group_key(frame: FrameRecord) -> str:
    """The unit a split is made of: the frame's clip, else the frame itself."""
    return f"clip:{frame.clip}" if frame.clip is not None else f"frame:{frame.digest}"


def assign_splits(frames: Sequence[FrameRecord], ratios: Sequence[float] = DEFAULT_RATIOS,
                  seed: int = 0) -> dict[int, str]:
    """Split of every frame, by group (see the module docstring).

    Args:
        frames: the frames.
        ratios: shares of train, val and test (normalised).
        seed: changes which groups land where.

    Returns:
        Frame id -> "train", "val" or "test".

    Raises:
        InputError: ratios are not three finite non-negative numbers with a positive sum.
    """
    if len(ratios) != 3 or not all(math.isfinite(r) and r >= 0 for r in ratios) or sum(ratios) <= 0:
        raise InputError(f"Split ratios must be three finite non-negative shares (train val test) with a positive "
                         f"sum, got {list(ratios)}.")
    total = float(sum(ratios))
    bounds = [ratios[0] / total, (ratios[0] + ratios[1]) / total]
    splits = {}
    for frame in frames:
        if frame.clip is None and frame.split in SPLITS:
            splits[frame.id] = frame.split
            continue
        value = int(hashlib.sha256(f"{seed}:{group_key(frame)}".encode()).hexdigest()[:13], 16) / 16**13
        splits[frame.id] = SPLITS[0] if value < bounds[0] else SPLITS[1] if value < bounds[1] else SPLITS[2]
    return splits


def _file_names(frames: Sequence[tuple[FrameRecord, str]], splits: dict[int, str]) -> dict[int, str]:
    """An export file name per frame: its source file's name where free in its folder, else with its digest."""
    names: dict[int, str] = {}
    taken: set[tuple[str, str, str]] = set()
    for frame, chord in frames:
        base = Path(frame.source.split("@")[0]).name
        stem = Path(base).stem if frame.time is None else f"{Path(base).stem}-{frame.time:09.3f}s"
        stem = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in stem).lstrip(".") or "frame"
        name = f"{stem}{frame.path.suffix}"
        if (splits[frame.id], chord, name.lower()) in taken:
            name = f"{stem}-{frame.digest[:12]}{frame.path.suffix}"
        taken.add((splits[frame.id], chord, name.lower()))
        names[frame.id] = name
    return names


def verified_bytes(frame: FrameRecord) -> bytes:
    """A frame file's bytes, checked against the SHA-256 it was stored under.

    Raises:
        InputError: the file is missing or unreadable, or its bytes changed since it was added (an export of
            it would not be the snapshot).
    """
    try:
        data = frame.path.read_bytes()
    except OSError as error:
        raise InputError(f"Frame {frame.id}'s file {frame.path} cannot be read ({error.strerror}); nothing was "
                         "exported.") from error
    if hashlib.sha256(data).hexdigest() != frame.digest:
        raise InputError(f"Frame {frame.id}'s file {frame.path} has changed since it was added (its SHA-256 is not "
                         f"{frame.digest[:12]}...); nothing was exported. Put the original file back, or take a "
                         "snapshot without that frame.")
    return data


def verify_frames(frames: Sequence[FrameRecord]) -> None:
    """Check every frame file against its digest (see :func:`verified_bytes`) before anything is written."""
    for frame in frames:
        verified_bytes(frame)


def _staged(out: Path):
    """A temp folder beside ``out`` (refusing a non-empty ``out``) to be renamed into place."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} exists and is not empty; export into a new folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))


def _place(staged: Path, out: Path) -> None:
    if out.exists():
        out.rmdir()  # empty (checked in _staged)
    staged.rename(out)


def export_snapshot(store: LabelStore, name: str, out: str | Path, format: str = "imagefolder", *,
                    ratios: Sequence[float] = DEFAULT_RATIOS, seed: int = 0) -> ExportResult:
    """Export a snapshot.

    Args:
        store: the label store.
        name: the snapshot.
        out: a new (or empty) folder for "imagefolder" and "yolo"; a ``.csv`` file (or a folder to
            put ``<snapshot>.csv`` in) for "csv".
        format: one of :data:`FORMATS`.
        ratios: train, val, test shares for groups without a split of their own.
        seed: split seed.

    Returns:
        The path written and frames per split.

    Raises:
        InputError: unknown snapshot or format, a non-empty target, no frames to export, a frame file that
            changed since it was added, or a target that cannot be written.
    """
    if format not in FORMATS:
        raise InputError(f"Unknown export format {format!r}; use one of {', '.join(FORMATS)}.")
    snapshot = store.snapshot(name)
    frames = store.snapshot_frames(name)
    splits = assign_splits([f for f, _ in frames], ratios, seed)
    out = Path(out).expanduser()
    try:
        if format == "csv":
            return _export_csv(store, snapshot.id, frames, splits, out / f"{name}.csv" if out.is_dir() else out)
        if format == "yolo":
            return _export_yolo(frames, splits, out, name)
        return _export_imagefolder(store, snapshot, frames, splits, out, ratios, seed)
    except OSError as error:  # a read-only or full disk, a file where a folder should be
        raise InputError(f"Cannot write the export to {out}: {error.filename or out}: {error.strerror or error}; "
                         "nothing was exported.") from error


def _export_imagefolder(store: LabelStore, snapshot, frames, splits: dict[int, str], out: Path,
                        ratios: Sequence[float], seed: int) -> ExportResult:
    """The snapshot as ``<out>/<split>/<chord>/<file>`` with a ``.snapshot.json`` of what it holds."""
    name = snapshot.name
    names = _file_names(frames, splits)
    staged = _staged(out)
    try:
        counts = dict.fromkeys(SPLITS, 0)
        for frame, chord in frames:
            folder = staged / splits[frame.id] / chord
            folder.mkdir(parents=True, exist_ok=True)
            (folder / names[frame.id]).write_bytes(verified_bytes(frame))
            counts[splits[frame.id]] += 1
        # A dot-file: ImageFolder readers (ours, Hugging Face's) skip it.
        (staged / ".snapshot.json").write_text(json.dumps(
            {"snapshot": name, "fingerprint": snapshot.fingerprint, "counts": snapshot.counts, "splits": counts,
             "ratios": list(ratios), "seed": seed, "store": str(store.root)}, indent=2))
        _place(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ExportResult(out, "imagefolder", {k: v for k, v in counts.items() if v})


def _export_yolo(frames, splits: dict[int, str], out: Path, name: str) -> ExportResult:
    """YOLO detection data of the fretboard, for the snapshot's frames that have a box."""
    boxed = [(f, c) for f, c in frames if f.box is not None]
    if not boxed:
        raise InputError(f"No frame of snapshot {name!r} has a fretboard box; nothing to export as YOLO data.")
    names = {f.id: f"{f.digest[:16]}{f.path.suffix}" for f, _ in boxed}
    staged = _staged(out)
    try:
        counts = dict.fromkeys(SPLITS, 0)
        for frame, _ in boxed:
            split = splits[frame.id]
            images, labels = staged / "images" / split, staged / "labels" / split
            images.mkdir(parents=True, exist_ok=True)
            labels.mkdir(parents=True, exist_ok=True)
            (images / names[frame.id]).write_bytes(verified_bytes(frame))
            x1, y1, x2, y2 = frame.box
            w, h = frame.width, frame.height
            line = f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n"
            (labels / Path(names[frame.id]).with_suffix(".txt").name).write_text(line)
            counts[split] += 1
        present = [s for s in SPLITS if counts[s]]
        # Ultralytics needs train and val; a snapshot whose boxes all fell in one split validates on it.
        val = "val" if counts["val"] else present[0]
        lines = [f"# Fretboard boxes of label snapshot {name}.", f"path: {out.resolve()}",
                 f"train: images/{'train' if counts['train'] else present[0]}", f"val: images/{val}"]
        if counts["test"]:
            lines.append("test: images/test")
        (staged / "data.yaml").write_text("\n".join(lines + ["names:", "  0: fretboard", ""]))
        _place(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return ExportResult(out, "yolo", {k: v for k, v in counts.items() if v})


CSV_COLUMNS = ("frame_id", "digest", "file", "split", "chord", "clip", "time", "frame_index", "source", "width",
               "height", "x1", "y1", "x2", "y2", "label_author", "label_time", "label_origin")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP's CSV injection list)."""


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: a string starting like a formula (``=``, ``+``, ``-``, ``@``,
    tab, carriage return) gets a leading ``'``; numbers are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _export_csv(store: LabelStore, snapshot_id: int, frames, splits: dict[int, str], out: Path) -> ExportResult:
    """One row per frame of the snapshot (columns :data:`CSV_COLUMNS`); files point into the store."""
    if out.suffix.lower() != ".csv":
        raise InputError(f"A CSV export needs a .csv file name, got {out.name}.")
    if out.exists():
        raise InputError(f"{out} exists; export into a new file.")
    verify_frames([frame for frame, _ in frames])  # the rows point at the store's files: they must be the snapshot's
    who = {row[0]: row[1:] for row in store.query(
        "SELECT s.frame_id, l.author, l.created_at, l.origin FROM snapshot_frames s JOIN labels l ON l.id = s.label_id"
        " WHERE s.snapshot_id = ?", (snapshot_id,))}
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.tmp-")
    counts = dict.fromkeys(SPLITS, 0)
    try:
        with open(handle, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(CSV_COLUMNS)
            for frame, chord in frames:
                box = frame.box or ("", "", "", "")
                writer.writerow([csv_cell(value) for value in (
                    frame.id, frame.digest, str(frame.path), splits[frame.id], chord, frame.clip or "",
                    "" if frame.time is None else f"{frame.time:.4f}",
                    "" if frame.frame_index is None else frame.frame_index, frame.source, frame.width,
                    frame.height, *box, *who[frame.id])])
                counts[splits[frame.id]] += 1
        Path(temp).rename(out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return ExportResult(out, "csv", {k: v for k, v in counts.items() if v})


__all__ = ["CSV_COLUMNS", "DEFAULT_RATIOS", "ExportResult", "FORMATS", "FORMULA_STARTS", "SPLITS", "assign_splits",
           "csv_cell", "export_snapshot", "group_key", "verified_bytes", "verify_frames"]
