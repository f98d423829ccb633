"""The Space's Teach tab through ``gradio_client`` (issue 16): clips named after their chords (and camera takes with
a chosen chord) teach a landmark model and a CNN, whose held-out scores and card sentence are shown; the pair
then analyses this session's clips (another session keeps the Space's models). A clip without a chord name, a
clip with no hand and a chord with too few frames are clear errors that lose nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.text import SPACE_TEACH_REMEDY
from tests.helpers.space import running_space, space_client
from tools.samplegen.clips import make_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """2 s clips of one synthetic setup named after their chords, a later clip G then C, a G clip too short to
    teach, a clip without a chord in its name, and one with no hand in any frame."""
    root = tmp_path_factory.mktemp("space-teach-clips")
    out = {}
    for chord in ("G", "C"):
        out[chord] = root / f"{chord}.mp4"
        make_clip(out[chord], [(chord, 2.0)], fps=15, seed=1, shake=4.0, quality=35)
    out["later"] = root / "later.mp4"
    make_clip(out["later"], [("G", 2.0), ("C", 2.0)], fps=15, seed=1, shake=4.0, quality=35)
    out["short"] = root / "G-9.mp4"
    make_clip(out["short"], [("G", 0.5)], fps=15, seed=1, shake=4.0, quality=35)
    out["unnamed"] = root / "take1.mp4"
    out["unnamed"].write_bytes(out["G"].read_bytes())
    out["no_hand"] = root / "take2.mp4"
    make_clip(out["no_hand"], [("Am", 2.0)], fps=15, seed=1, hand=False, quality=35)
    return out


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    folder = tmp_path_factory.mktemp("space-teach")
    with running_space(folder) as url:
        yield url, folder


def _teach(client, files, chord_times: str = "", name: str = "mine", epochs: int = 3):
    from gradio_client import handle_file

    return client.predict([handle_file(str(f)) for f in files], chord_times, name, epochs, api_name="/teach")


def _analyze(client, clip: Path, fps: int = 4):
    from gradio_client import handle_file

    _, _, table, summary, _ = client.predict(handle_file(str(clip)), fps, api_name="/analyze")
    return table["data"], summary


def _requests(folder: Path) -> set[str]:
    return {p.name for p in (folder / "requests").glob("req-*")}


def test_teach_tab_teaches_a_pair_that_analyses_this_sessions_clips(space, clips):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    url, folder = space
    client = space_client(url)
    # bad input first: each a one-line reason, nothing stored
    with pytest.raises(AppError, match="Upload one short clip per chord"):
        client.predict([], "", "mine", 3, api_name="/teach")
    with pytest.raises(AppError, match="Cannot tell the chord of 'take1.mp4'"):
        _teach(client, [clips["G"], clips["unnamed"]])
    with pytest.raises(AppError, match=r"Too few frames for G \(") as caught:
        _teach(client, [clips["short"], clips["C"]])
    assert "C (" not in str(caught.value)
    with pytest.raises(AppError, match="Cannot read 'G:4'"):
        _teach(client, [clips["later"]], chord_times="G:4")
    # one clip with its chords and times: the list names the chords (later.mp4's name names none)
    with pytest.raises(AppError, match=r"Too few frames for G \(") as caught:
        _teach(client, [clips["later"]], chord_times="G:0-0.3, C:2-4")
    assert "C (" not in str(caught.value)
    with pytest.raises(AppError, match="A chord list with times goes with one clip"):
        _teach(client, [clips["G"], clips["C"]], chord_times="G:0-1, C:1-2")
    assert not _requests(folder)
    before, summary = _analyze(client, clips["later"])
    assert "taught" not in summary

    known = _requests(folder)
    note, in_use = _teach(client, [clips["G"], clips["C"]])
    assert "**mine** (a landmark model and a CNN, taught from 2 clips: G.mp4, C.mp4) now analyses" in note
    assert "on the held-out end of each clip" in note and "fused " in note
    assert "- G: " in note and "- C: " in note
    assert "your taught models" in in_use and "mine" in in_use
    taught = _requests(folder) - known  # the session's teach folder
    assert len(taught) == 1
    rows, summary = _analyze(client, clips["later"])
    assert "landmarks: svm on raw63 features, trained on taught: mine" in summary
    assert "image: cnn" in summary and "trained on taught: mine" in summary.split("image: cnn")[1]
    assert rows != before
    chords = [row[2].replace(" (unsure)", "") for row in rows]
    assert chords[0] == "G" and chords[-1] == "C" and set(chords) == {"G", "C"}, rows
    change = next(row[0] for row in rows if row[2].startswith("C"))
    assert change == pytest.approx(2.0, abs=0.6), rows
    # another visitor keeps the Space's models
    _, other = _analyze(space_client(url), clips["later"])
    assert "taught" not in other and "Models: landmarks: svm on raw63 features." in other

    # a take from the camera carries its chord; one without a hand is named, and the taught pair stays
    with pytest.raises(AppError, match="Choose the chord this take shows"):
        client.predict(handle_file(str(clips["no_hand"])), None, api_name="/add_take")
    known = _requests(folder)
    takes_note, cleared = client.predict(handle_file(str(clips["no_hand"])), "Am", api_name="/add_take")
    assert takes_note == "Camera takes: **Am** (Am-take1.mp4)." and cleared is None
    with pytest.raises(AppError, match="No hand found in Am-take1.mp4"):
        _teach(client, [clips["C"]], name="other")
    assert _requests(folder) == known  # the failed teach left nothing, and the taught pair is there
    again, summary = _analyze(client, clips["later"])
    assert again == rows and "trained on taught: mine" in summary
    assert client.predict(api_name="/clear_takes") == "No camera takes yet."

    assert "your taught models" not in client.predict(api_name="/forget_taught")
    assert not _requests(folder) & taught  # the taught folder went
    _, summary = _analyze(client, clips["later"])
    assert "taught" not in summary


def test_the_unfamiliar_footage_message_points_to_the_teach_tab():
    assert "**Teach** tab" in SPACE_TEACH_REMEDY
