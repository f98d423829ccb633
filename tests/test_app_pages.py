"""Every page of the Streamlit studio driven with AppTest, on a tiny landmark model built here.

The model is trained on constructed hands (tests/test_landmark_model.py), so no test waits for the
sample model; ``CHORD_STUDIO_MODELS`` makes the sidebar start with it, and ``CHORD_STUDIO_HOME`` /
``CHORD_STUDIO_DATA`` point at temp folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from pipeline.landmark_model import train_landmark_model
from pipeline.studio import safe_name, save_upload
from pipeline.errors import InputError
from tests.test_landmark_model import _frames

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SAMPLES = Path(__file__).resolve().parent.parent / "sample_media"
TIMEOUT = 180


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    results, labels = _frames(8, seed=1)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="constructed hands (test)")
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def studio_env(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_MODELS", str(tiny_model))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))
    return tmp_path


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    _ok(at)
    return at


URLS = {"pages/analyze.py": "analyze-clip", "pages/explain.py": "explain-frame", "pages/label.py": "label-frames",
        "pages/compare.py": "compare-models", "pages/listen.py": "listen-chords", "pages/models.py": "model-cards"}


def _goto(at: AppTest, page: str) -> AppTest:
    """Open a page the way the browser's navigation does: by the page's URL path through app.py.

    ``AppTest.switch_page`` hashes the file name, which Streamlit's folder-based pages would run on its
    own (no sidebar); app.py gives every page a distinct URL path so the entry always runs first.
    """
    at._page_hash = calc_hash(URLS[page])
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _analyze(at: AppTest, sample: str) -> AppTest:
    at.selectbox(key="analyze_sample").select(SAMPLES / sample).run()
    at.button(key="analyze_run").click().run()
    _ok(at)
    return at


def test_sidebar_and_every_page_render(studio_env):
    at = _app()
    assert at.sidebar.multiselect(key="models").value == ["tiny"]
    assert at.sidebar.text_input(key="data_dir").value == str(studio_env / "labels")
    assert at.sidebar.number_input(key="fps").value == 5.0
    titles = {"pages/analyze.py": "Analyze a clip", "pages/explain.py": "Explain a frame",
              "pages/label.py": "Label frames", "pages/compare.py": "Compare models", "pages/listen.py": "Listen",
              "pages/models.py": "Models"}
    for page, title in titles.items():
        _goto(at, page)
        _ok(at)
        assert at.title[0].value == title
        assert at.sidebar.multiselect(key="models").value == ["tiny"]  # the shared sidebar on every page
    # Without an analysis, Explain says what to do instead of failing.
    _goto(at, "pages/explain.py")
    assert "Analyze a clip first" in at.info[0].value


def test_finger_attribution_on_the_explain_page(studio_env):
    at = _analyze(_app(), "strumming_em_d.mp4")
    at.button(key="explain_frame_button").click().run()
    at.toggle(key="explain_fingers").set_value(True)
    _goto(at, "pages/explain.py")  # AppTest's next run would otherwise return to the first page
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    captions = [c for image in at.get("image") for c in image.captions]
    assert any("when a finger group is removed" in c for c in captions), captions


def test_analyze_explain_listen_on_a_sample_clip(studio_env):
    at = _analyze(_app(), "strumming_em_d.mp4")
    assert not at.error, [e.value for e in at.error]
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Length", "Frames sampled", "Frames with a hand", "Chord segments"]
    assert "Right vs ground truth" in labels
    assert at.metric[1].value == "30"  # 6 s at 5 frames per second
    assert at.get("plotly_chart") and at.get("video")
    assert {b.label for b in at.get("download_button")} >= {"Timeline (JSON)", "Frames (CSV)", "Annotated video (MP4)"}
    at.slider(key="frame_index").set_value(7).run()
    _ok(at)
    assert "frame 35 at 1.40 s" in at.get("image")[0].captions[0]

    at.button(key="explain_frame_button").click().run()
    _ok(at)
    assert at.title[0].value == "Explain a frame"
    assert at.slider(key="explain_index").value == 7
    assert at.get("plotly_chart") and at.toggle(key="explain_fingers").value is False

    _goto(at, "pages/listen.py")
    assert at.radio(key="listen_source").value == "the analysed clip"
    at.selectbox(key="listen_synth").select("pluck").run()
    at.button(key="listen_render").click().run()
    _ok(at)
    # The tiny model calls these rendered hands "None": a clear message, not a traceback.
    assert [e.value for e in at.error] in ([], ["The timeline has no chords (only 'None'): there is nothing to play."])
    at.radio(key="listen_source").set_value("a sample clip's ground truth").run()
    at.selectbox(key="listen_sample").select(SAMPLES / "strumming_em_d.mp4").run()
    at.button(key="listen_render").click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.get("audio") and at.get("video")
    assert {b.label for b in at.get("download_button")} == {"MIDI", "WAV", "MP4", "SRT", "VTT"}


def test_bad_uploads_end_in_clear_messages(studio_env, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_MAX_SECONDS", "2")
    at = _app()
    at.radio(key="analyze_source").set_value("Upload").run()
    cases = [
        ("notes.txt", b"hello", "not a video or image"),
        ("fake.mp4", b"this is not a video at all", "'fake.mp4' could not be read as a video"),
        ("../../clip.mp4", (SAMPLES / "no_hand.mp4").read_bytes(), "analyses up to 0:02"),
    ]
    for name, data, message in cases:
        at.file_uploader(key="analyze_upload").upload(name, data, "application/octet-stream").run()
        if at.button(key="analyze_run").disabled is False:
            at.button(key="analyze_run").click().run()
        _ok(at)
        assert any(message in e.value for e in at.error), (name, [e.value for e in at.error])
    monkeypatch.setenv("CHORD_STUDIO_MAX_SECONDS", "300")
    at.file_uploader(key="analyze_upload").upload("no_hand.mp4", (SAMPLES / "no_hand.mp4").read_bytes(),
                                                  "video/mp4").run()
    at.button(key="analyze_run").click().run()
    _ok(at)
    assert any("No hand was found" in e.value for e in at.error), [e.value for e in at.error]


def test_uploads_are_sanitised_and_stay_in_their_folder(tmp_path):
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\evil clip.mp4") == "evil_clip.mp4"
    assert safe_name("....") == "upload"
    path = save_upload(b"\x00" * 10, "../../x.mp4", tmp_path / "uploads")
    assert path.parent.parent == tmp_path / "uploads" and path.name == "x.mp4"
    with pytest.raises(InputError, match="up to 1 MB"):
        from pipeline.studio import StudioSettings

        save_upload(b"\x00" * (2 << 20), "big.mp4", tmp_path, StudioSettings(max_upload_mb=1))


def test_labels_survive_a_restart_and_compare_scores_the_snapshot(studio_env):
    at = _app()
    _goto(at, "pages/label.py")
    _ok(at)
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    _ok(at)
    assert any("Added 10 frames" in s.value for s in at.success), [s.value for s in at.success]
    first = at.markdown  # the frame's label line
    at.button(key="label_chord_G").click().run()
    _ok(at)
    at.button(key="label_chord_A").click().run()
    _ok(at)
    at.button(key="label_undo").click().run()
    _ok(at)
    assert any("Undid A" in s.value for s in at.success)
    at.button(key="label_chord_C").click().run()
    assert at.metric[0].value == "2 of 10"
    assert first is not None

    restarted = _app()  # a new session on the same data directory: an app restart / browser reload
    _goto(restarted, "pages/label.py")
    _ok(restarted)
    assert restarted.metric[0].value == "2 of 10"
    restarted.button(key="snapshot_take").click().run()
    _ok(restarted)
    assert any("2 frames" in s.value for s in restarted.success)

    _goto(restarted, "pages/compare.py")
    sets = restarted.selectbox(key="compare_set").options
    snapshot = next(s for s in sets if s.startswith("snapshot: "))
    restarted.selectbox(key="compare_set").select(snapshot).run()
    restarted.button(key="compare_run").click().run()
    _ok(restarted)
    assert not restarted.error, [e.value for e in restarted.error]
    table = restarted.dataframe[0].value
    assert list(table["model"]) == ["tiny"] and int(table["frames"][0]) == 2
    assert restarted.get("plotly_chart")

    _goto(restarted, "pages/models.py")
    _ok(restarted)
    assert "tiny" in list(restarted.dataframe[0].value["model"])
