"""Shared fixtures. Nothing here reaches a network: hubs are set offline before anything imports them."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")  # quieten MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

from pipeline.config import get_settings


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point CHORD_STUDIO_HOME at a temp folder shared by the session, never the user's cache."""
    home = tmp_path_factory.getbasetemp() / "chord-studio-home"
    monkeypatch.setenv("CHORD_STUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real frames; skips the test with the reason when they are absent."""
    root = get_settings().real_data
    if not (root / "train").is_dir() or not (root / "val").is_dir():
        pytest.skip(f"real frames not found at {root} (set CHORD_STUDIO_REAL_DATA or put ../shared beside the repo)")
    return root
