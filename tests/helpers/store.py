"""Label stores with a few tiny frames, and a snapshot of their tables, for the labeling tests."""

from __future__ import annotations

import cv2
import numpy as np

from labeling.records import NewFrame
from labeling.store import LabelStore


def tiny_png(i: int, size: int = 8) -> bytes:
    """A unique tiny image per ``i`` (its pixels spell the number)."""
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.imencode(".png", image)[1].tobytes()


def add_tiny(store: LabelStore, n: int, start: int = 0, size: int = 8) -> list[int]:
    items = [NewFrame(source=f"tiny-{i}", data=tiny_png(i, size), ext=".png") for i in range(start, start + n)]
    return store.add_frames(items).frame_ids


def snapshot_of_tables(store: LabelStore) -> dict:
    """Every row of every table, and the frame files on disk: what 'changes nothing' compares."""
    tables = [r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    rows = {t: store.query(f"SELECT * FROM {t}").fetchall() for t in tables}
    frames = store.root / "frames"
    rows["files"] = sorted(p.name for p in frames.rglob("*") if p.is_file()) if frames.exists() else []
    return rows
