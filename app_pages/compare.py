"""Compare: the chosen chord models side by side on one labeled set (the sample clips' ground truth, the
real frames' val split, or a snapshot of the label store): metrics table, per-class F1, confusion matrices.

Landmark and image models alike, each alone, and each landmark model fused with each image model (as
Analyze fuses them) (:func:`pipeline.compare.scoring.evaluate_models`). The "Embeddings" section draws t-SNE / PCA
maps of each model's embeddings of the same frames (:func:`pipeline.compare.report.compare_models`); a click on a
point shows its frame beside the maps, with its true chord and each model's answer.
"""

from pathlib import Path

import streamlit as st

from app_pages.ui.cache import chord_model
from app_pages.ui.messages import show_error, synthetic_note
from app_pages.ui.sidebar import chosen_models, data_dir
from labeling.sets import labeled_sets, load_labeled_set
from labeling.store import LabelStore
from pipeline.compare.comparison import frame_answers
from pipeline.compare.report import compare_models
from pipeline.compare.scoring import evaluate_models
from pipeline.figures import PLOTLY_CONFIG, confusion_figure, maps_figure, selected_map_frame
from pipeline.text import MAP_CLICK_HINT, map_frame_lines
from pipeline.vision.video import read_image

st.title("Compare models")
models = chosen_models("chord")
if not models:
    st.warning("Choose one or more chord models (landmark or image models) in the sidebar.")
    st.stop()


@st.cache_data(show_spinner="Finding the hands in the labeled frames...", max_entries=8)
def labeled_frames(name: str, root: str, snapshot_key: str):
    """A labeled set with its hands, cached by name and store (snapshots never change)."""
    with LabelStore(root) as store:
        return load_labeled_set(name, store)


@st.cache_data(show_spinner="Scoring the models on the labeled frames...", max_entries=16)
def model_reports(fingerprint: str, keys: tuple[str, ...], _frames, _models):
    """Each model's (and each fused pair's) scores, cached by the set's fingerprint and the models' keys."""
    return evaluate_models(_models, _frames)


@st.cache_data(show_spinner="Embedding the frames and computing the maps...", max_entries=4)
def embedding_maps(fingerprint: str, keys: tuple[str, ...], _frames, _models):
    """The comparison behind the t-SNE / PCA maps of the models' embeddings of the set's frames (embeddings
    cached on disk too)."""
    return compare_models(list(_models), _frames.images, hands=_frames.hands, thumbnails=False)


def show_map_frame(comparison, number: int) -> None:
    """The clicked frame beside the maps: the image, its true chord and each model's answer."""
    frame = comparison.frames[number]
    lines = map_frame_lines(number, Path(frame.path).name, frame.chord, frame_answers(comparison, number))
    st.image(read_image(frame.path), caption=lines[0].replace("**", "").replace("`", ""), width="stretch",
             output_format="PNG")  # the frame as it is (a JPEG would blur it)
    st.markdown("\n".join(lines[1:]))  # the caption says which frame; these, each model's answer


try:
    with LabelStore(data_dir()) as store:
        sets = labeled_sets(store)
        snapshot_key = ",".join(s.fingerprint for s in store.snapshots())
except Exception as error:  # noqa: BLE001
    show_error(error)
    st.stop()

entries = {m.name: m for m in models}
a, b = st.columns([1, 2])
chosen_set = a.selectbox("Labeled set", sets, key="compare_set")
names = b.multiselect("Models", list(entries), default=list(entries), key="compare_models",
                      format_func=lambda n: f"{n} ({entries[n].kind})",
                      help="Landmark and image models; each landmark model is also fused with each image model.")
if not names:
    st.caption("Choose one or more models.")
    st.stop()
pressed = st.button("Compare", type="primary", key="compare_run")
if not pressed and st.session_state.get("compared") != (chosen_set, names):
    st.caption("Choose a labeled set and the models, then press **Compare**.")
    st.stop()
st.session_state["compared"] = (chosen_set, names)

try:
    frames = labeled_frames(chosen_set, str(data_dir()), snapshot_key)
    loaded = [(name, chord_model(entries[name])) for name in names]
    keys = tuple(entries[name].key for name in names)
    reports = model_reports(frames.fingerprint, keys, frames, loaded)
except Exception as error:  # noqa: BLE001
    show_error(error)
    st.stop()

st.caption(f"{len(frames.truth)} frames of {chosen_set}. Accuracy counts a frame a model cannot decide (a landmark "
           "model without a hand) as None; covered accuracy is on the frames it decided. A fused row pools a "
           "landmark and an image model per frame, weighted by their held-out accuracy, as Analyze does.")
for name in names:
    synthetic_note(entries[name])
number = st.column_config.NumberColumn(format="%.3f")
st.dataframe([{"model": name, "kind": entries[name].kind if name in entries else "fused", "frames": r.n,
               "accuracy": r.accuracy, "coverage": r.coverage, "covered accuracy": r.covered_accuracy,
               "macro F1": r.macro_f1} for name, r in reports.items()],
             hide_index=True, key="compare_metrics",
             column_config={c: number for c in ("accuracy", "coverage", "covered accuracy", "macro F1")})
st.dataframe([{"model": name, **r.per_class_f1} for name, r in reports.items()], hide_index=True, key="compare_f1",
             column_config={c: st.column_config.NumberColumn(format="%.2f")
                            for r in reports.values() for c in r.per_class_f1})
columns = st.columns(min(3, max(1, len(reports))))
for k, (name, report) in enumerate(reports.items()):
    with columns[k % len(columns)]:
        st.plotly_chart(confusion_figure(report, name), key=f"confusion_{name}", config=PLOTLY_CONFIG)

st.subheader("Embeddings")
st.caption("Each model's embedding of the same frames (a landmark model's hand features, an image model's "
           "penultimate layer), mapped to 2-D; for any ImageFolder tree as an HTML report: "
           "`python -m pipeline compare --models ... --data DIR --out report.html`.")
if st.button("Draw the embedding maps", key="compare_maps"):
    st.session_state["compare_maps_for"] = (chosen_set, names)
    st.session_state.pop("compare_frame", None)  # a frame index of other maps
if st.session_state.get("compare_maps_for") == (chosen_set, names):
    try:
        comparison = embedding_maps(frames.fingerprint, keys, frames, loaded)
    except Exception as error:  # noqa: BLE001
        show_error(error)
        st.stop()
    map_place, frame_place = st.columns([3, 1])
    with map_place:
        # A click selects a point; its customdata starts with the frame's index (pipeline.figures.maps_figure).
        event = st.plotly_chart(maps_figure(comparison), key="compare_maps_figure", config=PLOTLY_CONFIG,
                                on_select="rerun", selection_mode="points")
    picked = selected_map_frame(event, len(comparison.frames))
    if picked is not None:
        st.session_state["compare_frame"] = picked
    number = st.session_state.get("compare_frame")
    with frame_place:
        if number is None or not 0 <= number < len(comparison.frames):
            st.caption(MAP_CLICK_HINT)
        else:
            show_map_frame(comparison, number)
