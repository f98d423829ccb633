"""Every ``python -m labeling`` subcommand with bad input (issue 17): missing paths, a file where a folder
is expected, nan numbers, unknown chords, ids that do not exist, a read-only store folder, a truncated
store, files that are not UTF-8, links out of a dataset. Each ends in exit status 2 with one line on stderr
(``error: ...``), no traceback, and the store as it was."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from labeling.cli import main
from labeling.database import DB_FILE
from labeling.records import NewFrame, NewPrediction
from labeling.store import LabelStore
from tests.helpers.store import snapshot_of_tables, tiny_png
from tests.labeling.test_store_safety import run_without_write_permission


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A store with three frames (one labeled, one with a prediction) and a snapshot, and bad inputs."""
    tmp = tmp_path_factory.mktemp("fuzz")
    store = tmp / "store"
    with LabelStore(store) as opened:
        ids = opened.add_frames([NewFrame(source=f"f{i}.png", data=tiny_png(i, 16), ext=".png") for i in range(3)],
                                ).frame_ids
        opened.set_label(ids[0], "C", author="ann")
        opened.add_predictions([(ids[1], NewPrediction("m", "1", "G", 0.9, covered=False))])
        opened.create_snapshot("v1")
        opened.query("PRAGMA wal_checkpoint(TRUNCATE)")
    paths = {"store": store, "tmp": tmp}
    paths["text"] = tmp / "notes.txt"
    paths["text"].write_text("just text\n")
    paths["images"] = tmp / "images"
    paths["images"].mkdir()
    for i in range(3):
        (paths["images"] / f"{i}.png").write_bytes(tiny_png(i, 16))  # the stored frames' bytes
    paths["fresh"] = tmp / "fresh"
    paths["fresh"].mkdir()
    (paths["fresh"] / "new.png").write_bytes(tiny_png(50, 16))
    paths["clip"] = tmp / "clip.mp4"
    paths["clip"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(200))
    paths["misspelt"] = tmp / "misspelt"
    for folder, seed in (("C", 60), ("G", 61), ("Gmjaor", 62)):
        (paths["misspelt"] / folder).mkdir(parents=True)
        (paths["misspelt"] / folder / "x.png").write_bytes(tiny_png(seed, 16))
    paths["linkout"] = tmp / "linkout"
    (paths["linkout"] / "C").mkdir(parents=True)
    (paths["linkout"] / "C" / "a.png").write_bytes(tiny_png(70, 16))
    (paths["linkout"] / "C" / "b.png").symlink_to(paths["text"])
    paths["yolo"] = tmp / "yolo"
    (paths["yolo"] / "images" / "train").mkdir(parents=True)
    (paths["yolo"] / "labels" / "train").mkdir(parents=True)
    (paths["yolo"] / "images" / "train" / "0.png").write_bytes(tiny_png(80, 16))
    (paths["yolo"] / "data.yaml").write_bytes(b"names: [fretboard, \xff\xfe]\n")
    paths["zip"] = tmp / "cut.zip"
    with zipfile.ZipFile(tmp / "whole.zip", "w") as handle:
        handle.writestr("C/0.png", tiny_png(90, 16))
    paths["zip"].write_bytes((tmp / "whole.zip").read_bytes()[:40])
    for name, keep in (("cut50", 50), ("cut_half", None)):
        copy = tmp / name
        copy.mkdir()
        data = (store / DB_FILE).read_bytes()
        (copy / DB_FILE).write_bytes(data[:keep] if keep else data[: len(data) // 2])
        paths[name] = copy
    paths["notdb"] = tmp / "notdb"
    paths["notdb"].mkdir()
    (paths["notdb"] / DB_FILE).write_bytes(b"\xff\xfe not a database, not UTF-8 either \x80\x81")
    return paths


BAD = [
    # add
    ("add", "{tmp}/missing", "Nothing at"),
    ("add", "{text}", "neither a folder nor a .zip"),
    ("add", "{text} --format imagefolder", "neither a folder nor a .zip"),
    ("add", "{fresh} --format images --chord Hsus9", "Unknown chord"),
    ("add", "{images} --format images", "already in the label store"),
    ("add", "{clip}", ""),
    ("add", "{clip} --fps nan", "not a finite number"),
    ("add", "{clip} --fps 0", "is not above zero"),
    ("add", "{clip} --fps abc", "not a number"),
    ("add", "{clip} --start inf", "not a finite number"),
    ("add", "{clip} --end -1", "0 or more"),
    ("add", "{fresh} --workers 0", "1 or more"),
    ("add", "{fresh} --format bogus", "invalid choice"),
    ("add", "{fresh} --model {tmp}/no-model", ""),
    ("add", "{fresh} --model {text}", ""),
    ("add", "{misspelt}", "'Gmjaor' is not"),
    ("add", "{linkout}", "is a link to"),
    ("add", "{linkout} --format images", "is a link to"),
    ("add", "{yolo}", "not UTF-8"),
    ("add", "{zip}", "not a readable zip"),
    # queue
    ("queue", "--limit 0", "1 or more"),
    ("queue", "--limit nan", "not a whole number"),
    ("queue", "--chord Q#", "Unknown chord"),
    ("queue", "--status maybe", "invalid choice"),
    ("queue", "--near-duplicate-bits inf", "invalid int"),
    # label
    ("label", "999999 C", "No frame 999999"),
    ("label", "sha:zz C", "neither a frame id nor a frame digest"),
    ("label", "sha:ffffffff C", "No frame with digest"),
    ("label", "1 Hsus9", "Unknown chord"),
    ("label", "1 \udcff\udcfe", "Unknown chord"),
    ("label", "2 --accept", "no prediction"),
    ("label", "1 C --accept", "not both"),
    ("label", "1", "Give the chord"),
    ("label", "1 C --by=", "must be a name"),
    # undo, history
    ("undo", "--by=", "must be a name"),
    ("history", "424242", "No frame 424242"),
    ("history", "not-a-frame", "neither a frame id"),
    # snapshot
    ("snapshot", "create", "needs one name"),
    ("snapshot", "create ../up", "not allowed"),
    ("snapshot", "create v1", "exists already"),
    ("snapshot", "diff v1", "needs two names"),
    ("snapshot", "diff v1 nope", "No snapshot"),
    ("snapshot", "bogus", "invalid choice"),
    # export
    ("export", "nope --out {tmp}/x", "No snapshot"),
    ("export", "v1", "required"),
    ("export", "v1 --out {tmp}/x --ratios nan 1 1", "not a finite number"),
    ("export", "v1 --out {tmp}/x --ratios -1 1 1", "0 or more"),
    ("export", "v1 --out {tmp}/x --ratios 0 0 0", "positive sum"),
    ("export", "v1 --out {text}", "exists and is not empty"),
    ("export", "v1 --out {text}/sub", "Cannot write the export"),
    ("export", "v1 --out {text}/sub.csv --format csv", "Cannot write the export"),
    ("export", "v1 --out {tmp}/x.txt --format csv", "needs a .csv file name"),
    ("export", "v1 --out {tmp}/y --format bogus", "invalid choice"),
    # train, jobs
    ("train", "v1 --kind zzz", "invalid choice: 'zzz'"),
    ("train", "nope", "No snapshot"),
    ("train", "v1 --split nope", "invalid choice"),
    ("train", "v1 --workers 0", "1 or more"),
    ("jobs", "99", "No job 99"),
    ("jobs", "abc", "invalid int"),
    # stats (and any command) on a store that cannot be used
    ("stats", "--store={text}", "is a file; a label store is a folder"),
    ("stats", "--store={cut50}", "cut short"),
    ("stats", "--store={cut_half}", "cut short"),
    ("undo", "--store={cut_half}", "cut short"),
    ("label", "--store={cut50} 1 C", "cut short"),
    ("stats", "--store={notdb}", "not a label store"),
    ("stats", "--bogus", "unrecognized arguments"),
]


def _argv(command: str, rest: str, world: dict[str, Path]) -> list[str]:
    words = [w.format(**{k.replace("-", "_"): v for k, v in world.items()}) if "{" in w else w
             for w in rest.replace("{cut_half}", "{cut_half}").split()]
    store = [w for w in words if w.startswith("--store=")]
    words = [w for w in words if not w.startswith("--store=")]
    return [*(store or [f"--store={world['store']}"]), command, *words]


def assert_one_line_error(code: int, err: str, reason: str, argv) -> None:
    """Exit status 2, one ``error: ...`` line on stderr naming the reason, no traceback."""
    assert code == 2, (argv, code, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert reason in err, (argv, reason, err)


@pytest.mark.parametrize("command, rest, reason", BAD, ids=[f"{c} {r}" for c, r, _ in BAD])
def test_bad_input_exits_2_with_one_line(world, capsys, command, rest, reason):
    with LabelStore(world["store"]) as store:
        before = snapshot_of_tables(store)
    argv = _argv(command, rest, world)
    code = main(argv)
    assert_one_line_error(code, capsys.readouterr().err, reason, argv)
    with LabelStore(world["store"]) as store:
        assert snapshot_of_tables(store) == before  # nothing changed, nothing lost


def test_every_subcommand_is_in_the_table():
    from labeling.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert set(commands) == {command for command, _, _ in BAD}


@pytest.mark.parametrize("argv", [["label", "1", "G"], ["add", "{fresh}", "--format", "images"], ["stats"]])
def test_a_read_only_store_folder_exits_2_with_one_line(world, tmp_path, argv):
    store = tmp_path / "store"
    store.mkdir()
    (store / DB_FILE).write_bytes((world["store"] / DB_FILE).read_bytes())
    os.chmod(store, 0o555)
    try:
        argv = ["--store", str(store), *(w.format(fresh=world["fresh"]) for w in argv)]
        result = run_without_write_permission(argv)
    finally:
        os.chmod(store, 0o755)
    assert_one_line_error(result.returncode, result.stderr, "permission denied", argv)
    assert "not a label store" not in result.stderr
