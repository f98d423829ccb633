"""Teach: one short clip per chord (uploaded, or a take recorded with the browser camera) -> a landmark model and
a CNN of the user's own setup, scored on the held-out end of each clip, made the active models, and their frames
put into the label store for Label."""

from __future__ import annotations

import uuid
from pathlib import Path

import streamlit as st

from app_pages.ui.camera import camera, save_take
from app_pages.ui.files import session_dir
from app_pages.ui.messages import show_error
from app_pages.ui.sidebar import choose_models, data_dir
from app_pages.ui.training import failure_reason
from labeling.store import LabelStore
from labeling.teach import store_taught_frames
from pipeline import text
from pipeline.core.chords import VOCABULARY
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.teach.clips import TEACH_FPS, chord_of_file
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


def _keep_take() -> None:
    """The camera's take callback: encode the frames it sent as an H.264 clip in this session's folder, named
    after its chord, and list it with the uploads."""
    take = (st.session_state.get("teach_camera") or {}).get("take")
    takes = st.session_state.setdefault("teach_takes", [])
    if not isinstance(take, dict) or not isinstance(take.get("seq"), int):
        return
    st.session_state["teach_take_handled"] = st.session_state.get("teach_take_handled", 0) + 1
    chord = take.get("chord") if take.get("chord") in VOCABULARY else None
    try:
        if chord is None:
            raise InputError("The camera's take came without a chord; choose one and record again.")
        number = st.session_state.get("teach_take_count", 0) + 1
        path = save_take(list(take.get("frames") or []), float(take.get("fps") or TEACH_FPS),
                         session_dir("teach-takes") / f"{chord}-take{number}.mp4")
    except (InputError, TypeError, ValueError) as error:  # a damaged take is said, and nothing is listed
        st.session_state["teach_take_error"] = str(error)
        return
    st.session_state["teach_take_count"] = number
    takes.append({"path": str(path), "chord": chord})


def _remove_take(k: int) -> None:
    """Forget the take ``k`` and delete its clip."""
    takes = st.session_state.get("teach_takes") or []
    if k < len(takes):
        Path(takes.pop(k)["path"]).unlink(missing_ok=True)


def _ignore() -> None:
    """The camera's state callback: its value is read from the result."""


def takes_section() -> None:
    """The chord and length of the next take, and the camera with its record button (a failed take said)."""
    a, b = st.columns(2)
    chord = a.selectbox("Chord of the next take", VOCABULARY, key="teach_take_chord")
    seconds = b.number_input("Seconds per take", 2, 10, 4, key="teach_take_seconds")
    result = camera(key="teach_camera", data={"running": False, "take_seconds": int(seconds), "take_fps": TEACH_FPS,
                                              "take_chord": chord, "take_label": f"Record {int(seconds)} s of {chord}",
                                              "take_handled": st.session_state.get("teach_take_handled", 0)},
                    on_take_change=_keep_take, on_camera_change=_ignore, default={"camera": None})
    status = result.get("camera")
    if isinstance(status, str) and status.startswith("error"):
        st.error(text.camera_problem(status.removeprefix("error: ")))
    failure = st.session_state.pop("teach_take_error", None)
    if failure:
        st.error(failure)


def takes_list() -> list[dict]:
    """The recorded takes, each with its player and a Remove button; returns them (``path``, ``chord``)."""
    takes = [t for t in st.session_state.get("teach_takes") or [] if Path(t["path"]).exists()]
    st.session_state["teach_takes"] = takes
    for k, take in enumerate(takes):
        left, right = st.columns([3, 1])
        left.video(take["path"])
        right.markdown(text.teach_take_line(Path(take["path"]).name, take["chord"]))
        right.button("Remove", key=f"teach_take_remove_{k}", on_click=_remove_take, args=(k,))
    return takes


st.header("Teach it your guitar")
st.markdown(text.TEACH_INTRO)
uploads = st.file_uploader("Clips, one per chord", type=["mp4", "mov", "avi", "mkv", "webm"],
                           accept_multiple_files=True, key="teach_clips") or []
chosen = []
for upload in uploads:  # keyed by the upload, so removing one keeps the others' choices
    chosen.append(st.selectbox(f"Chord of {upload.name}", [text.FROM_FILE_NAME, *VOCABULARY],
                               key=f"teach_chord_{upload.file_id}"))
if st.toggle("Record takes with the camera", key="teach_use_camera", help=text.TEACH_TAKES_HELP):
    takes_section()
takes = takes_list()
name = st.text_input("Name of your setup", "my-guitar", max_chars=60, key="teach_name")
epochs = int(st.number_input("CNN epochs", 1, 40, CNN_EPOCHS, key="teach_epochs"))

if st.button("Teach", type="primary", disabled=not (uploads or takes), key="teach_go"):
    failure = None
    with st.status("Teaching...", expanded=True) as status:
        bar = st.progress(0.0)
        try:
            chords = [chord_of_file(u.name) if c == text.FROM_FILE_NAME else c for u, c in zip(uploads, chosen)]
            paths = _saved(uploads) + [Path(t["path"]) for t in takes]
            chords += [t["chord"] for t in takes]
            out = get_settings().models_dir / safe_name(name, "my-guitar")
            result = teach(paths, out, chords=chords, name=out.name, epochs=epochs, threads=1,
                           progress=lambda fraction, step: bar.progress(min(1.0, fraction), text=step))
            added = store_taught_frames(LabelStore(data_dir()), out)
        except Exception as error:  # noqa: BLE001 - every failure is shown; teach() leaves stored models as they were
            status.update(label=f"Teaching failed: {failure_reason(error)}", state="error", expanded=True)
            failure = error
        else:
            status.update(label="Taught", state="complete")
            st.session_state["teach_result"] = {
                "summary": text.teach_summary(result.accuracy, result.n_train, result.n_held_out, result.seconds),
                "counts": [text.teach_counts_line(chord, c.sampled, c.kept, c.dark, c.blurred, c.duplicates,
                                                  c.no_hand) for chord, c in result.counts.items()],
                "done": text.teach_done(out.name, len(added.frame_ids)),
            }
            choose_models([f"{out.name}/{p.name}" for p in result.model_folders()])  # the taught pair is active
            st.rerun()
    if failure is not None:  # below the status box, in view (a failed status box folds up)
        show_error(failure)

shown = st.session_state.get("teach_result")
if shown:
    st.success(shown["done"])
    st.markdown(shown["summary"])
    st.markdown("\n".join(f"- {line}" for line in shown["counts"]))
