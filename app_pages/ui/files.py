"""The studio's scratch folders: one per process for derived files, one per browser session for uploads."""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import uuid
from pathlib import Path

import streamlit as st

from pipeline.models.datasets import file_digest as sha256_of_file


@st.cache_resource
def work_dir() -> Path:
    """This process's scratch folder (derived files by content hash; per-session uploads); removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="chord-studio-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def session_dir(name: str) -> Path:
    """A folder of this browser session only (uploads), under :func:`work_dir`.

    Args:
        name: the folder's name inside the session's folder.

    Returns:
        The folder, created if needed.
    """
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex
    path = work_dir() / "sessions" / st.session_state["session_id"] / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def derived_path(kind: str, *parts) -> Path:
    """Where a file derived from ``parts`` lives in :func:`work_dir`.

    Args:
        kind: the folder of that kind of file (``"videos"``, ``"analyses"``...).
        *parts: what the file is derived from (content hashes, settings), hashed into its name.

    Returns:
        ``<work dir>/<kind>/<hash>`` (the folder is created; add a suffix for the file).
    """
    key = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]
    folder = work_dir() / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / key


@st.cache_data(show_spinner=False, max_entries=64)
def file_digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's content, cached by path, size and modification time."""
    return sha256_of_file(path)


def digest_of(path: Path) -> str:
    """SHA-256 of a file's content (hex), computed once per file version."""
    stat = Path(path).stat()
    return file_digest(str(path), stat.st_size, stat.st_mtime_ns)
