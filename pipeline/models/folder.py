"""Training a chord model on one folder of labeled frames, as the Models page offers it (the CLI's
``train`` takes more options over the same readers)."""

from __future__ import annotations

from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.models.datasets import read_train_and_val
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import train_landmark_model_on_images

FOLDER_KINDS = ("landmarks", "cnn")
"""What the Models page trains from a folder: a landmark model or a compact CNN from scratch."""


def train_folder(folder: str | Path, kind: str, out: Path, report=print):
    """Train a chord model on a folder of labeled frames (``<folder>/<chord>/*.jpg`` or
    ``<folder>/<split>/<chord>/*.jpg``), as ``python -m pipeline train --kind KIND --data FOLDER`` does,
    and save it to ``out``.

    Args:
        folder: the ImageFolder tree.
        kind: "landmarks" or "cnn" (:data:`FOLDER_KINDS`).
        out: the model folder to write.
        report: called with one line per step (hands found, each candidate's or epoch's score).

    Returns:
        The trained model.

    Raises:
        InputError: an unknown kind, a folder that is not a labeled tree, too few frames per chord.
    """
    if kind not in FOLDER_KINDS:
        raise InputError(f"Unknown kind {kind!r}; choose one of {', '.join(FOLDER_KINDS)}.")
    root = Path(str(folder).strip()).expanduser()
    if not str(folder).strip() or not root.is_dir():
        raise InputError(f"{folder!s} is not a folder: give a folder of labeled frames, <folder>/<chord>/*.jpg.")
    images, val = read_train_and_val([root])
    trained_on = str(root.resolve())
    domains = sorted({image.domain for image in images if image.domain})
    report(f"{len(images)} training frames of {len({image.chord for image in images})} chords in {root.name}")
    if kind == "cnn":
        model = train_image_model(
            images, kind="cnn", val_images=val, trained_on=trained_on,
            progress=lambda epoch, metrics: report(f"epoch {epoch}: " + "  ".join(
                f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float))))
        model.save(out)
        return model
    return train_landmark_model_on_images(
        images, out, workers=1, trained_on=trained_on, domains=domains,
        hands_found=lambda hands: report(f"{sum(bool(h) for h in hands)} of {len(hands)} frames with a hand"),
        progress=lambda candidate, score: report(f"{candidate}: cross-validated accuracy {score:.3f}"))
