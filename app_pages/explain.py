"""Explain: one frame of the analysed clip and why each chosen model says what it says: per-class
probabilities and the top three, two models side by side; for an image model the occlusion heatmap over
the frame (:func:`pipeline.explain.service.explain_frame`, cached per model, frame and target), for a landmark
model which fingers decided (Captum feature ablation over finger groups, drawn on the hand).
"""

import streamlit as st

from app_pages.ui.cache import chord_model, frame_image, image_answer, occlusion
from app_pages.ui.files import digest_of
from app_pages.ui.messages import show_error
from app_pages.ui.sidebar import chosen_models
from app_pages.ui.state import current_analysis
from pipeline.explain.service import evidence_size, explain_landmarks, too_small_to_draw
from pipeline.figures import PLOTLY_CONFIG, probability_figure
from pipeline.models.catalogue import IMAGE_KINDS
from pipeline.text import HEATMAP_SCALE, NO_HAND_IN_FRAME, NO_HAND_TO_ATTRIBUTE, heatmap_caption, too_small_note
from pipeline.vision.drawing import annotate_frame, frame_box
from pipeline.vision.overlays import FingerAnnotator, HeatmapAnnotator, side_by_side

PREDICTED = "(each model's top chord)"

st.title("Explain a frame")
try:
    found = current_analysis()
except Exception as error:  # noqa: BLE001 - a model folder that no longer loads, say
    show_error(error)
    st.stop()
if found is None:
    st.info("Analyze a clip first; then pick one of its frames here.")
    st.page_link("app_pages/analyze.py", label="Go to Analyze", icon=":material/movie:")
    st.stop()
clip, choice, analysis = found

n = len(analysis.frames)
if st.session_state.get("explain_index", 0) >= n:
    st.session_state["explain_index"] = 0
index = st.slider("Sampled frame", 0, n - 1, key="explain_index",
                  help="The sampled frames' numbers, as on Analyze; the caption gives the frame's number in the "
                       "video too.") if n > 1 else 0
frame = analysis.frames[index]

entries = {e.name: e for e in chosen_models("chord")}
chosen = st.multiselect("Models (up to two, side by side)", list(entries), max_selections=2, key="explain_models",
                        default=[e.name for e in choice.chord_models if e.name in entries][:2],
                        help="Any landmark or image models chosen in the sidebar, not only the analysis's.")
models = {}
for name in chosen:
    try:
        models[name] = chord_model(entries[name])
    except Exception as error:  # noqa: BLE001 - a folder that fails to load: say so, explain the others
        show_error(error)
classes = sorted({c for model in models.values() for c in model.classes},
                 key=lambda c: analysis.classes.index(c) if c in analysis.classes else 99)
target = st.selectbox("Target chord", [PREDICTED] + classes, key="explain_target",
                      help="The chord to explain: by default each model's own top chord.")
wanted = None if target == PREDICTED else target

digest = digest_of(clip)
detector_key = choice.detector.key if choice.detector else "-"
image = frame_image(digest, frame.time, str(clip))
picture, answers = st.columns([1, 1])
with picture:
    st.image(annotate_frame(image, frame.hands, None, frame_box(frame)[0]),
             caption=f"sampled frame {index} of {n}: video frame {frame.index} at {frame.time:.2f} s of {clip.name}; "
                     f"timeline chord {frame.chord}; "
                     f"{'fused' if choice.fused else 'model'} answer for this frame {frame.prediction.chord} "
                     f"(p {frame.prediction.probability:.2f})")
    hand = frame.hands.fretting
    if hand is None:
        st.warning(NO_HAND_IN_FRAME)
    else:
        st.caption(f"Fretting hand: {hand.handedness} as MediaPipe labels it, score {hand.score:.2f}; "
                   f"{len(frame.hands)} hand(s) in the frame.")

with answers:
    columns = st.columns(max(1, len(models)))
    for column, (name, model) in zip(columns, models.items()):
        entry = entries[name]
        with column:
            st.markdown(f"**{name}** ({entry.kind})" + (" (synthetic renders)" if entry.synthetic else ""))
            slot = "image" if entry.kind in IMAGE_KINDS else "landmarks"
            own = choice.slots[slot]
            try:
                if own is not None and own.key == entry.key and slot in frame.by_model:
                    prediction = frame.by_model[slot]  # the analysis's own model: its answer is stored
                elif slot == "image":
                    prediction = image_answer(entry.key, digest, frame.time, detector_key, model, frame, image)
                else:
                    prediction = model.predict_one(frame.hands)
            except Exception as error:  # noqa: BLE001
                show_error(error)
                continue
            if not prediction.covered:
                st.caption("Cannot decide: no hand.")
                continue
            focus = prediction.chord if wanted is None else wanted
            st.plotly_chart(probability_figure(prediction.probabilities, focus), key=f"explain_probs_{name}",
                            config=PLOTLY_CONFIG)
            st.dataframe([{"chord": c, "probability": round(p, 3)} for c, p in prediction.top(3)],
                         hide_index=True, key=f"explain_top_{name}")
            if wanted is not None and wanted not in prediction.probabilities:
                st.caption(f"{name} does not know {wanted}.")
            elif wanted is not None:
                st.caption(f"p({wanted}) = {prediction.probabilities[wanted]:.3f}")

st.subheader("Where the image model looks: occlusion heatmap")
image_names = [name for name in models if entries[name].kind in IMAGE_KINDS]
if not image_names:
    st.caption("No image model chosen above: heatmaps show where an image model (CNN or transformers) looks. "
               "Landmark models read the hand; see which fingers decided below.")
elif st.toggle("Show the occlusion heatmap", value=True, key="explain_heatmap",
               help="Slides a window over the frame, blacks out what it covers and records how much the target "
                    "chord's probability drops. Computed once per model, frame and target."):
    attributions = {}
    for name in image_names:
        model = models[name]
        if wanted is not None and wanted not in model.classes:
            st.caption(f"{name} does not know {wanted}: nothing to explain.")
            continue
        try:
            with st.spinner(f"Occluding the frame for {name} (a CNN takes a fraction of a second, a ViT seconds)..."):
                attributions[name] = occlusion(entries[name].key, digest, frame.time, wanted, detector_key,
                                                  model, frame, image)
        except Exception as error:  # noqa: BLE001
            show_error(error)
    for name, attribution in list(attributions.items()):
        if too_small_to_draw(attribution):  # a colour scale stretched over noise would mislead
            st.info(f"{name}: " + too_small_note("heatmap", attribution.target, attribution.probability,
                                                 evidence_size(attribution)), icon=":material/info:")
            del attributions[name]
    if attributions:
        names = list(attributions)
        if len(names) == 2:
            titles = [f"{name}: {a.target} p={a.probability:.2f}" for name, a in attributions.items()]
            st.image(side_by_side(image, list(attributions.values()), titles, HeatmapAnnotator()),
                     caption=" | ".join(heatmap_caption(name, a) for name, a in attributions.items()))
        else:
            attribution = attributions[names[0]]
            st.image(HeatmapAnnotator().annotate(image, attribution), caption=heatmap_caption(names[0], attribution))
        st.caption(HEATMAP_SCALE)

st.subheader("Attribution: which fingers decided")
landmark_names = [name for name in models if entries[name].kind == "landmarks"]
if not landmark_names:
    st.caption("No landmark model chosen above: finger attribution is for landmark models.")
elif hand is None:
    st.caption(NO_HAND_TO_ATTRIBUTE)
elif st.toggle("Show which fingers decided (Captum feature ablation over finger groups)", key="explain_fingers"):
    columns = st.columns(max(1, len(landmark_names)))
    for column, name in zip(columns, landmark_names):
        with column:
            try:
                attribution = explain_landmarks(hand, models[name], wanted, width=image.shape[1], height=image.shape[0])
            except Exception as error:  # noqa: BLE001
                show_error(error)
                continue
            if too_small_to_draw(attribution):
                st.info(f"{name}: " + too_small_note("fingers", attribution.target, attribution.probability,
                                                     evidence_size(attribution)), icon=":material/info:")
                continue
            st.image(FingerAnnotator().annotate(image, attribution),
                     caption=f"{name}: drop in p({attribution.target}) when a finger group is removed")
