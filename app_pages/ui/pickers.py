"""The model picker shared by Analyze and Label: one selectbox per slot over the sidebar's models."""

from __future__ import annotations

import streamlit as st

from app_pages.ui.sidebar import chosen_models
from pipeline.models.catalogue import NONE, ModelChoice

MODEL_SLOTS = {"landmarks": "Landmark model (reads the hand)", "image": "Image model (reads the frame)",
               "detector": "Fretboard detector"}

MODEL_HELP = {
    "image": "With a landmark model too, each frame's answer is the two fused (weighted by each model's held-out "
             "accuracy).",
    "detector": "Finds the neck: its box picks the fretting hand and, for an image model trained on regions, what "
                "the model sees. Add a trained detector's folder (best.pt) in the sidebar.",
}


def model_choice(key: str, side_by_side: bool = True) -> ModelChoice | None:
    """One selectbox per slot (landmark model, image model, fretboard detector) over the sidebar's models
    of that kind; the first of each kind is the default, "(none)" leaves a slot empty.

    Args:
        key: prefix of the widgets' keys (``<key>_landmarks``, ``<key>_image``, ``<key>_detector``).
        side_by_side: the three in columns (else one under the other).

    Returns:
        The :class:`~pipeline.models.catalogue.ModelChoice`, or None when neither chord model is picked.
    """
    entries = {slot: chosen_models(slot) for slot in MODEL_SLOTS}
    places = st.columns(len(MODEL_SLOTS)) if side_by_side else [st.container() for _ in MODEL_SLOTS]
    picked = {}
    for place, (slot, label) in zip(places, MODEL_SLOTS.items()):
        names = [NONE] + [e.name for e in entries[slot]]
        widget = f"{key}_{slot}"
        if widget in st.session_state and st.session_state[widget] not in names:  # a model no longer chosen
            del st.session_state[widget]
        initial = {} if widget in st.session_state else {"index": 1 if entries[slot] else 0}
        picked[slot] = place.selectbox(label, names, key=widget, help=MODEL_HELP.get(slot), **initial)
    return ModelChoice.from_names(picked, [e for found in entries.values() for e in found])
