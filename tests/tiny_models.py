"""Tiny models the app tests save to a temp folder and load by path, as a user's model folders are.

Their answers are not meant to be right: they stand in for trained models where a test checks what
the apps do with a model of a kind (load it, run it, explain it), not how accurate it is.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.core.chords import VOCABULARY
from pipeline.models.landmark import train_landmark_model


def tiny_landmark_model(folder: Path, seed: int = 1) -> Path:
    """A landmark SVM trained on constructed hands (seconds), saved in ``folder``."""
    from tests.test_landmark_model import _frames

    results, labels = _frames(8, seed=seed)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="constructed hands (test)")
    return model.save(folder)


def tiny_cnn(folder: Path, seed: int = 0, input_size: tuple[int, int] = (48, 80)) -> Path:
    """The compact CNN with random weights over the whole vocabulary, saved in ``folder`` (no training)."""
    import torch

    from pipeline.models.image import CNNChordModel, ImageModelCard, _cnn_module

    torch.manual_seed(seed)
    classes = list(VOCABULARY)
    architecture = {"stem": 8, "widths": [8, 16], "dropout": 0.0}
    net = _cnn_module(len(classes), architecture["stem"], architecture["widths"], architecture["dropout"])
    card = ImageModelCard(kind="cnn", input_size=list(input_size), classes=classes, embedding_dim=16,
                          architecture=architecture, trained_on="nothing: random weights (test)",
                          trained_from_scratch=True)
    return CNNChordModel(net, card).save(folder)


def untrained_detector(folder: Path) -> Path:
    """A YOLOv8n fretboard detector built from ``yolov8n.yaml`` with untrained weights, saved as
    ``folder/best.pt`` (offline, seconds). Its head starts near zero confidence, so it finds no
    fretboard: the case of a detector that does not fit the footage."""
    from ultralytics import YOLO

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    YOLO("yolov8n.yaml").save(str(folder / "best.pt"))
    return folder


def broken_cnn(folder: Path) -> Path:
    """A folder whose card says it is a CNN but which holds no weights: listed as a model, fails to load."""
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "card.json").write_text(json.dumps({"kind": "cnn", "classes": list(VOCABULARY), "input_size": [48, 80]}))
    return folder
