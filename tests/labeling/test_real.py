"""Round trip on the shared real frames: import, snapshot, export, train from the export, same accuracy.

The whole folder (1,990 frames) is imported, snapshotted and exported. Training and scoring use four
chords (A, C, G, None: about 720 frames) so that hand detection fits the test's time; the store,
snapshot and export code paths see every frame. Skips with the reason when ../shared is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

from labeling.export import export_snapshot
from labeling.ingest import add_dataset
from labeling.store import LabelStore
from labeling.train import snapshot_images
from pipeline.models.datasets import dataset_fingerprint, extract_landmarks, read_image_folder
from pipeline.models.landmark import train_landmark_model

pytestmark = pytest.mark.real_data

CHORDS = ("A", "C", "G", "None")


def _train_and_score(train_images, val_images):
    train = [i for i in train_images if i.chord in CHORDS]
    val = [i for i in val_images if i.chord in CHORDS]
    model = train_landmark_model(extract_landmarks([i.path for i in train], workers=2), [i.chord for i in train],
                                 estimators=("svm",), feature_versions=("raw63",),
                                 data_fingerprint=dataset_fingerprint(train))
    predictions = model.predict(extract_landmarks([i.path for i in val], workers=2))
    return model, float(np.mean([p.chord == i.chord for p, i in zip(predictions, val)]))


def test_import_snapshot_export_train_gives_the_same_accuracy(real_data, tmp_path):
    import datasets

    with LabelStore(tmp_path / "store") as store:
        assert len(add_dataset(store, real_data).frame_ids) == 1990
        snapshot = store.create_snapshot("real-v1")
        export = export_snapshot(store, "real-v1", tmp_path / "export")
        assert export.counts == {"train": 1650, "val": 340}  # the dataset's own splits are kept
        assert snapshot.fingerprint == dataset_fingerprint(read_image_folder(real_data))
        original_model, original = _train_and_score(read_image_folder(real_data, "train"),
                                                    read_image_folder(real_data, "val"))
        exported_model, exported = _train_and_score(read_image_folder(export.path, "train"),
                                                     read_image_folder(real_data, "val"))
        print(f"val accuracy on {CHORDS}: original folder {original:.3f}, export {exported:.3f}")
        assert exported == original and original > 0.5
        assert exported_model.card.data_fingerprint == original_model.card.data_fingerprint
        assert exported_model.card.cv_accuracy == original_model.card.cv_accuracy
        # training straight from the snapshot (train_from_snapshot) reads the same training frames
        direct = snapshot_images(store, "real-v1", "train")
        assert dataset_fingerprint(direct) == dataset_fingerprint(read_image_folder(real_data, "train"))
    loaded = datasets.load_dataset("imagefolder", data_dir=str(export.path), cache_dir=str(tmp_path / "hf"))
    assert len(loaded["train"]) == 1650 and len(loaded["validation"]) == 340
