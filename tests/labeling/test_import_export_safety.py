"""Imports and exports that lose nothing and run nothing (issue 17): a labeled layout imports labeled or is
refused with the reason, a labeled re-import attaches its labels, links out of a dataset are not followed,
exports check every frame file and write CSV cells a spreadsheet will not run, and a training kind that
does not exist is refused at once."""

from __future__ import annotations

import csv
import json
import math
import os
import zipfile
from pathlib import Path

import pytest

from labeling.cli import main
from labeling.export import assign_splits, export_snapshot
from labeling.ingest import add_dataset, add_images
from labeling.records import NewFrame
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from tests.helpers.store import snapshot_of_tables, tiny_png


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "store") as opened:
        yield opened


def _folder(root: Path, layout: dict[str, int], start: int = 0) -> Path:
    """Folders of tiny PNGs: relative folder -> how many images (their pixels unique per image)."""
    seed = start
    for folder, n in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (root / folder / f"{i}.png").write_bytes(tiny_png(seed, 16))
            seed += 1
    return root


# -- 1: a labeled layout imports labeled, or is refused with the reason ------------------------------------


def test_an_imagefolder_with_one_chord_folder_imports_labeled(store, tmp_path):
    """Before: the lone chord folder was taken for a wrapper and its frames came in unlabeled (exit 0)."""
    result = add_dataset(store, _folder(tmp_path / "one", {"C": 3}))
    assert len(result.frame_ids) == 3 and store.stats().chords == {"C": 3}
    # in a zip, under a wrapping folder, and with a split folder above it
    archive = tmp_path / "one.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for i in range(2):
            handle.writestr(f"export/train/G/{i}.png", tiny_png(900 + i, 16))
    add_dataset(store, archive)
    assert store.stats().chords == {"C": 3, "G": 2}
    assert {f.split for f in store.frames() if f.chord == "G"} == {"train"}


@pytest.mark.parametrize("layout, bad", [
    ({"C": 2, "G": 2, "Gmjaor": 2}, "'Gmjaor'"),
    ({"train/C": 2, "train/Cmajj": 1, "val/C": 1}, "'train/Cmajj'"),
])
def test_a_misspelt_chord_folder_is_refused_with_its_name(store, tmp_path, layout, bad, capsys):
    """Before: one misspelt folder made the whole tree import as unlabeled images, exit 0."""
    root = _folder(tmp_path / "chords", layout)
    with pytest.raises(InputError, match=f"{bad} is not chord names?|{bad} is not"):
        add_dataset(store, root)
    assert store.stats().frames == 0
    assert main(["--store", str(store.root), "add", str(root)]) == 2
    err = capsys.readouterr().err
    assert bad in err and "--format images" in err and err.count("\n") == 1
    # asked for plainly, the images come in unlabeled
    assert main(["--store", str(store.root), "add", str(root), "--format", "images"]) == 0
    assert store.stats().frames == sum(layout.values()) and store.stats().labeled == 0


def test_a_labeled_reimport_attaches_the_labels_and_keeps_a_persons_label(store, tmp_path):
    """Before: re-importing the same frames with labels skipped them as duplicates; the labels were lost."""
    root = _folder(tmp_path / "chords", {"C": 2, "G": 2})
    add_images(store, root)  # first in as plain images, unlabeled
    assert store.stats().labeled == 0
    person = store.frames()[0]
    store.set_label(person.id, "D", author="ann")
    result = add_dataset(store, root, on_duplicate="skip")
    assert result.frame_ids == [] and len(result.labeled) == 3 and len(result.skipped) == 1
    chords = {f.source.split("/", 1)[1]: f.chord for f in store.frames()}
    by_folder = {k: v for k, v in chords.items() if k != person.source.split("/", 1)[1]}
    assert all(v == k.split("/")[0] for k, v in by_folder.items()), chords
    assert store.frame(person.id).chord == "D"  # a person's label is not overwritten by an import
    assert [e.origin for e in store.history(result.labeled[0])] == ["import"]
    # the same again: nothing new to attach, every frame a duplicate
    with pytest.raises(InputError, match="already in the label store"):
        add_dataset(store, root)
    # and through the command line, which says what it did
    other = tmp_path / "cli-store"
    assert main(["--store", str(other), "add", str(root), "--format", "images"]) == 0
    assert main(["--store", str(other), "add", str(root)]) == 0
    with LabelStore(other) as again:
        assert again.stats().chords == {"C": 2, "G": 2}


# -- 12: links out of a dataset --------------------------------------------------------------------------


def test_folder_imports_do_not_follow_links_out_of_the_dataset(store, tmp_path):
    outside = _folder(tmp_path / "private", {"": 2}, start=400)
    root = _folder(tmp_path / "chords", {"C": 2, "G": 1})
    (root / "C" / "leak.png").symlink_to(outside / "0.png")
    before = snapshot_of_tables(store)
    for add in (lambda: add_dataset(store, root), lambda: add_images(store, root)):
        with pytest.raises(InputError, match="leak.png is a link to .*outside the dataset"):
            add()
    (root / "C" / "leak.png").unlink()
    (root / "G" / "more").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="G/more is a link"):
        add_images(store, root)
    assert snapshot_of_tables(store) == before
    (root / "G" / "more").unlink()
    (root / "G" / "again.png").symlink_to(root / "C" / "0.png")  # a link inside the dataset is fine
    assert len(add_images(store, root, on_duplicate="skip").frame_ids) == 3


def test_a_lone_linked_folder_is_not_descended_into(store, tmp_path):
    outside = _folder(tmp_path / "private", {"C": 2})
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    (wrapper / "data").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="is a link"):
        add_dataset(store, wrapper)
    assert store.stats().frames == 0


# -- 12: text files that are not UTF-8 -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["yaml", "labels", "coco"])
def test_a_dataset_file_that_is_not_utf8_is_refused_in_one_line(store, tmp_path, which):
    root = tmp_path / "data"
    if which == "coco":
        _folder(root, {"train": 1})
        (root / "train" / "_annotations.coco.json").write_bytes(b'{"images": [], "categories": "\xff\xfe"}')
    else:
        _folder(root, {"images/train": 1})
        (root / "labels" / "train").mkdir(parents=True)
        (root / "data.yaml").write_bytes(b"names: [fretboard, \xff]\n" if which == "yaml" else b"names: [C]\n")
        (root / "labels" / "train" / "0.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\n\xff\xfe\n")
    with pytest.raises(InputError) as error:
        add_dataset(store, root)
    assert "\n" not in str(error.value) and store.stats().frames == 0


def test_a_yolo_box_that_is_not_finite_is_refused(store, tmp_path):
    root = _folder(tmp_path / "data", {"images/train": 1})
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("names: [fretboard]\n")
    (root / "labels" / "train" / "0.txt").write_text("0 nan 0.5 0.2 0.2\n")
    with pytest.raises(InputError, match="line 1 is not 'class cx cy w h'"):
        add_dataset(store, root)


# -- 12: exports -----------------------------------------------------------------------------------------


def test_csv_cells_that_start_like_a_formula_are_neutralised(store, tmp_path):
    """Before: an author or source of '=HYPERLINK(...)' went into the CSV as a live formula."""
    ids = store.add_frames([NewFrame(source="=HYPERLINK(\"http://x\")", data=tiny_png(1), ext=".png"),
                            NewFrame(source="+1+cmd|' /C calc'!A0", data=tiny_png(2), ext=".png"),
                            NewFrame(source="plain.png", data=tiny_png(3), ext=".png")]).frame_ids
    store.set_label(ids[0], "C", author="@SUM(1+1)")
    store.set_label(ids[1], "G", author="-2+3")
    store.set_label(ids[2], "D", author="ann")
    store.create_snapshot("v1")
    rows = list(csv.DictReader(open(export_snapshot(store, "v1", tmp_path / "v1.csv", "csv").path)))
    cells = {(r["source"], r["label_author"]) for r in rows}
    assert cells == {("'=HYPERLINK(\"http://x\")", "'@SUM(1+1)"), ("'+1+cmd|' /C calc'!A0", "'-2+3"),
                     ("plain.png", "ann")}
    assert all(not value.startswith(("=", "+", "-", "@")) for r in rows for value in r.values())


@pytest.mark.parametrize("format", ["imagefolder", "yolo", "csv"])
def test_an_export_refuses_a_frame_file_changed_since_it_was_added(store, tmp_path, format):
    """Before: the changed bytes were exported under the snapshot's name (and its fingerprint)."""
    ids = store.add_frames([NewFrame(source=f"{i}.png", data=tiny_png(i), ext=".png", box=(1, 1, 6, 6))
                            for i in range(3)]).frame_ids
    for frame in ids:
        store.set_label(frame, "C", author="ann")
    store.create_snapshot("v1")
    changed = store.frame(ids[1])
    changed.path.write_bytes(tiny_png(99))
    out = tmp_path / ("v1.csv" if format == "csv" else "out")
    with pytest.raises(InputError, match=f"Frame {ids[1]}'s file .* has changed since it was added"):
        export_snapshot(store, "v1", out, format)
    assert not out.exists() and not any(p.name.startswith(".") for p in tmp_path.iterdir())
    changed.path.unlink()
    with pytest.raises(InputError, match="cannot be read"):
        export_snapshot(store, "v1", out, format)


def test_split_ratios_must_be_finite(store):
    with pytest.raises(InputError, match="finite"):
        assign_splits([], [math.nan, 0.1, 0.1])
    with pytest.raises(InputError, match="finite"):
        assign_splits([], [math.inf, 0.1, 0.1])


def test_an_export_into_a_place_that_cannot_be_written_says_so(store, tmp_path):
    store.add_frames([NewFrame(source="a.png", data=tiny_png(1), ext=".png", chord="C")])
    store.create_snapshot("v1")
    (tmp_path / "file.txt").write_text("x")
    for format in ("imagefolder", "csv"):
        target = tmp_path / "file.txt" / ("sub.csv" if format == "csv" else "sub")
        with pytest.raises(InputError, match="Cannot write the export to"):
            export_snapshot(store, "v1", target, format)


# -- 12: training kinds ----------------------------------------------------------------------------------


def test_an_unknown_training_kind_is_refused_at_once(store, tmp_path, capsys):
    """Before: 'train --kind zzz' queued a background job that failed later."""
    from labeling.train import start_job

    store.add_frames([NewFrame(source="a.png", data=tiny_png(1), ext=".png", chord="C")])
    store.create_snapshot("v1")
    for kind in ("zzz", "detector", "../x"):
        with pytest.raises(InputError, match="Unknown model kind"):
            start_job(store, "v1", kind)
    assert main(["--store", str(store.root), "train", "v1", "--kind", "zzz"]) == 2
    err = capsys.readouterr().err
    assert "zzz" in err and err.count("\n") == 1
    assert store.jobs() == [] and not (store.root / "exports").exists()


def test_json_and_csv_of_the_cli_still_read(store, tmp_path, capsys):
    """The CLI's JSON output is unchanged by the one-line errors (a guard against printing in the wrong place)."""
    store.add_frames([NewFrame(source="a.png", data=tiny_png(1), ext=".png", chord="C")])
    assert main(["--store", str(store.root), "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labeled"] == 1
    assert main(["--help"]) == 0 and "sha:" in capsys.readouterr().out
    assert os.environ.get("CHORD_STUDIO_HOME")  # the session fixture: nothing here wrote to a real home
