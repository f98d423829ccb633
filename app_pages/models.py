"""Models: every model the studio can find (the sample model, models trained on this machine, models
retrained from label snapshots, folders named in the sidebar) with its card and scores; training a
landmark or CNN model from a folder of labeled frames and a landmark model from a snapshot, in the page with
progress (a failure says why), and any kind from a snapshot as a background job."""

import streamlit as st

from app_pages.ui.messages import show_error, synthetic_note
from app_pages.ui.sidebar import available_models, chosen_models, data_dir
from app_pages.ui.training import train_folder_form, train_landmarks_button
from labeling.store import LabelStore
from labeling.train import job_status, start_job
from pipeline.core.config import get_settings
from pipeline.models.catalogue import SAMPLE, card_rows

st.title("Models")
entries = available_models()
chosen = {e.name for e in chosen_models(None)}
st.dataframe([{"model": e.name, "kind": e.kind, "chosen": e.name in chosen,
               "synthetic": e.synthetic, "folder": str(e.folder),
               "classes": " ".join(e.card.get("classes", [])),
               # None, not "": one column of numbers (Arrow refuses a mix and logs a traceback)
               "CV accuracy": e.card.get("cv_accuracy", e.card.get("metrics", {}).get("holdout_accuracy")),
               "trained": e.card.get("created", e.card.get("date", ""))} for e in entries],
             hide_index=True, key="models_table")
st.caption(f"Models trained here live in {get_settings().models_dir} and {data_dir() / 'models'}. "
           "Image models and detectors need a network to start from a hub backbone (`facebook/dinov2-small`, "
           "`yolov8n.pt`); trained folders load offline.")

entry = st.selectbox("Card of", entries, format_func=lambda e: e.name, key="models_card")
if entry is not None:
    if entry.name == SAMPLE and not entry.card:
        st.info("The sample model is built on first use (about a minute) from synthetic renders of the sample "
                "clips' scenes; its card appears here once it is built.")
    else:
        synthetic_note(entry)
        st.dataframe([{"field": k, "value": v} for k, v in card_rows(entry.card)], hide_index=True,
                     key="models_card_table")

st.subheader("Train from a folder of labeled frames")
train_folder_form(data_dir() / "models", key="models_folder")

st.subheader("Train from a label snapshot")
try:
    store = LabelStore(data_dir())
except Exception as error:  # noqa: BLE001
    show_error(error)
    st.stop()
try:
    snapshots = [s.name for s in store.snapshots()][::-1]
    if not snapshots:
        st.info("No snapshot yet: label frames on the Label page and take a snapshot there.")
    else:
        snapshot = st.selectbox("Snapshot", snapshots, key="models_snapshot")
        train_landmarks_button(store, snapshot, key="models_train")
        kind = st.selectbox("Background job of kind", ["landmarks", "cnn", "image"], key="models_job_kind",
                            help="Runs `python -m pipeline train --kind KIND` on the snapshot's export in its own "
                                 "process; it keeps running when you leave the page.")
        if st.button("Start background job", key="models_job_start"):
            try:
                job = start_job(store, snapshot, kind)
                st.success(f"Job {job.id} started ({kind} on {snapshot}).")
            except Exception as error:  # noqa: BLE001
                show_error(error)
    jobs = [job_status(store, j.id) for j in store.jobs()[:20]]
    if jobs:
        st.button("Refresh jobs", key="models_jobs_refresh")
        st.dataframe([{"job": j.id, "kind": j.kind, "snapshot": j.snapshot, "status": j.status,
                       "progress": j.progress, "model": j.out, "started": j.started_at}
                      for j in jobs], hide_index=True, key="models_jobs")
finally:
    store.close()
