"""The Hugging Face Space demo: a Gradio app over the same pipeline as the Streamlit studio.

Upload or record a clip (or pick a sample), get the annotated video with the chords as subtitles, the
chord timeline (a click on it or on a segments row moves the video there; the video's playhead is drawn on
it), one frame explained, the chords played on guitar and muxed onto the clip, and a way to suggest a
corrected chord for a frame (recorded in the label store, pushed to a hub dataset when one is configured:
see :mod:`pipeline.space`). The Teach tab teaches a landmark model and a CNN from the visitor's own clips
(one per chord, or camera takes), which then analyse that visitor's clips (their session only).

Handlers are thin: each calls the pipeline / labeling functions the Streamlit pages call. Every
request writes into its own temp folder; what a session analysed lives in its ``gr.State``, so two
visitors (or two API clients) never see each other's results.

Run: ``python gradio_app.py`` (loads the models, then serves on port 7860).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from labeling.ingest import label_analysed_frame
from labeling.store import LabelStore
from pipeline import space
from pipeline.audio.music import GUITAR_PROGRAMS, PATTERNS, PerformanceSettings
from pipeline.audio.mux import render_listen_outputs
from pipeline.core.chords import VOCABULARY
from pipeline.core.config import get_space_settings, get_studio_settings
from pipeline.core.errors import InputError
from pipeline.explain.frames import explain_analysed_frame
from pipeline.figures import timeline_figure
from pipeline.samples import sample_clips
from pipeline.teach.training import CNN_EPOCHS
from pipeline.text import SPACE_TEACH_TAB, segment_name, space_intro
from pipeline.vision.video import VIDEO_SUFFIXES, browser_safe_video, read_frame

log = logging.getLogger("chord_space")

TITLE = "Chord vision studio"
TIMELINE_HEADERS = ["start (s)", "end (s)", "chord", "mean probability"]

# Gradio's own upload cache: every hour, files older than a day go (a Space's disk is small and lives on).
DELETE_CACHE = (3600, 86400)


def launch_options() -> dict:
    """What :meth:`gr.Blocks.launch` needs besides the address: uploads above ``CHORD_STUDIO_MAX_UPLOAD_MB`` are
    refused by Gradio before they are stored (``max_file_size``, in bytes)."""
    return {"max_file_size": int(get_studio_settings().max_upload_mb * 2**20)}


def _end_session(state) -> None:
    """``gr.State``'s ``delete_callback``: the session is over (closed tab or expired), so its request
    folder goes."""
    space.remove_request_folder(getattr(state, "folder", None))

# --------------------------------------------------------------------------------------------------
# Models: loaded once per process, on first use (or at start when run as a script)

_models_lock = threading.Lock()
_models = None


def get_models():
    """The Space's model set (:func:`pipeline.space.load_space_models`), loaded once per process.

    Raises:
        gr.Error: a configured model cannot be fetched or loaded (the message names it and
            ``CHORD_SPACE_MODELS``); the next call tries again.
    """
    global _models
    with _models_lock:
        if _models is None:
            started = time.perf_counter()
            try:
                _models = space.load_space_models()
            except InputError as error:
                raise gr.Error(str(error), title="The Space's models could not be loaded") from error
            log.info("models loaded in %.1f s", time.perf_counter() - started)
        return _models


def reset_models() -> None:
    """Forget the loaded models (tests point CHORD_SPACE_MODELS elsewhere, then call this)."""
    global _models
    with _models_lock:
        _models = None


# --------------------------------------------------------------------------------------------------
# Per-session state


@dataclass
class Session:
    """What one visitor analysed: kept in their ``gr.State``, never shared.

    Attributes:
        analysis: the :class:`pipeline.timeline.analyze.Analysis`.
        clip: the clip, copied into the request folder.
        folder: the request's own temp folder (outputs go here).
        sample: the sample clip it is a copy of, if any (ground truth and fretboard boxes).
        models: the :class:`pipeline.timeline.analyze.ModelSet` that analysed it (explanations use the same).
    """

    analysis: object
    clip: Path
    folder: Path
    sample: Path | None = None
    models: object | None = None


def _fail(error: Exception) -> gr.Error:
    """Bad input becomes a clear message; anything else is reported as a bug, not a traceback."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, InputError):
        return gr.Error(str(error), title="Cannot use this input")
    log.exception("unexpected error")
    return gr.Error(f"Something went wrong ({type(error).__name__}: {error}). Please report it.", title="Error")


def _session(state: Session | None) -> Session:
    if state is None or not state.clip.exists():
        raise gr.Error("Analyze a clip first (upload, record, or pick an example, then press Analyze).",
                       title="Nothing analysed yet")
    return state


def _frame_index(state: Session, index) -> int:
    n = len(state.analysis.frames)
    if n == 0:
        raise gr.Error("The analysis has no frames.")
    try:
        k = int(index or 0)
    except (TypeError, ValueError) as error:
        raise gr.Error(f"Frame {index!r} is not a number.") from error
    if not 0 <= k < n:
        raise gr.Error(f"Frame {k} is out of range: the analysis has frames 0 to {n - 1}.")
    return k


# --------------------------------------------------------------------------------------------------
# Tables


def timeline_rows(timeline) -> list[list]:
    """The timeline as table rows (``TIMELINE_HEADERS``); an unsure segment's chord reads "C (unsure)"."""
    return [[round(s.start, 2), round(s.end, 2), segment_name(s),
             round(s.probability, 3)] for s in timeline.segments]


# --------------------------------------------------------------------------------------------------
# Handlers (thin: read inputs, call the pipeline, shape outputs)


@space.gpu(duration=60)
def analyze(video: str | None, fps: float, taught: space.TaughtPair | None = None, progress=gr.Progress()):
    """Analyse a clip (:func:`pipeline.space.analyze_upload`): annotated video with chord subtitles,
    timeline plot and table, a summary.

    Args:
        video: the clip's path (upload, webcam recording or example).
        fps: frames sampled per second.
        taught: the pair this session taught (Teach tab), which then analyses instead of the Space's models.

    Returns:
        (annotated video with subtitles, timeline plot, timeline table, summary markdown,
        frame slider update, session state).
    """
    if not video:
        raise gr.Error("Upload or record a clip, or pick an example, first.", title="No clip")
    try:
        load = (lambda: taught.models) if taught is not None else get_models
        result = space.analyze_upload(video, fps, load, lambda fraction, what: progress(fraction, desc=what))
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    if result.warning:
        gr.Warning(result.warning)
    n = len(result.analysis.frames)
    return (
        gr.Video(value=str(result.annotated), subtitles=str(result.subtitles)) if result.annotated else None,
        timeline_figure(result.analysis, result.truth, frames=False),
        timeline_rows(result.analysis.timeline),
        "\n\n".join(result.summary),
        gr.Slider(minimum=0, maximum=max(n - 1, 1), value=0, step=1, interactive=n > 1),
        Session(result.analysis, result.clip, result.folder, result.sample, result.models),
    )


def seek_to_segment(table, evt: gr.SelectData) -> float:
    """A click on a row of the segments table: that segment's start (the page then moves the video there).

    Returns:
        The start in seconds.
    """
    rows = table.values.tolist() if hasattr(table, "values") else list(table or [])
    row = evt.row_value if evt.row_value else rows[evt.index[0]]
    return float(row[0])


# The video's playhead, moved by a click on a segments row (SEEK_JS) or on the timeline (PLAYHEAD_JS), drawn on the
# timeline as a line while the video plays; Plotly's own axis (``_fullLayout.xaxis``) maps seconds to pixels.
SEEK_JS = """(t) => { const v = document.querySelector('#annotated video');
  if (v && t !== null && t !== undefined && !Number.isNaN(+t)) { v.currentTime = +t; } return []; }"""
PLAYHEAD_JS = """() => {
  if (window.chordPlayhead) return [];
  window.chordPlayhead = true;
  const video = () => document.querySelector('#annotated video');
  const draw = (t) => {
    const gd = document.querySelector('#timeline_plot .js-plotly-plot');
    const box = gd && gd.querySelector('.svg-container'), layout = gd && gd._fullLayout;
    if (!box || !layout || !layout.xaxis) return;
    let line = box.querySelector('.chord-playhead');
    if (!line) {
      line = document.createElement('div');
      line.className = 'chord-playhead';
      line.style.cssText = 'position:absolute;width:2px;background:#d62728;pointer-events:none;z-index:5';
      box.appendChild(line);
    }
    const x = layout.xaxis, y = layout.yaxis;
    line.style.left = (x._offset + x.l2p(t) - 1) + 'px';
    line.style.top = y._offset + 'px';
    line.style.height = y._length + 'px';
    line.dataset.time = t.toFixed(3);
  };
  const follow = (e) => { if (e.target.closest && e.target.closest('#annotated')) draw(e.target.currentTime); };
  ['timeupdate', 'seeked', 'loadedmetadata'].forEach(name => document.addEventListener(name, follow, true));
  document.addEventListener('click', (e) => {
    const gd = e.target.closest && e.target.closest('#timeline_plot .js-plotly-plot'), v = video();
    if (!gd || !v || !gd._fullLayout || !gd._fullLayout.xaxis) return;
    const x = gd._fullLayout.xaxis, left = gd.querySelector('.svg-container').getBoundingClientRect().left;
    const t = x.p2l(e.clientX - left - x._offset);
    if (t >= x.range[0] && t <= x.range[1]) v.currentTime = Math.max(0, t);
  }, true);
  return [];
}"""


def preview_upload(video: str | None) -> str | None:
    """The uploaded or recorded clip as browsers play it: H.264 (yuv420p) as it is, anything else (an
    MPEG-4 Part 2 phone clip, HEVC, ...) re-encoded beside it, so the preview shows a picture.

    Returns:
        The clip to show (and analyse); None for no clip.
    """
    if not video:
        return None
    path = Path(video)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return video
    try:
        return str(browser_safe_video(path, path.with_name(f"{path.stem}-h264.mp4")))
    except InputError as error:
        raise _fail(error) from error


EXPLAIN_MODELS = [("auto (the image model if any)", "auto"),
                  ("image model: occlusion heatmap", "image"), ("landmark model: finger attribution", "landmarks")]


def explain(state: Session | None, index: float, target: str | None, model: str = "auto"):
    """Explain one analysed frame (:func:`pipeline.explain.frames.explain_analysed_frame`): the frame with
    its hand, each chord's (fused) probability, and why one model chose its chord: an occlusion heatmap
    for the image model, the fingers' attribution for the landmark model.

    Args:
        state: the session's analysis.
        index: the sampled frame's number.
        target: the chord to explain, or "(the top chord)" / None for the model's own answer.
        model: "image", "landmarks", or "auto" (the image model when there is one).

    Returns:
        (annotated frame, per-class probabilities for ``gr.Label``, attribution image or None, note markdown).
    """
    state = _session(state)
    k = _frame_index(state, index)
    target = None if not target or target.startswith("(") else target
    try:
        result = explain_analysed_frame(state.clip, state.analysis, k, state.models or get_models(), target, model)
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    attribution = gr.Image(value=result.attribution, label=result.title, format="png")
    return result.picture, result.probabilities, attribution, result.note


def listen(state: Session | None, pattern: str, guitar: str, bpm: float | None, mix: float,
           progress=gr.Progress()):
    """Play the analysed chords on guitar and mux them onto the clip.

    Returns:
        (WAV, muxed MP4 with chord subtitles, download files, note markdown).
    """
    state = _session(state)
    try:
        settings = PerformanceSettings(guitar=guitar, pattern=pattern, bpm=float(bpm) if bpm else None)
        progress(0.1, desc="Playing the chords")
        clip = None if state.analysis.clip.is_image else state.clip
        result = render_listen_outputs(state.analysis.timeline, state.folder / f"listen-{uuid.uuid4().hex[:8]}",
                                       clip=clip, settings=settings, synth="auto", mix=float(mix or 0.0),
                                       name="chords")
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    lines = [f"{result.duration:.1f} s at {result.bpm:.0f} BPM, synth: {result.synth}."] + \
            [f"⚠️ {w}" for w in result.warnings]
    video = gr.Video(value=str(result.mp4), subtitles=str(result.vtt)) if result.mp4 else None
    return str(result.wav), video, [str(p) for p in result.files()], "\n\n".join(lines)


def suggest_correction(state: Session | None, index: float, chord: str | None):
    """Record the right chord of one analysed frame in the label store (and the hub dataset, if set).

    Returns:
        A markdown note: what was recorded and where.
    """
    state = _session(state)
    k = _frame_index(state, index)
    if not chord:
        raise gr.Error("Choose the chord this frame really shows.", title="No chord chosen")
    frame = state.analysis.frames[k]
    name = state.sample.name if state.sample else state.clip.name
    try:
        image = read_frame(state.clip, frame.time).image
        with LabelStore() as store:
            record, event = label_analysed_frame(store, image, frame, chord, clip=name, author="space")
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    where = space.push_label({"digest": record.digest, "chord": event.chord, "time": frame.time,
                              "frame_index": frame.index, "clip": name, "model_chord": frame.chord,
                              "created_at": event.created_at}, record.path)
    return (f"Recorded **{event.chord}** for frame {k} at {frame.time:.2f} s (the model said {frame.chord}); "
            f"label store frame {record.id}. {where}")


# --------------------------------------------------------------------------------------------------
# Teach: the visitor's own setup, for this session


def _takes_note(takes: list) -> str:
    if not takes:
        return "No camera takes yet."
    return "Camera takes: " + ", ".join(f"**{chord}** ({Path(path).name})" for path, chord in takes) + "."


def add_take(take: str | None, chord: str | None, takes: list | None):
    """Add a recorded (or uploaded) take with its chord to the session's teaching takes.

    Returns:
        (the takes, a note listing them, the cleared take input).
    """
    if not take:
        raise gr.Error("Record a take with the camera (or upload one) first.", title="No take")
    if not chord:
        raise gr.Error("Choose the chord this take shows.", title="No chord chosen")
    playable = Path(preview_upload(take))
    named = playable.with_name(f"{chord}-take{len(takes or []) + 1}{playable.suffix}")  # its chord in its name
    shutil.copyfile(playable, named)
    takes = list(takes or []) + [(str(named), chord)]
    return takes, _takes_note(takes), None


def clear_takes(takes: list | None):
    """Forget the session's camera takes. Returns (no takes, the note)."""
    return [], _takes_note([])


def teach(files: list | None, chord_times: str | None, name: str | None, epochs: float | None,
          takes: list | None = None, taught: space.TaughtPair | None = None, progress=gr.Progress()):
    """Teach a pair from the visitor's clips (:func:`pipeline.space.teach_uploads`): it then analyses this
    session's clips. A failure leaves the pair the session had (or the Space's models) in use.

    Args:
        files: clips named after their chords (``G.mp4``, ``Am-2.mov``), or one clip with ``chord_times``.
        chord_times: ``"G:0-4,C:4-8"`` for one clip with several chords (empty: chords from the names).
        name: the setup's name.
        epochs: CNN epochs.
        takes: the camera takes, (path, chord) each.
        taught: the pair the session taught before (replaced).

    Returns:
        (the result markdown, the taught pair for the session's state, the models note of the Analyze column).
    """
    paths = [str(f) for f in files or []] + [path for path, _ in takes or []]
    chords = [None] * len(files or []) + [chord for _, chord in takes or []]
    if not paths:
        raise gr.Error("Upload one short clip per chord (or record takes with the camera) first.", title="No clips")
    try:
        pair = space.teach_uploads(paths, chords, (chord_times or "").strip() or None, (name or "").strip()
                                   or "my-guitar", int(epochs or CNN_EPOCHS),
                                   lambda fraction, what: progress(fraction, desc=what))
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    if taught is not None:
        space.remove_request_folder(taught.folder)
    return "\n\n".join(pair.summary), pair, _models_in_use(pair)


def forget_taught(taught: space.TaughtPair | None):
    """Go back to the Space's models: the session's taught pair goes. Returns (no pair, the models note)."""
    if taught is not None:
        space.remove_request_folder(taught.folder)
    return None, _models_in_use(None)


def _models_in_use(taught: space.TaughtPair | None) -> str:
    if taught is None:
        return "Analyzing with the Space's models (teach your own in the **Teach** tab)."
    return f"Analyzing with **your taught models** ({taught.result.folder.name}: landmarks and CNN)."


# --------------------------------------------------------------------------------------------------
# The interface

def _examples() -> list[Path]:
    return [p for p in sample_clips() if p.suffix.lower() in VIDEO_SUFFIXES]


def build_demo() -> gr.Blocks:
    """The Blocks app (``demo`` below); every event has an ``api_name``."""
    limits = get_studio_settings()
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as app:
        state = gr.State(None, time_to_live=space.SESSION_TTL_S, delete_callback=_end_session)
        taught = gr.State(None, time_to_live=space.SESSION_TTL_S, delete_callback=_end_session)
        takes = gr.State([], time_to_live=space.SESSION_TTL_S)
        synthetic = any(spec == "sample" for spec in get_space_settings().models)
        gr.Markdown(f"# {TITLE}\n{space_intro(synthetic)}", elem_id="intro")
        with gr.Row():
            with gr.Column(scale=1):
                video_in = gr.Video(label=f"Clip (up to {limits.max_upload_mb:.0f} MB and "
                                          f"{limits.max_seconds / 60:g} minutes)",
                                    sources=["upload", "webcam"], elem_id="clip")
                fps = gr.Slider(1, 15, value=limits.fps, step=1, label="Frames sampled per second")
                run = gr.Button("Analyze", variant="primary", elem_id="analyze")
                models_in_use = gr.Markdown(_models_in_use(None), elem_id="models_in_use")
                gr.Examples([[str(p)] for p in _examples()], inputs=[video_in], label="Sample clips",
                            example_labels=[p.name for p in _examples()])
            with gr.Column(scale=2):
                summary = gr.Markdown("Choose a clip and press **Analyze**.", elem_id="summary")
                annotated = gr.Video(label="Annotated (hand, chord; the chords as subtitles)", interactive=False,
                                     elem_id="annotated")
        with gr.Tabs():
            with gr.Tab("Timeline", id="timeline"):
                plot = gr.Plot(label="Chord timeline", elem_id="timeline_plot")
                table = gr.Dataframe(headers=TIMELINE_HEADERS, label="Chord segments (click a row to play from it)",
                                     interactive=False, elem_id="timeline_table")
                seek_time = gr.Number(visible=False, elem_id="seek_time")
            with gr.Tab("Explain a frame", id="explain"):
                with gr.Row():
                    frame_index = gr.Slider(0, 1, value=0, step=1, label="Frame (sampled frame number)",
                                            interactive=False, elem_id="frame_index")
                    target = gr.Dropdown(["(the top chord)"] + [c for c in VOCABULARY], value="(the top chord)",
                                         label="Target chord (attribution)", elem_id="target_chord")
                    explained = gr.Dropdown(EXPLAIN_MODELS, value="auto", label="Model to explain",
                                            elem_id="explained_model")
                    explain_button = gr.Button("Explain this frame", elem_id="explain_button")
                with gr.Row():
                    frame_image = gr.Image(label="Frame with the hand", interactive=False)
                    probabilities = gr.Label(label="Per-chord probability (this frame)", num_top_classes=5)
                    heatmap = gr.Image(label="Attribution (occlusion heatmap or fingers)", interactive=False,
                                       elem_id="attribution", format="png")
                explain_note = gr.Markdown(elem_id="explain_note")
                gr.Markdown("### Suggest a correction")
                with gr.Row():
                    # no silent default: "A" would be recorded by a hasty click
                    correct_chord = gr.Dropdown(list(VOCABULARY), value=None,
                                                label="The chord this frame really shows", elem_id="correct_chord")
                    correct_button = gr.Button("Suggest this label", elem_id="correct_button")
                correct_note = gr.Markdown(elem_id="correct_note")
            with gr.Tab("Listen", id="listen"):
                with gr.Row():
                    pattern = gr.Dropdown(list(PATTERNS), value="folk", label="Strumming pattern")
                    guitar = gr.Dropdown(list(GUITAR_PROGRAMS), value="steel", label="Guitar")
                    bpm = gr.Number(0, label="Tempo (BPM, 0 = from the chord changes)", minimum=0, maximum=300)
                    mix = gr.Slider(0, 1, value=0, step=0.1, label="Clip's own sound under the guitar")
                listen_button = gr.Button("Play the chords", variant="primary", elem_id="listen_button")
                listen_note = gr.Markdown(elem_id="listen_note")
                with gr.Row():
                    with gr.Column():
                        audio = gr.Audio(label="Guitar", type="filepath", interactive=False, elem_id="guitar_audio")
                        files = gr.File(label="Downloads (MIDI, WAV, MP4, SRT, VTT)", file_count="multiple")
                    muxed = gr.Video(label="The clip with the guitar (chords as subtitles)", interactive=False,
                                     elem_id="muxed")
            with gr.Tab("Teach", id="teach"):
                gr.Markdown(SPACE_TEACH_TAB)
                with gr.Row():
                    with gr.Column():
                        teach_files = gr.File(label="Clips, one per chord (G.mp4, Am-2.mov)", file_count="multiple",
                                              file_types=["video"], type="filepath", elem_id="teach_files")
                        chord_times = gr.Textbox(label="Or, for one clip: its chords with times",
                                                 placeholder="G:0-4, C:4-8, Am:8-12", elem_id="teach_chord_times")
                    with gr.Column():
                        take = gr.Video(label="A take with the camera (or a file)", sources=["upload", "webcam"],
                                        elem_id="teach_take")
                        with gr.Row():
                            take_chord = gr.Dropdown(list(VOCABULARY), value=None, label="Chord of this take",
                                                     elem_id="take_chord")
                            add_take_button = gr.Button("Add this take", elem_id="add_take")
                            clear_takes_button = gr.Button("Clear the takes", elem_id="clear_takes")
                        takes_note = gr.Markdown(_takes_note([]), elem_id="takes_note")
                with gr.Row():
                    setup_name = gr.Textbox("my-guitar", label="Name of your setup", max_length=60,
                                            elem_id="teach_name")
                    epochs = gr.Slider(3, 40, value=CNN_EPOCHS, step=1, label="CNN epochs", elem_id="teach_epochs")
                with gr.Row():
                    teach_button = gr.Button("Teach", variant="primary", elem_id="teach_button")
                    forget_button = gr.Button("Use the Space's models again", elem_id="forget_taught")
                teach_note = gr.Markdown(elem_id="teach_note")

        video_in.upload(preview_upload, [video_in], [video_in], api_name="preview_upload")
        run.click(analyze, [video_in, fps, taught], [annotated, plot, table, summary, frame_index, state],
                  api_name="analyze", concurrency_id="analysis")
        explain_button.click(explain, [state, frame_index, target, explained],
                             [frame_image, probabilities, heatmap, explain_note],
                             api_name="explain", concurrency_id="analysis")
        listen_button.click(listen, [state, pattern, guitar, bpm, mix], [audio, muxed, files, listen_note],
                            api_name="listen", concurrency_id="analysis")
        correct_button.click(suggest_correction, [state, frame_index, correct_chord], [correct_note],
                             api_name="suggest_correction")
        add_take_button.click(add_take, [take, take_chord, takes], [takes, takes_note, take], api_name="add_take")
        clear_takes_button.click(clear_takes, [takes], [takes, takes_note], api_name="clear_takes")
        teach_button.click(teach, [teach_files, chord_times, setup_name, epochs, takes, taught],
                           [teach_note, taught, models_in_use], api_name="teach", concurrency_id="teach",
                           concurrency_limit=1)
        forget_button.click(forget_taught, [taught], [taught, models_in_use], api_name="forget_taught")
        # the row a click selected is known only in the page: no API client can call it
        table.select(seek_to_segment, [table], [seek_time], api_name="seek", queue=False,
                     api_visibility="private").then(None, [seek_time], None, js=SEEK_JS)
        app.load(None, None, None, js=PLAYHEAD_JS)
    app.queue(default_concurrency_limit=get_space_settings().concurrency, max_size=32)
    return app


demo = build_demo()


def main() -> int:
    """Load the models, then serve. A model that cannot be loaded ends the start with a one-line reason
    on stderr and exit status 2 (bad configuration), as the command line does."""
    logging.basicConfig(level=logging.INFO)
    started = time.perf_counter()
    try:
        get_models()  # load at start, not on the first visitor's request
    except gr.Error as error:
        print(f"gradio_app: {error.message}", file=sys.stderr)
        return 2
    log.info("ready in %.1f s", time.perf_counter() - started)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **launch_options())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
