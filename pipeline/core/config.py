"""Typed settings with defaults, overridable from the environment, in one place, read by one parser.

Nothing the pipeline writes goes to the working directory: caches and trained models live under
``CHORD_STUDIO_HOME`` (default ``~/.cache/chord-studio``), or wherever a caller points.

Environment variables (a value that cannot be read is refused with an :class:`InputError` naming it;
an empty one means the default):

Where files live (:class:`Settings`)
    CHORD_STUDIO_HOME           root of caches and models (default ``~/.cache/chord-studio``)
    CHORD_STUDIO_REAL_DATA      the real labeled frames (default ``<repo>/../shared/data/guitar-chords-real``)
    CHORD_STUDIO_DATA           the label store of :mod:`labeling` (default ``<CHORD_STUDIO_HOME>/labels``)

The Streamlit studio's limits (:class:`StudioSettings`)
    CHORD_STUDIO_MAX_UPLOAD_MB  largest upload, in MB (default 200, Streamlit's own default cap)
    CHORD_STUDIO_MAX_SECONDS    longest span of a clip analysed at once, in seconds (default 300); also the
                                longest chord timeline read from a file and played as audio
    CHORD_STUDIO_MAX_PIXELS     most pixels of a decoded image or video frame (default 50000000, 50 MP);
                                larger ones are refused from their header, before decoding
    CHORD_STUDIO_MODELS         model folders the studio starts with, separated by ``os.pathsep``
                                (default: the sample model)
    CHORD_STUDIO_FPS            default sampling rate, frames per second (default 5)

The Hugging Face Space (:class:`SpaceSettings`)
    CHORD_SPACE_MODELS          chord models, separated by ``os.pathsep`` (``:`` on Linux, as
                                ``CHORD_STUDIO_MODELS``): at most one landmark and one image model, fused
                                per frame. Each is a local model folder, a Hugging Face hub id
                                (``owner/name``: a model repo holding a model folder), or ``sample``
                                (default: the sample landmark model, trained on synthetic renders).
                                Example: ``~/models/landmarks-real:~/models/cnn-real``
    CHORD_SPACE_DETECTOR        a fretboard detector (folder, ``best.pt`` or hub id); default none
    CHORD_SPACE_LABELS_REPO     a Hugging Face *dataset* repo id that suggested labels are pushed to
    HF_TOKEN                    the token for that push (a Space secret); without it, or without the
                                repo id, labels stay in the local label store only (``CHORD_STUDIO_DATA``)
    CHORD_SPACE_CONCURRENCY     analyses run at once (default 2; the rest wait in the queue)
    CHORD_SPACE_TMP             parent of the per-request temp folders (default the system temp dir)
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pipeline.core.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MEDIA_DIR = REPO_ROOT / "sample_media"

T = TypeVar("T", str, int, float, Path, tuple, None)


def read_env(name: str, default: T, *, positive: bool = False) -> T:
    """Read one setting from the environment, typed as its default: the one parser of every setting.

    Args:
        name: the environment variable.
        default: what an unset or empty variable gives; its type says how the value is read: ``int`` or
            ``float`` a finite number (``nan`` and ``inf`` refused), ``Path`` a path (``~`` expanded),
            ``tuple`` a list separated by ``os.pathsep`` (empty parts dropped; nothing left gives the
            default), ``str`` or ``None`` the text itself.
        positive: for a number, refuse zero and below.

    Returns:
        The value, of the default's type (``str`` for a ``None`` default).

    Raises:
        InputError: a number setting that is not a finite number (or not above zero when ``positive``),
            in one line that names the variable.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if isinstance(default, Path):
        return Path(raw).expanduser()
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(os.pathsep) if part.strip()) or default
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        kind = "a whole number" if isinstance(default, int) else "a number"
        try:
            value = int(raw) if isinstance(default, int) else float(raw)
        except ValueError:
            raise InputError(f"{name}={raw!r} is not {kind}; set it to {kind} such as {default} "
                             "or unset it for the default.") from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise InputError(f"{name}={raw!r} is not {'above zero' if positive else 'finite'}; set it to "
                             f"{kind} such as {default} or unset it for the default.")
        return value
    return raw


@dataclass(frozen=True)
class Settings:
    """Where the pipeline keeps its files.

    Attributes:
        home: root folder for caches and models.
        real_data: ImageFolder root of the real labeled frames (may not exist).
    """

    home: Path = field(default_factory=lambda: read_env("CHORD_STUDIO_HOME", Path.home() / ".cache" / "chord-studio"))
    real_data: Path = field(
        default_factory=lambda: read_env(
            "CHORD_STUDIO_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "guitar-chords-real"
        )
    )

    @property
    def cache_dir(self) -> Path:
        """Folder of on-disk caches (landmarks by image content, embeddings, ...)."""
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        """Folder of models trained on this machine."""
        return self.home / "models"

    @property
    def data_dir(self) -> Path:
        """Folder of the label store (database, frames, jobs); ``CHORD_STUDIO_DATA`` or ``home/labels``.

        The default lies under ``home``, never inside the repository, so labels are not committed
        by accident and tests (which point ``home`` at a temp folder) never touch a user's labels.
        """
        return read_env("CHORD_STUDIO_DATA", self.home / "labels")


def get_settings() -> Settings:
    """Return the settings as the environment says now (cheap; read on every call)."""
    return Settings()


@dataclass(frozen=True)
class StudioSettings:
    """The Streamlit studio's limits and defaults (see the module docstring for the variables).

    Attributes:
        max_upload_mb: largest accepted upload in megabytes.
        max_seconds: longest span of a clip analysed at once, in seconds (and longest timeline read).
        max_pixels: most pixels (width x height) of an image or video frame that is decoded.
        models: model folders chosen at start; empty means the sample model.
        fps: default frames sampled per second.
    """

    max_upload_mb: float = field(default_factory=lambda: read_env("CHORD_STUDIO_MAX_UPLOAD_MB", 200.0, positive=True))
    max_seconds: float = field(default_factory=lambda: read_env("CHORD_STUDIO_MAX_SECONDS", 300.0, positive=True))
    max_pixels: float = field(default_factory=lambda: read_env("CHORD_STUDIO_MAX_PIXELS", 50e6, positive=True))
    models: tuple[str, ...] = field(default_factory=lambda: read_env("CHORD_STUDIO_MODELS", ()))
    fps: float = field(default_factory=lambda: read_env("CHORD_STUDIO_FPS", 5.0, positive=True))


def get_studio_settings() -> StudioSettings:
    """The studio settings as the environment says now.

    Raises:
        InputError: a limit that is not a finite number above zero.
    """
    return StudioSettings()


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

    models: tuple[str, ...] = field(default_factory=lambda: read_env("CHORD_SPACE_MODELS", ("sample",)))
    detector: str | None = field(default_factory=lambda: read_env("CHORD_SPACE_DETECTOR", None))
    labels_repo: str | None = field(default_factory=lambda: read_env("CHORD_SPACE_LABELS_REPO", None))
    token: str | None = field(default_factory=lambda: read_env("HF_TOKEN", None), repr=False)
    concurrency: int = field(default_factory=lambda: read_env("CHORD_SPACE_CONCURRENCY", 2, positive=True))
    tmp_root: Path = field(default_factory=lambda: read_env(
        "CHORD_SPACE_TMP", Path(tempfile.gettempdir()) / "chord-space"))

    @property
    def pushes_labels(self) -> bool:
        """Whether suggested labels go to a hub dataset as well as the local store."""
        return bool(self.labels_repo and self.token)


def get_space_settings() -> SpaceSettings:
    """The Space settings as the environment says now.

    Raises:
        InputError: ``CHORD_SPACE_CONCURRENCY`` that is not a whole number above zero.
    """
    return SpaceSettings()
