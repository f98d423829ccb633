"""The studio's Live page under AppTest: it renders with the sidebar's models, says plainly when the camera is
unavailable, and starts a practice per chord. (The camera itself: tests/apps/test_e2e_live_compare.py.)"""

from __future__ import annotations

from pipeline.text import CAMERA_WAITING, LIVE_INTRO, camera_problem
from pipeline.timeline.live import Practice
from tests.helpers.studio import assert_ok, open_app


def _live(at):
    at.switch_page("app_pages/live.py").run()
    assert_ok(at)
    return at


def test_live_page_renders_and_waits_for_the_camera(studio_env):
    at = _live(open_app())
    assert [t.value for t in at.title] == ["Live"]
    captions = [c.value for c in at.caption]
    assert LIVE_INTRO in captions and CAMERA_WAITING in captions
    assert at.selectbox(key="live_landmarks").value == "tiny"  # the sidebar's model, as on Analyze
    # the chords the model knows, to practise (the tiny model knows A, C, G and None)
    assert at.pills(key="live_target").options == ["A", "C", "G"]
    assert not at.error and not at.warning


def test_live_page_says_when_the_camera_is_unavailable(studio_env):
    at = _live(open_app())
    # what the camera component reports when the browser refuses the camera
    at.session_state["live_camera"] = {"camera": "error: NotAllowedError: Permission denied"}
    at.run()
    assert_ok(at)
    assert [e.value for e in at.error] == [camera_problem("NotAllowedError: Permission denied")]
    assert CAMERA_WAITING not in [c.value for c in at.caption]


def test_live_page_practice_starts_per_chord_and_hold(studio_env):
    at = _live(open_app())
    assert at.session_state["live_practice"] is None
    at.pills(key="live_target").set_value("G").run()
    assert_ok(at)
    assert at.session_state["live_practice"] == Practice("G", 3)
    assert any(m.value.startswith("Practising **G**: not in view, 0 of 3 frames") for m in at.markdown)
    at.slider(key="live_hold").set_value(5).run()
    assert at.session_state["live_practice"] == Practice("G", 5)
    at.session_state["live_target"] = None  # the pill clicked again (AppTest's set_value(None) keeps the value)
    at.run()
    assert at.session_state["live_practice"] is None
    assert not any(m.value.startswith("Practising") for m in at.markdown)


def test_live_page_needs_a_chord_model(studio_env):
    at = _live(open_app())
    at.selectbox(key="live_landmarks").select("(none)").run()
    assert_ok(at)
    assert [w.value for w in at.warning] == [
        "Choose a landmark model or an image model (or both) to recognise chords live."]


def test_live_page_with_a_landmark_and_an_image_model(image_env):
    at = _live(open_app())
    assert (at.selectbox(key="live_landmarks").value, at.selectbox(key="live_image").value) == ("tiny", "cnn")
    assert CAMERA_WAITING in [c.value for c in at.caption]
    # the chords of both models (the CNN knows the whole vocabulary)
    assert {"Am", "Em", "F"} <= set(at.pills(key="live_target").options)
