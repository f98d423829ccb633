"""Live: the browser camera's picture with the chord on it, a few times a second, and a practice light.

The camera stays in the browser (the small ``st.components.v2`` component of :mod:`app_pages.ui.camera`): the live
picture plays there, and a few times a second the component sends one frame as a JPEG. Python decides it
with the chosen models exactly as Analyze decides a frame (:class:`pipeline.timeline.live.LiveRecognizer`)
and hands the chord, the hand and the practice light back to the component, which draws them over the
picture; the next frame goes once the answer is back, so a slow model lowers the rate instead of queueing.
Only the camera's fragment reruns per frame.
"""

import time
from functools import partial

import streamlit as st

from app_pages.ui.cache import model_set
from app_pages.ui.camera import camera
from app_pages.ui.messages import show_error
from app_pages.ui.pickers import model_choice
from pipeline.core.chords import NO_CHORD
from pipeline.core.errors import InputError
from pipeline.text import CAMERA_WAITING, LIVE_INTRO, camera_problem, live_lines, practice_line
from pipeline.timeline.live import LiveRecognizer, Practice


@st.cache_resource(show_spinner=False, max_entries=4)
def recognizer(key: str, _models) -> LiveRecognizer:
    """One :class:`LiveRecognizer` per model choice (``key``), shared by sessions (it is thread-safe)."""
    return LiveRecognizer(_models)


def _ignore() -> None:
    """The camera's state callback: its value is read from the result."""


def decide_frame(live: LiveRecognizer) -> None:
    """The camera's frame callback, run before the fragment reruns: decide the frame it sent, move the
    practice on, and keep the answer for the component to draw in this very rerun."""
    frame = (st.session_state.get("live_camera") or {}).get("frame")
    last = st.session_state.get("live_last") or {}
    if not isinstance(frame, dict) or not isinstance(frame.get("seq"), int) or frame["seq"] <= last.get("seq", 0):
        return
    started = time.perf_counter()
    try:
        reading = live.read(str(frame.get("picture", "")))
    except InputError as error:
        st.session_state["live_last"] = {**last, "seq": frame["seq"], "problem": str(error)}
        return
    practice = st.session_state.get("live_practice")
    st.session_state["live_practice"] = practice.step(reading.chord) if practice else None
    st.session_state["live_last"] = {"seq": frame["seq"], "overlay": reading.overlay(), "reading": reading,
                                     "seconds": time.perf_counter() - started, "decided": last.get("decided", 0) + 1}


st.title("Live")
st.caption(LIVE_INTRO)
choice = model_choice("live")
if choice is None:
    st.warning("Choose a landmark model or an image model (or both) to recognise chords live.")
    st.stop()
try:
    live = recognizer(choice.key, model_set(choice))
except Exception as error:  # noqa: BLE001 - a model folder that no longer loads, say
    show_error(error)
    st.stop()
names = {"landmarks": choice.landmarks.name if choice.landmarks else "landmarks",
         "image": choice.image.name if choice.image else "image"}
chords = [c for c in live.models.classes if c != NO_CHORD]


@st.fragment
def camera_view() -> None:
    """The practice controls and the camera with the chord on it; reruns alone with each frame the camera sends
    and each change of the controls (which the camera's reruns would otherwise race)."""
    # one click picks a chord (a dropdown would be redrawn under the pointer by the camera's reruns)
    target = st.pills("Practise a chord", chords, key="live_target",
                      help="The light turns green once the camera has seen this chord in enough frames in a row. "
                           "Click it again to stop practising.")
    b, c = st.columns([3, 1])
    hold = b.slider("Frames in a row that count as held", 1, 10, 3, key="live_hold",
                    help="At about 3 frames a second, 3 frames hold a chord for about a second.")
    rate = c.number_input("Frames per second", 0.5, 8.0, 3.0, step=0.5, key="live_rate",
                          help="How often a frame goes to the models; a slow model lowers it by itself.")
    practising = None if target is None else (target, int(hold))
    if "live_practice" not in st.session_state or st.session_state.get("live_practice_for") != practising:
        # a new chord or hold: a new practice
        st.session_state["live_practice_for"] = practising
        st.session_state["live_practice"] = Practice(*practising) if practising else None
    last = st.session_state.get("live_last") or {}
    practice = st.session_state.get("live_practice")
    data = {**last.get("overlay", {}), "seq": last.get("seq", 0), "interval_ms": round(1000 / rate),
            "running": True, "light": practice.light if practice else None}
    result = camera(key="live_camera", data=data, on_frame_change=partial(decide_frame, live),
                    on_camera_change=_ignore, default={"camera": None})
    status = result.get("camera")
    if isinstance(status, str) and status.startswith("error"):
        st.error(camera_problem(status.removeprefix("error: ")))
    elif last.get("problem"):
        st.error(last["problem"])
    elif "reading" not in last:
        st.caption(CAMERA_WAITING)
    else:
        st.markdown("\n".join(live_lines(last["reading"], names, last["seconds"])))
        st.caption(f"{last['decided']} frames decided")
    if practice is not None:
        st.markdown(practice_line(practice.target, practice.streak, practice.hold, practice.held, practice.light))


camera_view()
