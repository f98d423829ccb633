"""The studio's pages with image models, driven with AppTest: fused analysis, occlusion heatmaps, bad model
folders, Compare and Label with image models. Tiny models built here (tests/tiny_models.py)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.chords import VOCABULARY
from pipeline.models.landmark import train_landmark_model
from tests.helpers.studio import (
    SAMPLES,
    analyze_sample,
    assert_ok,
    cnn_answer,
    decoded_image,
    heatmap_of,
    open_app,
    page_images,
    use_models,
)
from tests.helpers.tiny_models import broken_cnn, tiny_cnn, untrained_detector


@pytest.fixture(autouse=True)
def draw_any_evidence(monkeypatch):
    """These tests check how heatmaps are drawn and cached; the tiny CNN's evidence on the sample frames is
    below the floor under which Explain says "nothing to draw" instead (tests/apps/test_explain_evidence.py),
    so the floor is lowered to zero here."""
    import pipeline.explain.service

    monkeypatch.setattr(pipeline.explain.service, "EVIDENCE_FLOOR", 0.0)



# --------------------------------------------------------------------------------------------------
# Image models: fused analysis, occlusion heatmaps, bad model folders


def test_analyze_fuses_a_landmark_and_an_image_model(image_env):
    from pipeline.core.types import ChordPrediction, FusionWeights
    from pipeline.models.image.loading import load_image_model
    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.text import fusion_note
    from pipeline.timeline.fusion import fuse

    at = open_app()
    assert at.sidebar.multiselect(key="models").value == ["tiny", "cnn", "cnn2"]
    # The sidebar's models of each kind are offered; the first of each is the default.
    assert at.selectbox(key="analyze_landmarks").options == ["(none)", "tiny"]
    assert at.selectbox(key="analyze_image").options == ["(none)", "cnn", "cnn2"]
    assert (at.selectbox(key="analyze_landmarks").value, at.selectbox(key="analyze_image").value) == ("tiny", "cnn")
    assert at.selectbox(key="analyze_detector").value == "(none)"
    analyze_sample(at, "strumming_em_d.mp4")
    assert not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "strumming_em_d.mp4 with tiny + cnn (fused)"
    assert at.metric[1].value == "30"
    at.slider(key="frame_index").set_value(7).run()
    assert_ok(at)

    table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert list(table["model"]) == ["tiny (landmarks)", "cnn (image)", "fused"]
    classes = [c for c in table.columns if c not in ("model", "chord", "p")]
    rows = {row["model"]: {c: row[c] for c in classes if not (row[c] is None or math.isnan(row[c]))}
            for _, row in table.iterrows()}
    # The image model's row is the CNN's own answer on this frame (1.40 s), computed here.
    expected, frame = cnn_answer(image_env["cnn"], SAMPLES / "strumming_em_d.mp4", 1.4)
    assert rows["cnn (image)"] == pytest.approx(expected.probabilities, abs=1e-5)
    assert table["chord"][1] == expected.chord
    # The fused row pools the two rows with the weights from the models' cards and each model's familiarity
    # with the frame (its own answer's flag, computed here).
    from dataclasses import replace

    from pipeline.vision.hands import HandDetector

    tiny = LandmarkChordModel.load(image_env["tiny"])
    weights = FusionWeights.from_models(tiny, load_image_model(image_env["cnn"]))
    with HandDetector() as detector:
        own_tiny = tiny.predict([detector.detect(frame)])[0]
    answers = [replace(ChordPrediction(max(r, key=r.get), max(r.values()), r), familiar=own.familiar)
               for r, own in zip(list(rows.values())[:2], (own_tiny, expected))]
    fused = fuse(answers, [weights.landmarks, weights.image])
    assert rows["fused"] == pytest.approx(fused.probabilities, abs=1e-6)
    assert rows["fused"] != pytest.approx(rows["tiny (landmarks)"], abs=1e-3)
    assert table["chord"][2] == fused.chord
    assert "frame 35 at 1.40 s" in at.get("image")[0].captions[0]
    assert fusion_note(weights) in [c.value for c in at.caption]  # the Space says the same (pipeline.text)


def test_explain_shows_the_cnn_heatmap_per_target_and_side_by_side(image_env, shown_images, monkeypatch):
    import pipeline.explain.service

    calls = []
    original = pipeline.explain.service.explain_frame

    def counting(image, model, target=None, *args, **kwargs):
        calls.append(target)
        return original(image, model, target, *args, **kwargs)

    monkeypatch.setattr(pipeline.explain.service, "explain_frame", counting)
    clip = SAMPLES / "strumming_em_d.mp4"
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    at.slider(key="frame_index").set_value(7).run()
    at.button(key="explain_frame_button").click().run()
    at.switch_page("app_pages/explain.py").run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="explain_models").value == ["tiny", "cnn"]  # the analysis's models
    assert at.selectbox(key="explain_target").value == "(each model's top chord)"
    assert at.toggle(key="explain_heatmap").value is True

    # Default target: the CNN's own top chord, with its probability on this frame.
    expected, frame = cnn_answer(image_env["cnn"], clip, 1.4)
    url, target, probability = heatmap_of(at, "cnn")
    assert (target, probability) == (expected.chord, pytest.approx(expected.probability, abs=6e-4))
    heatmap = decoded_image(shown_images, url)
    assert heatmap.shape == frame.shape
    assert np.abs(heatmap.astype(float) - frame).mean() > 5  # the colours lie over the frame
    assert calls == [None]

    # Another target explains that chord: a new picture and the CNN's probability of it.
    other = next(c for c in ("C", "G", "D") if c != expected.chord)
    at.selectbox(key="explain_target").select(other).run()
    assert_ok(at)
    url_other, target, probability = heatmap_of(at, "cnn")
    assert (target, probability) == (other, pytest.approx(expected.probabilities[other], abs=6e-4))
    assert url_other != url and calls == [None, other]
    assert any(c.value == f"p({other}) = {expected.probabilities[other]:.3f}" for c in at.caption)

    # Back to the default target, then scrub away and back: cached, explain_frame does not run again.
    at.selectbox(key="explain_target").select("(each model's top chord)").run()
    assert heatmap_of(at, "cnn")[0] == url and len(calls) == 2
    at.slider(key="explain_index").set_value(3).run()
    assert_ok(at)
    assert len(calls) == 3 and heatmap_of(at, "cnn")[0] != url
    at.slider(key="explain_index").set_value(7).run()
    assert len(calls) == 3 and heatmap_of(at, "cnn")[0] == url

    # Two image models side by side: one picture, two panels with a white gap, both captioned.
    at.multiselect(key="explain_models").set_value(["cnn", "cnn2"]).run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    pair = [(c, u) for c, u in page_images(at).items() if c.startswith("cnn: occlusion heatmap")]
    assert len(pair) == 1 and " | cnn2: occlusion heatmap of p(" in pair[0][0], list(page_images(at))
    both = decoded_image(shown_images, pair[0][1])
    height, width = frame.shape[:2]
    assert both.shape == (height, 2 * width + 8, 3)
    assert both[:, width + 2:width + 6].min() > 200  # the gap between the panels
    assert not np.allclose(both[:, :width].astype(float), both[:, width + 8:].astype(float), atol=20)
    # The heatmap can be hidden.
    at.toggle(key="explain_heatmap").set_value(False).run()
    assert not [c for c in page_images(at) if "occlusion heatmap" in c]


def test_bad_models_and_a_detector_that_finds_nothing_end_in_clear_messages(image_models, tmp_path_factory,
                                                                             tmp_path, monkeypatch):
    root = tmp_path_factory.mktemp("bad-models")
    broken, detector = broken_cnn(root / "broken"), untrained_detector(root / "det")
    use_models(monkeypatch, tmp_path, [image_models["tiny"], image_models["cnn"], broken, detector])
    at = open_app()
    assert at.selectbox(key="analyze_detector").value == "det"

    # A model folder that fails to load: a clear message, not a traceback.
    at.selectbox(key="analyze_image").select("broken").run()
    at.selectbox(key="analyze_detector").select("(none)").run()
    analyze_sample(at, "chord_G.jpg")
    assert any("is not a whole CNN model folder" in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric  # nothing was analysed

    # An image model with a detector that finds no fretboard: said clearly, the analysis still shown.
    at.selectbox(key="analyze_image").select("cnn").run()
    at.selectbox(key="analyze_detector").select("det").run()
    analyze_sample(at, "chord_G.jpg")
    assert [e.value for e in at.error] == [
        "The fretboard detector found no fretboard in any of the 1 sampled frames of 'chord_G.jpg'. Check that the "
        "detector was trained on footage like this clip, or analyse without it."]
    assert at.metric[1].value == "1" and at.metric[-1].label == "Frames with a fretboard"
    assert at.metric[-1].value == "0 %"
    assert any(c.value == "Fretboard box: det found no fretboard in this frame." for c in at.caption)

    # No landmark model and no hand in the clip: the image model decides every frame alone.
    at.selectbox(key="analyze_landmarks").select("(none)").run()
    at.selectbox(key="analyze_detector").select("(none)").run()
    analyze_sample(at, "no_hand.mp4")
    assert not at.error, [e.value for e in at.error]
    assert any("the image model decides every frame on its own" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert list(table["model"]) == ["cnn (image)"]

    # Explain with the broken folder among its models: its error, the other model still explained.
    at.button(key="explain_frame_button").click().run()
    at.switch_page("app_pages/explain.py").run()
    assert_ok(at)
    at.multiselect(key="explain_models").set_value(["cnn", "broken"]).run()
    assert_ok(at)
    assert any("is not a whole CNN model folder" in e.value for e in at.error), [e.value for e in at.error]
    heatmap_of(at, "cnn")


def test_a_region_models_heatmap_lies_where_the_region_was_cut(image_models, tmp_path):
    """An image model trained on regions sees (and is explained on) the region the analysis cut out; its
    map is placed there in frame coordinates, zero elsewhere."""
    import json

    from pipeline.core.hands import HandsResult
    from pipeline.core.types import NOT_COVERED, FrameResult
    from pipeline.explain.frames import explain_image_frame, model_input
    from pipeline.models.image.loading import load_image_model
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

    from labeling.sets import SAMPLE_SET, load_labeled_set
    from pipeline.compare.scoring import evaluate_models
    from pipeline.core.types import FusionWeights
    from pipeline.models.evaluation import evaluate_predictions
    from pipeline.models.image.inputs import read_rgb
    from pipeline.models.image.loading import load_image_model
    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.timeline.fusion import fuse_frames

    use_models(monkeypatch, tmp_path, sample_set_models.values())
    at = open_app().switch_page("app_pages/compare.py").run()
    assert_ok(at)
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect(key="compare_models").value == ["hands", "cnn"]
    assert at.selectbox(key="compare_set").value == SAMPLE_SET
    at.button(key="compare_run").click().run()
    assert_ok(at)
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
        own = evaluate_predictions(frames.truth, [p.chord for p in answers], [p.covered for p in answers],
                                   [p.familiar for p in answers])
        assert _report_values(expected[name]) == _report_values(own), name
    assert table["coverage"][1] == 1.0 and table["coverage"][0] < 1.0  # the CNN decides the frames without a hand
    assert table["coverage"][2] == 1.0
    assert len({table["accuracy"][k] for k in range(3)}) == 3
    # One confusion matrix per row.
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [c["layout"]["title"]["text"] for c in charts] == list(table["model"])

    # The t-SNE / PCA maps of both models' embeddings of the same frames.
    at.button(key="compare_maps").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    maps = [c for c in charts if c["layout"]["title"]["text"].startswith("Embeddings of the same frames")]
    assert len(maps) == 1
    titles = [a["text"] for a in maps[0]["layout"]["annotations"]]
    assert [t.split(":")[0] for t in titles] == ["hands", "hands", "cnn", "cnn"], titles
    assert f"({len(frames.truth)}/{len(frames.truth)} frames)" in titles[2]  # the CNN embeds every frame


def test_every_chord_an_image_model_can_suggest_has_a_button(image_models, tmp_path, monkeypatch):
    from labeling.store import LabelStore
    from pipeline.models.image.inputs import read_rgb
    from pipeline.models.image.loading import load_image_model

    # The landmark model knows A, C, G and None; the CNN, which suggests here, every chord of the vocabulary.
    use_models(monkeypatch, tmp_path, [image_models["tiny"], image_models["cnn"]])
    at = open_app().switch_page("app_pages/label.py").run()
    at.selectbox(key="label_add_landmarks").select("(none)").run()
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    assert_ok(at)
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
    assert_ok(at)
    assert [s.value for s in at.success] == [f"Frame {frame_id}: labeled Em."]


def test_label_suggestions_come_from_an_image_model(image_models, tmp_path, monkeypatch):
    from labeling.store import LabelStore
    from pipeline.models.image.inputs import read_rgb
    from pipeline.models.image.loading import load_image_model

    use_models(monkeypatch, tmp_path, [image_models["cnn"]])
    at = open_app().switch_page("app_pages/label.py").run()
    assert_ok(at)
    assert at.selectbox(key="label_add_landmarks").options == ["(none)"]
    assert at.selectbox(key="label_add_image").value == "cnn"
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    assert_ok(at)
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
    assert_ok(at)
    assert [s.value for s in at.success] == [f"Frame {frame_id}: accepted {expected.chord}."]
