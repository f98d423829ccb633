"""The command line's exit codes and messages, run as a real process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.models.landmark import train_landmark_model
from pipeline.text import CLI_TEACH_REMEDY
from tests.helpers.hands import chord_hands

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help_lists_the_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "analyze", "listen", "compare", "explain"):
        assert command in result.stdout


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("analyze").returncode == 2  # missing clip
    assert run("frobnicate").returncode == 2


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    nope, model = str(tmp_path / "nope"), str(tmp_path / "model")
    assert "No dataset folder" in one_line_error(run("train", "--data", nope, "--out", str(tmp_path / "m")))
    assert "not a model folder" in one_line_error(run("evaluate", "--model", str(tmp_path), "--data", str(tmp_path)))
    corrupt = tmp_path / "clip.mp4"
    corrupt.write_bytes(os.urandom(2048))
    (tmp_path / "model").mkdir()
    out = str(tmp_path / "o")
    assert "not a model folder" in one_line_error(run("analyze", str(corrupt), "--model", model, "--out", out))
    assert "No dataset folder" in one_line_error(
        run("compare", "--models", "features:raw63", "--data", nope, "--out", str(tmp_path / "r.html")))
    assert "not a model folder" in one_line_error(
        run("explain", str(tmp_path / "missing.png"), "--model", model, "--out", str(tmp_path / "x.png")))
    bad_timeline = tmp_path / "t.json"
    bad_timeline.write_text('{"segments": [{"start": 0, "end": 1, "chord": "H7"}]}')
    assert "Unknown chord name" in one_line_error(run("listen", str(bad_timeline), "--out", str(tmp_path / "o")))


def test_analyze_rejects_a_corrupt_clip_before_any_model_work(tmp_path, trained_toy_model):
    corrupt = tmp_path / "clip.mp4"
    corrupt.write_bytes(os.urandom(2048))
    model, out = str(trained_toy_model), str(tmp_path / "o")
    message = one_line_error(run("analyze", str(corrupt), "--model", model, "--out", out))
    assert "clip.mp4" in message
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "notes.txt" in one_line_error(run("analyze", str(text), "--model", model, "--out", out))
    assert not (tmp_path / "o").exists()  # nothing half-written


@pytest.fixture(scope="module")
def trained_toy_model(tmp_path_factory):
    """A small landmark model on constructed hands, saved as a folder."""
    results, labels = chord_hands(6, seed=3)
    model = train_landmark_model(results, labels, estimators=("svm",), folds=3)
    return model.save(tmp_path_factory.mktemp("toy") / "m")


def test_analyze_says_when_the_footage_is_mostly_unfamiliar(tmp_path, monkeypatch, capsys):
    """The models' answers carry familiarity (a stand-in model knows 4 of the 50 frames): the CLI says the
    chords are guesses, in the sentence the apps show, and marks the unsure segment."""
    import pipeline.cli
    from pipeline.cli import main
    from pipeline.core.types import ModelSet
    from tests.helpers.familiar import FamiliarityModel

    model = FamiliarityModel([True] * 4 + [False] * 46)
    monkeypatch.setattr(pipeline.cli, "load_model_set", lambda specs, detector=None: ModelSet(landmarks=model))
    clip = REPO / "sample_media" / "progression.mp4"
    assert main(["analyze", str(clip), "--out", str(tmp_path / "o"), "--no-video"]) == 0
    captured = capsys.readouterr()
    assert ("warning: This footage looks unlike what the landmarks model learned from: 8 % of frames familiar; "
            "the chords below are guesses. To get chords you can trust, teach it your setup "
            f"{CLI_TEACH_REMEDY}.") in captured.err.splitlines()
    assert "50 frames, hand found in" in captured.out and ", familiar 8%" in captured.out
    assert "C     p=0.50  unsure (unfamiliar footage)" in captured.out


def test_evaluate_json_reports_the_familiar_share_and_accuracy(tmp_path, monkeypatch, capsys):
    import json
    from dataclasses import replace

    import pipeline.cli
    from pipeline.cli import main
    from pipeline.core.types import ChordPrediction, ModelSet
    from tests.helpers.familiar import FamiliarityModel
    from tests.helpers.tiny_models import square_folder

    square_folder(tmp_path / "data", 2)  # C, G, None: 2 frames each, read in that order

    def answer(chord, familiar):
        return replace(ChordPrediction(chord, 0.9, {chord: 0.9}), familiar=familiar)

    answers = [answer("C", True), answer("C", False), answer("G", True), answer("C", True), answer("None", True),
               answer("None", None)]

    def predict(models, paths, workers=None, progress=None):
        return answers, {"landmarks": answers}

    monkeypatch.setattr(pipeline.cli, "load_model_set",
                        lambda specs, detector=None: ModelSet(landmarks=FamiliarityModel([True])))
    monkeypatch.setattr(pipeline.cli, "predict_image_files", predict)
    monkeypatch.setattr(pipeline.cli, "model_kind", lambda spec: "landmarks")
    assert main(["evaluate", "--model", "m", "--data", str(tmp_path / "data"), "--split", "all", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(5 / 6)
    assert report["familiar_share"] == 0.8  # 4 of the 5 frames whose familiarity is known
    assert report["familiar_accuracy"] == 0.75  # C right, G right, C on a G frame wrong, None right


def test_train_on_several_datasets_lists_their_domains(tmp_path):
    import cv2
    import numpy as np

    from pipeline.models.cards import read_card

    rng = np.random.default_rng(0)
    for root, chords in (("one", ("Am", "None")), ("two", ("Am", "Fm"))):
        for chord in chords:
            for split, n in (("train", 4), ("val", 1)):
                for i in range(n):
                    path = tmp_path / root / split / chord / f"{i}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(path), rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    out = tmp_path / "m"
    result = run("train", "--kind", "cnn", "--data", str(tmp_path / "one"), "--data", str(tmp_path / "two"),
                 "--epochs", "1", "--input-size", "16", "16", "--out", str(out))
    assert result.returncode == 0, result.stderr
    card = read_card(out)
    assert card.classes == ["Am", "Fm", "None"] and card.domains == ["one", "two"]
    assert card.n_images == 16 and card.metrics["val_n"] == 4
    message = one_line_error(run("train", "--kind", "detector", "--data", "a.yaml", "b.yaml", "--out", str(out)))
    assert "one --data" in message


def test_evaluate_on_a_grouped_tree_reads_the_held_out_groups_train_left_out(tmp_path, monkeypatch, capsys):
    """``evaluate --data`` of a tree with groups.csv scores the groups ``train`` held out (read_datasets'
    split), not the tree's ``val`` folder, whose frames are near twins of training frames."""
    import csv

    import cv2
    import numpy as np

    import pipeline.cli
    from pipeline.cli import main
    from pipeline.core.types import ChordPrediction, ModelSet
    from pipeline.models.datasets import read_datasets
    from tests.helpers.familiar import FamiliarityModel

    root = tmp_path / "grouped"
    rows = []
    for split in ("train", "val"):
        for chord in ("Am", "C"):
            (root / split / chord).mkdir(parents=True)
            for i in range(10):
                name = f"{split}/{chord}/{chord}-{i}.png"
                cv2.imwrite(str(root / name), np.full((8, 8, 3), i * 20, np.uint8))
                rows.append((name, f"{chord}{i // 2}"))  # each group spans train/ and val/
    with open(root / "groups.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("file", "group"), *rows])
    seen = []

    def predict(models, paths, workers=None, progress=None):
        seen.extend(paths)
        answers = [ChordPrediction("C", 0.9, {"C": 0.9}) for _ in paths]
        return answers, {"landmarks": answers}

    monkeypatch.setattr(pipeline.cli, "load_model_set",
                        lambda specs, detector=None: ModelSet(landmarks=FamiliarityModel([True])))
    monkeypatch.setattr(pipeline.cli, "predict_image_files", predict)
    monkeypatch.setattr(pipeline.cli, "model_kind", lambda spec: "landmarks")
    assert main(["evaluate", "--model", "m", "--data", str(root), "--json"]) == 0
    capsys.readouterr()
    held_out = [image.path for image in read_datasets([root], "val")]
    assert sorted(map(str, seen)) == sorted(map(str, held_out))
    assert any("/train/" in str(path) for path in seen)  # whole groups, wherever their files lie
