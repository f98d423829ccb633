"""Landmark models on constructed hands: selection, calibration, save / load round trip, errors."""

import json

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.models.evaluation import evaluate_predictions
from pipeline.models.features import features_matrix, hand_features
from pipeline.models.landmark import LandmarkChordModel, train_landmark_model
from tests.helpers.hands import chord_hands


def test_features_versions_and_matrix():
    results, _ = chord_hands(2, seed=0, with_empty=1)
    X, covered = features_matrix(results, "raw63")
    assert X.shape == (8, 63) and covered.tolist() == [True] * 8 + [False]
    assert features_matrix(results, "centred")[0].shape == (8, 66)
    hand = results[0].fretting
    assert np.allclose(hand_features(hand, "centred")[:3], 0)  # wrist at the origin
    with pytest.raises(ValueError, match="unknown feature version"):
        hand_features(hand, "nope")


def test_train_save_load_predict_round_trip(tmp_path):
    results, labels = chord_hands(12, seed=1, with_empty=3)
    steps = []
    model = train_landmark_model(results, labels, folds=3, trained_on="toy", data_fingerprint="abc",
                                 progress=lambda key, score: steps.append(key))
    assert steps == [f"{v}/{e}" for v in ("raw63", "centred") for e in ("svm", "rf", "mlp")]
    card = model.card
    assert card.classes == ["A", "C", "G", "None"] and card.n_images == 51 and card.n_covered == 48
    assert card.cv_accuracy == max(card.cv_scores.values()) and card.cv_accuracy > 0.9

    test_results, test_labels = chord_hands(5, seed=1, with_empty=2)
    predictions = model.predict(test_results)
    assert [p.chord for p in predictions[:-2]] == test_labels[:-2]
    assert all(abs(sum(p.probabilities.values()) - 1) < 1e-6 for p in predictions[:-2])
    assert [(p.chord, p.covered, p.probability) for p in predictions[-2:]] == [("None", False, 0.0)] * 2

    folder = model.save(tmp_path / "model")
    saved_card = json.loads((folder / "card.json").read_text())
    assert saved_card["data_fingerprint"] == "abc" and saved_card["feature_version"] == card.feature_version
    loaded = LandmarkChordModel.load(folder)
    again = loaded.predict(test_results)
    assert [p.probabilities for p in again] == [p.probabilities for p in predictions]
    assert predictions[0].top(2)[0] == (predictions[0].chord, predictions[0].probability)


def test_training_refuses_what_it_cannot_learn():
    results, labels = chord_hands(4, seed=2)
    with pytest.raises(InputError, match="not chord names"):
        train_landmark_model(results, ["X"] * len(results))
    with pytest.raises(InputError, match="at least two chords"):
        train_landmark_model(results[:4], labels[:4])
    with pytest.raises(InputError, match="fewer than 2 frames"):
        train_landmark_model(results[:5], labels[:5])


def test_loading_bad_model_folders(tmp_path):
    with pytest.raises(InputError, match="not a model folder"):
        LandmarkChordModel.load(tmp_path)
    (tmp_path / "card.json").write_text("{broken")
    (tmp_path / "model.skops").write_bytes(b"not a skops file")
    with pytest.raises(InputError, match="not a valid model card"):
        LandmarkChordModel.load(tmp_path)
    (tmp_path / "card.json").write_text(json.dumps({"kind": "landmarks", "feature_version": "raw63"}))
    with pytest.raises(InputError, match="cannot be read"):
        LandmarkChordModel.load(tmp_path)
    (tmp_path / "card.json").write_text(json.dumps({"kind": "vit"}))
    with pytest.raises(InputError, match="not a landmark model"):
        LandmarkChordModel.load(tmp_path)


def test_evaluation_counts_undecided_frames_as_none():
    report = evaluate_predictions(
        ["A", "A", "C", "None", "C"], ["A", "None", "C", "None", "A"], [True, False, True, True, True]
    )
    assert report.n == 5 and report.accuracy == pytest.approx(3 / 5)
    assert report.coverage == pytest.approx(4 / 5) and report.covered_accuracy == pytest.approx(3 / 4)
    assert report.labels == ["A", "C", "None"]
    assert report.confusion == [[1, 0, 1], [1, 1, 0], [0, 0, 1]]
    assert report.per_class_f1["C"] == pytest.approx(2 / 3)
    assert report.macro_f1 == pytest.approx(np.mean(list(report.per_class_f1.values())))
    assert "covered accuracy" in report.format_text()
    assert report.per_class_accuracy == {"A": 0.5, "C": 0.5, "None": 1.0}


def test_evaluation_scores_a_label_outside_the_vocabulary_as_wrong():
    report = evaluate_predictions(["A", "Dsus4", "C"], ["A", "A", "C"])  # every frame decided by default
    assert report.n == 3 and report.accuracy == pytest.approx(2 / 3) and report.coverage == 1.0
    assert report.labels == ["A", "C", "Dsus4"]  # its own row, after the vocabulary's
    assert report.confusion[2] == [1, 0, 0] and report.per_class_accuracy["Dsus4"] == 0.0


def test_a_saved_model_predicts_the_same_in_a_fresh_process(tmp_path):
    import pickle
    import subprocess
    import sys
    from pathlib import Path

    results, labels = chord_hands(6, seed=4, with_empty=1)
    model = train_landmark_model(results, labels, estimators=("svm",), folds=3)
    folder = model.save(tmp_path / "model")
    (tmp_path / "frames.pkl").write_bytes(pickle.dumps(results))
    code = (
        "import pickle, sys; from pipeline.models.landmark import LandmarkChordModel as M; "
        f"r = pickle.load(open({str(tmp_path / 'frames.pkl')!r}, 'rb')); "
        f"sys.stdout.buffer.write(pickle.dumps([p.probabilities for p in M.load({str(folder)!r}).predict(r)]))"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, check=True).stdout
    assert pickle.loads(out) == [p.probabilities for p in model.predict(results)]
