"""The Hugging Face Space's model loading (local folders or hub ids), per-request folders, the analysis of
an upload (:func:`analyze_upload`), the push of suggested labels to a hub dataset, and the ZeroGPU
decorator. No UI code here (``gradio_app.py`` reads it);
its settings (``CHORD_SPACE_*``) are :class:`pipeline.core.config.SpaceSettings`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.audio.mux import write_subtitles
from pipeline.core.config import SpaceSettings, get_space_settings, get_studio_settings
from pipeline.core.errors import InputError
from pipeline.core.timeline import Timeline
from pipeline.core.types import Analysis, ModelSet
from pipeline.models.cards import model_kind
from pipeline.models.evaluation import score_timeline
from pipeline.models.registry import forget_models, load_model_set
from pipeline.samples import fretboard_boxes, ground_truth, sample_twin
from pipeline.teach.clips import chord_of_file
from pipeline.teach.training import CNN_EPOCHS, TeachResult, make_model_set, teach
from pipeline.text import (
    SPACE_TEACH_REMEDY,
    analysis_summary,
    no_hand_message,
    space_models_note,
    space_taught_note,
    teach_counts_line,
    teach_summary,
    unfamiliar_message,
)
from pipeline.timeline.analyze import analyze_clip
from pipeline.uploads import check_clip, safe_name, save_upload
from pipeline.vision.drawing import write_annotated_video

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Models


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "~")) and not Path(spec).exists()


def _hub_offline() -> bool:
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers and gradio
        return False


def _hub_failure(spec: str, error: Exception, variable: str) -> str:
    """Why a hub id could not be fetched, and how to set the model instead, in one message."""
    from huggingface_hub import errors

    where = f"{spec!r}: it is not a local folder, so it was taken as a Hugging Face hub model id, but "
    if isinstance(error, errors.LocalEntryNotFoundError) and _hub_offline():
        why = "it is not in this machine's hub cache and the hub is offline (HF_HUB_OFFLINE=1)"
    elif isinstance(error, errors.GatedRepoError):
        why = "the repo is gated: accept its terms on the hub and set HF_TOKEN"
    elif isinstance(error, errors.RepositoryNotFoundError):
        why = "there is no such model repo on the hub (or it is private: set HF_TOKEN to a token that can read it)"
    else:
        why = f"it could not be downloaded ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
    return (f"Could not load the model {where}{why}. Set {variable} to a local model folder "
            f"(written by `python -m pipeline train`) or 'sample', separating several with {os.pathsep!r}; "
            "or give a hub id this machine can download.")


def resolve_model_spec(spec: str | None, variable: str = "CHORD_SPACE_MODELS") -> str | None:
    """A model spec as :func:`pipeline.models.registry.load_model` takes it: a local path, or None (sample model).

    A hub id (``owner/name``: a model repo holding a model folder, ``card.json`` at its top) is
    downloaded once with ``huggingface_hub.snapshot_download`` (cached by the hub library, offline
    from the cache with ``HF_HUB_OFFLINE=1``); its local snapshot folder then loads exactly as a
    local folder does (:func:`pipeline.models.registry.load_model`; an image model's backbone through
    ``from_pretrained`` on that folder).

    Args:
        spec: a local folder or file, a hub id, ``"sample"`` or None.
        variable: the setting it came from, named in error messages.

    Raises:
        InputError: a hub id that cannot be fetched (offline and not cached, private, missing), or a
            repo without a model folder at its top; the message names the id and how to set the model.
    """
    if spec is None or spec.strip() in ("", "sample"):
        return None
    spec = spec.strip()
    if not _looks_like_hub_id(spec):
        path = Path(spec).expanduser()
        if not path.exists():
            raise InputError(f"There is no model at {spec!r} (no such folder or file). Set {variable} to a "
                             f"local model folder, a hub id (owner/name) or 'sample'.")
        return str(path)
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(spec))
    except Exception as error:  # noqa: BLE001 - any hub failure becomes one clear message
        raise InputError(_hub_failure(spec, error, variable)) from error
    try:
        model_kind(folder)
    except InputError as error:
        raise InputError(
            f"The hub repo {spec!r} holds no chord model: a model repo needs a model folder at its top "
            "(card.json and weights, as `python -m pipeline train` writes them). A backbone such as "
            "facebook/dinov2-small is not a chord model: train one on it with `--backbone`, upload the "
            f"folder, and set {variable} to that repo (or to the local folder).") from error
    return str(folder)


def load_space_models(settings: SpaceSettings | None = None):
    """The Space's :class:`pipeline.timeline.analyze.ModelSet` (loaded once per process by the registry).

    Raises:
        InputError: a model that cannot be fetched or loaded (the message names it and the setting).
    """
    settings = settings or get_space_settings()
    chord = [resolve_model_spec(spec) for spec in settings.models]
    detector = resolve_model_spec(settings.detector, "CHORD_SPACE_DETECTOR") if settings.detector else None
    try:
        return load_model_set(chord, detector=detector)
    except InputError as error:
        raise InputError(f"{error} (Space models: CHORD_SPACE_MODELS={os.pathsep.join(settings.models)!r}"
                         + (f", CHORD_SPACE_DETECTOR={settings.detector!r}" if settings.detector else "")
                         + ".)") from error


# --------------------------------------------------------------------------------------------------
# Per-request folders


SESSION_TTL_S = 6 * 3600
"""A visitor's session (its analysis, its taught pair) lives at most this long; its folder goes with it."""


def request_folder(settings: SpaceSettings | None = None, max_age_s: float = SESSION_TTL_S) -> Path:
    """A fresh folder for one request (never shared), under ``tmp_root``; folders older than
    ``max_age_s`` are removed on the way (a Space's disk is small; a session ends sooner, and then
    removes its own folder)."""
    settings = settings or get_space_settings()
    root = settings.tmp_root
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age_s
    for old in root.glob("req-*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix="req-", dir=root))


# --------------------------------------------------------------------------------------------------
# Analysis of an upload


@dataclass
class UploadAnalysis:
    """What :func:`analyze_upload` gives the Space for one clip.

    Attributes:
        analysis: the clip's :class:`~pipeline.core.types.Analysis` (also written to ``folder``).
        clip: the clip, copied into the request folder.
        folder: the request's own folder (outputs are written here).
        models: the model set that analysed it.
        sample: the sample clip it is a copy of, if any.
        truth: that sample's ground-truth timeline, if any.
        subtitles: the chords as WebVTT subtitles.
        annotated: the annotated H.264 video (None for a still image).
        summary: the markdown summary, one paragraph a line.
        warning: why nothing could be read (no hand in any frame), or None.
    """

    analysis: Analysis
    clip: Path
    folder: Path
    models: ModelSet
    sample: Path | None
    truth: Timeline | None
    subtitles: Path
    annotated: Path | None
    summary: list[str]
    warning: str | None


def analyze_upload(source: str | Path, fps: float | None, load_models: Callable[[], ModelSet],
                   progress: Callable[[float, str], object] | None = None) -> UploadAnalysis:
    """Analyse an uploaded clip in a fresh request folder: save and check it, recognise a sample clip by
    its bytes, analyse it, and write its subtitles, its annotated video and its analysis.

    The request folder is removed when the upload is refused or anything fails on the way (nothing of
    a rejected upload stays on the Space's disk); a finished one stays while its session lives
    (:func:`remove_request_folder` when the session ends).

    Args:
        source: the uploaded file (upload, webcam recording or example).
        fps: frames sampled per second; None or 0 for the studio setting.
        load_models: returns the model set (called after the clip is checked, so a bad clip fails fast).
        progress: called with (fraction in [0, 1], what is being done).

    Returns:
        The :class:`UploadAnalysis`.

    Raises:
        InputError: an unreadable, too large or unsupported upload; models that cannot be loaded.
    """
    folder = request_folder()
    try:
        return _analyze_in(folder, Path(source), fps, load_models, progress or (lambda fraction, what: None))
    except BaseException:
        remove_request_folder(folder)
        raise


def remove_request_folder(folder: str | Path | None) -> None:
    """Remove a request folder (and what it holds, and the models loaded from it: a session's taught pair);
    only folders under the Space's ``tmp_root``, quietly."""
    if folder is None:
        return
    folder, root = Path(folder).resolve(), get_space_settings().tmp_root.resolve()
    if folder.parent == root and folder.name.startswith("req-"):
        forget_models(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _analyze_in(folder: Path, source: Path, fps: float | None, load_models: Callable[[], ModelSet],
                report: Callable[[float, str], object]) -> UploadAnalysis:
    settings = get_studio_settings()
    fps = float(fps or settings.fps)
    report(0.0, "Checking the clip")
    try:
        data = source.read_bytes()
    except OSError as error:
        raise InputError(f"Could not read the upload ({error}).") from error
    clip = save_upload(data, source.name, folder / "upload", settings)
    info = check_clip(clip, settings=settings)
    sample = sample_twin(clip)  # uploads and examples arrive as copies: known by their bytes
    report(0.02, "Loading the model")
    models = load_models()
    started = time.perf_counter()
    analysis = analyze_clip(clip, models, fps=fps,
                            progress=lambda f: report(0.05 + 0.75 * f, "Finding hands and chords"))
    seconds = time.perf_counter() - started
    report(0.85, "Drawing the annotated video")
    vtt = write_subtitles(analysis.timeline, folder / "chords.vtt")
    annotated = None
    if not info.is_image:
        annotated = write_annotated_video(analysis, folder / f"{clip.stem}.annotated.mp4",
                                          fretboard_boxes(sample) if sample else None)
    analysis.write(folder)
    truth = ground_truth(sample) if sample else None
    score = score_timeline(analysis.timeline, truth) if truth is not None else None
    summary = analysis_summary(source.name, analysis, fps, seconds, models.image is not None,
                               sample.name if sample else None,
                               score.frame_accuracy if score else None, score.segment_f1 if score else None)
    warning = no_hand_message(analysis)
    if warning:
        summary.append(f"⚠️ {warning}")
    if info.warning:  # a truncated upload, analysed as far as it goes
        summary.append(f"⚠️ {info.warning}")
    unfamiliar = unfamiliar_message(analysis, SPACE_TEACH_REMEDY)
    if unfamiliar:
        summary.append(f"⚠️ {unfamiliar}")
    summary.append(space_models_note(models))
    report(1.0, "Done")
    return UploadAnalysis(analysis, clip, folder, models, sample, truth, vtt, annotated, summary, warning)


# --------------------------------------------------------------------------------------------------
# Teaching a visitor's own setup


@dataclass
class TaughtPair:
    """A pair of models taught in one Space session (:func:`teach_uploads`); it analyses that session's clips.

    Attributes:
        folder: the session's teach folder (a request folder: the clips and the taught folder).
        result: what :func:`pipeline.teach.training.teach` made (the taught folder, held-out scores, counts).
        models: the taught pair, loaded.
        summary: markdown paragraphs: what was taught, the held-out scores, each chord's frames.
    """

    folder: Path
    result: TeachResult
    models: ModelSet
    summary: list[str]


def teach_uploads(sources: Sequence[str | Path], chords: Sequence[str | None] | None = None,
                  chord_times: str | None = None, name: str = "my-guitar", epochs: int = CNN_EPOCHS,
                  progress: Callable[[float, str], object] | None = None) -> TaughtPair:
    """Teach a pair from a visitor's clips, in a fresh request folder: the service of the Space's Teach tab
    (the studio's Teach page and ``python -m pipeline teach`` call the same :func:`pipeline.teach.training.teach`).

    Each upload is checked (type, size, length) and stored under its own name, so a clip named after its chord
    (``G.mp4``, ``Am-2.mov``) teaches that chord. On any failure the request folder goes: nothing of the
    visitor's clips stays, and the pair they had before (if any) is untouched.

    Args:
        sources: the uploaded clips (and camera takes).
        chords: the chord of each clip; None entries (or no list) read it from the file name.
        chord_times: ``"G:0-4,C:4-8"`` for one clip with several chords.
        name: whose setup (the taught folder's name and the cards' domain).
        epochs: CNN epochs.
        progress: called with (fraction in [0, 1], what is being done).

    Returns:
        The :class:`TaughtPair`.

    Raises:
        InputError: no clip, a clip without a chord, unreadable or too long, with no hand, a chord with too
            few frames (each named in one sentence).
    """
    report = progress or (lambda fraction, what: None)
    sources = [Path(s) for s in sources]
    given = list(chords or [None] * len(sources))
    if not chord_times:  # a clip without a chord fails before anything is stored
        given = [c or chord_of_file(s) for s, c in zip(sources, given)]
    folder = request_folder()
    try:
        report(0.0, "Checking the clips")
        clips = []
        for k, source in enumerate(sources):
            try:
                data = source.read_bytes()
            except OSError as error:
                raise InputError(f"Could not read the upload {source.name!r} ({error}).") from error
            clip = save_upload(data, source.name, folder / "clips" / str(k))
            if any(c.name == clip.name for c in clips):  # each clip its own name: frames are grouped by it
                clip = clip.replace(clip.with_name(f"{k}-{clip.name}"))
            check_clip(clip)
            clips.append(clip)
        out = folder / "taught" / safe_name(name, "my-guitar")
        result = teach(clips, out, chords=given, chord_times=chord_times, name=out.name, epochs=epochs,
                       progress=lambda fraction, step: report(min(1.0, fraction), f"Teaching: {step}"))
        models = make_model_set(result.folder)
    except BaseException:
        remove_request_folder(folder)
        raise
    summary = [space_taught_note(out.name, models.landmarks.card.trained_on),
               teach_summary(result.accuracy, result.n_train, result.n_held_out, result.seconds),
               "\n".join(f"- {teach_counts_line(chord, c.sampled, c.kept, c.dark, c.blurred, c.duplicates, c.no_hand)}"
                         for chord, c in result.counts.items())]
    return TaughtPair(folder, result, models, summary)


# --------------------------------------------------------------------------------------------------
# Labels to the hub


def push_label(record: dict, image: Path, settings: SpaceSettings | None = None) -> str:
    """Upload one suggested label (a JSON record and the frame image) to the configured dataset repo.

    Spaces lose their disk on restart; the dataset keeps the suggestions. Files go to
    ``suggestions/<digest>.json`` and ``suggestions/<digest><ext>``.

    Args:
        record: what the label store recorded (frame digest, chord, time, clip, model answer...).
        image: the stored frame image.
        settings: Space settings (default from the environment).

    Returns:
        A message for the user: where the label went.
    """
    settings = settings or get_space_settings()
    if not settings.pushes_labels:
        return "Kept in this Space's local label store (no dataset repo configured)."
    from huggingface_hub import HfApi

    api = HfApi(token=settings.token)
    digest = record["digest"]
    try:
        api.upload_file(path_or_fileobj=str(image), path_in_repo=f"suggestions/{digest}{image.suffix}",
                        repo_id=settings.labels_repo, repo_type="dataset",
                        commit_message=f"frame {digest[:12]}")
        api.upload_file(path_or_fileobj=json.dumps(record, indent=2).encode(),
                        path_in_repo=f"suggestions/{digest}.json", repo_id=settings.labels_repo,
                        repo_type="dataset", commit_message=f"suggest {record['chord']} for {digest[:12]}")
    except Exception as error:  # noqa: BLE001 - the local label is kept whatever the hub says
        log.warning("label push to %s failed: %s", settings.labels_repo, error)
        return f"Kept locally; pushing to {settings.labels_repo} failed ({type(error).__name__})."
    return f"Kept locally and pushed to the dataset {settings.labels_repo}."


# --------------------------------------------------------------------------------------------------
# ZeroGPU


def _no_op_gpu(function: Callable | None = None, **_options):
    """``spaces.GPU`` where ``spaces`` is absent: ``@gpu`` and ``@gpu(duration=...)`` both return the function."""
    if callable(function):
        return function
    return lambda inner: inner


try:  # ZeroGPU hardware on a Space; elsewhere a no-op with the same shape
    import spaces as _spaces

    gpu = _spaces.GPU
    HAS_SPACES = True
except ImportError:
    gpu = _no_op_gpu
    HAS_SPACES = False


__all__ = ["HAS_SPACES", "TaughtPair", "UploadAnalysis", "analyze_upload", "gpu", "load_space_models", "push_label",
           "SESSION_TTL_S", "remove_request_folder", "request_folder", "resolve_model_spec", "teach_uploads"]
