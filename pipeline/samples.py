"""The sample media shipped with the project, and what lies beside each clip: its ground-truth timeline
and its true fretboard boxes (written by ``tools/samplegen``, read here at run time)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.core.timeline import Timeline
from pipeline.models.datasets import file_digest
from pipeline.vision.detection import check_box
from pipeline.vision.video import SUPPORTED_SUFFIXES


def sample_clips() -> list[Path]:
    """The sample media (clips and stills) shipped with the project, by name.

    Returns:
        The files of the sample media folder that are videos or images, sorted; empty when the folder
        is absent.
    """
    if not SAMPLE_MEDIA_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLE_MEDIA_DIR.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)


def sample_twin(path: str | Path) -> Path | None:
    """The sample clip a file is a copy of, by content: the same bytes as one of :func:`sample_clips`.

    Content, not folder: an upload of a sample clip and the Space's examples (copied into a request
    folder) are the sample too, and get its ground truth and fretboard boxes. Only a file of a sample's
    exact size is hashed (hashes are remembered while a file's size and time hold), so a large upload
    costs a ``stat``, not a read.

    Args:
        path: a clip or still.

    Returns:
        The sample file (in the sample media folder), or None when ``path`` is no sample's copy or
        cannot be read.
    """
    try:
        size = Path(path).stat().st_size
        twins = [p for p in sample_clips() if p.stat().st_size == size]
        if not twins:
            return None
        digest = file_digest(path)
        return next((p for p in twins if file_digest(p) == digest), None)
    except OSError:
        return None


def ground_truth(path: str | Path) -> Timeline | None:
    """The ground-truth timeline beside a sample clip (``<stem>.timeline.json``).

    Args:
        path: a sample clip.

    Returns:
        The :class:`~pipeline.core.timeline.Timeline`, or None when the clip has none.
    """
    truth = Path(path).with_name(Path(path).stem + ".timeline.json")
    return Timeline.load(truth) if truth.is_file() else None


def read_fretboard_csv(path: str | Path) -> np.ndarray:
    """Read a clip's ``<stem>.fretboard.csv``.

    Args:
        path: the CSV file (header ``frame, time, x1, y1, x2, y2``; box corners in pixels).

    Returns:
        (n, 6) float32 rows of frame, time, x1, y1, x2, y2.

    Raises:
        InputError: the file is missing or malformed.
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        table = np.array([[float(v) for v in row] for row in rows[1:]], np.float32).reshape(-1, 6)
    except (OSError, ValueError) as error:
        raise InputError(f"Cannot read fretboard boxes from {path}: {error}.") from error
    for number, row in enumerate(table, start=2):
        check_box(row[2:], f"{path.name} line {number}: a fretboard box")
        if not np.isfinite(row[:2]).all():
            raise InputError(f"{path.name} line {number}: the frame and time must be finite numbers.")
    return table


def fretboard_boxes(path: str | Path) -> dict[int, np.ndarray]:
    """The true fretboard box per frame of a sample clip, from its ``<stem>.fretboard.csv``.

    Args:
        path: a sample clip.

    Returns:
        Frame index -> (4,) float32 box ``x1, y1, x2, y2`` in pixels; empty when the clip has no CSV.

    Raises:
        InputError: the CSV is malformed.
    """
    csv_path = Path(path).with_name(Path(path).stem + ".fretboard.csv")
    if not csv_path.is_file():
        return {}
    return {int(row[0]): np.asarray(row[2:6], dtype=np.float32) for row in read_fretboard_csv(csv_path)}
