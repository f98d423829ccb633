"""Typed settings with defaults, overridable from the environment, in one place.

Nothing the pipeline writes goes to the working directory: caches and trained models live under
``CHORD_STUDIO_HOME`` (default ``~/.cache/chord-studio``), or wherever a caller points.

Environment variables:
    CHORD_STUDIO_HOME       root of caches and models (default ``~/.cache/chord-studio``)
    CHORD_STUDIO_REAL_DATA  the real labeled frames (default ``<repo>/../shared/data/guitar-chords-real``)
    CHORD_STUDIO_DATA       the label store of :mod:`labeling` (default ``<CHORD_STUDIO_HOME>/labels``)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_MEDIA_DIR = REPO_ROOT / "sample_media"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    """Where the pipeline keeps its files.

    Attributes:
        home: root folder for caches and models.
        real_data: ImageFolder root of the real labeled frames (may not exist).
    """

    home: Path = field(default_factory=lambda: _env_path("CHORD_STUDIO_HOME", Path.home() / ".cache" / "chord-studio"))
    real_data: Path = field(
        default_factory=lambda: _env_path(
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
        return _env_path("CHORD_STUDIO_DATA", self.home / "labels")


def get_settings() -> Settings:
    """Return the settings as the environment says now (cheap; read on every call)."""
    return Settings()
