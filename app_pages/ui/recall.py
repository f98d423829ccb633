"""The last analysis outlives a browser reload: its record (clip, models, rate, span, and the sidebar's
settings) is kept as JSON in the studio's scratch folder and its key in the page's URL (``?analysis=KEY``);
a fresh session opened on that URL takes it back (the analysis itself is cached on disk by content)."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from app_pages.ui.files import derived_path

QUERY_KEY = "analysis"
"""The URL's query parameter naming the kept analysis."""
SIDEBAR_KEYS = ("data_dir", "model_folders", "models", "fps")
"""The sidebar's settings kept with an analysis (its models must be chosen again for it to load)."""


def _file(key: str) -> Path:
    return derived_path("recall", key).with_suffix(".json")


def remember(current: dict) -> None:
    """Keep the current analysis's record and put its key in the URL.

    Args:
        current: the record Analyze keeps in ``st.session_state["current"]`` (path, models, fps, start, end).
    """
    record = {"current": current, "sidebar": {k: st.session_state.get(k) for k in SIDEBAR_KEYS}}
    text = json.dumps(record, sort_keys=True, default=str)
    key = derived_path("recall", text).name
    file = _file(key)
    if not file.exists():
        file.write_text(text)
    st.query_params[QUERY_KEY] = key


def forget() -> None:
    """Drop the current analysis: from the session and from the URL (a failed upload or analysis)."""
    st.session_state.pop("current", None)
    if QUERY_KEY in st.query_params:
        del st.query_params[QUERY_KEY]


def recall() -> None:
    """On a fresh session opened on a URL with ``?analysis=KEY``: take back the analysis's record and the
    sidebar settings it was made with (before the sidebar is drawn). Does nothing otherwise, or when the
    record or its clip is gone."""
    if "current" in st.session_state or st.session_state.get("_recalled"):
        return
    st.session_state["_recalled"] = True
    key = st.query_params.get(QUERY_KEY)
    if not key or not key.isalnum():
        return
    try:
        record = json.loads(_file(key).read_text())
    except (OSError, ValueError):
        return
    current = record.get("current") or {}
    if not current.get("path") or not Path(current["path"]).exists():
        return
    st.session_state["current"] = current
    for name, value in (record.get("sidebar") or {}).items():
        if value is not None and name not in st.session_state:
            st.session_state[name] = value
