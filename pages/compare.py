"""Compare: the chosen models side by side on one labeled set (the sample clips' ground truth, the real
frames' val split, or a snapshot of the label store): metrics table, per-class F1, confusion matrices.

The "Embeddings" section draws t-SNE / PCA maps of each model's embeddings of the same frames
(:func:`pipeline.compare.compare_models`) for sets that are image files (the real frames' val split).
"""

import streamlit as st

from labeling.store import LabelStore
from pages import common as ui
from pipeline.config import get_settings
from pipeline.studio import REAL_SET, evaluate_landmark_model, labeled_sets, load_labeled_set

st.title("Compare models")
models = ui.chosen_models()
if not models:
    st.warning("Choose one or more landmark models in the sidebar.")
    st.stop()


@st.cache_data(show_spinner="Finding the hands in the labeled frames...", max_entries=8)
def labeled_frames(name: str, root: str, snapshot_key: str):
    """A labeled set with its hands, cached by name and store (snapshots never change)."""
    with LabelStore(root) as store:
        return load_labeled_set(name, store)


try:
    with LabelStore(ui.data_dir()) as store:
        sets = labeled_sets(store)
        snapshot_key = ",".join(s.fingerprint for s in store.snapshots())
except Exception as error:  # noqa: BLE001
    ui.show_error(error)
    st.stop()

a, b = st.columns([1, 2])
chosen_set = a.selectbox("Labeled set", sets, key="compare_set")
names = b.multiselect("Models", [m.name for m in models], default=[m.name for m in models], key="compare_models")
if not st.button("Compare", type="primary", key="compare_run") and st.session_state.get("compared") != (chosen_set, names):
    st.caption("Choose a labeled set and the models, then press **Compare**.")
    st.stop()
st.session_state["compared"] = (chosen_set, names)

try:
    frames = labeled_frames(chosen_set, str(ui.data_dir()), snapshot_key)
    entries = {m.name: m for m in models}
    reports = {name: evaluate_landmark_model(ui.landmark_model(entries[name]), frames) for name in names}
except Exception as error:  # noqa: BLE001
    ui.show_error(error)
    st.stop()

st.caption(f"{len(frames.truth)} frames of {chosen_set}. Accuracy counts frames without a hand as None; "
           "covered accuracy is on the frames where the model could decide.")
for name in names:
    ui.synthetic_note(entries[name])
st.dataframe([{"model": name, "frames": r.n, "accuracy": round(r.accuracy, 3), "coverage": round(r.coverage, 3),
               "covered accuracy": round(r.covered_accuracy, 3), "macro F1": round(r.macro_f1, 3)}
              for name, r in reports.items()], hide_index=True, key="compare_metrics")
st.dataframe([{"model": name, **{c: round(f, 2) for c, f in r.per_class_f1.items()}} for name, r in reports.items()],
             hide_index=True, key="compare_f1")
columns = st.columns(min(3, max(1, len(reports))))
for k, (name, report) in enumerate(reports.items()):
    with columns[k % len(columns)]:
        st.plotly_chart(ui.confusion_figure(report, name), key=f"confusion_{name}")

st.subheader("Embeddings")


@st.cache_data(show_spinner="Embedding the frames and computing the maps...", max_entries=4)
def embedding_maps(folders: tuple[str, ...], root: str):
    """t-SNE / PCA maps of the models' embeddings of the real val frames (cached embeddings on disk)."""
    from pipeline.compare import compare_models, maps_figure

    return maps_figure(compare_models(list(folders), root, split="val", thumbnails=False))


folders = tuple(str(entries[name].folder) for name in names if entries[name].folder is not None)
if chosen_set != REAL_SET:
    st.caption("Maps of the models' embeddings are drawn for image-file sets (the real frames' val split); "
               "for any ImageFolder tree: `python -m pipeline compare --models ... --data DIR --out report.html`.")
elif not folders:
    st.caption("The chosen models have no folder yet (the sample model is built on first analysis).")
elif st.button("Draw the embedding maps", key="compare_maps"):
    try:
        st.plotly_chart(embedding_maps(folders, str(get_settings().real_data)), key="compare_maps_figure")
    except Exception as error:  # noqa: BLE001
        ui.show_error(error)
