"""Familiarity (issue 15 item 1, model side): the reference set, the threshold, the card, the predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandsResult
from pipeline.models.datasets import group_holdout
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


def _grouped_clusters(groups_per_class: int = 8, per_group: int = 25, seed: int = 11):
    """Two classes; each group a tight cluster shifted away from its class centre (a recording's frames
    are near twins of each other, another recording of the chord sits elsewhere)."""
    rng = np.random.default_rng(seed)
    x, y, g = [], [], []
    for label, centre in enumerate(CENTRES[:2]):
        for group in range(groups_per_class):
            shift = centre + rng.normal(0, 1.5, centre.shape)
            x.append(shift + rng.normal(0, 0.05, (per_group, len(centre))))
            y += [label] * per_group
            g += [f"{label}-{group}"] * per_group
    return np.concatenate(x).astype(np.float32), np.array(y), np.array(g)


@pytest.mark.parametrize("method", [COSINE, STANDARDIZED])
def test_a_threshold_set_on_held_out_groups_sits_below_one_set_on_held_out_files(method):
    x, y, g = _grouped_clusters()
    by_file = fit_reference(x, y, method=method, folds=4)
    by_group = fit_reference(x, y, method=method, folds=4, groups=g)
    assert by_file.info["threshold_set_on"] == "cross-validation"
    assert by_group.info["threshold_set_on"] == "group cross-validation"
    assert by_group.threshold < by_file.threshold
    # the same with an explicit holdout: whole groups against a random tenth of the files
    train, held = group_holdout(y, g, 0.25, seed=0)
    assert not set(g[train]) & set(g[held])
    files = np.random.default_rng(0).permutation(len(y))
    file_held, file_train = files[:len(held)], files[len(held):]
    group_threshold = fit_reference(x[train], y[train], method=method, holdout=x[held]).threshold
    file_threshold = fit_reference(x[file_train], y[file_train], method=method, holdout=x[file_held]).threshold
    assert group_threshold < file_threshold
    # unseen groups of the domain: the group threshold calls far more of them familiar
    fresh, _, _ = _grouped_clusters(seed=12)
    assert (np.mean(by_group.familiar(by_group.score(fresh)))
            > np.mean(by_file.familiar(by_file.score(fresh))) + 0.2)


def test_holdout_groups_are_the_trees_groups_else_runs_of_files_in_name_order(tmp_path):
    from pathlib import Path

    from pipeline.models.datasets import LabeledImage, holdout_groups

    names = [f"A-{i}.jpg" for i in (10, 9, 1, 2, 100, 11, 3, 12, 20, 21)]
    images = [LabeledImage(Path("real/train/A") / name, "A", "train", "", "real") for name in names]
    images.append(LabeledImage(Path("mixed/train/A/x.jpg"), "A", "train", "7", "mixed"))
    keys = holdout_groups(images, runs=5)
    run = dict(zip(names, keys))
    # natural order 1 2 3 9 10 | 11 12 20 21 100: runs of two
    assert run["A-1.jpg"] == run["A-2.jpg"] != run["A-3.jpg"] == run["A-9.jpg"]
    assert run["A-10.jpg"] == run["A-11.jpg"] and run["A-21.jpg"] == run["A-100.jpg"]
    assert len(set(keys[:-1])) == 5 and keys[-1] == "mixed:group:7"


def test_group_folds_and_holdouts_keep_every_group_whole():
    from pipeline.models.datasets import group_folds

    _, y, g = _grouped_clusters()
    for train, test in group_folds(y, g, 4, seed=1):
        assert not set(g[train]) & set(g[test]) and set(y[train]) == {0, 1}
    train, held = group_holdout(y, g, 0.2, seed=3)
    assert not set(g[train]) & set(g[held]) and set(y[held]) == {0, 1}
    assert all(np.sum(y[held] == label) <= 0.2 * np.sum(y == label) for label in (0, 1))
    assert group_holdout(y, g, 0.1, seed=3) is None  # every group is over a tenth of its class
    # too few groups for the folds: stratified folds of single frames
    few = np.array(["a"] * 200 + ["b"] * 200)
    folds = group_folds(y, few, 4, seed=0)
    assert len(folds) == 4 and all(set(few[test]) == {"a", "b"} for _, test in folds)


def test_a_landmark_model_given_groups_cross_validates_and_sets_its_threshold_by_group():
    results, labels = chord_hands(24, seed=5)
    groups = [f"{chord}-{i % 4}" for i, chord in enumerate(labels)]
    model = train_landmark_model(results, labels, feature_versions=("raw63",), estimators=("svm",), folds=3,
                                 groups=groups)
    assert model.card.familiarity["threshold_set_on"] == "group cross-validation"
