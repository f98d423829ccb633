"""The Hugging Face Space's configuration, in one place: which models it runs, where suggested labels go,
and the ZeroGPU decorator. No UI code here (``gradio_app.py`` reads it).

Environment variables:

    CHORD_SPACE_MODELS      chord models, separated by ``os.pathsep``: local folders, Hugging Face hub
                            ids (``owner/name``, a model repo holding a model folder), or ``sample``
                            (default: the sample landmark model, trained on synthetic renders)
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

from pipeline.errors import InputError

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
        p for p in os.environ.get("CHORD_SPACE_MODELS", "").split(os.pathsep) if p.strip()) or ("sample",))
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


def resolve_model_spec(spec: str | None) -> str | None:
    """A model spec as :func:`pipeline.registry.load_model` takes it: a local path, or None (sample model).

    Hub ids are downloaded once (``huggingface_hub.snapshot_download``, cached by the hub library).

    Raises:
        InputError: a hub id that cannot be fetched (offline, private, missing).
    """
    if spec in (None, "", "sample"):
        return None
    if not _looks_like_hub_id(spec):
        return str(Path(spec).expanduser())
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(spec)
    except Exception as error:  # noqa: BLE001 - any hub failure becomes one clear message
        raise InputError(f"Could not fetch the model {spec!r} from the Hugging Face hub ({error}). "
                         "Set CHORD_SPACE_MODELS to a local folder, or 'sample', when offline.") from error


def load_space_models(settings: SpaceSettings | None = None):
    """The Space's :class:`pipeline.analyze.ModelSet` (loaded once per process by the registry)."""
    from pipeline.registry import load_model_set

    settings = settings or get_space_settings()
    chord = [resolve_model_spec(spec) for spec in settings.models]
    detector = resolve_model_spec(settings.detector) if settings.detector else None
    return load_model_set(chord, detector=detector)


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
