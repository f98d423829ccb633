"""The Space demo driven for real: `gradio_app.demo` launched on a free port, every endpoint called
through `gradio_client` with a sample clip; bad uploads get a clear error; two clients analysing at
once each get their own results. Tiny models built here (`tests.helpers.tiny_models`) stand in for trained
ones: a landmark SVM on constructed hands and a random-weight CNN, fused when both are set. Models by
hub id are tried offline (HF_HUB_OFFLINE=1, set in conftest): one not in the cache gives a clear error.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.space import running_space, space_client
from tests.helpers.tiny_models import tiny_cnn

REPO = Path(__file__).resolve().parents[2]
PROGRESSION = REPO / "sample_media" / "progression.mp4"
NO_HAND = REPO / "sample_media" / "no_hand.mp4"
STRUM = REPO / "sample_media" / "strumming_em_d.mp4"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The demo running on a free port with the tiny landmark model; yields its URL and folder."""
    folder = tmp_path_factory.mktemp("gradio-app")
    with running_space(folder) as url:
        yield url, folder


@pytest.fixture
def space_models(app_url, monkeypatch):
    """Point the running Space at other models: ``space_models("a:b")`` sets CHORD_SPACE_MODELS and makes
    the next request load them; the module's landmark model is back after the test."""
    import gradio_app

    def use(models: str) -> None:
        monkeypatch.setenv("CHORD_SPACE_MODELS", models)
        gradio_app.reset_models()

    yield use
    monkeypatch.undo()
    gradio_app.reset_models()


_client = space_client


def _analyze(client, clip: Path, fps: int = 5):
    from gradio_client import handle_file

    return client.predict(handle_file(str(clip)), fps, api_name="/analyze")


def test_every_endpoint_through_the_client(app_url):
    url, folder = app_url
    client = _client(url)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/analyze", "/explain", "/listen", "/suggest_correction"} <= names

    video, plot, table, summary, slider = _analyze(client, PROGRESSION)
    # outputs that carry subtitles come back as updates: {"value": mp4, "subtitles": vtt}
    assert Path(video["value"]).suffix == ".mp4" and Path(video["value"]).stat().st_size > 0
    assert Path(video["subtitles"]).read_text().startswith("WEBVTT")
    assert table["headers"] == ["start (s)", "end (s)", "chord", "mean probability"] and table["data"]
    assert table["data"][-1][1] == pytest.approx(10.0, abs=0.25)
    assert "50 frames sampled" in summary and "progression.mp4" in summary
    assert "against its ground truth" in summary  # the sample clip is recognised by its bytes
    assert slider["maximum"] == 49 and slider["value"] == 0
    figure = json.loads(plot["plot"])
    assert {trace["name"] for trace in figure["data"]} >= {row[2] for row in table["data"]}

    image, label, heatmap, note = client.predict(3, "(the top chord)", api_name="/explain")
    assert "Frame 3" in note
    # the frame with its hand drawn, and the fingers' attribution drawn on it: recomputed here, not the raw frame
    from pipeline.explain.service import explain_landmarks, too_small_to_draw
    from pipeline.models.registry import load_model
    from pipeline.vision.drawing import annotate_frame
    from pipeline.vision.hands import HandDetector
    from pipeline.vision.overlays import FingerAnnotator
    from pipeline.vision.video import read_frame

    raw = read_frame(PROGRESSION, _explained_time(note)).image
    with HandDetector() as detector:
        hands = detector.detect(raw)
    _assert_shows(_picture(image), annotate_frame(raw, hands, None), raw)
    attribution = explain_landmarks(hands.fretting, load_model(folder / "tiny-landmarks"))
    assert label["label"] in {"A", "C", "G", "None"}
    assert abs(sum(c["confidence"] for c in label["confidences"]) - 1) < 1e-6
    # a landmark model reads points, not pixels: its explanation is the fingers' attribution, never a fake heatmap
    assert heatmap["label"].startswith("Finger attribution: ")
    if too_small_to_draw(attribution):  # the tiny model on a real hand: every finger the same (issue 18)
        assert heatmap["value"] is None and "nothing to draw" in note
    else:
        _assert_shows(_picture(heatmap["value"]), FingerAnnotator().annotate(raw, attribution), raw)
        assert "Finger attribution" in note and "occlusion heatmap needs an image model" in note
    _, _, heatmap, note = client.predict(3, "C", api_name="/explain")
    assert heatmap["label"] == "Finger attribution: C" and "for **C**" in note

    wav, muxed, files, listen_note = client.predict("folk", "steel", 0, 0.0, api_name="/listen")
    assert Path(wav).suffix == ".wav" and Path(wav).stat().st_size > 10_000
    assert Path(muxed["value"]).suffix == ".mp4" and Path(muxed["subtitles"]).read_text().startswith("WEBVTT")
    assert {Path(f).suffix for f in files} >= {".mid", ".wav", ".mp4", ".srt", ".vtt"}
    assert "BPM" in listen_note

    message = client.predict(3, "Em", api_name="/suggest_correction")
    assert "Recorded **Em**" in message and "local label store" in message
    from labeling.store import LabelStore

    with LabelStore(folder / "labels") as store:
        frames = store.frames()
        assert len(frames) == 1 and frames[0].chord == "Em" and frames[0].source.startswith("space:progression.mp4@")
    # the same frame again: one frame, a new label
    assert "Recorded **D**" in client.predict(3, "D", api_name="/suggest_correction")
    with LabelStore(folder / "labels") as store:
        assert [f.chord for f in store.frames()] == ["D"]


def test_bad_uploads_and_calls_out_of_order_get_clear_errors(app_url, tmp_path):
    from gradio_client.exceptions import AppError

    url, _ = app_url
    client = _client(url)
    with pytest.raises(AppError, match="Analyze a clip first"):
        client.predict(0, "(the top chord)", api_name="/explain")
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    with pytest.raises(AppError, match="not a video or image"):
        _analyze(client, text)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(AppError, match="broken.mp4"):
        _analyze(client, broken)
    _analyze(client, NO_HAND)
    with pytest.raises(AppError, match="greater than maximum value 14"):  # Gradio checks the slider
        client.predict(999, "C", api_name="/suggest_correction")
    # the correction starts empty (a default chord would be recorded by a hasty click) and is refused empty
    import gradio_app

    dropdown = next(b for b in gradio_app.demo.blocks.values() if getattr(b, "elem_id", None) == "correct_chord")
    assert dropdown.value is None
    with pytest.raises(AppError, match="Choose the chord"):
        client.predict(3, None, api_name="/suggest_correction")


def test_two_clients_at_once_get_their_own_results(app_url):
    url, _ = app_url
    alone = {clip: _analyze(_client(url), clip)[2]["data"] for clip in (PROGRESSION, STRUM)}
    assert alone[PROGRESSION] != alone[STRUM]
    results: dict[Path, object] = {}
    errors: list[BaseException] = []

    def work(clip: Path) -> None:
        try:
            client = _client(url)
            video, _, table, summary, _ = _analyze(client, clip)
            wav, _, _, _ = client.predict("down", "nylon", 100, 0.0, api_name="/listen")
            results[clip] = (table["data"], summary, Path(video["value"]).read_bytes(), Path(wav).read_bytes())
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(clip,)) for clip in (PROGRESSION, STRUM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    for clip in (PROGRESSION, STRUM):
        table, summary, video, wav = results[clip]
        assert table == alone[clip] and clip.name in summary
    assert results[PROGRESSION][2] != results[STRUM][2] and results[PROGRESSION][3] != results[STRUM][3]


def _picture(path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def _assert_shows(shown: np.ndarray, drawing: np.ndarray, raw: np.ndarray) -> None:
    """The picture the Space returned is ``drawing`` (an overlay on the frame ``raw``), not the frame: where the
    drawing changes the frame, the picture is near the drawing and far from the frame (all RGB (H, W, 3))."""
    assert shown.shape == raw.shape
    drawn = np.abs(drawing.astype(np.int16) - raw).max(axis=2) > 40
    assert drawn.sum() > 200, drawn.sum()  # something is drawn at all
    near, far = np.abs(shown - drawing)[drawn].mean(), np.abs(shown - raw)[drawn].mean()
    assert near < far / 4, (near, far)


def _explained_time(note: str) -> float:
    return float(re.search(r"at (\d+\.\d+) s", note).group(1))


def _model_answers(note: str) -> dict[str, list[tuple[str, float]]]:
    """Each model's top answers as the explain note lists them ("landmarks: C 0.80, G 0.10, ...")."""
    answers = {}
    for name, listed in re.findall(r"^(landmarks|image): (.+)$", note, flags=re.M):
        answers[name] = [(c, float(p)) for c, p in (item.rsplit(" ", 1) for item in listed.split(", "))]
    return answers


def test_landmark_and_image_models_are_fused_and_each_explained(app_url, space_models):
    """CHORD_SPACE_MODELS with a landmark and an image model: both run and are fused frame by frame;
    the Explain tab draws the image model's occlusion heatmap (with its legend) or the landmark
    model's finger attribution, for the top chord or a chosen one."""
    from gradio_client.exceptions import AppError

    from pipeline.core.types import FusionWeights
    from pipeline.explain.service import explain_frame, explain_landmarks, too_small_to_draw
    from pipeline.models.registry import load_model
    from pipeline.timeline.fusion import fuse
    from pipeline.vision.hands import HandDetector
    from pipeline.vision.overlays import HeatmapAnnotator
    from pipeline.vision.video import read_frame

    url, folder = app_url
    client = _client(url)
    landmarks = folder / "tiny-landmarks"
    landmark_chords = set(load_model(landmarks).classes)
    # the landmark model alone: a clip without a hand stays undecided; a hand frame knows its 4 chords
    _, _, alone_no_hand, summary, _ = _analyze(client, NO_HAND)
    assert "a hand in 0 %" in summary and "decided" not in summary
    _, _, alone, _, _ = _analyze(client, PROGRESSION)
    _, label, _, note = client.predict(3, "(the top chord)", "auto", api_name="/explain")
    assert {c["label"] for c in label["confidences"]} <= landmark_chords == {"A", "C", "G", "None"}
    assert "image: " not in note

    cnn = tiny_cnn(folder / "tiny-cnn")
    space_models(os.pathsep.join([str(landmarks), str(cnn)]))
    # frames without a hand: the image model decides them alone
    _, _, table, summary, _ = _analyze(client, NO_HAND)
    assert "a hand in 0 %" in summary and "a chord decided in 100 %" in summary
    assert table["data"] and table["data"] != alone_no_hand["data"]
    _, label, heatmap, note = client.predict(2, "(the top chord)", "auto", api_name="/explain")
    assert set(_model_answers(note)) == {"image"} and heatmap["label"].startswith("Occlusion heatmap: ")
    assert label["label"] == _model_answers(note)["image"][0][0]

    video, _, table, summary, slider = _analyze(client, PROGRESSION)
    # the models by what they are (issue 18: no training-data description or path)
    assert "Models: landmarks: svm on raw63 features; image: cnn" in summary, summary
    assert "constructed hands (test)" not in summary
    weights = FusionWeights.from_models(load_model(landmarks), load_model(cnn))  # from the cards' accuracy
    share = weights.landmarks / (weights.landmarks + weights.image)
    assert f"fuses both models' probabilities (weights from their held-out accuracy: landmarks {share:.2f}, " \
           f"image {1 - share:.2f})" in summary
    assert slider["maximum"] == 49 and Path(video["value"]).stat().st_size > 0
    k = 3
    picture, label, heatmap, note = client.predict(k, "(the top chord)", "auto", api_name="/explain")
    answers = _model_answers(note)
    assert set(answers) == {"landmarks", "image"}
    # the frame's probabilities are the two models' answers fused (recomputed here from the same models)
    time = _explained_time(note)
    frame = read_frame(PROGRESSION, time).image
    with HandDetector() as detector:
        hands = detector.detect(frame)
    by_landmarks = load_model(landmarks).predict([hands])[0]
    cnn_model = load_model(cnn)
    by_image = cnn_model.predict([frame])[0]
    expected = fuse([by_landmarks, by_image], [weights.landmarks, weights.image])
    assert by_landmarks.covered and answers["landmarks"][0][0] == by_landmarks.chord
    assert answers["image"][0] == (by_image.chord, round(by_image.probability, 2))
    assert label["label"] == expected.chord
    got = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert got == pytest.approx({c: expected.probabilities[c] for c in got}, abs=1e-6)
    assert len(got) == 5 and set(got) - landmark_chords  # the union of both models' chords

    # the image model's occlusion heatmap: the frame with a heat overlay and a colour bar
    assert heatmap["label"] == f"Occlusion heatmap: {by_image.chord}" and f"for **{by_image.chord}**" in note
    attribution = explain_frame(frame, cnn_model)  # the Space's call, here: the same picture, legend and all
    if too_small_to_draw(attribution):  # the tiny CNN's evidence here is said, not drawn (issue 18)
        assert heatmap["value"] is None and "nothing to draw" in note
    else:
        shown = _picture(heatmap["value"])
        assert shown.shape == frame.shape
        assert np.abs(shown - frame).mean() > 5  # the overlay, far above the webp encoding's noise
        with_legend = HeatmapAnnotator().annotate(frame, attribution).astype(np.int16)
        without = HeatmapAnnotator(legend=False).annotate(frame, attribution).astype(np.int16)
        legend = np.abs(with_legend - without).max(axis=2) > 40
        assert legend.sum() > 500  # the colour bar, its values and its title
        near, far = np.abs(shown - with_legend)[legend].mean(), np.abs(shown - without)[legend].mean()
        assert near < far / 4, (near, far)  # the legend is drawn (about 7 against 100 levels here)
        assert np.abs(shown - with_legend).mean() < 4  # and the whole picture is that one (webp noise about 2)
        # where the map is strong, the picture has the overlay's colours, not the frame's
        strong = (attribution.map >= 0.5 * attribution.map.max()) & ~legend
        assert strong.sum() > 500, strong.sum()
        near, far = np.abs(shown - without)[strong].mean(), np.abs(shown - frame)[strong].mean()
        assert near < far / 4, (near, far)
        assert "colour bar" in note

    # a chosen target changes the heatmap
    _, _, for_c, note_c = client.predict(k, "C", "auto", api_name="/explain")
    _, _, for_g, note_g = client.predict(k, "G", "image", api_name="/explain")
    assert for_c["label"] == "Occlusion heatmap: C" and "for **C**" in note_c
    assert for_g["label"] == "Occlusion heatmap: G" and "for **G**" in note_g
    for_g_attribution = explain_frame(frame, cnn_model, "G")
    if too_small_to_draw(for_g_attribution):
        assert for_g["value"] is None and "nothing to draw" in note_g
    else:
        if for_c["value"] is not None:
            assert np.abs(_picture(for_c["value"]) - _picture(for_g["value"])).mean() > 5
        _assert_shows(_picture(for_g["value"]), HeatmapAnnotator().annotate(frame, for_g_attribution), frame)
    # every chord of the CNN's vocabulary is a target; the landmark model knows four
    _, _, for_em, _ = client.predict(k, "Em", "image", api_name="/explain")
    assert for_em["label"] == "Occlusion heatmap: Em"

    # the landmark model of the same Space: its fingers' attribution
    _, _, fingers, note = client.predict(k, "C", "landmarks", api_name="/explain")
    assert fingers["label"] == "Finger attribution: C"
    if too_small_to_draw(explain_landmarks(hands.fretting, load_model(landmarks), "C")):  # said, not drawn
        assert fingers["value"] is None and "nothing to draw" in note
    else:
        assert "Finger attribution** of the landmark model" in note
        assert "choose the image model for an occlusion heatmap" in note
        drawn = _picture(fingers["value"])
        assert drawn.shape == frame.shape and np.abs(drawn - frame).mean() > 0.5  # the hand's points drawn
    with pytest.raises(AppError, match=r"landmark model does not know Em: it answers A, C, G, None"):
        client.predict(k, "Em", "landmarks", api_name="/explain")


def test_a_mostly_unfamiliar_clip_is_said_and_drawn_as_guesses(app_url, monkeypatch):
    """Models whose answers say the footage is unfamiliar (a stand-in that knows 4 of the 50 frames):
    the summary says so in the shared sentence, and the timeline marks the guesses."""
    import gradio_app
    from pipeline.core.types import ModelSet
    from pipeline.text import SPACE_TEACH_REMEDY, UNSURE_LABEL
    from tests.helpers.familiar import FamiliarityModel

    monkeypatch.setattr(gradio_app, "_models", ModelSet(landmarks=FamiliarityModel([True] * 4 + [False] * 46)))
    _, plot, table, summary, _ = _analyze(_client(app_url[0]), PROGRESSION)
    assert ("⚠️ **This footage looks unlike what the landmarks model learned from: 8 % of frames familiar; the "
            "chords below are guesses.** To get chords you can trust, teach it your setup "
            f"{SPACE_TEACH_REMEDY}.") in summary.split("\n\n")
    assert "8 % familiar to the models" in summary and "Chords: C → C?" in summary
    assert [row[2] for row in table["data"]] == ["C", "C (unsure)"]
    bars = [trace for trace in json.loads(plot["plot"])["data"] if trace["y"] == ["recognised"]]
    assert [(bar["name"], bar.get("text"), bar["marker"].get("pattern", {}).get("shape")) for bar in bars] == [
        ("C", "C", None), (UNSURE_LABEL, None, "/"), ("C (unsure)", "C?", "/")]


def test_explaining_a_model_the_space_does_not_run_is_a_clear_error(app_url):
    from gradio_client.exceptions import AppError

    url, _ = app_url
    client = _client(url)
    _analyze(client, PROGRESSION)
    with pytest.raises(AppError, match="This Space runs no image model"):
        client.predict(3, "C", "image", api_name="/explain")
    # the model argument is optional (auto), as before it existed
    _, _, fingers, _ = client.predict(3, "C", api_name="/explain")
    assert fingers["label"] == "Finger attribution: C"


NOT_CACHED = "someone/chord-model-not-cached"


def test_a_hub_id_not_in_the_cache_is_a_clear_error_and_a_folder_in_its_slot_works(app_url, space_models):
    """Offline (HF_HUB_OFFLINE=1), a hub id that is not cached names itself and the setting, in the app's
    error and in the Space's start; a local model folder in the same slot of CHORD_SPACE_MODELS runs."""
    from gradio_client.exceptions import AppError

    from pipeline import space
    from pipeline.core.errors import InputError

    url, folder = app_url
    client = _client(url)
    landmarks = str(folder / "tiny-landmarks")
    with pytest.raises(InputError) as caught:
        space.resolve_model_spec(NOT_CACHED)
    message = str(caught.value)
    assert f"'{NOT_CACHED}'" in message and "not in this machine's hub cache" in message
    assert "HF_HUB_OFFLINE=1" in message and "Set CHORD_SPACE_MODELS to a local model folder" in message
    assert "Traceback" not in message and "local_files_only" not in message

    space_models(os.pathsep.join([landmarks, NOT_CACHED]))
    with pytest.raises(AppError, match=re.escape(NOT_CACHED)) as caught:
        _analyze(client, PROGRESSION)
    assert "CHORD_SPACE_MODELS" in str(caught.value) and "Traceback" not in str(caught.value)

    cnn = tiny_cnn(folder / "tiny-cnn-slot", seed=4)
    space_models(os.pathsep.join([landmarks, str(cnn)]))
    _, _, table, summary, _ = _analyze(client, PROGRESSION)
    assert table["data"] and "; image: cnn" in summary and "fuses both models" in summary

    # the Space's own start: a one-line reason and exit status 2, no traceback
    env = {**os.environ, "CHORD_SPACE_MODELS": os.pathsep.join([landmarks, NOT_CACHED]), "HF_HUB_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "gradio_app.py"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    reason = [line for line in done.stderr.splitlines() if line.startswith("gradio_app: ")]
    assert len(reason) == 1 and NOT_CACHED in reason[0] and "CHORD_SPACE_MODELS" in reason[0]
    assert "Traceback" not in done.stderr


def _hub_cache_entry(cache: Path, repo_id: str, files: Path | None) -> Path:
    """A model repo's snapshot in a hub cache folder, laid out as ``huggingface_hub`` writes one (refs/main
    names the commit; snapshots/<commit>/ holds the files): a download made before going offline."""
    import shutil

    commit = "0" * 39 + "1"
    entry = cache / f"models--{repo_id.replace('/', '--')}"
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(commit)
    snapshot = entry / "snapshots" / commit
    if files is None:
        snapshot.mkdir(parents=True)
        (snapshot / "config.json").write_text("{}")
    else:
        shutil.copytree(files, snapshot)
    return snapshot


def test_a_cached_hub_id_loads_through_the_folder_path(app_url, space_models, tmp_path, monkeypatch):
    """A hub id whose snapshot is in the hub cache loads offline exactly as its folder does: the registry
    reads its card and ``from_pretrained`` its backbone (a tiny DINOv2 linear probe built here). A repo
    without a model folder is a clear error. (Downloading itself needs a network, which tests never have.)"""
    from gradio_client.exceptions import AppError
    from huggingface_hub import constants

    from pipeline import space
    from pipeline.core.config import SpaceSettings
    from pipeline.core.errors import InputError
    from pipeline.models.datasets import read_image_folder
    from pipeline.models.image.training import train_image_model
    from pipeline.models.image.transformer import TransformerChordModel
    from tests.helpers.tiny_models import square_folder, tiny_backbone

    url, folder = app_url
    backbone = tiny_backbone(tmp_path / "tiny-dinov2", "dinov2")
    images = read_image_folder(square_folder(tmp_path / "squares", 4))
    probe = tmp_path / "probe"
    train_image_model(images, kind="image", backbone=str(backbone), mode="linear-probe", out=probe, seed=0,
                      threads=2)
    cache = tmp_path / "hub"
    snapshot = _hub_cache_entry(cache, "someone/tiny-probe", probe)
    _hub_cache_entry(cache, "someone/just-a-backbone", None)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))

    assert space.resolve_model_spec("someone/tiny-probe") == str(snapshot)
    with pytest.raises(InputError, match="'someone/just-a-backbone' holds no chord model"):
        space.resolve_model_spec("someone/just-a-backbone")
    landmarks = str(folder / "tiny-landmarks")
    models = space.load_space_models(SpaceSettings(models=(landmarks, "someone/tiny-probe")))
    assert isinstance(models.image, TransformerChordModel) and models.image.classes == ["C", "G", "None"]

    space_models(os.pathsep.join([landmarks, "someone/tiny-probe"]))
    client = _client(url)
    _, _, table, summary, _ = _analyze(client, PROGRESSION)
    assert table["data"] and "fuses both models" in summary
    _, _, heatmap, note = client.predict(3, "G", "image", api_name="/explain")
    assert heatmap["label"] == "Occlusion heatmap: G"
    from pipeline.explain.service import explain_frame
    from pipeline.vision.overlays import HeatmapAnnotator
    from pipeline.vision.video import read_frame

    raw = read_frame(PROGRESSION, _explained_time(note)).image
    _assert_shows(_picture(heatmap["value"]), HeatmapAnnotator().annotate(raw, explain_frame(raw, models.image, "G")),
                  raw)
    with pytest.raises(AppError, match=r"image model does not know Em: it answers C, G, None"):
        client.predict(3, "Em", "image", api_name="/explain")


def test_space_settings_and_label_push(monkeypatch, tmp_path):
    from pipeline import space
    from pipeline.core.config import get_space_settings

    monkeypatch.delenv("CHORD_SPACE_MODELS", raising=False)
    assert get_space_settings().models == ("sample",)
    assert space.resolve_model_spec("sample") is None and space.resolve_model_spec(str(tmp_path)) == str(tmp_path)
    assert space.gpu(len) is len and space.gpu(duration=5)(len) is len  # no-op without `spaces`
    image = tmp_path / "f.jpg"
    image.write_bytes(b"jpeg")
    record = {"digest": "ab" * 32, "chord": "C"}
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert "local label store" in space.push_label(record, image)

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def upload_file(self, **kwargs):
            calls.append((kwargs["path_in_repo"], kwargs["repo_id"], kwargs["repo_type"]))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setenv("HF_TOKEN", "secret")
    monkeypatch.setenv("CHORD_SPACE_LABELS_REPO", "someone/chord-labels")
    assert "pushed to the dataset someone/chord-labels" in space.push_label(record, image)
    assert calls == [("token", "secret"), (f"suggestions/{'ab' * 32}.jpg", "someone/chord-labels", "dataset"),
                     (f"suggestions/{'ab' * 32}.json", "someone/chord-labels", "dataset")]
    assert "secret" not in repr(get_space_settings())
