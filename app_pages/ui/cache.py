"""Models and results cached across reruns and sessions: ``st.cache_resource`` for models (shared,
thread-safe: image models and detectors lock their predict), ``st.cache_data`` for analyses, frames,
answers and heatmaps."""

from __future__ import annotations

import pickle
from pathlib import Path

import streamlit as st

from app_pages.ui.files import derived_path, digest_of
from pipeline.explain.frames import explain_image_frame, model_input
from pipeline.models import registry
from pipeline.models.catalogue import ModelChoice, ModelEntry
from pipeline.timeline.analyze import analyze_clip
from pipeline.vision.hands import default_hand_workers
from pipeline.vision.video import read_frame


def chord_model(entry: ModelEntry):
    """The loaded chord model (landmarks or image) of an entry.

    :func:`pipeline.models.registry.load_model` loads it once per process (cached by folder and card time,
    so a retrained model is loaded again).
    """
    # st.spinner shows only when loading takes over half a second: a first load, not a cached one.
    with st.spinner("Loading the model (the sample model is built on first use, about a minute)..."
                    if entry.kind == "landmarks" else "Loading the model..."):
        return registry.load_model(entry.spec)


@st.cache_resource(show_spinner="Loading the models (the sample model is built on first use, about a minute)...")
def load_model_set(chord_specs: tuple, detector: str | None, key: str):
    """The :class:`~pipeline.core.types.ModelSet` of a choice, once per process (``key``: the choice's)."""
    return registry.load_model_set(list(chord_specs), detector=detector)


def model_set(choice: ModelChoice):
    """The loaded models of a choice (fusion weights from their cards)."""
    return load_model_set(tuple(e.spec for e in choice.chord_models),
                          str(choice.detector.folder) if choice.detector else None, choice.key)


@st.cache_data(show_spinner=False, max_entries=32)
def load_analysis(key: str, _file: str):
    """An analysis written by :func:`analysis_for` (the studio's own temp folder), kept in memory by its key
    (content hash + settings)."""
    with open(_file, "rb") as handle:
        return pickle.load(handle)


def analysis_for(path: Path, choice: ModelChoice, rate: float, start: float | None, end: float | None,
                 progress=None):
    """The analysis of a clip by a choice of models at a rate: computed once per content and settings, then
    cached. The first run shows ``progress``; later runs (any session) read the cached result.

    Args:
        path: the clip.
        choice: the models.
        rate: frames sampled per second.
        start, end: the span in seconds (None: from the start, to the end).
        progress: called with the share done, 0 to 1.

    Returns:
        The :class:`~pipeline.core.types.Analysis`.
    """
    parts = (digest_of(path), choice.key, rate, start, end)
    file = derived_path("analyses", *parts).with_suffix(".pkl")
    if not file.exists():
        # hands found in a process per core, as the CLI does (the pool starts once per studio process)
        analysis = analyze_clip(path, model_set(choice), fps=rate, start=start, end=end, progress=progress,
                                hand_workers=default_hand_workers())
        temp = file.with_suffix(".part")
        with open(temp, "wb") as handle:
            pickle.dump(analysis, handle)
        temp.replace(file)
    return load_analysis(file.stem, str(file))


@st.cache_data(show_spinner=False, max_entries=256)
def image_answer(key: str, digest: str, time: float, detector: str, _model, _frame, _image):
    """An image model's prediction on an analysed frame (what it sees of it), cached by model, clip, time
    and the analysis's detector (whose box picks the region a region-trained model sees)."""
    return _model.predict([model_input(_image, _frame, _model)[0]])[0]


@st.cache_data(show_spinner=False, max_entries=64)
def occlusion(key: str, digest: str, time: float, target: str | None, detector: str, _model, _frame, _image):
    """The occlusion heatmap of an image model on an analysed frame, cached by (model, clip, frame, target,
    the analysis's detector): scrubbing back to a frame shows it at once. ``target`` None explains the
    model's top chord."""
    return explain_image_frame(_image, _frame, _model, target)


@st.cache_data(show_spinner=False, max_entries=256)
def frame_image(digest: str, time: float, _path: str):
    """The clip's frame nearest ``time``: RGB uint8 (H, W, 3), cached by clip content and time."""
    return read_frame(_path, time).image
