"""Listen: the chord timeline played on guitar (synth, pattern and tempo of your choice), the clip with
the new sound, and MIDI / WAV / MP4 / subtitle downloads."""

import json

import streamlit as st

from app_pages.ui.files import derived_path, digest_of
from app_pages.ui.messages import show_error
from app_pages.ui.state import current_analysis, current_clip
from pipeline.audio.music import GUITAR_PROGRAMS, PATTERNS, PerformanceSettings
from pipeline.audio.mux import render_listen_outputs
from pipeline.audio.synth import SYNTHS, fluidsynth_unavailable_reason
from pipeline.core.errors import InputError
from pipeline.core.timeline import Timeline
from pipeline.samples import ground_truth, sample_clips

st.title("Listen")
sources = []
if current_clip() is not None:
    sources.append("the analysed clip")
sources += ["a sample clip's ground truth", "a timeline file"]
source = st.radio("Chords from", sources, horizontal=True, key="listen_source")

timeline, clip = None, None
try:
    if source == "the analysed clip":
        clip, _, analysis = current_analysis()
        timeline = analysis.timeline
    elif source == "a sample clip's ground truth":
        samples = [p for p in sample_clips() if ground_truth(p) is not None]
        clip = st.selectbox("Sample clip", samples, format_func=lambda p: p.name, key="listen_sample")
        timeline = ground_truth(clip)
    else:
        upload = st.file_uploader("timeline.json (from Analyze or `python -m pipeline analyze`)", key="listen_upload")
        if upload is not None:
            try:
                data = json.loads(upload.getvalue().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise InputError(f"{upload.name} is not a JSON chord timeline ({error}).") from error
            if not isinstance(data, dict):
                raise InputError(f"{upload.name} is not a chord timeline.")
            timeline = Timeline.from_dict(data)
except Exception as error:  # noqa: BLE001
    show_error(error)

if timeline is None:
    st.stop()
st.caption("Chords: " + " ".join(f"{s.chord} ({s.start:.1f}-{s.end:.1f} s)" for s in timeline.segments))

a, b, c, d = st.columns(4)
synth = a.selectbox("Synth", SYNTHS, key="listen_synth",
                    help="auto: FluidSynth with the bundled General MIDI soundfont when the system has it, "
                         "else the built-in plucked-string synth.")
pattern = b.selectbox("Strumming pattern", list(PATTERNS), key="listen_pattern")
guitar = c.selectbox("Guitar", list(GUITAR_PROGRAMS), key="listen_guitar")
bpm = d.number_input("Tempo (BPM, 0 = from the chord changes)", 0, 300, 0, 1, key="listen_bpm")
mix = st.slider("Clip's own sound under the guitar", 0.0, 1.0, 0.0, 0.1, key="listen_mix", disabled=clip is None)
if synth == "fluidsynth" and fluidsynth_unavailable_reason():
    st.warning(f"FluidSynth cannot run here: {fluidsynth_unavailable_reason()}")

if st.button("Render", type="primary", key="listen_render"):
    try:
        settings = PerformanceSettings(guitar=guitar, pattern=pattern, bpm=float(bpm) if bpm else None)
        out = derived_path("listen", json.dumps(timeline.to_dict()), digest_of(clip) if clip else "", synth,
                              pattern, guitar, bpm, mix)
        with st.spinner("Playing the chords..."):
            result = render_listen_outputs(timeline, out, clip=clip, settings=settings, synth=synth, mix=mix,
                                           name="chords")
        st.session_state["listen_result"] = result
    except Exception as error:  # noqa: BLE001
        show_error(error)

result = st.session_state.get("listen_result")
if result is not None and result.wav.exists():
    for warning in result.warnings:
        st.warning(warning)
    st.caption(f"{result.duration:.1f} s at {result.bpm:.0f} BPM, synth: {result.synth}")
    st.audio(str(result.wav), format="audio/wav")
    if result.mp4 is not None and result.mp4.exists():
        st.video(str(result.mp4), subtitles={"Chords": str(result.vtt)})
    cols = st.columns(5)
    files = [("MIDI", result.midi, "audio/midi"), ("WAV", result.wav, "audio/wav"), ("MP4", result.mp4, "video/mp4"),
             ("SRT", result.srt, "application/x-subrip"), ("VTT", result.vtt, "text/vtt")]
    for column, (label, path, mime) in zip(cols, files):
        if path is not None and path.exists():
            column.download_button(label, path.read_bytes(), path.name, mime, key=f"listen_download_{label}")
