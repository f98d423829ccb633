"""What every page shares: the sidebar's choices, cached models and results, the session's folders, charts.

Not a page: ``app.py`` lists the pages with ``st.navigation``, so Streamlit does not turn this file
into one. Logic lives in :mod:`pipeline` and :mod:`labeling` (the chord timeline figure, which the
Space draws too, in :mod:`pipeline.figures`); here are only Streamlit's caches and the studio's own
plotly figures.
"""

from __future__ import annotations

import atexit
import hashlib
import pickle
import shutil
import tempfile
import uuid
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from pipeline import studio
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.figures import CHORD_COLOURS
from pipeline.studio import (
    IMAGE_KINDS,
    NONE,
    SAMPLE,
    ModelChoice,
    ModelEntry,
    discover_models,
    get_studio_settings,
    model_entry,
)

# --------------------------------------------------------------------------------------------------
# Sidebar


def sidebar() -> None:
    """The shared sidebar: model folder(s), data directory, sampling rate. Nothing else."""
    settings = get_studio_settings()
    with st.sidebar:
        st.text_input("Data directory (label store)", value=str(get_settings().data_dir), key="data_dir",
                      help="Where labels, snapshots and retrained models live (CHORD_STUDIO_DATA).")
        st.text_area("More model folders, one per line", value="\n".join(settings.models), key="model_folders",
                     help="Landmark or image model folders (card.json), or a fretboard detector (best.pt).")
        entries = available_models()
        names = [e.name for e in entries]
        kinds = {e.name: e.kind for e in entries}
        wanted = [model_entry(p).name for p in settings.models if _is_model(p)] or [SAMPLE]
        default = [n for n in wanted if n in names] or names[:1]
        st.multiselect("Models", names, default=default, key="models",
                       format_func=lambda n: "sample (synthetic renders)" if n == SAMPLE else f"{n} ({kinds.get(n)})",
                       help="Landmark models read the hand, image models (cnn, image) the frame, a detector finds "
                            "the fretboard. Analyze runs one of each kind (a landmark and an image model are "
                            "fused); Explain and Compare put models side by side.")
        st.number_input("Sampling rate (frames per second)", 0.5, 30.0, float(settings.fps), 0.5, key="fps")


def _is_model(path: str) -> bool:
    try:
        model_entry(path)
    except InputError:
        return False
    return True


def data_dir() -> Path:
    """The label store folder chosen in the sidebar."""
    return Path(st.session_state.get("data_dir") or get_settings().data_dir).expanduser()


def fps() -> float:
    """The sampling rate chosen in the sidebar."""
    return float(st.session_state.get("fps") or get_studio_settings().fps)


def available_models() -> list[ModelEntry]:
    """Every model the studio finds, plus the folders typed into the sidebar (bad ones reported)."""
    extra = [line.strip() for line in str(st.session_state.get("model_folders", "")).splitlines() if line.strip()]
    for folder in extra:
        if not _is_model(folder):
            st.sidebar.warning(f"{folder} is not a model folder the studio knows; it is left out.")
    return discover_models(data_dir(), [f for f in extra if _is_model(f)])


def chosen_models(kind: str | None = "landmarks") -> list[ModelEntry]:
    """The models chosen in the sidebar, of ``kind``: ``"landmarks"``, ``"image"`` (transformers and CNN
    alike), ``"chord"`` (landmarks and image), ``"detector"``, or None for every kind."""
    kinds = {"image": IMAGE_KINDS, "chord": ("landmarks", *IMAGE_KINDS)}.get(kind, (kind,))
    chosen = set(st.session_state.get("models") or [SAMPLE])
    return [e for e in available_models() if e.name in chosen and (kind is None or e.kind in kinds)]


MODEL_SLOTS = {"landmarks": "Landmark model (reads the hand)", "image": "Image model (reads the frame)",
               "detector": "Fretboard detector"}


MODEL_HELP = {
    "image": "With a landmark model too, each frame's answer is the two fused (weighted by each model's held-out "
             "accuracy).",
    "detector": "Finds the neck: its box picks the fretting hand and, for an image model trained on regions, what "
                "the model sees. Add a trained detector's folder (best.pt) in the sidebar.",
}


def model_choice(key: str, side_by_side: bool = True) -> ModelChoice | None:
    """One selectbox per slot (landmark model, image model, fretboard detector) over the sidebar's models
    of that kind; the first of each kind is the default, "(none)" leaves a slot empty.

    Args:
        key: prefix of the widgets' keys (``<key>_landmarks``, ``<key>_image``, ``<key>_detector``).
        side_by_side: the three in columns (else one under the other).

    Returns:
        The :class:`~pipeline.studio.ModelChoice`, or None when neither chord model is picked.
    """
    entries = {slot: chosen_models(slot) for slot in MODEL_SLOTS}
    places = st.columns(len(MODEL_SLOTS)) if side_by_side else [st.container() for _ in MODEL_SLOTS]
    picked = {}
    for place, (slot, label) in zip(places, MODEL_SLOTS.items()):
        names = [NONE] + [e.name for e in entries[slot]]
        picked[slot] = place.selectbox(label, names, index=1 if entries[slot] else 0, key=f"{key}_{slot}",
                                       help=MODEL_HELP.get(slot))
    return ModelChoice.from_names(picked, [e for found in entries.values() for e in found])


def synthetic_note(entry: ModelEntry) -> None:
    """Say so when a model was trained on synthetic renders (DESIGN: an offline default is honest)."""
    if entry.synthetic:
        st.info(studio.synthetic_note(entry.name, "(Models page or `python -m pipeline train`)"))


# --------------------------------------------------------------------------------------------------
# Cached resources


def chord_model(entry: ModelEntry):
    """The loaded chord model (landmarks or image) of an entry: :func:`pipeline.models.registry.load_model` loads
    it once per process (cached by folder and card time, so a retrained model is loaded again).

    Shared between sessions: image models and detectors lock their predict.
    """
    from pipeline.models.registry import load_model

    # st.spinner shows only when loading takes over half a second: a first load, not a cached one.
    with st.spinner("Loading the model (the sample model is built on first use, about a minute)..."
                    if entry.kind == "landmarks" else "Loading the model..."):
        return load_model(entry.spec)


@st.cache_resource(show_spinner="Loading the models (the sample model is built on first use, about a minute)...")
def load_model_set(chord_specs: tuple, detector: str | None, key: str):
    """The :class:`pipeline.timeline.analyze.ModelSet` of a choice, once per process (``key``: the choice's)."""
    from pipeline.models.registry import load_model_set as load

    return load(list(chord_specs), detector=detector)


def model_set(choice: ModelChoice):
    """The loaded models of a choice (fusion weights from their cards)."""
    return load_model_set(tuple(e.spec for e in choice.chord_models),
                          str(choice.detector.folder) if choice.detector else None, choice.key)


def current_choice() -> ModelChoice | None:
    """The models of the current analysis, if they are all still chosen in the sidebar."""
    current = st.session_state.get("current")
    if not current:
        return None
    return ModelChoice.from_names(current.get("models", {}), chosen_models(None))


def current_clip() -> tuple[Path, ModelChoice] | None:
    """(clip, model choice) of the analysis made on Analyze, or None when there is none (or its clip or
    models are gone); nothing is analysed or loaded."""
    choice = current_choice()
    if choice is None:
        return None
    clip = Path(st.session_state["current"]["path"])
    return (clip, choice) if clip.exists() else None


def current_analysis():
    """(clip, model choice, analysis) of the analysis made on Analyze, or None when there is none (or its
    clip or models are gone: :func:`current_clip`). Raises what :func:`analysis_for` raises."""
    found = current_clip()
    if found is None:
        return None
    clip, choice = found
    current = st.session_state["current"]
    return clip, choice, analysis_for(clip, choice, current["fps"], current["start"], current["end"])


@st.cache_resource
def work_dir() -> Path:
    """This process's scratch folder (derived files by content hash; per-session uploads); removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="chord-studio-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def session_dir(name: str) -> Path:
    """A folder of this browser session only (uploads), under :func:`work_dir`."""
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex
    path = work_dir() / "sessions" / st.session_state["session_id"] / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def derived_path(kind: str, *parts) -> Path:
    """Where a file derived from ``parts`` (content hashes, settings) lives in :func:`work_dir`."""
    key = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]
    folder = work_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / key


@st.cache_data(show_spinner=False, max_entries=64)
def file_digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's content (cached by path, size and time)."""
    from pipeline.models.datasets import file_digest as digest

    return digest(path)


def digest_of(path: Path) -> str:
    """SHA-256 of a file's content."""
    stat = Path(path).stat()
    return file_digest(str(path), stat.st_size, stat.st_mtime_ns)


@st.cache_data(show_spinner=False, max_entries=32)
def load_analysis(key: str, _file: str):
    """An analysis written by :func:`analysis_for`, kept in memory by its key (content hash + settings)."""
    with open(_file, "rb") as handle:
        return pickle.load(handle)


def analysis_for(path: Path, choice: ModelChoice, rate: float, start: float | None, end: float | None,
                 progress=None):
    """The analysis of a clip by a choice of models at a rate: computed once per content and settings, then
    cached. The first run shows ``progress``; later runs (any session) read the cached result.
    """
    from pipeline.timeline.analyze import analyze_clip

    parts = (digest_of(path), choice.key, rate, start, end)
    file = derived_path("analyses", *parts).with_suffix(".pkl")
    if not file.exists():
        analysis = analyze_clip(path, model_set(choice), fps=rate, start=start, end=end, progress=progress)
        temp = file.with_suffix(".part")
        with open(temp, "wb") as handle:
            pickle.dump(analysis, handle)
        temp.replace(file)
    return load_analysis(file.stem, str(file))


@st.cache_data(show_spinner=False, max_entries=256)
def image_answer(key: str, digest: str, time: float, detector: str, _model, _frame, _image):
    """An image model's prediction on an analysed frame (what it sees of it), cached by model, clip, time
    and the analysis's detector (whose box picks the region a region-trained model sees)."""
    from pipeline.explain.frames import model_input

    return _model.predict([model_input(_image, _frame, _model)[0]])[0]


@st.cache_data(show_spinner=False, max_entries=64)
def occlusion(key: str, digest: str, time: float, target: str | None, detector: str, _model, _frame, _image):
    """The occlusion heatmap of an image model on an analysed frame, cached by (model, clip, frame, target,
    the analysis's detector): scrubbing back to a frame shows it at once. ``target`` None explains the
    model's top chord."""
    from pipeline.explain.frames import explain_image_frame

    return explain_image_frame(_image, _frame, _model, target)


@st.cache_data(show_spinner=False, max_entries=256)
def frame_image(digest: str, time: float, _path: str):
    """The clip's frame nearest ``time`` (RGB array), cached by clip content and time."""
    from pipeline.vision.video import read_frame

    return read_frame(_path, time).image


# --------------------------------------------------------------------------------------------------
# Charts


def probability_figure(probabilities: dict[str, float], highlight: str | None = None, title: str = "") -> go.Figure:
    """A bar per class with its probability; ``highlight`` drawn in the chord's colour, others grey."""
    classes = list(probabilities)
    fig = go.Figure(go.Bar(
        x=classes, y=[probabilities[c] for c in classes],
        marker_color=[CHORD_COLOURS.get(c, "#888") if c == highlight or highlight is None else "#C8C8C8" for c in classes],
        text=[f"{probabilities[c]:.2f}" for c in classes], textposition="outside",
    ))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      yaxis=dict(range=[0, 1.1], title="probability"))
    if title:
        fig.update_layout(title=dict(text=title))
    return fig


MODEL_COLOURS = {"landmarks": "#4C78A8", "image": "#F58518", "fused": "#54A24B"}


def answers_figure(answers: dict[str, tuple[str, dict[str, float]]], classes: list[str]) -> go.Figure:
    """Grouped bars: each model's probability per class, side by side.

    Args:
        answers: label -> (``"landmarks"``, ``"image"`` or ``"fused"``, chord -> probability); a model
            that could not decide has an empty dict.
        classes: the x axis, in order.
    """
    fig = go.Figure()
    for label, (slot, probabilities) in answers.items():
        fig.add_trace(go.Bar(x=classes, y=[probabilities.get(c, 0.0) for c in classes], name=label,
                             marker_color=MODEL_COLOURS.get(slot, "#888"),
                             hovertemplate=f"{label}: %{{x}} %{{y:.3f}}<extra></extra>"))
    fig.update_layout(barmode="group", height=280, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(range=[0, 1.05], title="probability"), legend=dict(orientation="h", y=1.15))
    return fig


def confusion_figure(report, title: str) -> go.Figure:
    """A confusion matrix heatmap (rows true, columns predicted) of an evaluation report."""
    labels = report.labels
    z = report.confusion or [[0] * len(labels) for _ in labels]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", showscale=False,
                               text=z, texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title=dict(text=title), height=360, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title="predicted", side="bottom"), yaxis=dict(title="true", autorange="reversed"))
    return fig


def show_error(error: Exception) -> None:
    """A clear message for bad input; anything else is a bug and is shown as one, not a traceback."""
    if isinstance(error, InputError):
        st.error(str(error))
    else:
        st.error(f"Something went wrong ({type(error).__name__}: {error}). The input was left unchanged.")


def train_landmarks_button(store, snapshot: str, key: str) -> None:
    """A button that retrains the landmark model on a snapshot's train split, with progress.

    The model goes to ``<store>/models/<snapshot>-landmarks`` and appears in the sidebar's model list.
    """
    from labeling.train import train_from_snapshot

    if not st.button(f"Retrain the landmark model on {snapshot}", key=key):
        return
    with st.status(f"Training a landmark model on {snapshot}...", expanded=True) as status:
        try:
            model = train_from_snapshot(
                store, snapshot, workers=1,
                progress=lambda candidate, score: st.write(f"{candidate}: cross-validated accuracy {score:.3f}"))
        except Exception as error:  # noqa: BLE001
            status.update(label="Training failed", state="error")
            show_error(error)
            return
        status.update(label=f"Trained {snapshot}-landmarks: CV accuracy {model.card.cv_accuracy:.3f}", state="complete")
    st.success(f"Saved as {snapshot}-landmarks in {store.root / 'models'}; choose it in the sidebar.")


def fix_media_serving() -> None:
    """Work around Streamlit 1.60 + Starlette 1.x: audio and video answer HTTP 500 in the browser.

    Streamlit's media-aware gzip responder records the response start of an ``audio/*`` or ``video/*``
    file and marks it "not to compress", but Starlette 1.x expects that start to be sent at once
    (its own responder does); the body then goes out first and uvicorn refuses it ("Expected ASGI
    message 'http.response.start'"). Pinning a Starlette that Streamlit 1.60 was built against is the
    real fix; until then this sends the start where Starlette would. A no-op when the bug is absent.
    """
    try:
        from starlette.middleware.gzip import IdentityResponder
        from streamlit.web.server.starlette import starlette_gzip_middleware as media
    except ImportError:
        return
    if not hasattr(IdentityResponder(None, 0), "partial_response"):
        return  # an older Starlette, which Streamlit's responder was written for
    for cls in (media._MediaAwareGZipResponder, media._MediaAwareIdentityResponder):
        if getattr(cls, "_studio_fixed", False):
            continue
        parent = cls.__mro__[1]

        async def send_with_compression(self, message, _parent=parent):
            if message["type"] != "http.response.start":
                await _parent.send_with_compression(self, message)
                return
            await _parent.send_with_compression(self, message)  # sends it when Starlette's own list excludes it
            sent = self.content_encoding_set or self.partial_response or self.content_type_is_excluded
            media._handle_response_start(self, message)  # Streamlit's list adds audio/ and video/
            self.content_type_is_excluded = self.content_type_is_excluded or sent and not self.content_encoding_set
            if self.content_type_is_excluded and not sent:
                await self.send(message)

        cls.send_with_compression = send_with_compression
        cls._studio_fixed = True
