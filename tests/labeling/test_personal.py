"""Correct and retrain (issue 16 item 2): labels set in Label retrain a taught model's landmark part at once and
its CNN as a job; a failure leaves the previous model in place."""

from __future__ import annotations

import json

import pytest

from labeling.personal import (cnn_job, personal_frames, retrain_cnn, retrain_landmarks, start_cnn_retrain,
                               taught_folders)
from labeling.store import LabelStore
from labeling.teach import TEACH_AUTHOR
from labeling.train import wait_job
from pipeline.core.errors import InputError
from pipeline.models.cards import read_card
from pipeline.models.catalogue import TEACH_FILE
from pipeline.models.landmark import LandmarkChordModel
from pipeline.models.registry import load_model
from tests.helpers.taught import HELD_PER_CHORD, TRAIN_PER_CHORD, make_taught


@pytest.fixture
def taught(tmp_path):
    return make_taught(tmp_path / "models" / "my-guitar")


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels") as opened:
        yield opened


def _relabel_clip(store, clip: str, chord: str, author: str = "ann") -> list[int]:
    ids = [f.id for f in store.frames(clip=clip)]
    for frame_id in ids:
        store.set_label(frame_id, chord, author=author)
    return ids


def test_frames_come_from_the_store_with_its_labels_and_held_out_split(taught, store):
    frames = personal_frames(store, taught)  # stores the taught frames first
    assert len(frames.train) == 4 * TRAIN_PER_CHORD and len(frames.held_out) == 4 * HELD_PER_CHORD
    assert frames.corrections == 0 and {i.chord for i in frames.train} == {"A", "C", "G", "None"}
    assert {e.author for f in store.frames() for e in store.history(f.id)} == {TEACH_AUTHOR}
    _relabel_clip(store, "my-guitar-G.mp4", "D")
    store.undo("ann")  # one label taken back: that frame is G again, by Teach
    again = personal_frames(store, taught)
    assert again.corrections == TRAIN_PER_CHORD + HELD_PER_CHORD - 1
    assert sorted(i.chord for i in again.train + again.held_out).count("D") == TRAIN_PER_CHORD + HELD_PER_CHORD - 1
    assert taught_folders([taught / "landmarks", taught / "cnn", taught.parent / "other"]) == [taught]


def test_corrections_retrain_the_landmark_part_in_place(taught, store):
    personal_frames(store, taught)
    _relabel_clip(store, "my-guitar-G.mp4", "D")  # the person says the G clip was a D all along
    old = read_card(taught / "landmarks")
    result = retrain_landmarks(store, taught)
    model = LandmarkChordModel.load(taught / "landmarks")
    assert "D" in model.classes and "G" not in model.classes and "G" in old.classes
    # the held-out frames of that clip (never trained on) now read D, as labeled
    assert result.accuracy["landmarks"] == 1.0 and result.n_train == 4 * TRAIN_PER_CHORD
    assert result.corrections == TRAIN_PER_CHORD + HELD_PER_CHORD and result.cv_accuracy == pytest.approx(1.0)
    assert "Retrained my-guitar/landmarks on 24 frames (8 labels set in Label)" in result.message
    assert "landmarks 100%" in result.message and "cross-validated 100%" in result.message
    record = json.loads((taught / TEACH_FILE).read_text())
    assert record["retrained"]["landmarks"]["corrections"] == 8 and record["accuracy"]["landmarks"] == 1.0
    assert "retrained" in model.card.trained_on
    # nothing left behind beside the models
    assert sorted(p.name for p in taught.iterdir()) == ["cnn", "frames", "landmarks", TEACH_FILE]


def test_a_failed_retrain_leaves_the_old_models_and_record(taught, store, monkeypatch):
    personal_frames(store, taught)
    _relabel_clip(store, "my-guitar-G.mp4", "D")
    before = {p.relative_to(taught): p.read_bytes() for p in taught.rglob("*") if p.is_file()}

    def half_saved(folder):
        (folder / "card.json").write_text("{")  # a half-written model ...
        raise OSError("disk full")  # ... then the disk fills

    monkeypatch.setattr(LandmarkChordModel, "save", lambda self, folder: half_saved(folder))
    with pytest.raises(OSError, match="disk full"):
        retrain_landmarks(store, taught)

    def crashed(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("labeling.personal.train_image_model", crashed)
    with pytest.raises(RuntimeError):
        retrain_cnn(store, taught, epochs=3)
    after = {p.relative_to(taught): p.read_bytes() for p in taught.rglob("*") if p.is_file()}
    assert after == before
    assert load_model(taught / "landmarks").classes == read_card(taught / "landmarks").classes


def test_bad_folders_and_a_second_job_are_refused(taught, store, tmp_path):
    with pytest.raises(InputError, match="not a taught model folder"):
        personal_frames(store, tmp_path)
    with pytest.raises(InputError, match="not a taught model folder"):
        start_cnn_retrain(store, tmp_path)
    personal_frames(store, taught)
    for clip in ("A", "C", "None"):
        _relabel_clip(store, f"my-guitar-{clip}.mp4", "G")
    with pytest.raises(InputError, match="fewer than two labeled chords"):
        retrain_landmarks(store, taught)
    store.create_job("personal-cnn", "taught my-guitar", ["true"], str(taught.resolve()), "")
    with pytest.raises(InputError, match="retraining already"):
        start_cnn_retrain(store, taught)


def test_a_failed_background_job_names_its_reason_and_keeps_the_cnn(taught, store):
    personal_frames(store, taught)
    for clip in ("A", "C", "None"):
        _relabel_clip(store, f"my-guitar-{clip}.mp4", "G")  # one chord left: nothing to train a CNN on
    weights = (taught / "cnn" / "model.safetensors").read_bytes()
    job = start_cnn_retrain(store, taught, epochs=3)
    assert cnn_job(store, taught).id == job.id
    done = wait_job(store, job.id, timeout=120)
    assert done.status == "failed" and done.returncode == 2
    assert "fewer than two labeled chords" in done.progress
    assert (taught / "cnn" / "model.safetensors").read_bytes() == weights
