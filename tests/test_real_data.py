"""On the shared real frames: train on train, evaluate on val, analyse a clip made of val frames.

Skips with the reason when ../shared/data/guitar-chords-real is absent (CI always has it).
"""

import csv
import json

import cv2
import pytest

from pipeline.cli import main
from pipeline.core.timeline import Timeline
from pipeline.vision.video import write_video

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def real_model(real_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "landmarks-real"
    status = main(["train", "--kind", "landmarks", "--data", str(real_data), "--out", str(out),
                   "--estimators", "svm", "--features", "raw63", "--workers", "2"])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def real_cnn(real_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "cnn-real"
    assert main(["train", "--kind", "cnn", "--data", str(real_data), "--out", str(out)]) == 0
    return out


def test_cnn_and_fused_models_meet_the_issue_bars_on_every_val_frame(real_model, real_cnn, real_data, capsys):
    """Issue 3: counting every frame (no-hand frames too, None a real class): CNN >= 98 %, fused >= 97 %."""
    capsys.readouterr()
    assert main(["evaluate", "--model", str(real_model), str(real_cnn), "--data", str(real_data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    image, landmarks = report["by_model"]["image"], report["by_model"]["landmarks"]
    print(f"val, every frame: landmarks {landmarks['accuracy']:.3f}, cnn {image['accuracy']:.3f}, "
          f"fused {report['accuracy']:.3f}")
    assert report["n"] == 340 and report["coverage"] == 1.0
    assert image["accuracy"] >= 0.98  # measured 1.000 (seeds 0 and 1), 0.997 (seed 2)
    # Fused with familiarity (issue 15): where the CNN calls a frame unfamiliar the landmark model decides.
    # With the threshold set on a file-level holdout the CNN called 6 % of these frames unfamiliar and the
    # fused answer fell to 0.982; set on held-out runs of files (not near twins) it measured 0.997
    assert report["accuracy"] >= 0.99 and report["accuracy"] >= image["accuracy"] - 0.02
    card = json.loads((real_cnn / "card.json").read_text())
    assert card["trained_from_scratch"] and card["kind"] == "cnn"


def test_landmark_model_meets_the_seed_bar_on_covered_val_frames(real_model, real_data, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--model", str(real_model), "--data", str(real_data), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    print(f"val: accuracy {report['accuracy']:.3f} coverage {report['coverage']:.3f} "
          f"covered accuracy {report['covered_accuracy']:.3f} macro F1 {report['macro_f1']:.3f}")
    assert report["n"] == 340
    # Hands found by the cascade (issue 15): coverage 0.59 -> 0.99 and every-frame accuracy 0.66 -> 0.92;
    # the frames it adds are the hard ones, so covered accuracy falls from 0.955 (the seed's 95.3 %
    # was on MediaPipe's default settings) to 0.926
    assert report["coverage"] >= 0.85 and report["accuracy"] >= 0.80  # issue 15's bars
    assert report["covered_accuracy"] >= 0.90
    card = json.loads((real_model / "card.json").read_text())
    # cross-validated on folds of whole runs of files (issue 15: no near twins across folds): 0.796
    # measured; folds of single frames said 0.9+, a score of memory
    assert card["cv_accuracy"] >= 0.75 and card["n_images"] == 1650 and len(card["data_fingerprint"]) == 64


def test_analyze_a_clip_of_real_frames(real_model, real_data, tmp_path, capsys):
    """Two seconds each of val frames of A, C and G at 5 fps: the timeline must follow them."""
    chords = ["A", "C", "G"]
    frames = []
    for chord in chords:
        files = sorted((real_data / "val" / chord).glob("*.jpg"))[:10]
        frames += [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files]
    clip = write_video(tmp_path / "real.mp4", frames, fps=5)
    capsys.readouterr()
    assert main(["analyze", str(clip), "--model", str(real_model), "--out", str(tmp_path / "out"), "--fps", "5"]) == 0
    with open(tmp_path / "out" / "frames.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30 and [float(r["time"]) for r in rows[:3]] == [0.0, 0.2, 0.4]
    right = decided_total = 0
    for k, chord in enumerate(chords):
        decided = [r["chord"] for r in rows[10 * k: 10 * k + 10] if r["covered"] == "1"]
        assert decided, f"no hand found in the {chord} frames"
        assert max(set(decided), key=decided.count) == chord, (chord, decided)  # the block's majority
        right, decided_total = right + decided.count(chord), decided_total + len(decided)
    assert right / decided_total >= 0.7  # measured 0.81: a few of these val frames are hard even as JPEGs
    timeline = Timeline.load(tmp_path / "out" / "timeline.json")
    assert timeline.duration == pytest.approx(6.0, abs=0.05)
    assert {s.chord for s in timeline.segments} >= set(chords)
    assert "wrote" in capsys.readouterr().out
