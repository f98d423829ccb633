"""The session's current analysis (made on Analyze, read by Explain and Listen)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.ui.cache import analysis_for
from app_pages.ui.sidebar import chosen_models
from pipeline.models.catalogue import ModelChoice


def current_choice() -> ModelChoice | None:
    """The models of the current analysis, if they are all still chosen in the sidebar."""
    current = st.session_state.get("current")
    if not current:
        return None
    return ModelChoice.from_names(current.get("models", {}), chosen_models(None))


def current_clip() -> tuple[Path, ModelChoice] | None:
    """(clip, model choice) of the analysis made on Analyze, or None when there is none (or its clip or
    models are gone); nothing is analysed or loaded."""
    choice = current_choice()
    if choice is None:
        return None
    clip = Path(st.session_state["current"]["path"])
    return (clip, choice) if clip.exists() else None


def current_analysis():
    """(clip, model choice, analysis) of the analysis made on Analyze, or None when there is none (or its
    clip or models are gone: :func:`current_clip`). Raises what :func:`~app_pages.ui.cache.analysis_for`
    raises."""
    found = current_clip()
    if found is None:
        return None
    clip, choice = found
    current = st.session_state["current"]
    return clip, choice, analysis_for(clip, choice, current["fps"], current["start"], current["end"])
