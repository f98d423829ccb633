"""The studio's Teach page, driven with AppTest: clips uploaded with their chords (from the name or chosen beside
each), a clear error for a clip without a chord, the taught pair made the active models, its frames in the
label store."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.store import LabelStore
from pipeline.models.catalogue import discover_models
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

    at.selectbox(key="teach_chord_2").set_value("Am").run()
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
