"""Analyze: a clip in (a sample or an upload), the chord timeline out; the annotated video, a frame
browser with the fretboard box, hand landmarks and each model's probabilities, and downloads.

The models come from the sidebar's choice: a landmark model, an image model (CNN or transformers) or
both (fused per frame), and optionally a fretboard detector.
"""

import json
from pathlib import Path

import streamlit as st

from app_pages.ui.cache import analysis_for, frame_image, model_set
from app_pages.ui.files import derived_path, digest_of, session_dir
from app_pages.ui.messages import show_error, synthetic_note
from app_pages.ui.pickers import MODEL_SLOTS, model_choice
from app_pages.ui.recall import forget, remember
from app_pages.ui.sidebar import chosen_models, fps
from app_pages.ui.state import current_analysis
from pipeline.core.config import get_studio_settings
from pipeline.core.errors import InputError
from pipeline.figures import PLOTLY_CONFIG, answers_figure, selected_time, timeline_figure
from pipeline.models.catalogue import NONE
from pipeline.models.evaluation import score_timeline
from pipeline.samples import fretboard_boxes, ground_truth, sample_clips, sample_twin
from pipeline.text import (
    NO_HAND_IN_FRAME,
    STUDIO_TEACH_REMEDY,
    fretboard_message,
    fusion_note,
    no_hand_image_decides,
    no_hand_message,
    unfamiliar_message,
)
from pipeline.uploads import check_clip, save_upload
from pipeline.vision.drawing import annotate_frame, frame_box, write_annotated_video
from pipeline.vision.hands import default_hand_workers, start_hand_workers

st.title("Analyze a clip")
limits = get_studio_settings()
if not chosen_models("chord"):
    st.warning("Choose a landmark or an image model in the sidebar: the analysis needs one.")
    st.stop()
# The hand-detection processes import MediaPipe while the user picks a clip, not after the click (once per process).
start_hand_workers(default_hand_workers())

samples = sample_clips()
kept = st.session_state.get("current")
kept_path = Path(kept["path"]) if kept else None
if kept and "analyze_source" not in st.session_state:
    # Back on the page (Streamlit dropped its widgets' state), or a reload brought the analysis back: the
    # controls show what produced the result below them.
    st.session_state["analyze_source"] = "Sample clip" if kept_path in samples else "Upload"
    if kept_path in samples:
        st.session_state["analyze_sample"] = kept_path
    st.session_state["analyze_start"] = float(kept.get("start") or 0.0)
    st.session_state["analyze_end"] = float(kept.get("end") or 0.0)
    for slot in MODEL_SLOTS:
        st.session_state[f"analyze_{slot}"] = kept.get("models", {}).get(slot) or NONE

left, right = st.columns([2, 1])
with left:
    source = st.radio("Clip", ["Sample clip", "Upload"], horizontal=True, key="analyze_source")
    path = None
    if source == "Sample clip":
        path = st.selectbox("Sample clip", samples, format_func=lambda p: p.name, key="analyze_sample")
    else:
        upload = st.file_uploader(
            f"A video or image (up to {limits.max_upload_mb:.0f} MB and {limits.max_seconds / 60:g} minutes)",
            key="analyze_upload")
        if upload is not None:
            try:
                path = save_upload(upload.getvalue(), upload.name, session_dir("uploads"), limits)
            except InputError as error:
                st.error(str(error))
                forget()  # the result below was not this upload's
        elif kept_path is not None and kept_path not in samples and kept_path.exists():
            path = kept_path  # the upload analysed below: the browser forgets the file, the studio keeps it
            st.caption(f"Analysed upload: **{kept_path.name}**; upload another clip to replace it.")
    start = st.number_input("Start (s)", 0.0, step=1.0, key="analyze_start",
                            **({} if "analyze_start" in st.session_state else {"value": 0.0}))
    end = st.number_input("End (s, 0 = to the end)", 0.0, step=1.0, key="analyze_end",
                          **({} if "analyze_end" in st.session_state else {"value": 0.0}))
with right:
    choice = model_choice("analyze", side_by_side=False)
    if choice is None:
        st.warning("Choose a landmark model, an image model or both.")

rate = fps()
if st.button("Analyze", type="primary", disabled=path is None or choice is None, key="analyze_run"):
    bar = st.progress(0.0, text="Finding hands and chords...")
    try:
        check_clip(path, start or None, end or None, limits)
        analysis_for(Path(path), choice, rate, start or None, end or None,
                     progress=lambda f: bar.progress(f, text=f"Finding hands and chords... {100 * f:.0f}%"))
        st.session_state["current"] = {"path": str(path), "models": choice.names, "fps": rate,
                                       "start": start or None, "end": end or None}
        st.session_state["frame_index"] = 0
        st.session_state["_video_start"] = None  # a new clip plays from its start; an old click is not a seek
        st.session_state["_seek_applied"] = selected_time(st.session_state.get("timeline_chart"))
        remember(st.session_state["current"])  # a reload of the page brings it back
    except Exception as error:  # noqa: BLE001 - every failure becomes a message, never a traceback
        show_error(error)
        forget()  # the result below would not be what the controls show
    finally:
        bar.empty()

try:
    found = current_analysis()
except Exception as error:  # noqa: BLE001
    show_error(error)
    st.stop()
if found is None:
    st.caption("Choose a clip and press **Analyze**.")
    st.stop()
clip, choice, analysis = found
current = st.session_state["current"]

st.subheader(f"{clip.name} with {choice.label}")
for entry in choice.chord_models:
    synthetic_note(entry)
if analysis.clip.warning:  # a truncated clip: analysed as far as it goes (the CLI and the Space say it too)
    st.warning(analysis.clip.warning)
message = no_hand_message(analysis)
if message and choice.image is None:
    st.error(message)
    st.stop()
if message:
    st.warning(no_hand_image_decides(len(analysis.frames)))
message = fretboard_message(analysis)
if message:
    st.error(message)
message = unfamiliar_message(analysis, STUDIO_TEACH_REMEDY,
                             {slot: entry.name for slot, entry in choice.slots.items() if entry is not None})
if message:
    st.warning(message)

sample = sample_twin(clip)  # a sample clip, or an upload of one: known by its bytes
truth = ground_truth(sample) if sample else None
n = len(analysis.frames)
familiar = analysis.familiar_share
cols = st.columns(5 + (familiar is not None) + bool(choice.detector))
cols[0].metric("Length", f"{analysis.clip.duration:.1f} s" if not analysis.clip.is_image else "still")
cols[1].metric("Frames sampled", n)
cols[2].metric("Frames with a hand", f"{100 * analysis.hand_share:.0f} %")
cols[3].metric("Chord segments", len(analysis.timeline.segments))
if truth is not None:
    score = score_timeline(analysis.timeline, truth)
    cols[4].metric("Right vs ground truth", f"{100 * score.frame_accuracy:.0f} %",
                   help=f"share of time with the right chord; segment F1 {score.segment_f1:.2f}")
if familiar is not None:
    cols[5].metric("Frames familiar to the models", f"{100 * familiar:.0f} %",
                   help="share of the decided frames like those the models learned from; elsewhere "
                        "the chords are guesses (grey, hatched in the timeline)")
if choice.detector:
    with_box = sum(f.fretboard is not None and not f.fretboard.empty for f in analysis.frames)
    cols[-1].metric("Frames with a fretboard", f"{100 * with_box / n:.0f} %")

if st.session_state.get("frame_index", 0) >= n:
    st.session_state["frame_index"] = 0
# Seeking: a click on a segment (or a frame's marker) moves the frame browser and the video there.
seek = selected_time(st.session_state.get("timeline_chart"))
if seek is not None and seek != st.session_state.get("_seek_applied"):
    st.session_state["_seek_applied"] = st.session_state["_video_start"] = seek
    st.session_state["frame_index"] = min(range(n), key=lambda k: abs(analysis.frames[k].time - seek))
index = st.session_state.get("frame_index", 0)
st.plotly_chart(timeline_figure(analysis, truth, selected=analysis.frames[index].time), key="timeline_chart",
                config=PLOTLY_CONFIG, on_select="rerun", selection_mode="points")
st.caption("Click a segment or a frame's marker to go there in the video and the frame browser.")

video_col, frame_col = st.columns(2)
boxes = fretboard_boxes(sample) if sample else {}
with video_col:
    if not analysis.clip.is_image:
        video = derived_path("videos", digest_of(clip), choice.key, current["fps"], current["start"],
                             current["end"]).with_suffix(".mp4")
        if not video.exists():
            with st.spinner("Drawing the annotated video..."):
                write_annotated_video(analysis, video, boxes)
        seek = st.session_state.get("_video_start")
        st.video(str(video), start_time=float(seek) if seek is not None else 0, autoplay=seek is not None)
        st.caption(f"The {n} sampled frames at {current['fps']:g} per second, with the fretting hand, "
                   "the fretboard box, the chord and its probability.")
with frame_col:
    if n > 1:
        index = st.slider("Sampled frame", 0, n - 1, key="frame_index",
                          help="The sampled frames' numbers; the caption gives the frame's number in the video too.")
    frame = analysis.frames[index]
    image = frame_image(digest_of(clip), frame.time, str(clip))
    box, box_source = frame_box(frame, boxes)
    detector = choice.detector.name if choice.detector else ""
    label = (frame.chord, frame.prediction.probabilities.get(frame.chord, 0.0))
    st.image(annotate_frame(image, frame.hands, label, box),
             caption=f"sampled frame {index} of {n}: video frame {frame.index} at {frame.time:.2f} s: {frame.chord} "
                     f"(this frame alone: {frame.prediction.chord}, p {frame.prediction.probability:.2f})")
    if box_source == "detector":
        note = f"Fretboard box: {detector}, score {frame.fretboard.best_score:.2f}."
    elif box_source == "detector: none":
        note = f"Fretboard box: {detector} found no fretboard in this frame."
    elif box_source == "truth":
        note = "Fretboard box: the sample's ground truth (no detector chosen)."
    else:
        note = "No fretboard detector chosen: add a trained detector's folder (best.pt) in the sidebar."
    if frame.region is not None:
        seen = "whole frame" if frame.region.source == "frame" else f"{frame.region.source} region"
        note += f" The image model saw the {seen}."
    st.caption(note)

    # Each model's answer for this frame alone, and the fused one.
    names = {slot: entry.name for slot, entry in choice.slots.items() if entry is not None}
    answers = {f"{names[slot]} ({slot})": (slot, p.probabilities if p.covered else {})
               for slot, p in frame.by_model.items()}
    if choice.fused:
        answers["fused"] = ("fused", frame.prediction.probabilities if frame.prediction.covered else {})
    st.plotly_chart(answers_figure(answers, analysis.classes), key="frame_probabilities",
                    config=PLOTLY_CONFIG)
    rows = [{"model": label, "chord": max(probs, key=probs.get) if probs else "no hand",
             "p": max(probs.values()) if probs else None, **{c: probs.get(c) for c in analysis.classes}}
            for label, (_, probs) in answers.items()]
    st.dataframe(rows, hide_index=True, key="frame_models",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ["p", *analysis.classes]})
    if choice.fused:
        st.caption(fusion_note(model_set(choice).weights))
    elif not frame.prediction.covered:
        st.caption(NO_HAND_IN_FRAME)
    if st.button("Explain this frame", key="explain_frame_button"):
        st.session_state["explain_index"] = index
        st.switch_page("app_pages/explain.py")

st.subheader("Downloads")
stem = clip.stem
d1, d2, d3 = st.columns(3)
d1.download_button("Timeline (JSON)", json.dumps(analysis.timeline.to_dict(), indent=2), f"{stem}.timeline.json",
                   "application/json", key="download_timeline")
d2.download_button("Frames (CSV)", analysis.frames_csv(), f"{stem}.frames.csv", "text/csv", key="download_frames")
if not analysis.clip.is_image:
    d3.download_button("Annotated video (MP4)", video.read_bytes(), f"{stem}.annotated.mp4", "video/mp4",
                       key="download_video")
