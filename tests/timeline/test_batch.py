"""Batch analysis on a local Ray (2 workers) over the sample clips, and one clip's parallel hand detection.

One module fixture runs the batch the hard way: a first run in a subprocess is interrupted (Ctrl-C to
its process group) once a clip is done, then a rerun with two workers finishes the rest. The tests
read its results: each clip's timeline against ``analyze_clip``'s, the corrupt clip's reason, and the
markers of the clips finished before the interruption (untouched by the rerun).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.models.registry import load_landmark_model, load_model_set
from pipeline.timeline.analyze import analyze_clip, hand_settings_for
from pipeline.timeline.batch import DONE_FILE, BatchSettings, collect_clips, folder_names, run_batch
from pipeline.vision.hands import HandDetector, detect_stream
from pipeline.vision.video import iter_frames

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ["no_hand", "progression", "progression_108bpm", "strumming_em_d"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Six clips (the four samples, a copy with a repeated stem, a corrupt one), interrupted, rerun."""
    base = tmp_path_factory.mktemp("batch")
    clips = base / "clips"
    (clips / "again").mkdir(parents=True)
    for name in CLIPS:
        shutil.copy(SAMPLE_MEDIA_DIR / f"{name}.mp4", clips / f"{name}.mp4")
    shutil.copy(SAMPLE_MEDIA_DIR / "strumming_em_d.mp4", clips / "again" / "strumming_em_d.mp4")
    (clips / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(20_000))
    out = base / "out"
    load_landmark_model(None)  # the sample model, built once here for every process
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen([sys.executable, "-m", "pipeline", "batch", str(clips), "--out", str(out),
                              "--workers", "1"], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob(f"*/{DONE_FILE}")) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGINT)  # Ctrl-C on a terminal reaches the whole group
        first_code = first.wait(timeout=60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    done_first = {p.parent.name: p.stat().st_mtime_ns for p in out.glob(f"*/{DONE_FILE}")}
    summary_first = pd.read_csv(out / "summary.csv")
    summary = run_batch([clips], out, BatchSettings(), workers=2, progress=False)
    return {"out": out, "clips": clips, "first_code": first_code, "done_first": done_first,
            "summary_first": summary_first, "summary": summary}


def test_interrupted_batch_keeps_finished_clips_and_rerun_finishes_the_rest(batch):
    out = batch["out"]
    assert batch["first_code"] == 130  # interrupted, not crashed
    assert batch["done_first"]  # at least one clip finished before the interruption
    assert set(batch["done_first"]) <= set(batch["summary_first"]["name"])  # the summary was written on Ctrl-C
    assert len(batch["done_first"]) < 6
    for name, stamp in batch["done_first"].items():  # not redone
        assert (out / name / DONE_FILE).stat().st_mtime_ns == stamp
    assert len(list(out.glob(f"*/{DONE_FILE}"))) == 5  # every readable clip


def test_batch_timelines_equal_analyze(batch):
    summary = batch["summary"].set_index("clip")
    models = load_model_set([None])
    clips = collect_clips([batch["clips"]])
    names = dict(zip(clips, folder_names(clips)))
    assert len(set(names.values())) == 6  # the repeated stem got its own folder
    for clip, name in names.items():
        if clip.name == "corrupt.mp4":
            continue
        analysis = analyze_clip(clip, models, fps=5)
        got = json.loads((batch["out"] / name / "timeline.json").read_text())
        expected = analysis.timeline.save(batch["out"] / "expected.json")
        assert got == json.loads(expected.read_text()), clip
        row = summary.loc[str(clip)]
        assert row["segments"] == len(analysis.timeline.segments)
        assert row["chords"].split() == list(dict.fromkeys(s.chord for s in analysis.timeline.segments))
        assert row["duration"] == pytest.approx(analysis.clip.duration, abs=1e-3)
        assert row["error"] == ""


def test_corrupt_clip_is_in_the_summary_with_its_reason(batch):
    summary = pd.read_parquet(batch["out"] / "summary.parquet").set_index("name")
    assert "could not be read as a video" in summary.loc["corrupt", "error"]
    assert not (batch["out"] / "corrupt" / DONE_FILE).exists()
    assert (summary["error"].fillna("") == "").sum() == 5


def test_parallel_hand_detection_equals_serial():
    clip = SAMPLE_MEDIA_DIR / "progression.mp4"
    models = load_model_set([None])
    serial = analyze_clip(clip, models, fps=5, hand_workers=1)
    parallel = analyze_clip(clip, models, fps=5, hand_workers=2)
    assert parallel.frame_rows() == serial.frame_rows()
    settings = hand_settings_for(models)
    frames = [(f.index, f.image, None) for f in iter_frames(clip, fps=2)]
    with HandDetector(settings) as detector:
        expected = [detector.detect(image) for _, image, _ in frames]
    got = list(detect_stream(iter(frames), settings, workers=2))
    assert [tag for tag, _ in got] == [index for index, _, _ in frames]  # in order
    for (_, hands), want in zip(got, expected):
        assert hands.fretting_index == want.fretting_index
        assert [h.landmarks_norm.tolist() for h in hands.hands] == [h.landmarks_norm.tolist() for h in want.hands]


def test_clips_from_folders_and_lists(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ["a/x.mp4", "a/y.MOV", "a/notes.txt", "x.mp4"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "list.txt").write_text("# clips\nx.mp4\n\na/x.mp4\n")
    clips = collect_clips([tmp_path / "a", tmp_path / "list.txt"])
    assert clips == [(tmp_path / p).resolve() for p in ["a/x.mp4", "a/y.MOV", "x.mp4"]]
    (tmp_path / "empty").mkdir()
    names = folder_names(clips)
    assert names[1] == "y" and names[0] != names[2] and names[0].startswith("x-")
    with pytest.raises(InputError, match="does not exist"):
        collect_clips([tmp_path / "missing.mp4"])
    with pytest.raises(InputError, match="No clips"):
        collect_clips([tmp_path / "empty"])


def test_cli_batch_bad_input_is_one_line(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "missing.mp4" in err
