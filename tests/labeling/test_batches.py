"""A batch result folder imported into the label store: the frames the batch analysed, with its answers."""

from __future__ import annotations

import csv
import shutil

import pytest

from labeling.batches import BATCH_MODEL, add_batch
from labeling.cli import main
from labeling.ingest import add_clip
from labeling.store import LabelStore
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.models.registry import load_model_set
from pipeline.timeline.batch import BatchSettings, analyze_into, write_summary


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory):
    """What ``python -m pipeline batch`` writes for two sample clips (each analysed as a worker does)."""
    root = tmp_path_factory.mktemp("batch")
    out = root / "lessons"
    models = load_model_set([None])
    for name in ("progression", "strumming_em_d"):
        clip = root / f"{name}.mp4"
        shutil.copy(SAMPLE_MEDIA_DIR / f"{name}.mp4", clip)
        row = analyze_into(clip, out / name, BatchSettings(fps=2.0), models)
        assert row["error"] == ""
    write_summary(out)
    return out


def _rows(folder):
    with (folder / "frames.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_analysed_frame_is_added_with_the_batchs_answer(batch_folder, tmp_path):
    with LabelStore(tmp_path / "store") as store:
        result = add_batch(store, batch_folder)
        for name in ("progression", "strumming_em_d"):
            rows = {int(r["frame"]): r for r in _rows(batch_folder / name)}
            frames = store.frames(clip=name)
            # the synthetic clips hold still within a chord: the store keeps one copy of identical frames
            with LabelStore(tmp_path / f"plain-{name}") as plain:
                assert len(frames) == len(add_clip(plain, SAMPLE_MEDIA_DIR / f"{name}.mp4", fps=2.0).frame_ids)
            assert len({r["frame_chord"] for r in rows.values()}) > 1
            for frame in frames:
                row = rows[frame.frame_index]
                (prediction,) = store.predictions(frame.id)
                assert (prediction.model, prediction.model_version) == (BATCH_MODEL, "lessons")
                assert prediction.chord == row["frame_chord"]
                assert prediction.probability == pytest.approx(float(row["probability"]), abs=1e-4)
        again = add_batch(store, batch_folder)  # a re-import adds nothing twice
        assert not again.frame_ids and len(again.skipped) == len(result.frame_ids)


def test_labeling_add_takes_a_batch_folder_and_refuses_other_folders(batch_folder, tmp_path, capsys):
    with LabelStore(tmp_path / "direct") as store:
        expected = len(add_batch(store, batch_folder).frame_ids)
    assert main(["--store", str(tmp_path / "store"), "add", str(batch_folder)]) == 0
    assert capsys.readouterr().out.startswith(f"added {expected} frames")
    with LabelStore(tmp_path / "other") as store, pytest.raises(InputError, match="not a batch result folder"):
        add_batch(store, batch_folder / "progression")


def test_a_clip_with_any_name_imports_under_a_store_name(tmp_path):
    """The batch names a clip's folder after its stem as it is; the store's clip name keeps to ASCII."""
    clip = tmp_path / "Übung – G.mp4"
    shutil.copy(SAMPLE_MEDIA_DIR / "progression.mp4", clip)
    out = tmp_path / "batch"
    assert analyze_into(clip, out / clip.stem, BatchSettings(fps=1.0), load_model_set([None]))["error"] == ""
    write_summary(out)
    with LabelStore(tmp_path / "store") as store:
        assert add_batch(store, out).frame_ids
        assert [c.name for c in store.clips()] == ["Ubung___G"]
