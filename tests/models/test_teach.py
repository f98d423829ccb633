"""Teach it your guitar (pipeline.teach): chords from file names, the checks on frames, a taught pair
that analyses a later clip of the same setup, and nothing lost when teaching fails midway."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.core.errors import InputError
from pipeline.models.registry import load_model_set
from pipeline.teach import training
from pipeline.teach.clips import chord_of_file, parse_chord_times, teach_clips
from pipeline.teach.training import expand_taught, is_taught, read_teach_record, teach
from pipeline.timeline.analyze import analyze_clip
from tools.samplegen.clips import make_clip

CHORDS = {"G": "G", "C": "C", "Am": "am-2"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """One 3 s clip per chord (file named after it), a short G clip, and a later clip G C Am."""
    root = tmp_path_factory.mktemp("teach")
    out = {}
    for chord, name in CHORDS.items():
        out[chord] = root / f"{name}.mp4"
        make_clip(out[chord], [(chord, 3.0)], fps=15, seed=1, shake=4.0, quality=35)
    out["short"] = root / "G-9.mp4"
    make_clip(out["short"], [("G", 0.5)], fps=15, seed=1, shake=4.0, quality=35)
    out["later"] = root / "later.mp4"
    make_clip(out["later"], [("G", 2.0), ("C", 2.0), ("Am", 2.0)], fps=15, seed=1, shake=4.0, quality=35)
    return out


@pytest.mark.parametrize("name, chord", [("G.mp4", "G"), ("Am-2.mov", "Am"), ("am.MOV", "Am"), ("d_3.mp4", "D"),
                                         ("none.mp4", "None")])
def test_chord_from_file_name(name, chord):
    assert chord_of_file(name) == chord


def test_a_file_name_without_a_chord_is_a_clear_error():
    with pytest.raises(InputError, match="Cannot tell the chord of 'take1.mp4'"):
        teach_clips(["take1.mp4"])


def test_chord_times_of_one_clip():
    assert parse_chord_times("G:0-4, am:4-8.5") == [("G", 0.0, 4.0), ("Am", 4.0, 8.5)]
    with pytest.raises(InputError, match="CHORD:START-END"):
        parse_chord_times("G:4")
    with pytest.raises(InputError, match="start must be before"):
        parse_chord_times("G:4-2")


def test_teach_gives_a_pair_that_analyses_a_later_clip(clips, tmp_path, capsys):
    out = tmp_path / "mine"
    code = main(["teach", str(clips["G"]), str(clips["C"]), str(clips["Am"]), "--out", str(out),
                 "--epochs", "3", "--fps", "8"])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "held-out accuracy fused" in printed
    assert is_taught(out)
    record = read_teach_record(out)
    assert {f["chord"] for f in record["frames"]} == {"G", "C", "Am"}
    assert any(f["held_out"] for f in record["frames"]) and not all(f["held_out"] for f in record["frames"])
    assert all((out / f["path"]).is_file() for f in record["frames"])
    models = load_model_set(expand_taught([out]))
    assert models.landmarks is not None and models.image is not None
    assert models.landmarks.card.trained_on.startswith("taught from 3 clips: G.mp4")
    assert models.image.card.domains[0] == "taught: mine"
    analysis = analyze_clip(clips["later"], models, fps=4)
    right = [f.chord == truth for f, truth in zip(analysis.frames, _truth(analysis))]
    assert sum(right) / len(right) >= 0.8
    # analyze --model takes the taught folder
    assert main(["analyze", str(clips["later"]), "--model", str(out), "--out", str(tmp_path / "an"),
                 "--no-video", "--fps", "2"]) == 0


def _truth(analysis) -> list[str]:
    return ["G" if f.time < 2 else "C" if f.time < 4 else "Am" for f in analysis.frames]


def test_too_few_frames_names_the_chord(clips, tmp_path, capsys):
    code = main(["teach", str(clips["short"]), str(clips["C"]), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: Too few frames for G (") and "C (" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_a_failure_midway_leaves_the_folder_as_it_was(clips, tmp_path, monkeypatch):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("old model")

    def broken(*args, **kwargs):
        raise InputError("training broke")

    monkeypatch.setattr(training, "train_image_model", broken)
    with pytest.raises(InputError, match="training broke"):
        teach([clips["G"], clips["C"]], out, epochs=1)
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary folder left behind
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and (out / "keep.txt").read_text() == "old model"
