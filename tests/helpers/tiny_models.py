"""Tiny models the app tests save to a temp folder and load by path, as a user's model folders are.

Their answers are not meant to be right: they stand in for trained models where a test checks what
the apps do with a model of a kind (load it, run it, explain it), not how accurate it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch

from pipeline.core.chords import VOCABULARY
from pipeline.models.cards import ImageModelCard
from pipeline.models.image.cnn import CNNChordModel, cnn_module
from pipeline.models.landmark import train_landmark_model


def tiny_landmark_model(folder: Path, seed: int = 1) -> Path:
    """A landmark SVM trained on constructed hands (seconds), saved in ``folder``."""
    from tests.helpers.hands import chord_hands

    results, labels = chord_hands(8, seed=seed)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="constructed hands (test)")
    return model.save(folder)


def tiny_cnn(folder: Path, seed: int = 0, input_size: tuple[int, int] = (48, 80)) -> Path:
    """The compact CNN with random weights over the whole vocabulary, saved in ``folder`` (no training)."""
    import torch

    torch.manual_seed(seed)
    classes = list(VOCABULARY)
    architecture = {"stem": 8, "widths": [8, 16], "dropout": 0.0}
    net = cnn_module(len(classes), architecture["stem"], architecture["widths"], architecture["dropout"])
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


SQUARE_CHORDS = ("C", "G", "None")
"""The chords of :func:`square_folder`."""


def square_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """An ImageFolder of 640x360 noisy frames where the chord is a bright block's place and colour."""
    rng = np.random.default_rng(seed)
    places = {"C": (40, 60), "G": (260, 150), "None": (470, 230)}
    colours = {"C": (230, 40, 40), "G": (40, 220, 40), "None": (40, 40, 230)}
    for chord in SQUARE_CHORDS:
        (root / chord).mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            frame = rng.integers(60, 120, (360, 640, 3), dtype=np.uint8)
            x, y = (v + int(rng.integers(-15, 16)) for v in places[chord])
            frame[y:y + 90, x:x + 130] = colours[chord]
            cv2.imwrite(str(root / chord / f"{n}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return root


def tiny_backbone(folder: Path, family: str) -> Path:
    """A tiny randomly initialised backbone and its image processor, saved like a hub checkpoint."""
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model, ViTConfig, ViTImageProcessor, ViTModel

    torch.manual_seed(0)
    if family == "dinov2":
        config = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                              image_size=56, patch_size=14)
        Dinov2Model(config).save_pretrained(folder)
        BitImageProcessor(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56},
                          image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    else:
        config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           image_size=48, patch_size=16)
        ViTModel(config).save_pretrained(folder)
        ViTImageProcessor(size={"height": 48, "width": 48}).save_pretrained(folder)
    return folder


def tiny_space_env(folder: Path, image: bool = False) -> dict[str, str]:
    """Save the tiny models in ``folder``; the environment that points the Space at them.

    Args:
        folder: where the models, the label store and the request folders go.
        image: set the random-weight CNN beside the landmark model (the two are fused).
    """
    # seed 4: on the sample clips this model answers C (seed 1 answers None, which leaves nothing to play)
    models = [tiny_landmark_model(folder / "tiny-landmarks", seed=4)]
    if image:
        models.append(tiny_cnn(folder / "tiny-cnn"))
    return {"CHORD_SPACE_MODELS": os.pathsep.join(map(str, models)), "CHORD_STUDIO_DATA": str(folder / "labels"),
            "CHORD_SPACE_TMP": str(folder / "requests"), "CHORD_SPACE_LABELS_REPO": "", "HF_TOKEN": ""}
