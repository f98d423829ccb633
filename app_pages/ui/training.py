"""Retraining the landmark model from a label snapshot, with progress (Label and Models pages)."""

from __future__ import annotations

import streamlit as st

from app_pages.ui.messages import show_error
from labeling.train import train_from_snapshot


def train_landmarks_button(store, snapshot: str, key: str) -> None:
    """A button that retrains the landmark model on a snapshot's train split, with progress.

    The model goes to ``<store>/models/<snapshot>-landmarks`` and appears in the sidebar's model list.

    Args:
        store: the open :class:`~labeling.store.LabelStore`.
        snapshot: the snapshot's name.
        key: the button's widget key.
    """
    if not st.button(f"Retrain the landmark model on {snapshot}", key=key):
        return
    with st.status(f"Training a landmark model on {snapshot}...", expanded=True) as status:
        try:
            model = train_from_snapshot(
                store, snapshot, workers=1,
                progress=lambda candidate, score: st.write(f"{candidate}: cross-validated accuracy {score:.3f}"))
        except Exception as error:  # noqa: BLE001
            status.update(label="Training failed", state="error")
            show_error(error)
            return
        status.update(label=f"Trained {snapshot}-landmarks: CV accuracy {model.card.cv_accuracy:.3f}", state="complete")
    st.success(f"Saved as {snapshot}-landmarks in {store.root / 'models'}; choose it in the sidebar.")
