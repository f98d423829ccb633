"""Explain says when the evidence is too small to draw (issue 18, defect 7): flat finger scores, an
occlusion map whose largest drop is under 0.01, a target the model gives p < 0.01. Before, the colour scale
was stretched over whatever there was (every finger +0.857; a drop of 3e-6 drawn full red)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.explain import frames, service
from pipeline.explain.attribution import Attribution
from pipeline.explain.fingers import FINGER_NAMES, FingerAttribution
from tests.helpers.hands import chord_hands
from tests.helpers.studio import analyze_sample, assert_ok, open_app

IMAGE = np.full((90, 160, 3), 120, np.uint8)


def _fingers(scores, probability=0.9):
    return FingerAttribution(dict(zip(FINGER_NAMES, scores)), "C", probability)


def _heat(top, probability=0.9):
    heat = np.zeros((90, 160), np.float32)
    heat[40:50, 60:80] = top
    return Attribution(heat, "C", probability, {"region": "frame"})


@pytest.mark.parametrize(("result", "small"), [
    (_fingers([0.857] * 6), True),  # the report's case: every finger the same
    (_fingers([0.5, 0.505, 0.5, 0.5, 0.5, 0.5]), True),
    (_fingers([0.5, 0.52, 0.5, 0.5, 0.5, 0.5]), False),
    (_fingers([0.0, 0.3, 0.0, 0.0, 0.0, 0.0], probability=0.004), True),
    (_heat(3e-6, probability=0.4), True),
    (_heat(0.2, probability=0.4), False),
    (_heat(0.2, probability=0.0), True),  # a target at p = 0.000
])
def test_evidence_floor(result, small):
    assert service.too_small_to_draw(result) is small


def _space_call(monkeypatch, which, result):
    hands = chord_hands(1, seed=3)[0][0]
    frame = SimpleNamespace(hands=hands, fretboard=None, region=None)
    model = SimpleNamespace(classes=["A", "C", "G"], card=SimpleNamespace(input_region="frame"))
    models = SimpleNamespace(landmarks=model, image=model if which == "image" else None)
    monkeypatch.setattr(service, "explain_landmarks", lambda *a, **k: result)
    monkeypatch.setattr(service, "explain_frame", lambda *a, **k: result)
    return frames.frame_attribution(IMAGE, frame, None, models, which)


def test_space_says_flat_finger_scores_instead_of_drawing_them(monkeypatch):
    picture, title, note = _space_call(monkeypatch, "landmarks", _fingers([0.857] * 6))
    assert picture is None and title.startswith(("Finger attribution: C", "Occlusion heatmap: C"))
    assert "nothing to draw" in note and "no finger decided" in note, note
    picture, _, note = _space_call(monkeypatch, "landmarks", _fingers([0.1, 0.6, 0.0, 0.0, 0.0, 0.0]))
    assert picture is not None and "Most decisive: **index**" in note


def test_space_says_a_tiny_heatmap_instead_of_stretching_it(monkeypatch):
    picture, title, note = _space_call(monkeypatch, "image", _heat(3e-6, probability=0.4))
    assert picture is None and title.startswith(("Finger attribution: C", "Occlusion heatmap: C"))
    assert "at most 0.000" in note, note
    picture, _, note = _space_call(monkeypatch, "image", _heat(0.3, probability=0.0))
    assert picture is None and "p 0.000" in note, note
    picture, _, note = _space_call(monkeypatch, "image", _heat(0.3, probability=0.5))
    assert picture is not None and picture.shape == IMAGE.shape and "nothing to draw" not in note


def test_studio_explain_page_says_flat_finger_scores(studio_env, monkeypatch):
    flat = _fingers([0.857] * 6)
    monkeypatch.setattr(service, "explain_landmarks", lambda *a, **k: flat)
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    at.button(key="explain_frame_button").click().run()
    at.toggle(key="explain_fingers").set_value(True)
    at.switch_page("app_pages/explain.py").run()
    assert_ok(at)
    notes = [i.value for i in at.info if "nothing to draw" in i.value]
    assert notes and "no finger decided" in notes[0], [i.value for i in at.info]
    assert not [c for image in at.get("image") for c in image.captions if "finger group is removed" in c]
