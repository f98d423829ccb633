"""What the label store takes and returns: frames, predictions, label events, clips, snapshots, jobs, counts.

Plain frozen dataclasses, so that callers (ingest, export, the queue, the apps) can build and read them
without an open store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FrameRecord:
    """One stored frame.

    Attributes:
        id: frame id.
        digest: SHA-256 of its bytes.
        path: the file in the store.
        clip: name of its clip (or image group), None for a lone image.
        time: seconds into the clip (None for images).
        frame_index: index in the clip (None for images).
        source: the file or dataset it came from.
        split: the split its source dataset put it in ("" if none).
        width, height: size in pixels.
        box: fretboard box (x1, y1, x2, y2) in pixels, or None.
        chord: its current label, or None when unlabeled.
    """

    id: int
    digest: str
    path: Path
    clip: str | None
    time: float | None
    frame_index: int | None
    source: str
    split: str
    width: int
    height: int
    box: tuple[float, float, float, float] | None
    chord: str | None
    clip_id: int | None = None


@dataclass(frozen=True)
class Prediction:
    """A model's stored answer for a frame (``embedding`` names where the frame's embedding lives)."""

    id: int
    frame_id: int
    model: str
    model_version: str
    chord: str
    probability: float
    covered: bool = True
    embedding: str | None = None
    created_at: str = ""


@dataclass(frozen=True)
class NewPrediction:
    """A prediction to store with a frame."""

    model: str
    model_version: str
    chord: str
    probability: float
    covered: bool = True
    embedding: str | None = None


@dataclass(frozen=True)
class LabelEvent:
    """One change of a frame's label.

    Attributes:
        origin: "hand" (typed by a person), "prediction" (a person accepted a model's answer,
            ``prediction_id``), or "import" (came with an imported dataset).
        undone_at: when it was undone, or None.
    """

    id: int
    frame_id: int
    chord: str
    author: str
    created_at: str
    origin: str
    prediction_id: int | None
    undone_at: str | None


@dataclass(frozen=True)
class NewFrame:
    """A frame to add: its bytes (or a file to copy), where it comes from, and optionally its label.

    Attributes:
        source: the file or dataset it came from (shown in history and CSV exports).
        data: encoded image bytes; or None to read ``path``.
        path: image file to copy byte for byte (keeps its digest, so landmark caches still hit).
        ext: file suffix to store under (default: the path's, else ``.jpg``).
        time, frame_index: place in its clip.
        split: the split its source dataset put it in.
        box: fretboard box (x1, y1, x2, y2) in pixels.
        chord: a label that comes with it (any spelling :func:`pipeline.core.chords.parse_chord` reads).
        predictions: model answers to store with it.
    """

    source: str
    data: bytes | None = None
    path: Path | None = None
    ext: str | None = None
    time: float | None = None
    frame_index: int | None = None
    split: str = ""
    box: tuple[float, float, float, float] | None = None
    chord: str | None = None
    predictions: tuple[NewPrediction, ...] = ()


@dataclass(frozen=True)
class ClipInfo:
    """The clip (or named group of images) a batch of frames belongs to; frames of one clip share a split."""

    name: str
    digest: str | None = None
    path: str | None = None
    fps: float | None = None
    duration: float | None = None


@dataclass(frozen=True)
class PreparedFrame:
    """A validated frame whose file is already in the store (see :meth:`LabelStore.prepare`)."""

    item: NewFrame
    digest: str
    ext: str
    path: Path
    width: int
    height: int
    phash: bytes
    chord: str | None


@dataclass(frozen=True)
class AddResult:
    """What an add did: the new frame ids (in input order), the sources skipped as duplicates, the ids of
    frames already stored unlabeled that got the label the add brought (a labeled re-import), and the share
    of the new frames the suggesting models call familiar (None: no models, or they cannot tell)."""

    frame_ids: list[int]
    skipped: list[str] = field(default_factory=list)
    labeled: list[int] = field(default_factory=list)
    familiar_share: float | None = None


@dataclass(frozen=True)
class Snapshot:
    """A frozen dataset version: its name, size, frames per chord and content fingerprint.

    ``fingerprint`` is SHA-256 over sorted ``digest:chord`` lines, the formula of
    :func:`pipeline.models.datasets.dataset_fingerprint`, so a model trained on the snapshot's frames (or
    their export) records the same fingerprint.
    """

    id: int
    name: str
    created_at: str
    note: str
    n_frames: int
    counts: dict[str, int]
    fingerprint: str


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed from snapshot ``a`` to ``b``.

    Attributes:
        added: frame ids in b, not in a. removed: in a, not in b.
        relabeled: (frame id, chord in a, chord in b).
        counts: chord -> (frames in a, frames in b), for every chord in either.
    """

    a: str
    b: str
    added: list[int]
    removed: list[int]
    relabeled: list[tuple[int, str, str]]
    counts: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Job:
    """A background training job (see :mod:`labeling.train`)."""

    id: int
    kind: str
    snapshot: str
    status: str
    progress: str
    command: str
    out: str
    log: str
    pid: int | None
    returncode: int | None
    started_at: str
    finished_at: str | None


@dataclass(frozen=True)
class StoreStats:
    """Counts of a store: frames, labeled frames, frames per current label, clips, predictions per model."""

    frames: int
    labeled: int
    chords: dict[str, int]
    clips: int
    predictions: dict[str, int]
    label_events: int
    snapshots: int
