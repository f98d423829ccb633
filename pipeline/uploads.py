"""Uploads the apps accept: safe file names, size and type checks, and the span of a clip analysed at once.

The limits come from :class:`pipeline.core.config.StudioSettings` (``CHORD_STUDIO_MAX_UPLOAD_MB``,
``CHORD_STUDIO_MAX_SECONDS``); the Streamlit studio and the Space check uploads the same way.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from pipeline.core.config import StudioSettings, get_studio_settings
from pipeline.core.errors import InputError
from pipeline.core.types import VideoInfo
from pipeline.vision.video import IMAGE_SUFFIXES, SUPPORTED_SUFFIXES, VIDEO_SUFFIXES, probe


def ascii_name(text: str) -> str:
    """``text`` in the characters a file or clip name may hold everywhere: accents dropped (``Übung`` ->
    ``Ubung``), every other character outside ``[A-Za-z0-9._-]`` replaced by ``_``.

    So a clip called ``Übung – G.mp4`` is accepted by every part that names files after it (the
    uploads, the label store's clip names), as ``Ubung___G.mp4``.
    """
    folded = unicodedata.normalize("NFKD", str(text))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^A-Za-z0-9._-]", "_", folded)


def safe_name(name: str, fallback: str = "upload") -> str:
    """A file name that cannot leave its folder: no directories, no ``..``, only plain characters.

    Args:
        name: the name a browser sent (may hold ``../``, backslashes, odd characters).
        fallback: used when nothing usable is left.

    Returns:
        The last path component through :func:`ascii_name` (accents dropped, every other character
        outside ``[A-Za-z0-9._-]`` replaced by ``_``), leading dots removed, at most 100 characters,
        keeping the suffix.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = ascii_name(base).lstrip(".")
    if len(base) > 100:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 99 - len(suffix)] + dot + suffix) if dot and len(suffix) < 10 else base[:100]
    return base or fallback


def save_upload(data: bytes, name: str, folder: str | Path, settings: StudioSettings | None = None) -> Path:
    """Check an uploaded file's size and type and store it in ``folder`` under its content hash.

    Args:
        data: the file's bytes.
        name: the name the browser gave it (sanitised with :func:`safe_name`).
        folder: the session's upload folder (created if needed).
        settings: limits (default from the environment).

    Returns:
        The stored file, ``<folder>/<sha256[:16]>/<safe name>`` (messages about it name the user's file).

    Raises:
        InputError: too large, empty, or not a supported video or image type.
    """
    settings = settings or get_studio_settings()
    safe = safe_name(name)
    size_mb = len(data) / 2**20
    if size_mb > settings.max_upload_mb:
        raise InputError(f"'{safe}' is {size_mb:.0f} MB; the studio takes files up to {settings.max_upload_mb:.0f} MB "
                         "(CHORD_STUDIO_MAX_UPLOAD_MB). Cut the clip shorter or export it smaller.")
    if Path(safe).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(f"'{safe}' is not a video or image the studio reads; upload a video "
                         f"({', '.join(VIDEO_SUFFIXES)}) or an image ({', '.join(IMAGE_SUFFIXES)}).")
    if not data:
        raise InputError(f"'{safe}' is empty (0 bytes); export or upload it again.")
    folder = Path(folder) / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    if not path.exists():
        temp = path.with_name(f".{path.name}.part")
        temp.write_bytes(data)
        temp.replace(path)
    return path


def check_clip(path: str | Path, start: float | None = None, end: float | None = None,
               settings: StudioSettings | None = None) -> VideoInfo:
    """Probe a clip and check that the span to analyse is within the studio's limit.

    Args:
        path: video or image.
        start: start of the span in seconds (default the clip's start).
        end: end of the span in seconds (default the clip's end).
        settings: limits (default from the environment).

    Returns:
        The clip's :class:`~pipeline.core.types.VideoInfo`.

    Raises:
        InputError: unreadable, not a video or image, or the span is longer than ``max_seconds``.
    """
    settings = settings or get_studio_settings()
    info = probe(path)
    if info.is_image:
        return info
    span = min(end if end else info.duration, info.duration) - (start or 0.0)
    if span > settings.max_seconds + 1e-6:
        raise InputError(
            f"'{Path(path).name}' is {_clock(info.duration)} long; the studio analyses up to "
            f"{_clock(settings.max_seconds)} at a time (CHORD_STUDIO_MAX_SECONDS). Choose a start and end "
            f"at most {settings.max_seconds:g} s apart, or run `python -m pipeline analyze` on the whole clip."
        )
    return info


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
