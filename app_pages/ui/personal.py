"""Label's retrain panel: the labels set here retrain a taught model, the landmark part at once, the CNN in a
background job the panel follows on later reruns; the retrained pair becomes the sidebar's active models."""

from __future__ import annotations

import streamlit as st

from app_pages.ui.messages import show_error
from app_pages.ui.sidebar import available_models, choose_models
from labeling.personal import cnn_job, retrain_landmarks, start_cnn_retrain, taught_folders
from labeling.store import LabelStore
from pipeline import text
from pipeline.teach.training import CNN_EPOCHS, taught_models


def _make_active(folder) -> None:
    """Choose the taught pair in the sidebar (other chord models out; a chosen detector stays)."""
    entries = {e.name: e for e in available_models()}
    pair = [f"{folder.name}/{p.name}" for p in taught_models(folder)]
    kept = [n for n in st.session_state.get("models") or [] if n in entries and entries[n].kind == "detector"]
    choose_models([n for n in pair if n in entries] + kept)


def retrain_panel(store: LabelStore) -> None:
    """The panel: a taught model, its background CNN job's state, and the Retrain button."""
    st.caption(text.PERSONAL_RETRAIN_INTRO)
    entries = available_models()
    folders = taught_folders(e.folder for e in entries if e.folder is not None)
    if not folders:
        st.info(text.NO_TAUGHT_MODEL)
        return
    chosen = set(st.session_state.get("models") or [])
    active = next((k for k, f in enumerate(folders) if any(n.startswith(f"{f.name}/") for n in chosen)), 0)
    folder = st.selectbox("Taught model", folders, index=active, format_func=lambda p: p.name,
                          key="personal_folder")
    a, b = st.columns(2)
    background = a.checkbox("Also retrain its CNN in the background", value=True, key="personal_cnn")
    epochs = int(b.number_input("CNN epochs", 1, 40, CNN_EPOCHS, key="personal_epochs", disabled=not background))
    message = st.session_state.pop("personal_message", None)
    if message:
        st.success(message)
    job = cnn_job(store, folder)
    running = job is not None and job.status in ("queued", "running")
    if running:
        st.info(text.personal_cnn_running(folder.name, job.id, job.progress))
        st.button("Check again", key="personal_check")  # a rerun picks the new state up
    elif job is not None and job.status == "done":
        st.success(job.progress)
    elif job is not None and job.status == "failed":
        st.warning(text.personal_cnn_failed(folder.name, job.progress))
    if not st.button(f"Retrain {folder.name} with these labels", type="primary", key="personal_go"):
        return
    try:
        with st.spinner(f"Retraining the landmark model of {folder.name}..."):
            lines = [retrain_landmarks(store, folder).message]
        if background and not running:
            started = start_cnn_retrain(store, folder, epochs)
            lines.append(text.personal_cnn_running(folder.name, started.id, "starting"))
    except Exception as error:  # noqa: BLE001 - shown; the old models stay in place
        show_error(error)
        return
    st.session_state["personal_message"] = " ".join(lines)
    _make_active(folder)
    st.rerun()


__all__ = ["retrain_panel"]
