"""The command line's exit codes and messages, run as a real process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.models.landmark import train_landmark_model
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
