"""Training in the page, with progress: the landmark model from a label snapshot (Label and Models pages),
and a landmark or CNN model from a folder of labeled frames (Models page)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.ui.messages import show_error
from labeling.train import train_from_snapshot
from pipeline.core.errors import InputError
from pipeline.models.folder import FOLDER_KINDS, train_folder


def failure_reason(error: Exception) -> str:
    """The reason a training failed, in one line (a bad input's own message; anything else named)."""
    reason = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
    return " ".join(reason.split()) or type(error).__name__


def _failed(status, error: Exception) -> None:
    """Mark a status box failed with the reason in its label, and show the error below it."""
    status.update(label=f"Training failed: {failure_reason(error)}", state="error", expanded=True)


def train_landmarks_button(store, snapshot: str, key: str) -> None:
    """A button that retrains the landmark model on a snapshot's train split, with progress.

    The model goes to ``<store>/models/<snapshot>-landmarks`` and appears in the sidebar's model list.
    A failure names its reason, in the status box's label and in an error below it.

    Args:
        store: the open :class:`~labeling.store.LabelStore`.
        snapshot: the snapshot's name.
        key: the button's widget key.
    """
    if not st.button(f"Retrain the landmark model on {snapshot}", key=key):
        return
    failure = None
    with st.status(f"Training a landmark model on {snapshot}...", expanded=True) as status:
        try:
            model = train_from_snapshot(
                store, snapshot, workers=1,
                progress=lambda candidate, score: st.write(f"{candidate}: cross-validated accuracy {score:.3f}"))
        except Exception as error:  # noqa: BLE001
            _failed(status, error)
            failure = error
        else:
            status.update(label=f"Trained {snapshot}-landmarks: CV accuracy {model.card.cv_accuracy:.3f}",
                          state="complete")
    if failure is not None:
        show_error(failure)
        return
    st.success(f"Saved as {snapshot}-landmarks in {store.root / 'models'}; choose it in the sidebar.")


def train_folder_form(models_root: Path, key: str) -> None:
    """A path box, a kind and a Train button: trains on a folder of labeled frames in the page, with
    progress, into ``<models_root>/<folder name>-<kind>`` (then listed in the sidebar).

    Args:
        models_root: where the model folder goes (the label store's ``models``, which the sidebar lists).
        key: prefix of the widgets' keys.
    """
    folder = st.text_input("Folder of labeled frames", key=f"{key}_folder",
                           placeholder="/data/guitar-chords-real", help="<folder>/<chord>/*.jpg or "
                           "<folder>/<split>/<chord>/*.jpg (train and val splits), as `python -m pipeline train "
                           "--data` reads it.")
    kind = st.selectbox("Kind", FOLDER_KINDS, key=f"{key}_kind",
                        format_func=lambda k: {"landmarks": "landmarks (hand points; SVM)",
                                               "cnn": "cnn (pixels; compact CNN from scratch)"}[k])
    done = st.session_state.pop(f"{key}_done", None)
    if done:
        st.success(done)
    if not st.button("Train", key=f"{key}_run"):
        return
    name = f"{Path(folder.strip() or 'model').name}-{kind}"
    failure = None
    with st.status(f"Training a {kind} model on {folder}...", expanded=True) as status:
        try:
            model = train_folder(folder, kind, models_root / name, report=st.write)
        except Exception as error:  # noqa: BLE001
            _failed(status, error)
            failure = error
        else:
            status.update(label=f"Trained {name}", state="complete")
    if failure is not None:
        show_error(failure)
        return
    st.session_state[f"{key}_done"] = (f"Trained {name} ({type(model).__name__}), saved in {models_root}; "
                                       "choose it in the sidebar.")
    st.rerun()  # the sidebar, drawn before this page, lists the new model on the next run
