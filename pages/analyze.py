"""Analyze: a clip in (a sample or an upload), the chord timeline out; the annotated video, a frame
browser with the fretboard box, hand landmarks and probabilities, and downloads."""

import io
import csv
import json
from pathlib import Path

import streamlit as st

from pages import common as ui
from pipeline.errors import InputError
from pipeline.evaluation import score_timeline
from pipeline.studio import (
    check_clip, fretboard_boxes, get_studio_settings, ground_truth, no_hand_message, sample_clips, save_upload,
    annotate_frame, write_annotated_video,
)

st.title("Analyze a clip")
limits = get_studio_settings()
models = ui.chosen_models()
if not models:
    st.warning("Choose a landmark model in the sidebar: the analysis needs one.")
    st.stop()

left, right = st.columns([2, 1])
with left:
    source = st.radio("Clip", ["Sample clip", "Upload"], horizontal=True, key="analyze_source")
    path = None
    if source == "Sample clip":
        samples = sample_clips()
        path = st.selectbox("Sample clip", samples, format_func=lambda p: p.name, key="analyze_sample")
    else:
        upload = st.file_uploader(
            f"A video or image (up to {limits.max_upload_mb:.0f} MB and {limits.max_seconds / 60:g} minutes)",
            key="analyze_upload")
        if upload is not None:
            try:
                path = save_upload(upload.getvalue(), upload.name, ui.session_dir("uploads"), limits)
            except InputError as error:
                st.error(str(error))
with right:
    entry = st.selectbox("Model", models, format_func=lambda e: e.name, key="analyze_model")
    start = st.number_input("Start (s)", 0.0, value=0.0, step=1.0, key="analyze_start")
    end = st.number_input("End (s, 0 = to the end)", 0.0, value=0.0, step=1.0, key="analyze_end")

rate = ui.fps()
if st.button("Analyze", type="primary", disabled=path is None, key="analyze_run"):
    bar = st.progress(0.0, text="Finding hands and chords...")
    try:
        check_clip(path, start or None, end or None, limits)
        ui.analysis_for(Path(path), entry, rate, start or None, end or None,
                        progress=lambda f: bar.progress(f, text=f"Finding hands and chords... {100 * f:.0f}%"))
        st.session_state["current"] = {"path": str(path), "model": entry.name, "fps": rate,
                                       "start": start or None, "end": end or None}
        st.session_state["frame_index"] = 0
    except Exception as error:  # noqa: BLE001 - every failure becomes a message, never a traceback
        ui.show_error(error)
    finally:
        bar.empty()

current = st.session_state.get("current")
entries = {e.name: e for e in ui.chosen_models()}
if not current or current["model"] not in entries or not Path(current["path"]).exists():
    st.caption("Choose a clip and press **Analyze**.")
    st.stop()

entry = entries[current["model"]]
clip = Path(current["path"])
try:
    analysis = ui.analysis_for(clip, entry, current["fps"], current["start"], current["end"])
except Exception as error:  # noqa: BLE001
    ui.show_error(error)
    st.stop()

st.subheader(f"{clip.name} with {entry.name}")
ui.synthetic_note(entry)
message = no_hand_message(analysis)
if message:
    st.error(message)
    st.stop()

truth = ground_truth(clip) if clip.parent == sample_clips()[0].parent else None
cols = st.columns(5)
cols[0].metric("Length", f"{analysis.clip.duration:.1f} s" if not analysis.clip.is_image else "still")
cols[1].metric("Frames sampled", len(analysis.frames))
cols[2].metric("Frames with a hand", f"{100 * analysis.coverage:.0f} %")
cols[3].metric("Chord segments", len(analysis.timeline.segments))
if truth is not None:
    score = score_timeline(analysis.timeline, truth)
    cols[4].metric("Right vs ground truth", f"{100 * score.frame_accuracy:.0f} %",
                   help=f"share of time with the right chord; segment F1 {score.segment_f1:.2f}")

n = len(analysis.frames)
if st.session_state.get("frame_index", 0) >= n:
    st.session_state["frame_index"] = 0
index = st.session_state.get("frame_index", 0)
st.plotly_chart(ui.timeline_figure(analysis, analysis.frames[index].time, truth), key="timeline_chart")

video_col, frame_col = st.columns(2)
boxes = fretboard_boxes(clip)
detectors = ui.chosen_models("detector")
with video_col:
    if not analysis.clip.is_image:
        video = ui.derived_path("videos", ui.digest_of(clip), entry.key, current["fps"], current["start"],
                                current["end"]).with_suffix(".mp4")
        if not video.exists():
            with st.spinner("Drawing the annotated video..."):
                write_annotated_video(analysis, video, boxes)
        st.video(str(video))
        st.caption(f"The {n} sampled frames at {current['fps']:g} per second, with the fretting hand, "
                   "the chord and its probability.")
with frame_col:
    if n > 1:
        index = st.slider("Frame", 0, n - 1, key="frame_index")
    frame = analysis.frames[index]
    image = ui.frame_image(ui.digest_of(clip), frame.time, str(clip))
    box, box_note = None, None
    if detectors:
        try:
            found = ui.load_detector(str(detectors[0].folder), detectors[0].key).detect(image)
            box = found.best
            box_note = f"Fretboard box: {detectors[0].name}" + ("" if box is not None else " found none in this frame")
        except Exception as error:  # noqa: BLE001
            ui.show_error(error)
    elif frame.index in boxes:
        box, box_note = boxes[frame.index], "Fretboard box: the sample's ground truth (no detector chosen)."
    else:
        box_note = "No fretboard detector chosen: add a trained detector's folder (best.pt) in the sidebar."
    st.image(annotate_frame(image, frame.hands, (frame.chord, frame.prediction.probabilities.get(frame.chord, 0.0)), box),
             caption=f"frame {frame.index} at {frame.time:.2f} s: {frame.chord} "
                     f"(this frame alone: {frame.prediction.chord}, p {frame.prediction.probability:.2f})")
    st.caption(box_note)
    if frame.prediction.covered:
        st.plotly_chart(ui.probability_figure(frame.prediction.probabilities, frame.prediction.chord),
                        key="frame_probabilities")
    else:
        st.caption("No hand in this frame: the landmark model cannot decide it.")
    if st.button("Explain this frame", key="explain_frame_button"):
        st.session_state["explain_index"] = index
        st.switch_page("pages/explain.py")

st.subheader("Downloads")
rows = analysis.frame_rows()
table = io.StringIO()
writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["frame"])
writer.writeheader()
writer.writerows(rows)
stem = clip.stem
d1, d2, d3 = st.columns(3)
d1.download_button("Timeline (JSON)", json.dumps(analysis.timeline.to_dict(), indent=2), f"{stem}.timeline.json",
                   "application/json", key="download_timeline")
d2.download_button("Frames (CSV)", table.getvalue(), f"{stem}.frames.csv", "text/csv", key="download_frames")
if not analysis.clip.is_image:
    d3.download_button("Annotated video (MP4)", video.read_bytes(), f"{stem}.annotated.mp4", "video/mp4",
                       key="download_video")
