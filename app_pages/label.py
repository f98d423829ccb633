"""Label: walk the review queue and accept or correct chord labels with the keyboard.

Frames added here get suggestions from the chosen model set: a landmark model, an image model, or
both fused (stored under the set's name, e.g. ``tiny + cnn (fused)``, with each model's own answer beside it, so
the queue puts first the frames where the two disagree). Enter accepts the newest suggestion (the set's).

Every change goes straight into the label store under the sidebar's data directory (SQLite, one
transaction per label), so labels survive a browser reload and an app restart. Keys: Enter accepts
the model's answer, the digit keys set a chord, Left / Right move, Z undoes your last label.

Each browser session labels under its own name (the sidebar's, else ``studio-<random>``), so Undo takes
back this session's labels only, never another tab's. A frame whose file is missing or unreadable shows
the error in its place; the queue moves on past it.

A frame from a clip shows its neighbourhood under it (a few frames around it, from the video when it is there).
A batch result folder (``python -m pipeline batch --out DIR``) can be imported beside clips. The labels set
here retrain a taught model (Teach): the landmark part at once, the CNN in the background.
"""

import shutil
from datetime import datetime
from pathlib import Path

import streamlit as st

from app_pages.ui.cache import chord_model, model_set
from app_pages.ui.files import derived_path
from app_pages.ui.messages import show_error
from app_pages.ui.neighbours import show_neighbours
from app_pages.ui.personal import retrain_panel
from app_pages.ui.pickers import model_choice
from app_pages.ui.sidebar import chosen_models, data_dir, session_author
from app_pages.ui.training import train_landmarks_button
from labeling.batches import add_batch, batch_folder
from labeling.export import FORMATS, export_snapshot
from labeling.ingest import ModelRef, add_clip
from labeling.queue import STATUSES, review_queue
from labeling.store import LabelStore
from pipeline.models.catalogue import chord_keys, label_chords
from pipeline.samples import sample_clips
from pipeline.text import label_unfamiliar_note
from pipeline.vision.drawing import annotate_frame
from pipeline.vision.video import VIDEO_SUFFIXES, read_frame

st.title("Label frames")
root = data_dir()
author = session_author()  # each browser session labels (and undoes) as itself


def _act(action: str, frame_id: int | None = None, chord: str | None = None, model: str | None = None) -> None:
    """Button callback: change a label (or move), then show the next frame; runs before the page redraws."""
    queue = st.session_state.get("label_queue", [])
    position = st.session_state.get("label_pos", 0)
    try:
        with LabelStore(root) as store:
            if action == "accept":
                event = store.accept(frame_id, model=model, author=author)
                st.session_state["label_message"] = f"Frame {frame_id}: accepted {event.chord}."
            elif action == "set":
                store.set_label(frame_id, chord, author=author)
                st.session_state["label_message"] = f"Frame {frame_id}: labeled {chord}."
            elif action == "undo":
                event = store.undo(author)
                st.session_state["label_message"] = (
                    "Nothing of yours to undo." if event is None else f"Undid {event.chord} on frame {event.frame_id}.")
                if event is not None and event.frame_id in queue:
                    st.session_state["label_pos"] = queue.index(event.frame_id)
                return
    except Exception as error:  # noqa: BLE001 - shown on the page, never a traceback
        st.session_state["label_message"] = f"error: {error}"
        return
    step = -1 if action == "previous" else 1
    st.session_state["label_pos"] = min(max(position + step, 0), max(len(queue) - 1, 0))


def _refresh() -> None:
    st.session_state.pop("label_queue", None)
    st.session_state["label_pos"] = 0


try:
    store = LabelStore(root)
except Exception as error:  # noqa: BLE001
    show_error(error)
    st.stop()

try:
    stats = store.stats()
    with st.expander("Add frames to label", expanded=stats.frames == 0):
        clips = [p for p in sample_clips() if p.suffix.lower() in VIDEO_SUFFIXES]
        current = st.session_state.get("current")
        if current and Path(current["path"]).suffix.lower() in VIDEO_SUFFIXES and Path(current["path"]) not in clips:
            clips.insert(0, Path(current["path"]))
        a, b = st.columns(2)
        clip = a.selectbox("Clip", clips, format_func=lambda p: p.name, key="label_add_clip")
        rate = b.number_input("Frames per second", 0.2, 10.0, 1.0, 0.2, key="label_add_fps")
        st.caption("Suggestions come from these models (a landmark and an image model are fused, as on Analyze):")
        choice = model_choice("label_add")
        if st.button("Add frames", key="label_add"):
            try:
                with st.spinner("Sampling frames and predicting their chords..."):
                    ref = (ModelRef.of(model_set(choice), choice.chord_label, [e.name for e in choice.chord_models])
                           if choice else None)
                    result = add_clip(store, clip, fps=rate, model=ref, on_duplicate="skip", workers=1)
                st.success(f"Added {len(result.frame_ids)} frames of {clip.name}"
                           + (f" ({len(result.skipped)} already in the store)" if result.skipped else "") + ".")
                unfamiliar = label_unfamiliar_note(result.familiar_share)
                if unfamiliar:
                    st.warning(unfamiliar)
                _refresh()
                stats = store.stats()
            except Exception as error:  # noqa: BLE001
                show_error(error)
        batch = st.text_input("Or a batch result folder", key="label_batch_dir", placeholder="/data/batch-out",
                              help="The --out folder of `python -m pipeline batch`: every finished clip's frames, "
                                   "with the batch's answers as suggestions.")
        if st.button("Import batch", key="label_batch_import"):
            try:
                with st.spinner("Reading the batch's frames from its clips..."):
                    result = add_batch(store, batch_folder(batch), on_duplicate="skip")
                st.success(f"Added {len(result.frame_ids)} frames of the batch {Path(batch.strip()).name}"
                           + (f" ({len(result.skipped)} already in the store)" if result.skipped else "") + ".")
                _refresh()
                stats = store.stats()
            except Exception as error:  # noqa: BLE001
                show_error(error)

    left, right = st.columns([3, 1])
    with right:
        st.metric("Labeled", f"{stats.labeled} of {stats.frames}")
        if stats.chords:
            st.dataframe([{"chord": c, "frames": n} for c, n in stats.chords.items()], hide_index=True,
                         key="label_counts")
        status = st.radio("Queue", STATUSES, key="label_status", on_change=_refresh,
                          format_func=lambda s: {"conflict": "labels a model disputes"}.get(s, s))
        st.button("Refresh queue", on_click=_refresh, key="label_refresh")
    if "label_queue" not in st.session_state:
        st.session_state["label_queue"] = [item.frame_id for item in review_queue(store, limit=200, status=status)]
        st.session_state["label_pos"] = 0
    queue = st.session_state["label_queue"]
    message = st.session_state.pop("label_message", None)
    with left:
        if message:
            (st.error if message.startswith("error: ") else st.success)(message.removeprefix("error: "))
        if not queue:
            st.info("Nothing in this queue. Add frames above, or pick another queue.")
        else:
            position = min(st.session_state.get("label_pos", 0), len(queue) - 1)
            record = store.frame(queue[position])
            predictions = store.predictions(record.id)
            # in a code span: a source like progression.mp4@7.000s would otherwise render as a mailto link
            caption = f"{position + 1} of {len(queue)}: frame {record.id}, `{record.source}`"
            try:
                image = read_frame(record.path, 0).image
            except Exception as error:  # noqa: BLE001 - one broken frame file must not stop the queue
                image = None
                st.error(f"{caption}: its file {record.path} cannot be shown ({error}). Go on with Next; "
                         "it can be labeled when its file is back.")
            if image is not None:
                st.image(annotate_frame(image, None, None, None if record.box is None else record.box),
                         caption=caption)
            label = record.chord or "unlabeled"
            answers = ", ".join(f"{p.model}: {p.chord} {p.probability:.2f}" if p.covered else f"{p.model}: no hand"
                                for p in predictions) or "no model has seen it"
            st.markdown(f"**Label: {label}** &nbsp; Suggestions: {answers}")
            if image is not None:
                show_neighbours(store, record)

    if queue:
        # Every chord model in the sidebar (the suggestions' models are among them), image models too: each
        # suggestion has its button. A card lists its classes; the sample model's is written when it is built.
        classes = [c for m in chosen_models("chord") for c in m.classes or chord_model(m).classes]
        chords = label_chords(classes, list(stats.chords))
        keys = chord_keys(chords)
        covered = [p for p in predictions if p.covered]
        suggestion = covered[0].model if covered else None  # newest first: the set's answer, not its members'
        nav = st.columns(4)
        nav[0].button("Previous", shortcut="Left", on_click=_act, args=("previous",), key="label_previous",
                      disabled=position == 0)
        nav[1].button("Accept suggestion", shortcut="Enter", type="primary", on_click=_act,
                      args=("accept", record.id, None, suggestion), key="label_accept",
                      disabled=not covered or image is None)
        nav[2].button("Next", shortcut="Right", on_click=_act, args=("next",), key="label_next",
                      disabled=position >= len(queue) - 1)
        nav[3].button("Undo my last label", shortcut="Z", on_click=_act, args=("undo",), key="label_undo")
        per_row = 6  # at 1400 px, a button with its shortcut hint needs about a sixth of the main column
        columns = [column for start in range(0, len(chords), per_row) for column in st.columns(per_row)]
        for column, chord in zip(columns, chords):
            column.button(chord, shortcut=keys[chord], on_click=_act, args=("set", record.id, chord),
                          key=f"label_chord_{chord}", type="primary" if chord == record.chord else "secondary",
                          disabled=image is None)
        with st.expander("History of this frame"):
            st.dataframe([{"when": e.created_at, "chord": e.chord, "by": e.author, "how": e.origin,
                           "undone": e.undone_at or ""} for e in store.history(record.id)], hide_index=True)

    with st.expander("Retrain your taught model with these labels"):
        retrain_panel(store)

    st.subheader("Snapshots and export")
    s1, s2 = st.columns(2)
    with s1:
        name = st.text_input("Snapshot name", value=f"labels-{datetime.now():%Y%m%d-%H%M%S}", key="snapshot_name")
        if st.button("Take snapshot", key="snapshot_take", disabled=stats.labeled == 0):
            try:
                snapshot = store.create_snapshot(name)
                st.session_state["export_snapshot"] = snapshot.name  # the new snapshot is the one to export
                st.success(f"Snapshot {snapshot.name}: {snapshot.n_frames} frames.")
            except Exception as error:  # noqa: BLE001
                show_error(error)
    snapshots = [s.name for s in store.snapshots()]
    with s2:
        chosen = st.selectbox("Snapshot", snapshots[::-1], key="export_snapshot")
        fmt = st.selectbox("Format", FORMATS, key="export_format")
        if chosen and st.button("Prepare export", key="export_prepare"):
            st.session_state.pop("export_file", None)  # never offer an earlier export under this one's name
            try:
                out = derived_path("exports", root, chosen, fmt)
                if fmt == "csv":  # one file, offered as it is
                    target = out / f"{chosen}.csv"
                    if not target.exists():
                        out.mkdir(parents=True, exist_ok=True)
                        export_snapshot(store, chosen, target, fmt)
                else:
                    target = out.with_suffix(".zip")
                    if not target.exists():
                        shutil.rmtree(out, ignore_errors=True)
                        export_snapshot(store, chosen, out / chosen, fmt)
                        shutil.make_archive(str(out), "zip", out)
                st.session_state["export_file"] = (chosen, fmt, str(target))
            except Exception as error:  # noqa: BLE001
                show_error(error)
        prepared = st.session_state.get("export_file")
        if prepared and prepared[:2] == (chosen, fmt) and Path(prepared[2]).exists():
            path = Path(prepared[2])
            csv = path.suffix == ".csv"
            st.download_button(f"Download export ({'csv' if csv else 'zip'})", path.read_bytes(),
                               f"{chosen}.csv" if csv else f"{chosen}-{fmt}.zip",
                               "text/csv" if csv else "application/zip", key="export_download")
        if chosen:
            train_landmarks_button(store, chosen, key="label_retrain")
finally:
    store.close()
