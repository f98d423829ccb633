"""The label store under pressure (issue 17): simultaneous corrections of one frame, frame ids that look
like digests, and a store whose folder is read-only, full, locked or damaged (each says what is wrong)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from labeling.database import DB_FILE
from labeling.ingest import label_analysed_frame
from labeling.records import NewFrame
from labeling.store import LabelStore
from pipeline.core.errors import InputError
from tests.helpers.store import add_tiny, snapshot_of_tables, tiny_png

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "store") as opened:
        yield opened


# -- 3: simultaneous corrections of one frame -------------------------------------------------------------


def test_a_frame_stored_by_another_process_meanwhile_is_found_not_refused(tmp_path):
    """Two connections prepare the same frame (both see it missing), then both commit: the second finds it
    inside its transaction. Before: 'Frames were added by another process meanwhile'."""
    root = tmp_path / "store"
    with LabelStore(root) as first, LabelStore(root) as second:
        item = NewFrame(source="corr", data=tiny_png(7), ext=".png", chord="G")
        prepared_a, _ = first.prepare([item], on_duplicate="skip")
        prepared_b, _ = second.prepare([item], on_duplicate="skip")
        added = first.commit(prepared_a, author="ann")
        again = second.commit(prepared_b, author="bob")
        assert len(added.frame_ids) == 1 and again.frame_ids == [] and again.skipped == ["corr"]
        assert second.stats().frames == 1 and second.frame(added.frame_ids[0]).chord == "G"


_CORRECTOR = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from labeling.ingest import label_analysed_frame
    from labeling.store import LabelStore
    from pipeline.core.hands import HandsResult
    from pipeline.core.types import NOT_COVERED, ChordPrediction, FrameResult

    root, who, barrier, rounds, people = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    images = [np.random.default_rng(k).integers(0, 256, (240, 320, 3), dtype=np.uint8) for k in range(rounds)]
    failed = 0
    with LabelStore(root) as store:
        for k, image in enumerate(images):
            (barrier / f"{k}-{who}").touch()  # everyone corrects frame k at the same moment
            while len(list(barrier.glob(f"{k}-*"))) < people:
                time.sleep(0.0005)
            guess = ChordPrediction("C", 0.6, {"C": 0.6, "G": 0.4})
            frame = FrameResult(index=k, time=k / 10, hands=HandsResult.from_hands([], 320, 240), prediction=guess,
                                chord="C", by_model={"landmarks": NOT_COVERED, "image": guess})
            try:
                label_analysed_frame(store, image, frame, "G" if k % 2 else "Am", clip="take.mp4", author=who)
            except Exception as error:  # keep going: the others wait for this one at the next frame
                print(f"frame {k}: {error}", file=sys.stderr)
                failed += 1
    sys.exit(1 if failed else 0)
""")


def test_eight_processes_correcting_the_same_frames_at_once_all_land(store, tmp_path):
    """8 people correct the same frames at the same moment (a barrier per frame): every correction succeeds
    and is stored. Before: some failed with 'Frames were added by another process meanwhile'."""
    barrier, rounds, people = tmp_path / "barrier", 10, 8
    barrier.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    workers = [subprocess.Popen([sys.executable, "-c", _CORRECTOR, str(store.root), f"p{n}", str(barrier), str(rounds),
                                 str(people)], env=env, stderr=subprocess.PIPE, text=True) for n in range(people)]
    failures = [w.stderr.read()[-300:] for w in workers if w.wait(timeout=180) != 0]
    assert failures == [], failures
    assert store.stats().frames == rounds
    counts = dict(store.query("SELECT author, COUNT(*) FROM labels GROUP BY author"))
    assert counts == {f"p{n}": rounds for n in range(people)}
    assert store.integrity_check() == "ok"


def test_a_correction_of_a_frame_stored_meanwhile_gets_its_label(store, monkeypatch):
    """label_analysed_frame when the frame appears between its check and its write (the race, made certain)."""
    from pipeline.core.hands import HandsResult
    from pipeline.core.types import ChordPrediction, FrameResult

    image = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    guess = ChordPrediction("C", 0.6, {"C": 0.6})
    frame = FrameResult(index=1, time=0.1, hands=HandsResult.from_hands([], 64, 48), prediction=guess, chord="C",
                        by_model={"image": guess})
    original = LabelStore.prepare
    raced = []

    def prepare_then_someone_else_adds(self, items, on_duplicate="error"):
        prepared = original(self, items, on_duplicate)
        if not raced:  # once: another process stores the same frame right now
            raced.append(True)
            with LabelStore(self.root) as other:
                other.add_frames([NewFrame(source="other", data=items[0].data, ext=".jpg")])
        return prepared

    monkeypatch.setattr(LabelStore, "prepare", prepare_then_someone_else_adds)
    record, event = label_analysed_frame(store, image, frame, "G", clip="take.mp4", author="ann")
    assert event.chord == "G" and store.frame(record.id).chord == "G" and store.stats().frames == 1


# -- 7: a frame id is never read as a digest prefix -------------------------------------------------------


def _digit_digest_png() -> bytes:
    """A tiny image whose SHA-256 starts with six decimal digits (found by trying seeds; deterministic)."""
    for seed in range(10_000):
        data = tiny_png(seed)
        if hashlib.sha256(data).hexdigest()[:6].isdigit():
            return data
    raise AssertionError("no seed found")


def test_a_number_is_a_frame_id_and_a_digest_prefix_needs_its_marker(store):
    data = _digit_digest_png()
    digit_frame = store.add_frame(NewFrame(source="digits", data=data, ext=".png"))
    prefix = hashlib.sha256(data).hexdigest()[:6]
    with pytest.raises(InputError, match=f"No frame {prefix} in the label store.*sha:{prefix}"):
        store.frame(prefix)  # before: the frame whose digest starts with those digits
    assert store.frame(f"sha:{prefix}").id == digit_frame
    # a frame whose id is that number wins over the digest
    other = add_tiny(store, 1, start=50)[0]
    store.query("UPDATE frames SET id = ? WHERE id = ?", (int(prefix), other))
    assert store.frame(prefix).id == int(prefix) and store.frame(int(prefix)).id == int(prefix)
    assert store.frame(f"SHA:{prefix}").id == digit_frame
    store.set_label(prefix, "G", author="ann")
    assert store.frame(int(prefix)).chord == "G" and store.frame(digit_frame).chord is None
    for bad in ("sha:12", "sha:xyz123", "frame-1", ""):
        with pytest.raises(InputError, match="neither a frame id nor a frame digest"):
            store.frame(bad)


# -- 9 and 11: read-only, full, locked, damaged: say which ---------------------------------------------------


def _drop_root_powers() -> None:
    """Run as root without the power to ignore file permissions (so a read-only folder is read-only)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP: gone after exec


def run_without_write_permission(argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m labeling ARGV`` as a user that honours file permissions (as root too)."""
    return subprocess.run([sys.executable, "-m", "labeling", *argv], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)),
                          preexec_fn=_drop_root_powers if os.geteuid() == 0 else None, timeout=120)


def test_a_read_only_store_says_permission_denied_not_that_it_is_no_store(tmp_path):
    root = tmp_path / "store"
    with LabelStore(root) as store:
        add_tiny(store, 2)
    os.chmod(root, 0o555)
    try:
        for argv in (["label", "1", "C"], ["stats"]):
            result = run_without_write_permission(["--store", str(root), *argv])
            assert result.returncode == 2, result.stderr
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
            assert "permission denied" in result.stderr and "not a label store" not in result.stderr, result.stderr
    finally:
        os.chmod(root, 0o755)
    with LabelStore(root) as store:
        assert store.stats().frames == 2 and store.stats().labeled == 0


def test_a_full_disk_says_so_and_changes_nothing(store):
    add_tiny(store, 2)
    before = snapshot_of_tables(store)
    pages = store.query("PRAGMA page_count").fetchone()[0]
    store.query(f"PRAGMA max_page_count = {pages}")  # this connection may not grow the file: a full disk
    with pytest.raises(InputError, match="the disk is full"):
        store.add_frames([NewFrame(source=f"big-{i}", data=tiny_png(300 + i, 64), ext=".png") for i in range(40)])
    rows = snapshot_of_tables(store)
    assert {k: v for k, v in rows.items() if k != "files"} == {k: v for k, v in before.items() if k != "files"}
    with pytest.raises(InputError, match="the disk is full"):
        for _ in range(2000):
            store.set_label(1, "C", author="ann")


def test_a_locked_store_says_it_is_locked(tmp_path):
    root = tmp_path / "store"
    with LabelStore(root) as store:
        add_tiny(store, 1)
    holder = sqlite3.connect(root / DB_FILE, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with LabelStore(root, timeout=0.2) as waiting:
            with pytest.raises(InputError, match="locked by another process"):
                waiting.set_label(1, "C", author="ann")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("keep", [50, 120, 0.5])
def test_a_truncated_store_is_refused_in_one_line(tmp_path, keep):
    root = tmp_path / "store"
    with LabelStore(root) as store:
        add_tiny(store, 30)
        store.set_label(1, "C", author="ann")
        store.query("PRAGMA wal_checkpoint(TRUNCATE)")
    path = root / DB_FILE
    data = path.read_bytes()
    cut = data[: int(len(data) * keep) if keep < 1 else keep]
    path.write_bytes(cut)
    with pytest.raises(InputError, match="not a label store or is damaged") as error:
        with LabelStore(root) as damaged:
            damaged.stats()
    assert "\n" not in str(error.value)
    assert path.read_bytes() == cut  # left as it is


def test_a_store_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="is a file; a label store is a folder"):
        LabelStore(tmp_path / "file.txt")
