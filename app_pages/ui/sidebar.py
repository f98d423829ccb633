"""The shared sidebar (model folders, data directory, your name on labels, sampling rate) and what the pages
read from it."""

from __future__ import annotations

import secrets
from pathlib import Path

import streamlit as st

from app_pages.ui.recall import recall
from pipeline.core.config import get_settings, get_studio_settings
from pipeline.core.errors import InputError
from pipeline.models.catalogue import IMAGE_KINDS, SAMPLE, ModelEntry, discover_models, model_entry


def sidebar() -> None:
    """The shared sidebar: model folder(s), data directory, your name on labels, sampling rate. Nothing else."""
    settings = get_studio_settings()
    recall()  # a reload on ?analysis=KEY: the last analysis and the settings it was made with
    _restore_kept()
    with st.sidebar:
        st.text_input("Data directory (label store)", **_initial("data_dir", str(get_settings().data_dir)),
                      key="data_dir",
                      help="Where labels, snapshots and retrained models live (CHORD_STUDIO_DATA).")
        st.text_input("Your name (on the labels you set)", key="author", max_chars=100,
                      placeholder=session_author(),
                      help="Labels are written under this name, and 'Undo my last label' takes back only yours. "
                           "Left empty, this browser session has a name of its own.")
        st.text_area("More model folders, one per line", **_initial("model_folders", "\n".join(settings.models)),
                     key="model_folders",
                     help="Landmark or image model folders (card.json), or a fretboard detector (best.pt).")
        entries = available_models()
        names = [e.name for e in entries]
        kinds = {e.name: e.kind for e in entries}
        wanted = [model_entry(p).name for p in settings.models if _is_model(p)] or [SAMPLE]
        default = [n for n in wanted if n in names] or names[:1]
        if "models" in st.session_state:  # a model that has gone stays out
            st.session_state["models"] = [n for n in st.session_state["models"] if n in names]
        st.multiselect("Models", names, **_initial("models", default, "default"), key="models",
                       format_func=lambda n: "sample (synthetic renders)" if n == SAMPLE else f"{n} ({kinds.get(n)})",
                       help="Landmark models read the hand, image models (cnn, image) the frame, a detector finds "
                            "the fretboard. Analyze runs one of each kind (a landmark and an image model are "
                            "fused); Explain and Compare put models side by side.")
        if st.session_state.get("models"):  # the full names, which the pills above may cut short
            st.caption("Chosen: " + ", ".join(f"`{n}`" for n in st.session_state["models"]))
        st.number_input("Sampling rate (frames per second)", 0.5, 30.0, **_initial("fps", float(settings.fps)),
                        step=0.5, key="fps")
    for key in KEPT:
        st.session_state[f"_kept_{key}"] = st.session_state.get(key)


KEPT = ("data_dir", "author", "model_folders", "models", "fps")
"""The sidebar's widgets, whose values outlive a page switch (Streamlit drops a widget's state when a run ends
without it, as ``st.switch_page`` from a button does: Explain then lost the models Analyze used)."""


def choose_models(names: list[str]) -> None:
    """Make ``names`` the sidebar's chosen models from the next run on (e.g. a taught pair): the widget takes its
    kept value when it has none of its own."""
    st.session_state["_kept_models"] = list(names)
    st.session_state.pop("models", None)


def _restore_kept() -> None:
    for key in KEPT:
        if key not in st.session_state and st.session_state.get(f"_kept_{key}") is not None:
            st.session_state[key] = st.session_state[f"_kept_{key}"]


def _initial(key: str, value, name: str = "value") -> dict:
    """The widget's initial value, unless the session already holds one (giving both makes Streamlit warn)."""
    return {} if key in st.session_state else {name: value}


def _is_model(path: str) -> bool:
    try:
        model_entry(path)
    except InputError:
        return False
    return True


def session_author() -> str:
    """Who labels in this browser session: the name typed in the sidebar, else the session's own name
    (``studio-`` and 6 random hex digits, made once per session), so two tabs never undo each other's labels."""
    own = st.session_state.setdefault("session_author", f"studio-{secrets.token_hex(3)}")
    return str(st.session_state.get("author") or "").strip() or own


def data_dir() -> Path:
    """The label store folder chosen in the sidebar."""
    return Path(st.session_state.get("data_dir") or get_settings().data_dir).expanduser()


def fps() -> float:
    """The sampling rate chosen in the sidebar, frames per second."""
    return float(st.session_state.get("fps") or get_studio_settings().fps)


def available_models() -> list[ModelEntry]:
    """Every model the studio finds, plus the folders typed into the sidebar (bad ones reported)."""
    extra = [line.strip() for line in str(st.session_state.get("model_folders", "")).splitlines() if line.strip()]
    for folder in extra:
        if not _is_model(folder):
            st.sidebar.warning(f"{folder} is not a model folder the studio knows; it is left out.")
    return discover_models(data_dir(), [f for f in extra if _is_model(f)])


def chosen_models(kind: str | None = "landmarks") -> list[ModelEntry]:
    """The models chosen in the sidebar, of one kind.

    Args:
        kind: ``"landmarks"``, ``"image"`` (transformers and CNN alike), ``"chord"`` (landmarks and image),
            ``"detector"``, or None for every kind.

    Returns:
        The chosen entries of that kind, in the sidebar's order.
    """
    kinds = {"image": IMAGE_KINDS, "chord": ("landmarks", *IMAGE_KINDS)}.get(kind, (kind,))
    chosen = set(st.session_state.get("models") or [SAMPLE])
    return [e for e in available_models() if e.name in chosen and (kind is None or e.kind in kinds)]
