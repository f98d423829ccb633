"""What the pages say when something fails, and the honest note on models trained on synthetic renders."""

from __future__ import annotations

import streamlit as st

from pipeline import text
from pipeline.core.errors import InputError
from pipeline.models.catalogue import ModelEntry


def show_error(error: Exception) -> None:
    """A clear message for bad input; anything else is a bug and is shown as one, not a traceback."""
    if isinstance(error, InputError):
        st.error(str(error))
    else:
        st.error(f"Something went wrong ({type(error).__name__}: {error}). The input was left unchanged.")


def synthetic_note(entry: ModelEntry) -> None:
    """Say so when a model was trained on synthetic renders (DESIGN: an offline default is honest)."""
    if entry.synthetic:
        st.info(text.synthetic_note(entry.name, text.STUDIO_TRAIN_REMEDY))
