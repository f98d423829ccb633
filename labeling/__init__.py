"""The label store, review queue and dataset import / export (see issue 5).

Modules:
    store    :class:`LabelStore`: clips, frames (on disk by content hash), predictions, labels with
             history and undo, immutable snapshots, background jobs; SQLite (WAL), schema migrations.
    ingest   add frames from a clip, an image folder, ImageFolder / YOLO / COCO exports and zips; an
             analysed frame with its corrected label (:func:`label_analysed_frame`).
    queue    :func:`review_queue`: disagreements and least sure frames first, near-duplicates skipped.
    export   a snapshot as ImageFolder (train / val / test by clip), YOLO fretboard data, or CSV.
    train    the landmark model from a snapshot in seconds; any kind as a background job.
    cli      ``python -m labeling add|queue|label|undo|history|snapshot|export|train|jobs|stats``.

Imports run one way: ``labeling`` may use ``pipeline``; neither imports streamlit or gradio.
``labeling.train`` is not imported here: it doubles as the background runner's ``__main__``.
"""

from labeling.export import assign_splits, export_snapshot
from labeling.ingest import ModelRef, add_clip, add_dataset, add_images, label_analysed_frame
from labeling.queue import QueueItem, review_queue
from labeling.store import (
    ClipInfo,
    FrameRecord,
    LabelEvent,
    LabelStore,
    NewFrame,
    NewPrediction,
    Prediction,
    Snapshot,
    SnapshotDiff,
)

__all__ = [
    "ClipInfo", "FrameRecord", "LabelEvent", "LabelStore", "ModelRef", "NewFrame", "NewPrediction", "Prediction",
    "QueueItem", "Snapshot", "SnapshotDiff", "add_clip", "add_dataset", "add_images", "assign_splits",
    "export_snapshot", "label_analysed_frame", "review_queue",
]
