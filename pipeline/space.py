"""The Hugging Face Space's configuration, in one place: which models it runs, where suggested labels go,
and the ZeroGPU decorator. No UI code here (``gradio_app.py`` reads it).

Environment variables:

    CHORD_SPACE_MODELS      chord models, separated by ``os.pathsep`` (``:`` on Linux, as
                            ``CHORD_STUDIO_MODELS``): at most one landmark and one image model, fused
                            per frame. Each is a local model folder, a Hugging Face hub id
                            (``owner/name``: a model repo holding a model folder), or ``sample``
                            (default: the sample landmark model, trained on synthetic renders).
                            Example: ``~/models/landmarks-real:~/models/cnn-real``
    CHORD_SPACE_DETECTOR    a fretboard detector (folder, ``best.pt`` or hub id); default none
    CHORD_SPACE_LABELS_REPO a Hugging Face *dataset* repo id that suggested labels are pushed to
    HF_TOKEN                the token for that push (a Space secret); without it, or without the
                            repo id, labels stay in the local label store only (``CHORD_STUDIO_DATA``)
    CHORD_SPACE_CONCURRENCY analyses run at once (default 2; the rest wait in the queue)
    CHORD_SPACE_TMP         parent of the per-request temp folders (default the system temp dir)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.core.errors import InputError

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class SpaceSettings:
    """What the Space runs and where its files go (see the module docstring for the variables).

    Attributes:
        models: chord model specs (folder, hub id, or ``"sample"``).
        detector: fretboard detector spec, or None.
        labels_repo: dataset repo id for suggested labels, or None.
        token: Hugging Face token, or None.
        concurrency: analyses at once.
        tmp_root: parent folder of per-request temp folders.
    """

    models: tuple[str, ...] = field(default_factory=lambda: tuple(
        p.strip() for p in os.environ.get("CHORD_SPACE_MODELS", "").split(os.pathsep) if p.strip()) or ("sample",))
    detector: str | None = field(default_factory=lambda: os.environ.get("CHORD_SPACE_DETECTOR") or None)
    labels_repo: str | None = field(default_factory=lambda: os.environ.get("CHORD_SPACE_LABELS_REPO") or None)
    token: str | None = field(default_factory=lambda: os.environ.get("HF_TOKEN") or None, repr=False)
    concurrency: int = field(default_factory=lambda: _env_int("CHORD_SPACE_CONCURRENCY", 2))
    tmp_root: Path = field(default_factory=lambda: Path(
        os.environ.get("CHORD_SPACE_TMP") or Path(tempfile.gettempdir()) / "chord-space"))

    @property
    def pushes_labels(self) -> bool:
        """Whether suggested labels go to a hub dataset as well as the local store."""
        return bool(self.labels_repo and self.token)


def get_space_settings() -> SpaceSettings:
    """The Space settings as the environment says now."""
    return SpaceSettings()


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
    from pipeline.models.registry import model_kind

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
    from pipeline.models.registry import load_model_set

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


def request_folder(settings: SpaceSettings | None = None, max_age_s: float = 3600.0) -> Path:
    """A fresh folder for one request (never shared), under ``tmp_root``; folders older than
    ``max_age_s`` are removed on the way (a Space's disk is small)."""
    import shutil

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


__all__ = ["HAS_SPACES", "SpaceSettings", "get_space_settings", "gpu", "load_space_models", "push_label",
           "request_folder", "resolve_model_spec"]
