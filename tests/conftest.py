"""Shared fixtures and markers. Nothing here reaches a network: hubs are set offline before anything
imports them.

Every test carries one layer marker from where it lives (``pytest -m unit`` runs the fast ones):
``e2e`` (tests/apps/test_e2e_*: a real browser), ``app`` (the rest of tests/apps: AppTest,
gradio_client), ``unit`` (everything else); tests that read ../shared also carry ``real_data``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")  # quieten MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

from pipeline.core.config import get_settings


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory):
    """Point CHORD_STUDIO_HOME at a temp folder for the whole session, never the user's cache.

    Session-scoped and autouse, so it is in place before any module-scoped fixture trains a model.
    """
    home = tmp_path_factory.mktemp("chord-studio-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHORD_STUDIO_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The shared real frames; skips the test with the reason when they are absent."""
    root = get_settings().real_data
    if not (root / "train").is_dir() or not (root / "val").is_dir():
        pytest.skip(f"real frames not found at {root} (set CHORD_STUDIO_REAL_DATA or put ../shared beside the repo)")
    return root


TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Mark each test with its layer (see the module docstring)."""
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(TESTS).parts
        if parts[0] == "apps":
            item.add_marker(pytest.mark.e2e if parts[-1].startswith("test_e2e_") else pytest.mark.app)
        else:
            item.add_marker(pytest.mark.unit)
        if "real_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)
