"""Familiarity (issue 15 item 1, model side): the reference set, the threshold, the card, the predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandsResult
from pipeline.models.familiarity import (
    COSINE,
    FAMILIARITY_FILE,
    STANDARDIZED,
    FamiliarityReference,
    fit_reference,
    stratified_sample,
)
from pipeline.models.landmark import LandmarkChordModel, train_landmark_model
from tests.helpers.hands import chord_hands


def _clusters(n_per_class: int, seed: int, centres: np.ndarray, spread: float = 0.3):
    rng = np.random.default_rng(seed)
    x = np.concatenate([c + rng.normal(0, spread, (n_per_class, centres.shape[1])) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per_class)
    return x.astype(np.float32), y


CENTRES = np.random.default_rng(0).normal(0, 3, (3, 16)) + 5  # positive, like ReLU embeddings


@pytest.mark.parametrize("method", [COSINE, STANDARDIZED])
def test_the_threshold_puts_about_5_percent_of_held_out_frames_below(method):
    x, y = _clusters(400, seed=1, centres=CENTRES)
    held, _ = _clusters(400, seed=2, centres=CENTRES)
    reference = fit_reference(x, y, method=method, holdout=held, domains=["toy"])
    assert reference.info["threshold_set_on"] == "holdout"
    fresh, _ = _clusters(1000, seed=3, centres=CENTRES)  # unseen frames of the same domain
    share_below = float(np.mean(~reference.familiar(reference.score(fresh))))
    assert 0.02 <= share_below <= 0.09, share_below
    far = np.random.default_rng(4).uniform(0, 10, (200, 16)).astype(np.float32)  # another domain
    assert np.mean(reference.familiar(reference.score(far))) < 0.05


def test_without_a_holdout_the_threshold_comes_from_folds():
    x, y = _clusters(200, seed=5, centres=CENTRES)
    reference = fit_reference(x, y, method=STANDARDIZED, folds=5)
    assert reference.info["threshold_set_on"] == "cross-validation" and reference.info["n_threshold"] == 600
    fresh, _ = _clusters(1000, seed=6, centres=CENTRES)
    assert 0.01 <= np.mean(~reference.familiar(reference.score(fresh))) <= 0.1


def test_the_reference_is_a_stratified_float16_sample_of_at_most_the_limit():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    picked = stratified_sample(labels, 100, seed=0)
    assert len(picked) <= 100 and sorted(set(labels[picked])) == [0, 1, 2]
    assert abs(np.sum(labels[picked] == 0) - 90) <= 2
    x, y = _clusters(1000, seed=7, centres=CENTRES)
    reference = fit_reference(x, y, max_reference=2000)
    assert reference.vectors.dtype == np.float16 and len(reference.vectors) == 2000
    assert fit_reference(x, y, max_reference=300).card_entry()["n_reference"] == 300


@pytest.mark.parametrize("method", [COSINE, STANDARDIZED])
def test_the_reference_round_trips_through_the_folder(tmp_path, method):
    x, y = _clusters(100, seed=8, centres=CENTRES)
    reference = fit_reference(x, y, method=method, domains=["set-a", "set-b"])
    reference.save(tmp_path)
    entry = json.loads(json.dumps(reference.card_entry()))  # as card.json holds it
    loaded = FamiliarityReference.load(tmp_path, entry)
    queries, _ = _clusters(20, seed=9, centres=CENTRES)
    np.testing.assert_array_equal(loaded.score(queries), reference.score(queries))
    assert loaded.threshold == reference.threshold and loaded.domains == ["set-a", "set-b"]
    assert loaded.card_entry() == reference.card_entry()
    assert FamiliarityReference.load(tmp_path, {}) is None  # an old card: unknown
    (tmp_path / FAMILIARITY_FILE).write_bytes(b"damaged")
    with pytest.raises(InputError, match="cannot be read"):
        FamiliarityReference.load(tmp_path, entry)
    with pytest.raises(InputError, match="invalid familiarity entry"):
        FamiliarityReference.load(tmp_path, {**entry, "method": "magic"})


def _moved(results: list[HandsResult], seed: int, noise: float = 0.01, scale=(1.0, 1.0, 1.0),
           offset: float = 0.0) -> list[HandsResult]:
    """The hands squeezed and moved, with noise: landmarks unlike any the model learned from."""
    rng = np.random.default_rng(seed)
    moved = []
    for result in results:
        points = result.fretting.landmarks_norm * scale + offset + rng.normal(0, noise, (21, 3))
        moved.append(HandsResult.from_hands([Hand.from_normalised(points, "Right", 0.9, 640, 360)], 640, 360))
    return moved


def test_a_landmark_model_says_which_frames_are_familiar(tmp_path):
    results, labels = chord_hands(30, seed=1, with_empty=2)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="/data/toy-hands")
    entry = model.card.familiarity
    assert entry["method"] == STANDARDIZED and entry["k"] == 5 and entry["domains"] == ["toy-hands"]
    assert entry["threshold_set_on"] == "cross-validation" and entry["n_reference"] == 120
    more, _ = chord_hands(60, seed=1)  # the same patterns; the second 30 of each chord are new frames
    fresh = [more[k * 60 + i] for k in range(4) for i in range(30, 60)] + [HandsResult((), None, 640, 360)]
    predictions = model.predict(fresh)
    covered = [p for p in predictions if p.covered]
    assert np.mean([p.familiar for p in covered]) >= 0.85
    assert all(p.familiar == (p.familiarity >= entry["threshold"]) for p in covered)
    assert predictions[-1].familiarity is None and predictions[-1].familiar is None  # no hand: unknown
    strangers = model.predict(_moved(results[:120], seed=4, scale=(0.4, 1.6, 1.0), offset=0.2))
    assert np.mean([p.familiar for p in strangers]) <= 0.05
    assert max(p.familiarity for p in strangers) < min(p.familiarity for p in covered)

    folder = model.save(tmp_path / "model")
    card = json.loads((folder / "card.json").read_text())
    assert card["familiarity"]["threshold"] == entry["threshold"] and (folder / FAMILIARITY_FILE).is_file()
    again = LandmarkChordModel.load(folder).predict(fresh)
    assert [p.familiarity for p in again] == [p.familiarity for p in predictions]


def test_a_landmark_model_without_a_reference_answers_unknown(tmp_path):
    results, labels = chord_hands(8, seed=2)
    folder = train_landmark_model(results, labels, folds=3, estimators=("svm",),
                                  feature_versions=("raw63",)).save(tmp_path / "old")
    card = json.loads((folder / "card.json").read_text())
    del card["familiarity"]  # a card written before familiarity existed
    (folder / "card.json").write_text(json.dumps(card))
    (folder / FAMILIARITY_FILE).unlink()
    predictions = LandmarkChordModel.load(folder).predict(results[:3])
    assert [(p.covered, p.familiarity, p.familiar) for p in predictions] == [(True, None, None)] * 3
