"""Explain: one frame of the analysed clip, its hand landmarks, and why each chosen model says what it
says: per-class probabilities and the top three, two models side by side.

The "Attribution" section shows which fingers decided each landmark model's chord (Captum feature
ablation over finger groups, :func:`pipeline.explain.explain_landmarks`), drawn on the hand.
"""

from pathlib import Path

import streamlit as st

from pages import common as ui
from pipeline.studio import annotate_frame

st.title("Explain a frame")
current = st.session_state.get("current")
entries = {e.name: e for e in ui.chosen_models()}
if not current or not Path(current["path"]).exists() or current["model"] not in entries:
    st.info("Analyze a clip first; then pick one of its frames here.")
    st.page_link("pages/analyze.py", label="Go to Analyze", icon=":material/movie:")
    st.stop()

clip = Path(current["path"])
analysis = ui.analysis_for(clip, entries[current["model"]], current["fps"], current["start"], current["end"])
n = len(analysis.frames)
if st.session_state.get("explain_index", 0) >= n:
    st.session_state["explain_index"] = 0
index = st.slider("Frame", 0, n - 1, key="explain_index") if n > 1 else 0
frame = analysis.frames[index]

names = list(entries)
chosen = st.multiselect("Models (up to two, side by side)", names, default=[current["model"]], max_selections=2,
                        key="explain_models")
classes = sorted({c for name in chosen for c in ui.landmark_model(entries[name]).classes},
                 key=lambda c: analysis.classes.index(c) if c in analysis.classes else 99)
target = st.selectbox("Target chord", ["(each model's top chord)"] + classes, key="explain_target")

image = ui.frame_image(ui.digest_of(clip), frame.time, str(clip))
picture, answers = st.columns([1, 1])
with picture:
    st.image(annotate_frame(image, frame.hands, None),
             caption=f"frame {frame.index} at {frame.time:.2f} s of {clip.name}; timeline chord {frame.chord}")
    hand = frame.hands.fretting
    if hand is None:
        st.warning("No hand was found in this frame: a landmark model has nothing to go on here.")
    else:
        st.caption(f"Fretting hand: {hand.handedness} as MediaPipe labels it, score {hand.score:.2f}; "
                   f"{len(frame.hands)} hand(s) in the frame.")

with answers:
    columns = st.columns(max(1, len(chosen)))
    for column, name in zip(columns, chosen):
        entry = entries[name]
        prediction = ui.landmark_model(entry).predict_one(frame.hands)
        with column:
            st.markdown(f"**{name}**" + (" (synthetic renders)" if entry.synthetic else ""))
            if not prediction.covered:
                st.caption("Cannot decide: no hand.")
                continue
            focus = prediction.chord if target.startswith("(") else target
            st.plotly_chart(ui.probability_figure(prediction.probabilities, focus), key=f"explain_probs_{name}")
            st.dataframe([{"chord": c, "probability": round(p, 3)} for c, p in prediction.top(3)],
                         hide_index=True, key=f"explain_top_{name}")
            if not target.startswith("(") and target not in prediction.probabilities:
                st.caption(f"{name} does not know {target}.")
            elif not target.startswith("("):
                st.caption(f"p({target}) = {prediction.probabilities[target]:.3f}")

st.subheader("Attribution: which fingers decided")
if hand is None:
    st.caption("No hand in this frame, so there is nothing to attribute.")
elif st.toggle("Show which fingers decided (Captum feature ablation over finger groups)", key="explain_fingers"):
    from pipeline.explain import FingerAnnotator, explain_landmarks

    columns = st.columns(max(1, len(chosen)))
    for column, name in zip(columns, chosen):
        with column:
            try:
                attribution = explain_landmarks(hand, ui.landmark_model(entries[name]),
                                                None if target.startswith("(") else target,
                                                width=image.shape[1], height=image.shape[0])
            except Exception as error:  # noqa: BLE001
                ui.show_error(error)
                continue
            st.image(FingerAnnotator().annotate(image, attribution),
                     caption=f"{name}: drop in p({attribution.target}) when a finger group is removed")
