"""The label store: schema and migrations, bad input changes nothing, history and undo, snapshots,
and nothing lost with two writers at once or a writer killed mid-write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from labeling.database import MIGRATIONS, SCHEMA_VERSION
from labeling.records import NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from tests.helpers.store import add_tiny, snapshot_of_tables, tiny_png

REPO = Path(__file__).resolve().parents[2]






@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "store") as opened:
        yield opened


def test_new_store_is_wal_at_the_current_schema_and_defaults_to_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "data"))
    with LabelStore() as store:
        assert store.root == tmp_path / "data"
        assert store.schema_version == SCHEMA_VERSION
        assert store.query("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.delenv("CHORD_STUDIO_DATA")
    from pipeline.core.config import REPO_ROOT, get_settings

    default = get_settings().data_dir
    assert default == get_settings().home / "labels" and REPO_ROOT not in default.parents


def test_an_old_store_is_migrated_keeping_its_data(tmp_path):
    root = tmp_path / "old"
    root.mkdir()
    db = sqlite3.connect(root / "labels.sqlite")
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO clips (name, added_at) VALUES ('kept', 'then')")
    db.commit()
    db.close()
    with LabelStore(root) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [c.name for c in store.clips()] == ["kept"]
        assert store.jobs() == []  # the table version 2 added


def test_a_store_from_a_newer_schema_is_refused_and_left_alone(tmp_path):
    root = tmp_path / "newer"
    root.mkdir()
    db = sqlite3.connect(root / "labels.sqlite")
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = (root / "labels.sqlite").read_bytes()
    with pytest.raises(InputError, match="newer version"):
        LabelStore(root)
    assert (root / "labels.sqlite").read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["labels.sqlite"]  # not even a WAL file


def test_a_file_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "labels.sqlite").write_text("not a database at all, just text")
    with pytest.raises(InputError, match="not a label store"):
        LabelStore(tmp_path)


@pytest.mark.parametrize("bad, message", [
    ("corrupt", "'broken.jpg' could not be read as an image"),
    ("truncated", "cut.jpg is not a readable image"),
    ("chord", "Unknown chord name 'H7sus'"),
    ("duplicate", "again.png is already in the label store"),
    ("duplicate-in-batch", "twice.png is the same image as another frame of this batch"),
    ("prediction", "Unknown chord name 'Q'"),
])
def test_bad_input_gets_a_clear_error_and_changes_nothing(store, bad, message):
    add_tiny(store, 3)
    before = snapshot_of_tables(store)
    good = [NewFrame(source=f"ok-{i}", data=tiny_png(100 + i), ext=".png") for i in range(3)]
    noise = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", noise)[1].tobytes()
    bad_item = {
        "corrupt": NewFrame(source="broken.jpg", data=b"\xff\xd8 this is not a jpeg", ext=".jpg"),
        "truncated": NewFrame(source="cut.jpg", data=jpeg[: len(jpeg) // 2], ext=".jpg"),
        "chord": NewFrame(source="x.png", data=tiny_png(200), ext=".png", chord="H7sus"),
        "duplicate": NewFrame(source="again.png", data=tiny_png(1), ext=".png"),
        "duplicate-in-batch": NewFrame(source="twice.png", data=tiny_png(101), ext=".png"),
        "prediction": NewFrame(source="p.png", data=tiny_png(201), ext=".png",
                               predictions=(NewPrediction("m", "1", "Q", 0.5),)),
    }[bad]
    with pytest.raises(InputError) as error:
        store.add_frames(good + [bad_item])
    assert message in str(error.value)
    assert snapshot_of_tables(store) == before


def test_bad_labels_and_names_change_nothing(store):
    ids = add_tiny(store, 2)
    store.set_label(ids[0], "C", author="ann")
    before = snapshot_of_tables(store)
    with pytest.raises(InputError, match="Unknown chord"):
        store.set_label(ids[1], "Cmaj13#11", author="ann")
    with pytest.raises(InputError, match="No frame"):
        store.set_label(999, "C", author="ann")
    for name in ["../escape", "a/../b", "..", "/abs", "with space"]:
        with pytest.raises(InputError, match="not allowed"):
            store.create_snapshot(name)
    assert snapshot_of_tables(store) == before


def test_labels_keep_their_history_and_undo_goes_back_one_change(store):
    frame = add_tiny(store, 1)[0]
    prediction = store.add_predictions([(frame, NewPrediction("landmarks-x", "v1", "G", 0.7))])
    assert prediction == 1
    store.set_label(frame, "a minor", author="ann")
    accepted = store.accept(frame, author="bob")
    assert accepted.origin == "prediction" and accepted.chord == "G" and accepted.prediction_id is not None
    store.set_label(frame, "C", author="ann")
    assert store.frame(frame).chord == "C"
    undone = store.undo(author="ann")
    assert undone.chord == "C" and undone.undone_at
    assert store.frame(frame).chord == "G"  # bob's label is back
    assert store.undo(author="bob").chord == "G"
    assert store.frame(frame).chord == "Am"
    history = store.history(frame)
    assert [(e.chord, e.author, e.origin, e.undone_at is not None) for e in history] == [
        ("Am", "ann", "hand", False), ("G", "bob", "prediction", True), ("C", "ann", "hand", True)]
    assert store.undo(author="carol") is None
    assert store.frame(store.frame(frame).digest[:10]).id == frame


def test_snapshots_are_immutable_listed_and_diffed(store):
    ids = add_tiny(store, 4)
    for frame, chord in zip(ids[:3], ["C", "G", "G"]):
        store.set_label(frame, chord, author="ann")
    v1 = store.create_snapshot("v1", note="first")
    assert v1.counts == {"C": 1, "G": 2} and v1.n_frames == 3
    store.set_label(ids[0], "Am", author="ann")
    store.set_label(ids[3], "D", author="ann")
    store.create_snapshot("v2")
    assert [s.name for s in store.snapshots()] == ["v1", "v2"]
    assert store.snapshot("v1").counts == {"C": 1, "G": 2}  # the later label did not touch v1
    diff = store.diff_snapshots("v1", "v2")
    assert diff.added == [ids[3]] and diff.removed == [] and diff.relabeled == [(ids[0], "C", "Am")]
    assert diff.counts == {"Am": (0, 1), "C": (1, 0), "D": (0, 1), "G": (2, 2)}
    with pytest.raises(InputError, match="exists already"):
        store.create_snapshot("v1")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._db.execute("UPDATE snapshot_frames SET chord = 'E'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._db.execute("DELETE FROM snapshots")


_WRITER = textwrap.dedent("""
    import sys
    from labeling.store import LabelStore
    root, author, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with LabelStore(root) as store:
        ids = [r[0] for r in store.query("SELECT id FROM frames ORDER BY id")]
        for k in range(n):
            store.set_label(ids[k % len(ids)], "C" if k % 2 else "G", author=author)
""")


def _python(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.PIPE, text=True)


def test_two_processes_writing_1000_labels_each_lose_none(store):
    add_tiny(store, 500)
    writers = [_python(_WRITER, str(store.root), author, "1000") for author in ("proc-a", "proc-b")]
    for writer in writers:
        assert writer.wait(timeout=100) == 0, writer.stderr.read()
    counts = dict(store.query("SELECT author, COUNT(*) FROM labels GROUP BY author"))
    assert counts == {"proc-a": 1000, "proc-b": 1000}
    # the cached current label is the newest history row of every frame
    stale = store.query("SELECT COUNT(*) FROM frames f WHERE label_id IS NOT (SELECT MAX(id) FROM labels l"
                        " WHERE l.frame_id = f.id AND undone_at IS NULL)").fetchone()[0]
    assert stale == 0


_KILLED = textwrap.dedent("""
    import sys, cv2, numpy as np
    from labeling.records import NewFrame, NewPrediction
    from labeling.store import LabelStore
    root = sys.argv[1]
    with LabelStore(root) as store:
        for batch in range(100000):
            items = []
            for i in range(40):
                image = np.random.default_rng([batch, i]).integers(0, 256, (8, 8, 3), dtype=np.uint8)
                items.append(NewFrame(source=f"batch-{batch}", data=cv2.imencode(".png", image)[1].tobytes(),
                                      ext=".png", chord="C", predictions=(NewPrediction("m", "1", "C", 0.9),)))
            ids = store.add_frames(items).frame_ids
            for frame in ids[:5]:
                store.set_label(frame, "G", author="killed")
            print(batch, flush=True)
""")


def test_a_writer_killed_mid_write_leaves_a_consistent_store(store):
    writer = subprocess.Popen([sys.executable, "-c", _KILLED, str(store.root)],
                              env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.PIPE, text=True)
    for _ in range(3):  # let it commit a few batches, then kill it at an arbitrary point
        writer.stdout.readline()
    time.sleep(0.137)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with LabelStore(store.root) as after:
        assert after.integrity_check() == "ok"
        batches = after.query(
            "SELECT source, COUNT(*), COUNT(DISTINCT label_id) FROM frames GROUP BY source").fetchall()
        assert len(batches) >= 3
        assert all(n == 40 and labels == 40 for _, n, labels in batches), batches  # whole batches only
        assert after.query("SELECT COUNT(*) FROM predictions").fetchone()[0] == 40 * len(batches)
        broken = after.query("SELECT COUNT(*) FROM frames f LEFT JOIN labels l ON l.id = f.label_id"
                             " WHERE l.frame_id IS NOT f.id").fetchone()[0]
        assert broken == 0
        for frame in after.frames():
            assert frame.path.is_file()
        after.set_label(1, "D", author="after")  # and it takes writes again
