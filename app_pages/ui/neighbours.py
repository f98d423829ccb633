"""Label's view of a frame's neighbourhood: a few frames around the one being labeled, from its clip's video
when the store knows where the video is, else the clip's stored frames nearest in time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import streamlit as st

from app_pages.ui.cache import frame_image
from labeling.records import FrameRecord
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from pipeline.vision.video import read_frame

STEP_S = 0.25
"""Seconds between the neighbouring frames read from the video."""
EACH_SIDE = 2
"""Neighbours shown before and after the frame."""
THUMB_WIDTH = 240
"""Width of each neighbour, pixels (the height keeps the frame's proportions)."""


def thumbnail(image: np.ndarray, width: int = THUMB_WIDTH) -> np.ndarray:
    """The image scaled down to ``width`` pixels wide (never up), RGB uint8."""
    height, current = image.shape[:2]
    if current <= width:
        return image
    return cv2.resize(image, (width, max(1, round(height * width / current))), interpolation=cv2.INTER_AREA)


def neighbour_times(time: float, duration: float, step: float = STEP_S, each_side: int = EACH_SIDE) -> list[float]:
    """Times around ``time`` (itself left out), ``step`` apart, within the clip's ``[0, duration]``."""
    times = [round(time + k * step, 3) for k in range(-each_side, each_side + 1) if k]
    return [t for t in times if 0 <= t <= duration]


def neighbours(store: LabelStore, record: FrameRecord) -> list[tuple[float, np.ndarray]]:
    """(time, RGB image) of the frames around ``record``, in time order; empty for a lone image.

    From the clip's video when its file is there (:func:`neighbour_times`), else from the clip's stored
    frames: the :data:`EACH_SIDE` nearest before and after.
    """
    if record.clip is None or record.time is None:
        return []
    clip = next((c for c in store.clips() if c.name == record.clip), None)
    if clip is not None and clip.path and Path(clip.path).is_file() and clip.duration:
        return [(t, frame_image(clip.digest or clip.path, t, clip.path))
                for t in neighbour_times(record.time, clip.duration)]
    others = [f for f in store.frames(clip=record.clip) if f.id != record.id and f.time is not None]
    before = [f for f in others if f.time <= record.time][-EACH_SIDE:]
    after = [f for f in others if f.time > record.time][:EACH_SIDE]
    return [(f.time, read_frame(f.path, 0).image) for f in before + after]


def show_neighbours(store: LabelStore, record: FrameRecord) -> None:
    """The neighbourhood strip under the frame being labeled, each neighbour captioned with its time."""
    try:
        found = neighbours(store, record)
    except InputError as error:  # a neighbour that cannot be read never stops the labeling
        st.caption(f"Its neighbourhood cannot be shown: {error}")
        return
    if not found:
        return
    st.caption(f"Around it in `{record.clip}` (the frame is at {record.time:.2f} s):")
    columns = st.columns(len(found))
    for column, (time, image) in zip(columns, found):
        column.image(thumbnail(image), caption=f"neighbour at {time:.2f} s ({time - record.time:+.2f} s)",
                     output_format="PNG")
