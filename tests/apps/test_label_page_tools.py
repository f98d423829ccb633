"""The Label page's tools (issues 16, 18, 19), driven with AppTest: labels set here retrain a taught model (the
landmark part at once, the CNN in the background, then both active); the frame's neighbourhood under it; a
batch result folder imported, with clear errors for what is not one."""

from __future__ import annotations

import re
import shutil

import cv2
import numpy as np
import pytest

from labeling.batches import BATCH_MODEL
from labeling.ingest import add_clip
from labeling.store import LabelStore
from labeling.teach import store_taught_frames
from labeling.train import wait_job
from pipeline.models.cards import read_card
from pipeline.models.registry import load_model_set
from pipeline.timeline.batch import BatchSettings, analyze_into, write_summary
from pipeline.vision.video import read_frame
from tests.helpers.studio import SAMPLES, assert_ok, decoded_image, open_app, page_images
from tests.helpers.taught import make_taught
from tools.samplegen.clips import make_clip


def _label_page():
    at = open_app()
    at.switch_page("app_pages/label.py").run()
    assert_ok(at)
    return at


def test_corrections_retrain_the_taught_pair_landmarks_now_cnn_in_the_background(studio_env, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_HOME", str(studio_env / "home"))
    taught = make_taught(studio_env / "home" / "models" / "my-guitar")
    with LabelStore(studio_env / "labels") as store:
        store_taught_frames(store, taught)
        for frame in store.frames(clip="my-guitar-G.mp4"):  # the G clip was a D all along
            store.set_label(frame.id, "D", author="ann")
    weights = (taught / "cnn" / "model.safetensors").read_bytes()
    at = _label_page()
    assert at.selectbox(key="personal_folder").value.name == "my-guitar"
    at.number_input(key="personal_epochs").set_value(3).run()
    at.button(key="personal_go").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    said = " ".join(s.value for s in at.success)
    assert "Retrained my-guitar/landmarks on 24 frames (8 labels set in Label)" in said and "landmarks 100%" in said
    assert "D" in read_card(taught / "landmarks").classes and "G" not in read_card(taught / "landmarks").classes
    # the retrained pair is the active one; the CNN is training in the background, the page is not waiting
    assert at.multiselect(key="models").value == ["my-guitar/landmarks", "my-guitar/cnn"]
    running = [i.value for i in at.info if "retraining in the background" in i.value]
    assert running, [i.value for i in at.info]
    job_id = int(re.search(r"\(job (\d+)\)", running[0]).group(1))
    with LabelStore(studio_env / "labels") as store:
        job = wait_job(store, job_id, timeout=240)
    assert job.status == "done", job.progress
    at.run()  # a later rerun picks the result up
    assert_ok(at)
    assert any("Retrained my-guitar/cnn on 24 frames" in s.value for s in at.success), [s.value for s in at.success]
    assert (taught / "cnn" / "model.safetensors").read_bytes() != weights
    assert "D" in read_card(taught / "cnn").classes and "retrained" in read_card(taught / "cnn").trained_on


def test_the_frame_shows_its_neighbours_from_the_video_or_the_stored_frames(studio_env, shown_images):
    clip = studio_env / "moving.mp4"
    make_clip(clip, [("G", 2.0), ("C", 2.0)], fps=15, seed=2, shake=6.0, quality=35)
    with LabelStore(studio_env / "labels") as store:
        add_clip(store, clip, fps=1.0)
    at = _label_page()
    for _ in range(2):
        at.button(key="label_next").click().run()
    assert_ok(at)
    shown = [c for image in at.get("image") for c in image.captions]
    time = float(re.search(r"@([0-9.]+)s", shown[0]).group(1))
    assert time == pytest.approx(2.0)
    neighbours = {float(re.match(r"neighbour at ([0-9.]+) s", c).group(1)): u
                  for c, u in page_images(at).items() if c.startswith("neighbour at")}
    assert sorted(neighbours) == [1.5, 1.75, 2.25, 2.5]
    for t, url in neighbours.items():
        image = decoded_image(shown_images, url)
        own = _scaled(read_frame(clip, t).image, image.shape)
        assert np.abs(image.astype(int) - own).mean() < 1.0, t  # that very frame of the video ...
        for other in (time, *(u for u in neighbours if u != t)):  # ... not the labeled one or another neighbour
            assert np.abs(image.astype(int) - _scaled(read_frame(clip, other).image, image.shape)).mean() > 2.0

    # without its video (moved away), the clip's stored frames around it (1 s apart) stand in
    clip.rename(studio_env / "elsewhere.mp4")
    at.run()
    assert_ok(at)
    stored = {float(re.match(r"neighbour at ([0-9.]+) s", c).group(1)): u
              for c, u in page_images(at).items() if c.startswith("neighbour at")}
    assert sorted(stored) == [0.0, 1.0, 3.0]
    with LabelStore(studio_env / "labels") as store:
        files = {f.time: f.path for f in store.frames()}
    for t, url in stored.items():
        image = decoded_image(shown_images, url)
        own = _scaled(cv2.cvtColor(cv2.imread(str(files[t])), cv2.COLOR_BGR2RGB), image.shape)
        assert np.abs(image.astype(int) - own).mean() < 1.0, t


def _scaled(image: np.ndarray, shape) -> np.ndarray:
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA).astype(int)


def test_a_batch_result_folder_is_imported_and_other_folders_are_refused(studio_env, tiny_model):
    clip = studio_env / "lesson.mp4"
    shutil.copy(SAMPLES / "progression.mp4", clip)
    out = studio_env / "batch-out"
    row = analyze_into(clip, out / "lesson", BatchSettings(fps=1.0), load_model_set([tiny_model]))
    assert row["error"] == ""
    write_summary(out)
    at = _label_page()
    box = at.text_input(key="label_batch_dir")
    for typed, said in [(str(studio_env), "is not a batch result folder"),
                        (f"{out}/../batch-out", "has a '..' part"),
                        (str(studio_env / "nothing"), "No folder at"),
                        ("", "Give a batch result folder")]:
        box.input(typed).run()
        at.button(key="label_batch_import").click().run()
        assert_ok(at)
        assert any(said in e.value for e in at.error), (typed, [e.value for e in at.error])
    with LabelStore(studio_env / "labels") as store:
        assert store.stats().frames == 0  # nothing was added by a refused folder
    box.input(str(out)).run()
    at.button(key="label_batch_import").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    with LabelStore(studio_env / "labels") as store:
        frames = store.frames()
        assert frames and {f.clip for f in frames} == {"lesson"}
        assert {p.model for f in frames for p in store.predictions(f.id)} == {BATCH_MODEL}
    assert any(f"Added {len(frames)} frames of the batch batch-out" in s.value for s in at.success)


def test_a_fused_pair_stores_each_models_answer_and_enter_accepts_the_pairs(image_env):
    at = _label_page()
    assert (at.selectbox(key="label_add_landmarks").value, at.selectbox(key="label_add_image").value) == ("tiny", "cnn")
    at.selectbox(key="label_add_clip").select(SAMPLES / "progression.mp4").run()
    at.button(key="label_add").click().run()
    assert_ok(at)
    frame_id = int(re.search(r": frame (\d+), ", at.get("image")[0].captions[0]).group(1))
    with _store_of(at) as store:
        stored = store.predictions(frame_id)
    assert [p.model for p in stored] == ["tiny + cnn (fused)", "cnn", "tiny"]
    line = next(m.value for m in at.markdown if m.value.startswith("**Label: "))
    assert "Suggestions: tiny + cnn (fused): " in line
    at.button(key="label_accept").click().run()
    assert_ok(at)
    with _store_of(at) as store:
        event = store.history(frame_id)[-1]
    # the pair's answer, not the more probable answer of one of its models
    assert (event.chord, event.prediction_id) == (stored[0].chord, stored[0].id)


def _store_of(at) -> LabelStore:
    return LabelStore(at.sidebar.text_input(key="data_dir").value)
