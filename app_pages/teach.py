"""Teach: one short clip per chord -> a landmark model and a CNN of the user's own setup, scored on the held-out
end of each clip, made the active models, and their frames put into the label store for Label."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from app_pages.ui.files import session_dir
from app_pages.ui.messages import show_error
from app_pages.ui.sidebar import data_dir
from labeling.store import LabelStore
from labeling.teach import store_taught_frames
from pipeline import text
from pipeline.core.chords import VOCABULARY
from pipeline.core.config import get_settings
from pipeline.teach.clips import chord_of_file
from pipeline.teach.training import CNN_EPOCHS, teach
from pipeline.uploads import safe_name, save_upload


def _saved(uploads) -> list[Path]:
    """The uploads checked and stored, each under its own (safe) name: the name is the clip's name in
    Label."""
    folder = session_dir("teach") / uuid.uuid4().hex[:8]
    paths = []
    for k, upload in enumerate(uploads):
        saved = save_upload(upload.getvalue(), upload.name, folder)
        name = safe_name(upload.name, f"clip{k}{saved.suffix}")
        target = folder / (name if all(p.name != name for p in paths) else f"{k}-{name}")
        paths.append(saved.replace(target))
    return paths


st.header("Teach it your guitar")
st.markdown(text.TEACH_INTRO)
uploads = st.file_uploader("Clips, one per chord", type=["mp4", "mov", "avi", "mkv", "webm"],
                           accept_multiple_files=True, key="teach_clips")
chosen = []
for k, upload in enumerate(uploads or []):
    chosen.append(st.selectbox(f"Chord of {upload.name}", [text.FROM_FILE_NAME, *VOCABULARY], key=f"teach_chord_{k}"))
name = st.text_input("Name of your setup", "my-guitar", max_chars=60, key="teach_name")
epochs = int(st.number_input("CNN epochs", 1, 40, CNN_EPOCHS, key="teach_epochs"))

if st.button("Teach", type="primary", disabled=not uploads, key="teach_go"):
    with st.status("Teaching...", expanded=True) as status:
        bar = st.progress(0.0)
        try:
            chords = [chord_of_file(u.name) if c == text.FROM_FILE_NAME else c for u, c in zip(uploads, chosen)]
            paths = _saved(uploads)
            out = get_settings().models_dir / safe_name(name, "my-guitar")
            result = teach(paths, out, chords=chords, name=out.name, epochs=epochs, threads=1,
                           progress=lambda fraction, step: bar.progress(min(1.0, fraction), text=step))
            added = store_taught_frames(LabelStore(data_dir()), out)
        except Exception as error:  # noqa: BLE001 - every failure is shown; teach() leaves stored models as they were
            status.update(label="Teaching failed", state="error")
            show_error(error)
        else:
            status.update(label="Taught", state="complete")
            st.session_state["teach_result"] = {
                "summary": text.teach_summary(result.accuracy, result.n_train, result.n_held_out, result.seconds),
                "counts": [text.teach_counts_line(chord, c.sampled, c.kept, c.dark, c.blurred, c.duplicates,
                                                  c.no_hand) for chord, c in result.counts.items()],
                "done": text.teach_done(out.name, len(added.frame_ids)),
            }
            # the sidebar reads its kept choice when its widget has no value: make the taught pair the active one
            st.session_state["_kept_models"] = [f"{out.name}/{p.name}" for p in result.model_folders()]
            st.session_state.pop("models", None)
            st.rerun()

shown = st.session_state.get("teach_result")
if shown:
    st.success(shown["done"])
    st.markdown(shown["summary"])
    st.markdown("\n".join(f"- {line}" for line in shown["counts"]))
