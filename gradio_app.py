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
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from pipeline import space
from pipeline.audio.music import GUITAR_PROGRAMS, PATTERNS, PerformanceSettings
from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.core.errors import InputError
from pipeline.figures import timeline_figure
from pipeline.studio import (
    check_clip,
    fretboard_boxes,
    fusion_note,
    get_studio_settings,
    ground_truth,
    no_hand_message,
    sample_clips,
    sample_twin,
    save_upload,
    synthetic_note,
)
from pipeline.vision.drawing import annotate_frame, write_annotated_video
from pipeline.vision.video import VIDEO_SUFFIXES

log = logging.getLogger("chord_space")

TITLE = "Chord vision studio"
TIMELINE_HEADERS = ["start (s)", "end (s)", "chord", "mean probability"]

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


def _model_note(models) -> str:
    names = []
    for slot in ("landmarks", "image", "detector"):
        model = getattr(models, slot)
        if model is not None:
            card = getattr(model, "card", None)
            names.append(f"{slot}: {getattr(card, 'trained_on', '') or type(model).__name__}")
    note = "Models: " + "; ".join(names) + "."
    if models.landmarks is not None and models.image is not None:
        note += " " + fusion_note(models.weights)
    if models.synthetic:
        note += " " + synthetic_note("This model", "(`python -m pipeline train`) and set `CHORD_SPACE_MODELS`")
    return note


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
    """The timeline as table rows (``TIMELINE_HEADERS``)."""
    return [[round(s.start, 2), round(s.end, 2), s.chord, round(s.probability, 3)] for s in timeline.segments]


# --------------------------------------------------------------------------------------------------
# Handlers (thin: read inputs, call the pipeline, shape outputs)


@space.gpu(duration=60)
def analyze(video: str | None, fps: float, progress=gr.Progress()):
    """Analyse a clip: annotated video with chord subtitles, timeline plot and table, a summary.

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
        source = Path(video)
        settings = get_studio_settings()
        folder = space.request_folder()
        progress(0.0, desc="Checking the clip")
        try:
            data = source.read_bytes()
        except OSError as error:
            raise InputError(f"Could not read the upload ({error}).") from error
        clip = save_upload(data, source.name, folder / "upload", settings)
        info = check_clip(clip, settings=settings)
        sample = sample_twin(clip)  # uploads and examples arrive as copies: known by their bytes
        progress(0.02, desc="Loading the model")
        models = get_models()
        started = time.perf_counter()
        from pipeline.timeline.analyze import analyze_clip

        analysis = analyze_clip(clip, models, fps=float(fps or settings.fps),
                                progress=lambda f: progress(0.05 + 0.75 * f, desc="Finding hands and chords"))
        seconds = time.perf_counter() - started
        progress(0.85, desc="Drawing the annotated video")
        from pipeline.audio.mux import write_subtitles

        vtt = write_subtitles(analysis.timeline, folder / "chords.vtt")
        annotated = None
        if not info.is_image:
            annotated = write_annotated_video(analysis, folder / f"{clip.stem}.annotated.mp4",
                                              fretboard_boxes(sample) if sample else None)
        analysis.write(folder)
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error

    truth = ground_truth(sample) if sample else None
    hands = analysis.hand_share if analysis.frames else 0.0
    decided = (f", a chord decided in {100 * analysis.coverage:.0f} %" if models.image is not None
               and analysis.frames else "")
    lines = [f"**{source.name}**: {len(analysis.frames)} frames sampled at {float(fps or settings.fps):g} per "
             f"second, a hand in {100 * hands:.0f} % of them{decided}, {len(analysis.timeline.segments)} chord "
             f"segment(s); analysed in {seconds:.1f} s.",
             "Chords: " + (" → ".join(s.chord for s in analysis.timeline.segments) or "none")]
    if truth is not None:
        from pipeline.timeline.evaluation import score_timeline

        score = score_timeline(analysis.timeline, truth)
        lines.append(f"Sample clip **{sample.name}**: right {100 * score.frame_accuracy:.0f} % of the time against "
                     f"its ground truth (segment F1 {score.segment_f1:.2f}).")
    message = no_hand_message(analysis)
    if message:
        lines.append(f"⚠️ {message}")
        gr.Warning(message)
    lines.append(_model_note(models))
    progress(1.0, desc="Done")
    n = len(analysis.frames)
    return (
        gr.Video(value=str(annotated), subtitles=str(vtt)) if annotated else None,
        timeline_figure(analysis, truth, frames=False),
        timeline_rows(analysis.timeline),
        "\n\n".join(lines),
        gr.Slider(minimum=0, maximum=max(n - 1, 1), value=0, step=1, interactive=n > 1),
        Session(analysis, clip, folder, sample, models),
    )


EXPLAIN_MODELS = [("auto (the image model if any)", "auto"),
                  ("image model: occlusion heatmap", "image"), ("landmark model: finger attribution", "landmarks")]


def explain(state: Session | None, index: float, target: str | None, model: str = "auto"):
    """Explain one analysed frame: the frame with its hand, each chord's (fused) probability, and why
    one model chose its chord: an occlusion heatmap for the image model, the fingers' attribution for
    the landmark model (:mod:`pipeline.explain.occlusion`).

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
    models = state.models or get_models()
    which = _explained_model(models, model)
    frame = state.analysis.frames[k]
    try:
        from pipeline.vision.video import read_frame

        image = read_frame(state.clip, frame.time).image
        picture = annotate_frame(image, frame.hands, None)  # the chord is in the note and the probabilities
    except Exception as error:  # noqa: BLE001
        raise _fail(error) from error
    target = None if not target or target.startswith("(") else target
    probabilities = dict(frame.prediction.probabilities) if frame.prediction.covered else {}
    lines = [f"Frame {k} (source frame {frame.index}) at {frame.time:.2f} s: timeline chord **{frame.chord}**; "
             f"this frame alone **{frame.prediction.chord}** (p {frame.prediction.probability:.2f})."]
    if not frame.prediction.covered:
        lines.append("No hand was found in this frame: the landmark model cannot decide it.")
    for name, prediction in frame.by_model.items():
        if prediction.covered:
            lines.append(f"{name}: " + ", ".join(f"{c} {p:.2f}" for c, p in prediction.top(3)))
    heatmap, title, note = _attribution(image, frame, target, models, which)
    lines.append(note)
    return picture, probabilities or {NO_CHORD: 0.0}, gr.Image(value=heatmap, label=title, format="png"), "\n\n".join(lines)


def _explained_model(models, choice: str | None) -> str:
    """The model an explanation is about, "image" or "landmarks"; ``choice`` "auto" (or None) picks the
    image model when the Space runs one.

    Raises:
        gr.Error: the chosen kind of model is not running here.
    """
    choice = choice or "auto"
    if choice == "auto":
        return "image" if models.image is not None else "landmarks"
    if choice not in ("image", "landmarks"):
        raise gr.Error(f"Unknown model {choice!r}; choose auto, image or landmarks.", title="Unknown model")
    if getattr(models, choice) is None:
        other = "landmarks" if choice == "image" else "image"
        raise gr.Error(f"This Space runs no {'image' if choice == 'image' else 'landmark'} model; explain the "
                       f"{other} model, or add one to CHORD_SPACE_MODELS.", title="No such model here")
    return choice


def _attribution(image, frame, target: str | None, models, which: str):
    """Why the model said what it said, drawn: an occlusion heatmap for the image model, the fingers'
    attribution for the landmark model (:mod:`pipeline.explain.occlusion`); or no picture and why.

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`pipeline.timeline.analyze.FrameResult`.
        target: chord to explain, or None for the model's own answer.
        models: the model set that analysed the clip.
        which: "image" or "landmarks" (:func:`_explained_model`).

    Returns:
        (RGB image or None, the picture's title, a markdown note).

    Raises:
        gr.Error: ``target`` is not one of the explained model's chords.
    """
    from pipeline.explain.occlusion import occlusion as explaining
    from pipeline.explain.frames import explain_image_frame

    model = getattr(models, which)
    if target is not None and target not in model.classes:
        raise gr.Error(f"The {'image' if which == 'image' else 'landmark'} model does not know {target}: it answers "
                       f"{', '.join(model.classes)}. Choose one of those, or (the top chord).",
                       title="Not one of this model's chords")
    try:
        if which == "image":
            result = explain_image_frame(image, frame, models.image, target)
            picture = explaining.HeatmapAnnotator().annotate(image, result)
            return picture, f"Occlusion heatmap: {result.target}", (
                f"**Occlusion heatmap** of the image model for **{result.target}** (p {result.probability:.2f}"
                f"{'' if result.settings['region'] == 'frame' else ', on the region it saw'}): warm regions are where covering "
                f"the frame lowers that chord's probability most; the colour bar on the right gives the drop "
                f"({result.seconds:.1f} s).")
        hand = frame.hands.fretting
        if hand is None:
            return None, "Attribution: no hand in this frame", (
                "**Attribution:** no hand in this frame, so the landmark model has nothing to attribute; "
                + ("choose the image model for an occlusion heatmap." if models.image is not None else
                   "an occlusion heatmap needs an image model (`CHORD_SPACE_MODELS`)."))
        result = explaining.explain_landmarks(hand, models.landmarks, target=target)
        picture = explaining.FingerAnnotator().annotate(image, result)
        ranked = ", ".join(f"{name} {score:+.2f}" for name, score in
                           sorted(result.scores.items(), key=lambda item: -item[1]))
        aside = ("(An occlusion heatmap needs an image model; this Space runs a landmark model, which reads the "
                 "21 hand points, not pixels.)" if models.image is None else
                 "(The landmark model reads the 21 hand points, not pixels; choose the image model for an "
                 "occlusion heatmap.)")
        return picture, f"Finger attribution: {result.target}", (
            f"**Finger attribution** of the landmark model for **{result.target}** (p {result.probability:.2f}): "
            f"the drop of its probability when each finger is removed: {ranked}. Most decisive: "
            f"**{result.decisive}**. {aside}")
    except InputError as error:
        raise _fail(error) from error


def listen(state: Session | None, pattern: str, guitar: str, bpm: float | None, mix: float,
           progress=gr.Progress()):
    """Play the analysed chords on guitar and mux them onto the clip.

    Returns:
        (WAV, muxed MP4 with chord subtitles, download files, note markdown).
    """
    state = _session(state)
    try:
        from pipeline.audio.mux import render_listen_outputs

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
        from labeling.ingest import label_analysed_frame
        from labeling.store import LabelStore
        from pipeline.vision.video import read_frame

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
    with gr.Blocks(title=TITLE) as app:
        state = gr.State(None)
        gr.Markdown(f"# {TITLE}\nFilm the hand on the guitar neck; get the chords. Upload or record a clip "
                    "(or pick a sample below), press **Analyze**, then explain a frame, listen to the chords on "
                    "guitar, or suggest a correction. The default model is trained on **synthetic renders** "
                    "of the sample clips' scenes: it recognises the samples, not real footage.")
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
                    heatmap = gr.Image(label="Attribution (occlusion heatmap or fingers)", interactive=False, elem_id="attribution",
                                       format="png")
                explain_note = gr.Markdown(elem_id="explain_note")
                gr.Markdown("### Suggest a correction")
                with gr.Row():
                    correct_chord = gr.Dropdown(list(VOCABULARY), value=None,  # no silent default: "A" would be recorded
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

        run.click(analyze, [video_in, fps], [annotated, plot, table, summary, frame_index, state],
                  api_name="analyze", concurrency_id="analysis")
        explain_button.click(explain, [state, frame_index, target, explained],
                             [frame_image, probabilities, heatmap, explain_note],
                             api_name="explain", concurrency_id="analysis")
        listen_button.click(listen, [state, pattern, guitar, bpm, mix], [audio, muxed, files, listen_note],
                            api_name="listen", concurrency_id="analysis")
        correct_button.click(suggest_correction, [state, frame_index, correct_chord], [correct_note],
                             api_name="suggest_correction")
    app.queue(default_concurrency_limit=space.get_space_settings().concurrency, max_size=32)
    return app


demo = build_demo()


def main() -> int:
    """Load the models, then serve. A model that cannot be loaded ends the start with a one-line reason
    on stderr and exit status 2 (bad configuration), as the command line does."""
    import sys

    logging.basicConfig(level=logging.INFO)
    started = time.perf_counter()
    try:
        get_models()  # load at start, not on the first visitor's request
    except gr.Error as error:
        print(f"gradio_app: {error.message}", file=sys.stderr)
        return 2
    log.info("ready in %.1f s", time.perf_counter() - started)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
