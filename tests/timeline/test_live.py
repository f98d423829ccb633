"""The live camera's per-frame chord and the practice light (pipeline.timeline.live), on the sample clips'
real frames with the sample model: the same answers as Analyze, and the light's exact course."""

from __future__ import annotations

import base64

import cv2
import pytest

from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.core.types import ModelSet
from pipeline.models.registry import load_landmark_model
from pipeline.timeline.analyze import analyze_clip
from pipeline.timeline.live import LiveRecognizer, Practice, picture_bytes, practise
from pipeline.vision.video import iter_frames

# The sample model's per-frame chord of strumming_em_d.mp4 at 5 fps (truth: Em 0-1.5 s, D, Em, D, 1.5 s each).
EM_D_CHORDS = ["Em"] * 8 + ["D"] * 7 + ["A"] + ["Em"] * 5 + ["A", "Em"] + ["D"] * 7


@pytest.fixture(scope="module")
def recognizer():
    live = LiveRecognizer(ModelSet(landmarks=load_landmark_model()))
    yield live
    live.close()


@pytest.fixture(scope="module")
def em_d_frames():
    return [f.image for f in iter_frames(SAMPLE_MEDIA_DIR / "strumming_em_d.mp4", fps=5)]


def test_live_frames_get_analyzes_answers(recognizer, em_d_frames):
    readings = [recognizer.read(image) for image in em_d_frames]
    assert [r.chord for r in readings] == EM_D_CHORDS
    # frame by frame the very answer Analyze gives the clip (before its timeline smooths it)
    analysis = analyze_clip(SAMPLE_MEDIA_DIR / "strumming_em_d.mp4", recognizer.models, fps=5)
    assert [r.chord for r in readings] == [f.prediction.chord for f in analysis.frames]
    assert [r.probability for r in readings] == pytest.approx([f.prediction.probability for f in analysis.frames])
    assert all(r.covered and len(r.hand) == 21 and (r.width, r.height) == (640, 360) for r in readings)
    first = readings[0].overlay()
    assert first["chord"] == "Em" and len(first["hand"]) == 21
    assert all(0 <= v <= 1 for point in first["hand"] for v in point)


def test_a_camera_jpeg_as_the_browser_sends_it(recognizer, em_d_frames):
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(em_d_frames[17], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode()
    assert picture_bytes(url) == jpeg.tobytes()
    reading = recognizer.read(url)
    assert reading.chord == "Em" and reading.covered and (reading.width, reading.height) == (640, 360)


def test_no_hand_is_no_chord(recognizer):
    image = next(iter(iter_frames(SAMPLE_MEDIA_DIR / "no_hand.mp4", fps=1))).image
    reading = recognizer.read(image)
    assert (reading.chord, reading.probability, reading.covered, reading.hand) == ("None", 0.0, False, ())


@pytest.mark.parametrize("bad, said", [
    ("hello", "not a picture"), ("data:image/jpeg;base64,", "not a picture"),
    ("data:image/jpeg;base64,@@@@", "could not be decoded"),
    ("data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "neither a JPEG nor a PNG"),
])
def test_bad_pictures_get_one_line(recognizer, bad, said):
    with pytest.raises(InputError, match=said):
        recognizer.read(bad)


def test_bad_arrays_get_one_line(recognizer):
    import numpy as np

    with pytest.raises(InputError, match="RGB uint8"):
        recognizer.read(np.zeros((10, 10), np.uint8))


def test_practice_light_on_the_clip(recognizer, em_d_frames):
    # the chords the camera sees of the clip, as above; practising Em, held for 3 frames
    states = practise("Em", EM_D_CHORDS, hold=3)
    assert [s.light for s in states] == (["amber", "amber"] + ["green"] * 6 + ["red"] * 8
                                        + ["amber", "amber"] + ["green"] * 3 + ["red", "amber"] + ["red"] * 7)
    assert states[-1].held == 2 and states[-1].frames == 30
    # practising D, held for 7 frames: green only on the last frame of each run of 7 D
    states = practise("D", EM_D_CHORDS, hold=7)
    assert [k for k, s in enumerate(states) if s.green] == [14, 29]


def test_practice_state_machine():
    state = Practice("G", hold=2)
    assert state.light == "red" and not state.green
    state = state.step("G")
    assert (state.light, state.streak) == ("amber", 1)
    state = state.step("G")
    assert (state.light, state.held) == ("green", 1)
    state = state.step("G")
    assert (state.light, state.held) == ("green", 1)  # still held: turned green once
    state = state.step("None").step("G").step("G")
    assert (state.light, state.held, state.frames) == ("green", 2, 6)
    with pytest.raises(InputError, match="at least 1 frame"):
        Practice("G", hold=0)


def test_what_live_writes_under_the_camera(recognizer, em_d_frames):
    from pipeline.text import live_lines, practice_line

    reading = recognizer.read(em_d_frames[0])
    p = reading.by_model["landmarks"].probability
    lines = live_lines(reading, {"landmarks": "sample"}, 0.0421)
    assert lines == [f"**Em** (p = {reading.probability:.2f}) · 42 ms", f"- sample: **Em** ({p:.2f})"]
    image = next(iter(iter_frames(SAMPLE_MEDIA_DIR / "no_hand.mp4", fps=1))).image
    assert live_lines(recognizer.read(image), {"landmarks": "sample"}, 0.01) == [
        "No chord: no hand in view · 10 ms", "- sample: no hand found"]
    state = practise("Em", EM_D_CHORDS[:2], hold=3)[-1]
    assert practice_line(state.target, state.streak, state.hold, state.held, state.light) == (
        "Practising **Em**: in view, 2 of 3 frames in a row; held 0 times so far.")
