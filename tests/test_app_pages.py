"""Every page of the Streamlit studio driven with AppTest, on tiny models built here.

The landmark model is trained on constructed hands (tests/test_landmark_model.py) and the CNNs have
random weights (tests/tiny_models.py), so no test waits for the sample model; ``CHORD_STUDIO_MODELS``
makes the sidebar start with them, and ``CHORD_STUDIO_HOME`` / ``CHORD_STUDIO_DATA`` point at temp folders.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from pipeline.core.chords import VOCABULARY
from pipeline.core.errors import InputError
from pipeline.models.landmark import train_landmark_model
from pipeline.studio import safe_name, save_upload
from tests.test_landmark_model import _frames
from tests.tiny_models import broken_cnn, tiny_cnn, untrained_detector

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


URLS = {"app_pages/analyze.py": "analyze-clip", "app_pages/explain.py": "explain-frame", "app_pages/label.py": "label-frames",
        "app_pages/compare.py": "compare-models", "app_pages/listen.py": "listen-chords", "app_pages/models.py": "model-cards"}


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
    titles = {"app_pages/analyze.py": "Analyze a clip", "app_pages/explain.py": "Explain a frame",
              "app_pages/label.py": "Label frames", "app_pages/compare.py": "Compare models", "app_pages/listen.py": "Listen",
              "app_pages/models.py": "Models"}
    for page, title in titles.items():
        _goto(at, page)
        _ok(at)
        assert at.title[0].value == title
        assert at.sidebar.multiselect(key="models").value == ["tiny"]  # the shared sidebar on every page
    # Without an analysis, Explain says what to do instead of failing.
    _goto(at, "app_pages/explain.py")
    assert "Analyze a clip first" in at.info[0].value


def test_finger_attribution_on_the_explain_page(studio_env, tiny_model, shown_images):
    from pipeline.explain.occlusion import FingerAnnotator, explain_landmarks
    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.vision.hands import HandDetector
    from pipeline.vision.video import read_frame

    clip = SAMPLES / "strumming_em_d.mp4"
    at = _analyze(_app(), clip.name)
    at.button(key="explain_frame_button").click().run()
    at.toggle(key="explain_fingers").set_value(True)
    _goto(at, "app_pages/explain.py")  # AppTest's next run would otherwise return to the first page
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    found = [(c, u) for c, u in _images(at).items() if "when a finger group is removed" in c]
    assert len(found) == 1, list(_images(at))
    caption, url = found[0]
    # The explained frame, read and its hand detected here as the analysis did; the tiny model's answer on it.
    time = float(re.search(r"frame \d+ at ([0-9.]+) s", at.get("image")[0].captions[0]).group(1))
    frame = read_frame(clip, time).image
    hands = HandDetector().detect(frame)
    assert hands.fretting is not None
    model = LandmarkChordModel.load(tiny_model)
    top = model.predict_one(hands).chord
    assert caption == f"tiny: drop in p({top}) when a finger group is removed", caption
    # The picture is the hand drawn by finger attribution over the frame, not the plain frame (sent as a JPEG,
    # the plain frame differs by 0.50 on average, measured; the drawing by 9.7).
    fingers = _decoded(shown_images, url)
    assert fingers.shape == frame.shape
    assert np.abs(fingers.astype(float) - frame).mean() > 3
    expected = FingerAnnotator().annotate(frame, explain_landmarks(hands.fretting, model, width=frame.shape[1],
                                                                   height=frame.shape[0]))
    # The JPEG's noise: measured 1.3 overall and 5 on the drawing, where the plain frame differs by 70.
    # (The tiny model gives every finger group 0 on this real hand, so this checks the hand's place and
    # drawing, not the colours by score; tests/test_explain.py checks the scores.)
    drawn = np.abs(expected.astype(int) - frame).sum(2) > 0
    assert drawn.mean() > 0.01
    difference = np.abs(fingers.astype(float) - expected)
    assert difference.mean() < 3 and difference[drawn].mean() < 15, (difference.mean(), difference[drawn].mean())


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

    _goto(at, "app_pages/listen.py")
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


def test_an_uploaded_copy_of_a_sample_clip_is_scored_against_its_ground_truth(studio_env):
    at = _app()
    at.radio(key="analyze_source").set_value("Upload").run()
    at.file_uploader(key="analyze_upload").upload("my take.mp4", (SAMPLES / "progression.mp4").read_bytes(),
                                                  "video/mp4").run()
    at.button(key="analyze_run").click().run()
    _ok(at)
    assert at.subheader[0].value == "my_take.mp4 with tiny"
    assert "Right vs ground truth" in [m.label for m in at.metric]  # known by its bytes, as in the Space


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
    _goto(at, "app_pages/label.py")
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
    _goto(restarted, "app_pages/label.py")
    _ok(restarted)
    assert restarted.metric[0].value == "2 of 10"
    restarted.button(key="snapshot_take").click().run()
    _ok(restarted)
    assert any("2 frames" in s.value for s in restarted.success)

    _goto(restarted, "app_pages/compare.py")
    sets = restarted.selectbox(key="compare_set").options
    snapshot = next(s for s in sets if s.startswith("snapshot: "))
    restarted.selectbox(key="compare_set").select(snapshot).run()
    restarted.button(key="compare_run").click().run()
    _ok(restarted)
    assert not restarted.error, [e.value for e in restarted.error]
    table = restarted.dataframe[0].value
    assert list(table["model"]) == ["tiny"] and int(table["frames"][0]) == 2
    assert restarted.get("plotly_chart")

    _goto(restarted, "app_pages/models.py")
    _ok(restarted)
    assert "tiny" in list(restarted.dataframe[0].value["model"])


# --------------------------------------------------------------------------------------------------
# Image models: fused analysis, occlusion heatmaps, bad model folders


@pytest.fixture(scope="module")
def image_models(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """The tiny landmark model and two random-weight CNNs over the whole vocabulary."""
    root = tmp_path_factory.mktemp("image-models")
    return {"tiny": tiny_model, "cnn": tiny_cnn(root / "cnn"), "cnn2": tiny_cnn(root / "cnn2", seed=1)}


def _use_models(monkeypatch, tmp_path, folders) -> None:
    monkeypatch.setenv("CHORD_STUDIO_MODELS", os.pathsep.join(str(f) for f in folders))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))


@pytest.fixture
def image_env(image_models, tmp_path, monkeypatch):
    _use_models(monkeypatch, tmp_path, image_models.values())
    return image_models


@pytest.fixture
def shown_images(monkeypatch) -> dict[str, bytes]:
    """Media file id -> bytes of everything the app hands to Streamlit's media storage (st.image).

    AppTest drops its media storage after each run; this keeps the bytes so a test can decode an image
    by the file id at the end of its URL."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        seen[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return seen


def _decoded(shown: dict[str, bytes], url: str) -> np.ndarray:
    data = shown[url.rsplit("/", 1)[1].split(".")[0]]
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _images(at: AppTest) -> dict[str, str]:
    """Caption -> URL of every image on the page."""
    return {c: u for image in at.get("image") for c, u in zip(image.captions, image.value)}


def _heatmap(at: AppTest, model: str) -> tuple[str, str, float]:
    """(URL, target, probability) of the heatmap whose caption starts with ``model``."""
    found = [(c, u) for c, u in _images(at).items() if c.startswith(f"{model}: occlusion heatmap")]
    assert len(found) == 1, list(_images(at))
    caption, url = found[0]
    match = re.match(rf"{model}: occlusion heatmap of p\((\w+)\) = ([0-9.]+)", caption)
    assert match, caption
    return url, match.group(1), float(match.group(2))


def _cnn_answer(folder: Path, clip: Path, time: float):
    from pipeline.models.image import load_image_model
    from pipeline.vision.video import read_frame

    frame = read_frame(clip, time).image
    return load_image_model(folder).predict([frame])[0], frame


def test_analyze_fuses_a_landmark_and_an_image_model(image_env):
    from pipeline.core.types import ChordPrediction, FusionWeights
    from pipeline.models.image import load_image_model
    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.studio import fusion_note
    from pipeline.timeline.fusion import fuse

    at = _app()
    assert at.sidebar.multiselect(key="models").value == ["tiny", "cnn", "cnn2"]
    # The sidebar's models of each kind are offered; the first of each is the default.
    assert at.selectbox(key="analyze_landmarks").options == ["(none)", "tiny"]
    assert at.selectbox(key="analyze_image").options == ["(none)", "cnn", "cnn2"]
    assert (at.selectbox(key="analyze_landmarks").value, at.selectbox(key="analyze_image").value) == ("tiny", "cnn")
    assert at.selectbox(key="analyze_detector").value == "(none)"
    _analyze(at, "strumming_em_d.mp4")
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "strumming_em_d.mp4 with tiny + cnn (fused)"
    assert at.metric[1].value == "30"
    at.slider(key="frame_index").set_value(7).run()
    _ok(at)

    table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert list(table["model"]) == ["tiny (landmarks)", "cnn (image)", "fused"]
    classes = [c for c in table.columns if c not in ("model", "chord", "p")]
    rows = {row["model"]: {c: row[c] for c in classes if not (row[c] is None or math.isnan(row[c]))}
            for _, row in table.iterrows()}
    # The image model's row is the CNN's own answer on this frame (1.40 s), computed here.
    expected, _ = _cnn_answer(image_env["cnn"], SAMPLES / "strumming_em_d.mp4", 1.4)
    assert rows["cnn (image)"] == pytest.approx(expected.probabilities, abs=1e-5)
    assert table["chord"][1] == expected.chord
    # The fused row pools the two rows with the weights from the models' cards.
    weights = FusionWeights.from_models(LandmarkChordModel.load(image_env["tiny"]), load_image_model(image_env["cnn"]))
    answers = [ChordPrediction(max(r, key=r.get), max(r.values()), r) for r in list(rows.values())[:2]]
    fused = fuse(answers, [weights.landmarks, weights.image])
    assert rows["fused"] == pytest.approx(fused.probabilities, abs=1e-6)
    assert rows["fused"] != pytest.approx(rows["tiny (landmarks)"], abs=1e-3)
    assert table["chord"][2] == fused.chord
    assert "frame 35 at 1.40 s" in at.get("image")[0].captions[0]
    assert fusion_note(weights) in [c.value for c in at.caption]  # the Space says the same (pipeline.studio)


def test_explain_shows_the_cnn_heatmap_per_target_and_side_by_side(image_env, shown_images, monkeypatch):
    import pipeline.explain.occlusion

    calls = []
    original = pipeline.explain.occlusion.explain_frame

    def counting(image, model, target=None, *args, **kwargs):
        calls.append(target)
        return original(image, model, target, *args, **kwargs)

    monkeypatch.setattr(pipeline.explain.occlusion, "explain_frame", counting)
    clip = SAMPLES / "strumming_em_d.mp4"
    at = _analyze(_app(), "strumming_em_d.mp4")
    at.slider(key="frame_index").set_value(7).run()
    at.button(key="explain_frame_button").click().run()
    _goto(at, "app_pages/explain.py")
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="explain_models").value == ["tiny", "cnn"]  # the analysis's models
    assert at.selectbox(key="explain_target").value == "(each model's top chord)"
    assert at.toggle(key="explain_heatmap").value is True

    # Default target: the CNN's own top chord, with its probability on this frame.
    expected, frame = _cnn_answer(image_env["cnn"], clip, 1.4)
    url, target, probability = _heatmap(at, "cnn")
    assert (target, probability) == (expected.chord, pytest.approx(expected.probability, abs=6e-4))
    heatmap = _decoded(shown_images, url)
    assert heatmap.shape == frame.shape
    assert np.abs(heatmap.astype(float) - frame).mean() > 5  # the colours lie over the frame
    assert calls == [None]

    # Another target explains that chord: a new picture and the CNN's probability of it.
    other = next(c for c in ("C", "G", "D") if c != expected.chord)
    at.selectbox(key="explain_target").select(other).run()
    _ok(at)
    url_other, target, probability = _heatmap(at, "cnn")
    assert (target, probability) == (other, pytest.approx(expected.probabilities[other], abs=6e-4))
    assert url_other != url and calls == [None, other]
    assert any(c.value == f"p({other}) = {expected.probabilities[other]:.3f}" for c in at.caption)

    # Back to the default target, then scrub away and back: cached, explain_frame does not run again.
    at.selectbox(key="explain_target").select("(each model's top chord)").run()
    assert _heatmap(at, "cnn")[0] == url and len(calls) == 2
    at.slider(key="explain_index").set_value(3).run()
    _ok(at)
    assert len(calls) == 3 and _heatmap(at, "cnn")[0] != url
    at.slider(key="explain_index").set_value(7).run()
    assert len(calls) == 3 and _heatmap(at, "cnn")[0] == url

    # Two image models side by side: one picture, two panels with a white gap, both captioned.
    at.multiselect(key="explain_models").set_value(["cnn", "cnn2"]).run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    pair = [(c, u) for c, u in _images(at).items() if c.startswith("cnn: occlusion heatmap")]
    assert len(pair) == 1 and " | cnn2: occlusion heatmap of p(" in pair[0][0], list(_images(at))
    both = _decoded(shown_images, pair[0][1])
    height, width = frame.shape[:2]
    assert both.shape == (height, 2 * width + 8, 3)
    assert both[:, width + 2:width + 6].min() > 200  # the gap between the panels
    assert not np.allclose(both[:, :width].astype(float), both[:, width + 8:].astype(float), atol=20)
    # The heatmap can be hidden.
    at.toggle(key="explain_heatmap").set_value(False).run()
    assert not [c for c in _images(at) if "occlusion heatmap" in c]


def test_bad_models_and_a_detector_that_finds_nothing_end_in_clear_messages(image_models, tmp_path_factory,
                                                                             tmp_path, monkeypatch):
    root = tmp_path_factory.mktemp("bad-models")
    broken, detector = broken_cnn(root / "broken"), untrained_detector(root / "det")
    _use_models(monkeypatch, tmp_path, [image_models["tiny"], image_models["cnn"], broken, detector])
    at = _app()
    assert at.selectbox(key="analyze_detector").value == "det"

    # A model folder that fails to load: a clear message, not a traceback.
    at.selectbox(key="analyze_image").select("broken").run()
    at.selectbox(key="analyze_detector").select("(none)").run()
    _analyze(at, "chord_G.jpg")
    assert any("is not a whole CNN model folder" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric  # nothing was analysed

    # An image model with a detector that finds no fretboard: said clearly, the analysis still shown.
    at.selectbox(key="analyze_image").select("cnn").run()
    at.selectbox(key="analyze_detector").select("det").run()
    _analyze(at, "chord_G.jpg")
    assert [e.value for e in at.error] == [
        "The fretboard detector found no fretboard in any of the 1 sampled frames of 'chord_G.jpg'. Check that the "
        "detector was trained on footage like this clip, or analyse without it."]
    assert at.metric[1].value == "1" and at.metric[-1].label == "Frames with a fretboard"
    assert at.metric[-1].value == "0 %"
    assert any(c.value == "Fretboard box: det found no fretboard in this frame." for c in at.caption)

    # No landmark model and no hand in the clip: the image model decides every frame alone.
    at.selectbox(key="analyze_landmarks").select("(none)").run()
    at.selectbox(key="analyze_detector").select("(none)").run()
    _analyze(at, "no_hand.mp4")
    assert not at.error, [e.value for e in at.error]
    assert any("the image model decides every frame on its own" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert list(table["model"]) == ["cnn (image)"]

    # Explain with the broken folder among its models: its error, the other model still explained.
    at.button(key="explain_frame_button").click().run()
    _goto(at, "app_pages/explain.py")
    _ok(at)
    at.multiselect(key="explain_models").set_value(["cnn", "broken"]).run()
    _ok(at)
    assert any("is not a whole CNN model folder" in e.value for e in at.error), [e.value for e in at.error]
    _heatmap(at, "cnn")


def test_a_region_models_heatmap_lies_where_the_region_was_cut(image_models, tmp_path):
    """An image model trained on regions sees (and is explained on) the region the analysis cut out; its
    map is placed there in frame coordinates, zero elsewhere."""
    import json

    from pipeline.core.hands import HandsResult
    from pipeline.core.types import NOT_COVERED, FrameResult
    from pipeline.models.image import load_image_model
    from pipeline.explain.frames import explain_image_frame, model_input
    from pipeline.vision.regions import Region

    folder = tiny_cnn(tmp_path / "region-cnn")
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text(json.dumps({**card, "input_region": "fretboard"}))
    model = load_image_model(folder)
    image = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    region = Region([100, 60, 420, 240], "fretboard", 0.9)
    frame = FrameResult(0, 0.0, HandsResult([]), NOT_COVERED, "None", region=region)

    seen, used = model_input(image, frame, model)
    assert used is region and seen.shape == (180, 320, 3) and np.array_equal(seen, image[60:240, 100:420])
    attribution = explain_image_frame(image, frame, model, "C")
    assert attribution.map.shape == (360, 640) and attribution.target == "C"
    assert attribution.settings["region"] == "fretboard"
    outside = np.ones((360, 640), bool)
    outside[60:240, 100:420] = False
    assert not attribution.map[outside].any() and attribution.map[60:240, 100:420].any()
    # A whole-frame model sees, and is explained on, the whole frame.
    whole = load_image_model(image_models["cnn"])
    assert model_input(image, frame, whole)[0] is image
    assert explain_image_frame(image, frame, whole).settings["region"] == "frame"


# --------------------------------------------------------------------------------------------------
# Compare and Label with image models


def _report_values(report) -> dict:
    """An evaluation report's numbers, NaN as None (so that two equal reports compare equal)."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in report.to_dict().items()}


@pytest.fixture(scope="module")
def sample_set_models(tmp_path_factory) -> dict[str, Path]:
    """A landmark model trained on the sample set's own hands, and a random CNN made sure of itself.

    The tiny models above answer one chord on nearly every sample frame, which would hide a frame scored
    against another frame's truth; these answer frame by frame. The CNN's logits are scaled by 50: the
    same answers, near-certain, so that the fusion weights decide the fused answer where the two differ.
    """
    from safetensors.torch import load_file, save_file

    from labeling.sets import SAMPLE_SET, load_labeled_set

    root = tmp_path_factory.mktemp("sample-set-models")
    frames = load_labeled_set(SAMPLE_SET)
    keep = [h.fretting is not None and c != "None" for h, c in zip(frames.hands, frames.truth)]
    model = train_landmark_model([h for h, k in zip(frames.hands, keep) if k],
                                 [c for c, k in zip(frames.truth, keep) if k], folds=3, estimators=("svm",),
                                 feature_versions=("raw63",), trained_on="the sample set's hands (test)")
    cnn = tiny_cnn(root / "cnn", seed=1)
    weights = load_file(str(cnn / "model.safetensors"))
    weights = {k: v * 50 if k.startswith("classifier.") else v for k, v in weights.items()}
    save_file(weights, str(cnn / "model.safetensors"))
    return {"hands": model.save(root / "hands"), "cnn": cnn}


def test_compare_scores_a_landmark_model_a_cnn_and_their_fusion(sample_set_models, tmp_path, monkeypatch):
    import json

    from pipeline.core.types import FusionWeights
    from pipeline.models.image import load_image_model, read_rgb
    from pipeline.models.landmark import LandmarkChordModel
    from labeling.sets import SAMPLE_SET, load_labeled_set
    from pipeline.compare.scoring import evaluate_models
    from pipeline.timeline.evaluation import evaluate_predictions
    from pipeline.timeline.fusion import fuse_frames

    _use_models(monkeypatch, tmp_path, sample_set_models.values())
    at = _goto(_app(), "app_pages/compare.py")
    _ok(at)
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect(key="compare_models").value == ["hands", "cnn"]
    assert at.selectbox(key="compare_set").value == SAMPLE_SET
    at.button(key="compare_run").click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["model"]) == ["hands", "cnn", "hands + cnn (fused)"]
    assert list(table["kind"]) == ["landmarks", "cnn", "fused"]

    # The rows are what the evaluation function gives on the same set, computed here...
    frames = load_labeled_set(SAMPLE_SET)
    hands, cnn = LandmarkChordModel.load(sample_set_models["hands"]), load_image_model(sample_set_models["cnn"])
    expected = evaluate_models([("hands", hands), ("cnn", cnn)], frames)
    assert list(expected) == list(table["model"])
    columns = {"frames": "n", "accuracy": "accuracy", "coverage": "coverage", "covered accuracy": "covered_accuracy",
               "macro F1": "macro_f1"}
    for k, name in enumerate(table["model"]):
        shown = {attribute: table[column][k] for column, attribute in columns.items()}
        assert shown == pytest.approx({a: getattr(expected[name], a) for a in columns.values()}, nan_ok=True), name
    # ... and that function scores what each model and their fusion say on each frame, computed here too.
    assert int(table["frames"][0]) == len(frames.truth) == len(frames.paths) > 20
    own_hands = hands.predict(frames.hands)
    own_cnn = cnn.predict([read_rgb(path) for path in frames.paths])
    own_fused = fuse_frames(own_hands, own_cnn, FusionWeights.from_models(hands, cnn))
    for name, answers in (("hands", own_hands), ("cnn", own_cnn), ("hands + cnn (fused)", own_fused)):
        own = evaluate_predictions(frames.truth, [p.chord for p in answers], [p.covered for p in answers])
        assert _report_values(expected[name]) == _report_values(own), name
    assert table["coverage"][1] == 1.0 and table["coverage"][0] < 1.0  # the CNN decides the frames without a hand
    assert table["coverage"][2] == 1.0
    assert len({table["accuracy"][k] for k in range(3)}) == 3
    # One confusion matrix per row.
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [c["layout"]["title"]["text"] for c in charts] == list(table["model"])

    # The t-SNE / PCA maps of both models' embeddings of the same frames.
    at.button(key="compare_maps").click().run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    maps = [c for c in charts if c["layout"]["title"]["text"].startswith("Embeddings of the same frames")]
    assert len(maps) == 1
    titles = [a["text"] for a in maps[0]["layout"]["annotations"]]
    assert [t.split(":")[0] for t in titles] == ["hands", "hands", "cnn", "cnn"], titles
    assert f"({len(frames.truth)}/{len(frames.truth)} frames)" in titles[2]  # the CNN embeds every frame


def test_every_chord_an_image_model_can_suggest_has_a_button(image_models, tmp_path, monkeypatch):
    from labeling.store import LabelStore
    from pipeline.models.image import load_image_model, read_rgb

    # The landmark model knows A, C, G and None; the CNN, which suggests here, every chord of the vocabulary.
    _use_models(monkeypatch, tmp_path, [image_models["tiny"], image_models["cnn"]])
    at = _goto(_app(), "app_pages/label.py")
    at.selectbox(key="label_add_landmarks").select("(none)").run()
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    _ok(at)
    assert any("Added 10 frames" in s.value for s in at.success), [s.value for s in at.success]
    buttons = [b.label for b in at.button if b.key.startswith("label_chord_")]
    assert buttons == list(VOCABULARY)
    frame_id = int(re.search(r": frame (\d+), ", at.get("image")[0].captions[0]).group(1))
    with LabelStore(tmp_path / "labels") as store:
        path, stored = store.frame(frame_id).path, store.predictions(frame_id)
    # The suggestion is the CNN's own answer on this frame, computed here (the landmark model was not chosen).
    expected = load_image_model(image_models["cnn"]).predict([read_rgb(path)])[0]
    assert [(p.model, p.chord) for p in stored] == [("cnn", expected.chord)]
    at.button(key="label_chord_Em").click().run()  # a chord only the image model knows
    _ok(at)
    assert [s.value for s in at.success] == [f"Frame {frame_id}: labeled Em."]


def test_label_suggestions_come_from_an_image_model(image_models, tmp_path, monkeypatch):
    from labeling.store import LabelStore
    from pipeline.models.image import load_image_model, read_rgb

    _use_models(monkeypatch, tmp_path, [image_models["cnn"]])
    at = _goto(_app(), "app_pages/label.py")
    _ok(at)
    assert at.selectbox(key="label_add_landmarks").options == ["(none)"]
    assert at.selectbox(key="label_add_image").value == "cnn"
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    _ok(at)
    assert any("Added 10 frames" in s.value for s in at.success), [s.value for s in at.success]

    caption = at.get("image")[0].captions[0]
    frame_id = int(re.search(r": frame (\d+), ", caption).group(1))
    with LabelStore(tmp_path / "labels") as store:
        path, stored = store.frame(frame_id).path, store.predictions(frame_id)
    # The CNN's answer on this frame, computed here: stored as the suggestion and shown with its probability.
    expected = load_image_model(image_models["cnn"]).predict([read_rgb(path)])[0]
    assert [(p.model, p.chord, p.covered) for p in stored] == [("cnn", expected.chord, True)]
    assert stored[0].probability == pytest.approx(expected.probability, abs=1e-6)
    line = next(m.value for m in at.markdown if m.value.startswith("**Label: "))
    assert line.endswith(f"Suggestions: cnn: {expected.chord} {expected.probability:.2f}"), line
    at.button(key="label_accept").click().run()
    _ok(at)
    assert [s.value for s in at.success] == [f"Frame {frame_id}: accepted {expected.chord}."]
