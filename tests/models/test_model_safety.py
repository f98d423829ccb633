"""Loading a model folder runs no code (issue 17 defect 4) and bad cards end in one line (defect 11).

A crafted pickle whose unpickling would create a file stands in for an attacker's model: the file must
not exist after the folder is refused.
"""

from __future__ import annotations

import json
import pathlib
import pickle
from collections import Counter

import numpy as np
import pytest
import skops.io as sio

from pipeline.core.errors import InputError
from pipeline.models.image.loading import load_image_model
from pipeline.models.landmark import LandmarkChordModel
from pipeline.models.registry import load_model
from pipeline.models.sklearn_io import load_estimator
from tests.helpers.tiny_models import tiny_backbone, tiny_cnn, tiny_landmark_model


class _Touch:
    """Unpickling this creates ``path`` (a harmless stand-in for any code a pickle can run)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return pathlib.Path.touch, (self.path,)


def _landmark_card(folder: pathlib.Path) -> None:
    card = {"kind": "landmarks", "classes": ["A", "C"], "feature_version": "raw63", "estimator": "svm"}
    (folder / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize("name", ["model.joblib", "model.skops"])
def test_a_crafted_pickle_in_a_landmark_folder_is_refused_and_runs_nothing(tmp_path, name):
    folder = tmp_path / "crafted"
    folder.mkdir()
    _landmark_card(folder)
    marker = tmp_path / "created-by-the-pickle"
    (folder / name).write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(InputError) as caught:
        load_model(folder)
    assert "\n" not in str(caught.value)
    assert ("pickle" in str(caught.value)) if name == "model.joblib" else ("cannot be read" in str(caught.value))
    assert not marker.exists()


def test_a_crafted_head_in_an_image_model_folder_is_refused_and_runs_nothing(tmp_path):
    folder = tmp_path / "probe"
    tiny_backbone(folder / "backbone", "dinov2")
    card = {"kind": "image", "mode": "linear-probe", "classes": ["A", "C"], "input_size": [32, 32]}
    (folder / "card.json").write_text(json.dumps(card))
    marker = tmp_path / "created-by-the-head"
    (folder / "head.joblib").write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(InputError, match="pickle.*retrain"):
        load_image_model(folder)
    assert not marker.exists()


def test_a_skops_file_asking_for_other_types_is_refused(tmp_path):
    folder = tmp_path / "foreign"
    folder.mkdir()
    _landmark_card(folder)
    (folder / "model.skops").write_bytes(sio.dumps(Counter(a=1)))
    with pytest.raises(InputError, match="types this project never saves.*collections.Counter"):
        LandmarkChordModel.load(folder)


def test_a_skops_file_that_is_not_an_estimator_is_refused(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps({"weights": np.zeros(3)}))
    with pytest.raises(InputError, match="holds a dict, not a fitted classifier"):
        load_estimator(path)


def test_a_landmark_folder_round_trips_in_the_safe_format(tmp_path):
    folder = tiny_landmark_model(tmp_path / "model")
    assert (folder / "model.skops").is_file() and not (folder / "model.joblib").exists()
    model = LandmarkChordModel.load(folder)
    assert model.classes == ["A", "C", "G", "None"]


def test_a_detector_from_the_hub_cache_is_refused_unread(tmp_path, monkeypatch):
    hub = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    snapshot = hub / "models--someone--detector" / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    marker = tmp_path / "created-by-best-pt"
    (snapshot / "best.pt").write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(InputError, match="from the Hugging Face hub: a .pt file is a pickle"):
        load_model(snapshot)
    with pytest.raises(InputError, match="pickle"):
        load_model(snapshot / "best.pt")
    assert not marker.exists()


def test_a_card_that_is_not_utf8_is_one_line(tmp_path):
    folder = tmp_path / "latin"
    folder.mkdir()
    (folder / "card.json").write_bytes('{"kind": "landmarks", "trained_on": "café"}'.encode("latin-1"))
    with pytest.raises(InputError, match="not a valid model card \\(not UTF-8 text\\)"):
        load_model(folder)


@pytest.mark.parametrize("size", [[0, -5], [100000, 100000], [1e5, 1e5], [64], "big", [64.5, 64]])
def test_an_impossible_input_size_is_refused_at_load(tmp_path, size):
    folder = tiny_cnn(tmp_path / "cnn")
    card = json.loads((folder / "card.json").read_text())
    card["input_size"] = size
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="input_size .* it must be \\[height, width\\]"):
        load_image_model(folder)


def test_a_std_of_zero_is_refused_at_load(tmp_path):
    folder = tiny_cnn(tmp_path / "cnn")
    card = json.loads((folder / "card.json").read_text())
    card["std"] = [0.0, 0.2, 0.2]
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="has std"):
        load_image_model(folder)
