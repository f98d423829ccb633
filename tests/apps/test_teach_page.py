"""The studio's Teach page, driven with AppTest: clips uploaded with their chords (from the name or chosen beside
each), a clear error for a clip without a chord, the taught pair made the active models, its frames in the
label store; camera takes (encoded as H.264 clips) listed, removable and taught. (In a real browser, with
Chromium's fake camera: tests/apps/test_e2e_teach.py.)"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np
import pytest

from app_pages.ui.camera import save_take
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from pipeline.models.catalogue import discover_models
from pipeline.vision.video import iter_frames, video_codec
from tests.helpers.studio import assert_ok, open_app
from tools.samplegen.clips import make_clip


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> dict[str, bytes]:
    """Three 2 s clips (G, C, Am) of one synthetic setup."""
    root = tmp_path_factory.mktemp("teach-clips")
    out = {}
    for chord in ("G", "C", "Am"):
        make_clip(root / f"{chord}.mp4", [(chord, 2.0)], fps=15, seed=1, shake=4.0, quality=35)
        out[chord] = (root / f"{chord}.mp4").read_bytes()
    return out


def test_teach_page_teaches_a_pair_and_makes_it_active(clip_bytes, tmp_path, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))
    monkeypatch.delenv("CHORD_STUDIO_MODELS", raising=False)
    at = open_app().switch_page("app_pages/teach.py").run()
    assert_ok(at)
    uploader = at.file_uploader(key="teach_clips")
    uploader.upload("G.mp4", clip_bytes["G"], "video/mp4").upload("C.mp4", clip_bytes["C"], "video/mp4")
    uploader.upload("take1.mp4", clip_bytes["Am"], "video/mp4").run()
    at.number_input(key="teach_epochs").set_value(3).run()
    at.button(key="teach_go").click().run()
    assert_ok(at)
    assert any("Cannot tell the chord of 'take1.mp4'" in e.value for e in at.error), [e.value for e in at.error]
    assert not (tmp_path / "home" / "models").exists() or not any((tmp_path / "home" / "models").iterdir())

    next(s for s in at.selectbox if s.label == "Chord of take1.mp4").set_value("Am").run()
    at.button(key="teach_go").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert "my-guitar" in at.success[0].value and "held-out end" in at.markdown[-2].value
    # the taught pair is found by the catalogue and chosen in the sidebar
    names = [e.name for e in discover_models()]
    assert {"my-guitar/landmarks", "my-guitar/cnn"} <= set(names)
    assert at.multiselect(key="models").value == ["my-guitar/landmarks", "my-guitar/cnn"]
    # its frames are a labeled set in the label store, labeled by their clip's chord
    store = LabelStore(Path(tmp_path / "labels"))
    frames = store.frames()
    assert frames and {f.chord for f in frames} == {"G", "C", "Am"}
    assert {c.name for c in store.clips()} == {"my-guitar-G.mp4", "my-guitar-C.mp4", "my-guitar-take1.mp4"}


def _data_url(rgb: np.ndarray) -> str:
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode()


def test_a_camera_take_is_saved_as_an_h264_clip_of_its_frames(tmp_path):
    frames = [np.full((120, 160, 3), (40 * k, 200 - 30 * k, 90), np.uint8) for k in range(6)]
    path = save_take([_data_url(f) for f in frames], 15, tmp_path / "G-take1.mp4")
    assert video_codec(path) == ("h264", "yuv420p")
    decoded = [f.image for f in iter_frames(path, None)]
    assert len(decoded) == 6
    for shown, sent in zip(decoded, frames):
        assert np.abs(shown.astype(int) - sent).mean() < 6
    for bad, message in (([], "empty take"), (["data:text/plain;base64,aGk="], "not a picture")):
        with pytest.raises(InputError, match=message):
            save_take(bad, 15, tmp_path / "bad.mp4")
        assert not (tmp_path / "bad.mp4").exists()


def test_teach_page_lists_removes_and_teaches_camera_takes(clip_bytes, tmp_path, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))
    monkeypatch.delenv("CHORD_STUDIO_MODELS", raising=False)
    takes = []
    for k, chord in enumerate(("G", "C", "Am")):  # what the camera callback keeps: clips named after their chord
        path = tmp_path / f"{chord}-take{k + 1}.mp4"
        path.write_bytes(clip_bytes[chord])
        takes.append({"path": str(path), "chord": chord})
    at = open_app().switch_page("app_pages/teach.py")
    at.session_state["teach_takes"] = takes
    at.run()
    assert_ok(at)
    assert [m.value for m in at.markdown if m.value.startswith("Camera take")] == [
        "Camera take **G-take1.mp4**: G", "Camera take **C-take2.mp4**: C", "Camera take **Am-take3.mp4**: Am"]
    assert not at.button(key="teach_go").disabled  # takes alone can be taught
    at.button(key="teach_take_remove_2").click().run()
    assert not Path(takes[2]["path"]).exists()
    assert [t["chord"] for t in at.session_state["teach_takes"]] == ["G", "C"]
    at.number_input(key="teach_epochs").set_value(3).run()
    at.button(key="teach_go").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="models").value == ["my-guitar/landmarks", "my-guitar/cnn"]
    store = LabelStore(Path(tmp_path / "labels"))
    assert {c.name for c in store.clips()} == {"my-guitar-G-take1.mp4", "my-guitar-C-take2.mp4"}
    assert {f.chord for f in store.frames()} == {"G", "C"}
