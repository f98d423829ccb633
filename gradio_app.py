"""The Hugging Face Space demo: a Gradio app over the same pipeline as the Streamlit studio.

Upload or record a clip (or pick a sample), get the annotated video with the chords as subtitles, the
chord timeline, one frame explained, the chords played on guitar and muxed onto the clip, and a way to
suggest a corrected chord for a frame (recorded in the label store, pushed to a hub dataset when one
is configured: see :mod:`pipeline.space`).

Handlers are thin: each calls the pipeline / labeling functions the Streamlit pages call. Every
request writes into its own temp folder; what a session analysed lives in its ``gr.State``, so two
visitors (or two API clients) never see each other's results.

Run: ``python gradio_app.py`` (loads the models, then serves on port 7860).
"""

from __future__ import annotations

import logging
import os
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
from pipeline.text import segment_name, space_intro
from pipeline.vision.video import VIDEO_SUFFIXES, browser_safe_video, read_frame

log = logging.getLogger("chord_space")

TITLE = "Chord vision studio"
TIMELINE_HEADERS = ["start (s)", "end (s)", "chord", "mean probability"]

# Gradio's own upload cache: every hour, files older than a day go (a Space's disk is small and lives on).
DELETE_CACHE = (3600, 86400)
SESSION_TTL_S = 6 * 3600  # a session's request folder goes when the session ends, at the latest after this


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
def analyze(video: str | None, fps: float, progress=gr.Progress()):
    """Analyse a clip (:func:`pipeline.space.analyze_upload`): annotated video with chord subtitles,
    timeline plot and table, a summary.

    Args:
        video: the clip's path (upload, webcam recording or example).
        fps: frames sampled per second.

    Returns:
        (annotated video with subtitles, timeline plot, timeline table, summary markdown,
        frame slider update, session state).
    """
    if not video:
        raise gr.Error("Upload or record a clip, or pick an example, first.", title="No clip")
    try:
        result = space.analyze_upload(video, fps, get_models, lambda fraction, what: progress(fraction, desc=what))
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
# The interface

def _examples() -> list[Path]:
    return [p for p in sample_clips() if p.suffix.lower() in VIDEO_SUFFIXES]


def build_demo() -> gr.Blocks:
    """The Blocks app (``demo`` below); every event has an ``api_name``."""
    limits = get_studio_settings()
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as app:
        state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=_end_session)
        synthetic = any(spec == "sample" for spec in get_space_settings().models)
        gr.Markdown(f"# {TITLE}\n{space_intro(synthetic)}", elem_id="intro")
        with gr.Row():
            with gr.Column(scale=1):
                video_in = gr.Video(label=f"Clip (up to {limits.max_upload_mb:.0f} MB and "
                                          f"{limits.max_seconds / 60:g} minutes)",
                                    sources=["upload", "webcam"], elem_id="clip")
                fps = gr.Slider(1, 15, value=limits.fps, step=1, label="Frames sampled per second")
                run = gr.Button("Analyze", variant="primary", elem_id="analyze")
                gr.Examples([[str(p)] for p in _examples()], inputs=[video_in], label="Sample clips",
                            example_labels=[p.name for p in _examples()])
            with gr.Column(scale=2):
                summary = gr.Markdown("Choose a clip and press **Analyze**.", elem_id="summary")
                annotated = gr.Video(label="Annotated (hand, chord; the chords as subtitles)", interactive=False,
                                     elem_id="annotated")
        with gr.Tabs():
            with gr.Tab("Timeline", id="timeline"):
                plot = gr.Plot(label="Chord timeline", elem_id="timeline_plot")
                table = gr.Dataframe(headers=TIMELINE_HEADERS, label="Chord segments", interactive=False,
                                     elem_id="timeline_table")
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

        video_in.upload(preview_upload, [video_in], [video_in], api_name="preview_upload")
        run.click(analyze, [video_in, fps], [annotated, plot, table, summary, frame_index, state],
                  api_name="analyze", concurrency_id="analysis")
        explain_button.click(explain, [state, frame_index, target, explained],
                             [frame_image, probabilities, heatmap, explain_note],
                             api_name="explain", concurrency_id="analysis")
        listen_button.click(listen, [state, pattern, guitar, bpm, mix], [audio, muxed, files, listen_note],
                            api_name="listen", concurrency_id="analysis")
        correct_button.click(suggest_correction, [state, frame_index, correct_chord], [correct_note],
                             api_name="suggest_correction")
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
