"""Every ``python -m pipeline`` subcommand driven in-process (``pipeline.cli.main(argv)``) with a table of bad
inputs (issue 17, defect 11 and the fuzz item): each ends in exit status 2, exactly one line on stderr
(``error: ...``) and no traceback. Then the inputs that must be accepted: non-ASCII clip names.

The machine runs as root, so a read-only folder cannot be made here: read-only and full disks are a
writer that raises the ``OSError`` they raise (EROFS, EACCES, ENOSPC).
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.helpers.tiny_models import tiny_landmark_model

REPO = Path(__file__).resolve().parents[1]
STILL = REPO / "sample_media" / "chord_G.jpg"
CLIP = REPO / "sample_media" / "progression.mp4"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The bad (and good) inputs the table refers to, by name."""
    root = tmp_path_factory.mktemp("fuzz")
    made = {"model": str(tiny_landmark_model(root / "model", seed=4)),  # seed 4 answers C on the samples
            "still": str(STILL), "clip": str(CLIP)}

    def write(name: str, data: bytes | str) -> str:
        path = root / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return str(path)

    made["text"] = write("notes.mp4", "C G Am F\n" * 10)
    made["empty"] = write("empty.mp4", b"")
    made["a_file"] = write("a_file", "I am a file, not a folder")
    made["long_timeline"] = write("long.json", json.dumps({"segments": [{"start": 0, "end": 1e9, "chord": "C"}]}))
    latin1 = '{"segments": [{"start": 0, "end": 1, "chord": "C"}], "by": "Jürgen"}'.encode("latin-1")
    made["latin1_timeline"] = write("latin1.json", latin1)
    made["timeline"] = write("timeline.json", json.dumps({"segments": [{"start": 0, "end": 1, "chord": "C"}]}))
    card = root / "latin1-model"
    card.mkdir()
    (card / "card.json").write_bytes('{"kind": "landmarks", "trained_on": "Übung"}'.encode("latin-1"))
    made["latin1_model"] = str(card)
    data = root / "data" / "C"
    data.mkdir(parents=True)
    shutil.copy(STILL, data / "g.jpg")
    made["data"] = str(root / "data")
    made["not_a_model"] = str(root / "data")  # a folder, but no model in it
    made["missing"] = str(root / "missing.mp4")
    made["out"] = str(root / "out")
    return made


def _raising(code: int):
    def write(*args, **kwargs):
        raise OSError(code, {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system",
                             errno.EACCES: "Permission denied"}[code], "/somewhere/frames.csv")

    return write


# (case id, argv with {placeholders} from `files`, (object, attribute) to replace by a failing writer, words)
CASES = [
    ("no-command", [], None, "required"),
    ("unknown-command", ["frobnicate"], None, "invalid choice"),
    ("analyze-fps-nan", ["analyze", "{clip}", "--model", "{model}", "--out", "{out}", "--fps", "nan"], None,
     "not a finite number"),
    ("analyze-fps-inf", ["analyze", "{clip}", "--model", "{model}", "--out", "{out}", "--fps", "inf"], None,
     "not a finite number"),
    ("analyze-fps-zero", ["analyze", "{clip}", "--model", "{model}", "--out", "{out}", "--fps", "0"], None,
     "not above zero"),
    ("analyze-start-nan", ["analyze", "{clip}", "--model", "{model}", "--out", "{out}", "--start", "nan"], None,
     "not a finite number"),
    ("analyze-text", ["analyze", "{text}", "--model", "{model}", "--out", "{out}"], None, "notes.mp4"),
    ("analyze-empty", ["analyze", "{empty}", "--model", "{model}", "--out", "{out}"], None, "empty (0 bytes)"),
    ("analyze-missing", ["analyze", "{missing}", "--model", "{model}", "--out", "{out}"], None, "not found"),
    ("analyze-out-is-a-file", ["analyze", "{still}", "--model", "{model}", "--out", "{a_file}"], None,
     "File exists"),
    ("analyze-out-under-proc", ["analyze", "{still}", "--model", "{model}", "--out", "/proc/chords"], None,
     "/proc/chords"),
    ("analyze-disk-full", ["analyze", "{still}", "--model", "{model}", "--out", "{out}"],
     ("pipeline.core.types.Analysis.write", errno.ENOSPC), "No space left on device"),
    ("analyze-read-only", ["analyze", "{still}", "--model", "{model}", "--out", "{out}"],
     ("pipeline.core.types.Analysis.write", errno.EROFS), "Read-only file system"),
    ("analyze-no-permission", ["analyze", "{still}", "--model", "{model}", "--out", "{out}"],
     ("pipeline.core.types.Analysis.write", errno.EACCES), "Permission denied"),
    ("explain-out-txt", ["explain", "{still}", "--model", "{model}", "--out", "x.txt"], None, "must be a .png"),
    ("explain-time-nan", ["explain", "{clip}", "--model", "{model}", "--out", "{out}/x.png", "--time", "nan"], None,
     "not a finite number"),
    ("explain-missing", ["explain", "{missing}", "--model", "{model}", "--out", "{out}/x.png"], None, "not found"),
    ("listen-1e9-s", ["listen", "{long_timeline}", "--out", "{out}"], None, "CHORD_STUDIO_MAX_SECONDS"),
    ("listen-not-utf8", ["listen", "{latin1_timeline}", "--out", "{out}"], None, "latin1.json"),
    ("listen-bpm-nan", ["listen", "{timeline}", "--out", "{out}", "--bpm", "nan"], None, "not a finite number"),
    ("listen-mix-inf", ["listen", "{timeline}", "--out", "{out}", "--mix", "inf"], None, "not a finite number"),
    ("listen-fps-inf", ["listen", "{clip}", "--out", "{out}", "--fps", "inf"], None, "not a finite number"),
    ("listen-out-is-a-file", ["listen", "{timeline}", "--out", "{a_file}", "--synth", "pluck"], None, "File exists"),
    ("listen-disk-full", ["listen", "{timeline}", "--out", "{out}", "--synth", "pluck"],
     ("pipeline.audio.mux.write_subtitles", errno.ENOSPC), "No space left on device"),
    ("train-missing-data", ["train", "--data", "{missing}", "--out", "{out}"], None, "missing.mp4"),
    ("train-folds-text", ["train", "--data", "{data}", "--out", "{out}", "--folds", "three"], None, "invalid int"),
    ("evaluate-not-a-model", ["evaluate", "--model", "{not_a_model}", "--data", "{data}"], None, "model"),
    ("evaluate-card-not-utf8", ["evaluate", "--model", "{latin1_model}", "--data", "{data}"], None, "UTF-8"),
    ("compare-missing-data", ["compare", "--models", "features:raw63", "--data", "{missing}", "--out", "{out}/r.html"],
     None, "missing.mp4"),
    ("compare-nothing-compared", ["compare", "--models", "{not_a_model}", "--data", "{data}", "--out", "{out}/r.html"],
     None, "Nothing was compared"),
]


@pytest.mark.parametrize(("argv", "writer", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_exits_2_with_one_line_and_no_traceback(argv, writer, words, files, capsys, monkeypatch):
    if writer is not None:
        target, code = writer
        monkeypatch.setattr(target, _raising(code))
    status = main([arg.format(**files) for arg in argv])
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err and words in err, err


def test_non_ascii_clip_names_are_accepted_end_to_end(files, tmp_path, capsys):
    """Issue 17, defect 12: ``Übung – G.mp4`` is analysed, listened to, and added to the label store."""
    from labeling.cli import main as labeling_main
    from pipeline.uploads import safe_name

    clip = tmp_path / "Übung – G.mp4"
    shutil.copy(CLIP, clip)
    out = tmp_path / "Ergebnis – ü"
    assert main(["analyze", str(clip), "--model", files["model"], "--out", str(out), "--no-video", "--end", "2"]) == 0
    assert json.loads((out / "timeline.json").read_text())["segments"]
    assert main(["listen", str(out / "timeline.json"), "--out", str(out), "--synth", "pluck"]) == 0
    assert safe_name(clip.name) == "Ubung___G.mp4"
    store = tmp_path / "labels"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHORD_STUDIO_DATA", str(store))
        assert labeling_main(["add", str(clip), "--fps", "1", "--end", "2"]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert labeling_main(["stats"]) == 0
    assert "2 frames in 1 clips" in capsys.readouterr().out
