"""Models compared on the same frames: the result of :func:`pipeline.compare.report.compare_models`, and
what is read from it (each model's top chords, the frame worth teaching, frame thumbnails)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipeline.compare.embeddings import ModelEmbedding
from pipeline.compare.maps import Separation
from pipeline.core.errors import InputError
from pipeline.core.types import ChordPrediction
from pipeline.models.datasets import LabeledImage
from pipeline.models.evaluation import EvaluationReport
from pipeline.vision.video import read_image

THUMB_SIZE = (64, 36)
"""(width, height) of hover thumbnails: a tenth of a 640x360 frame, about 1 KB as JPEG."""


@dataclass
class ModelComparison:
    """A model's row of the comparison: its embedding, maps, scores.

    Attributes:
        embedding: the :class:`ModelEmbedding`.
        maps: "tsne" / "pca" -> (n, 2) float, frame order, NaN for frames without an embedding.
        report: scores of its predictions over every frame (None for a model that does not classify).
        separation: how its embedding separates the chords.
    """

    embedding: ModelEmbedding
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    report: EvaluationReport | None = None
    separation: Separation = field(default_factory=Separation)

    @property
    def name(self) -> str:
        """The model's display name."""
        return self.embedding.name


@dataclass
class Comparison:
    """Models compared on the same frames.

    Attributes:
        frames: the labeled frames, in the order of every array here.
        labels: (n,) true chord per frame.
        models: one :class:`ModelComparison` per model, in the order given.
        thumbnails: per frame a small JPEG as a ``data:image/jpeg;base64,...`` URI ("" when not made).
        seconds: time per stage ("embed", "maps", "metrics", "figures", "report").
        html_path: the report, when written.
    """

    frames: list[LabeledImage]
    labels: np.ndarray
    models: list[ModelComparison]
    thumbnails: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    html_path: Path | None = None

    def model(self, name: str) -> ModelComparison:
        """The model of that name."""
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def metrics_rows(self) -> list[dict]:
        """The metrics table: one dict per model (NaN where a value does not apply)."""
        rows = []
        for m in self.models:
            e, r, s = m.embedding, m.report, m.separation
            rows.append({
                "model": m.name, "kind": e.kind, "embedding": e.description, "dim": e.dim,
                "embedded": f"{e.n_embedded}/{len(self.frames)}",
                "accuracy": r.accuracy if r else float("nan"),
                "macro_f1": r.macro_f1 if r else float("nan"),
                "coverage": r.coverage if r else float("nan"),
                "covered_accuracy": r.covered_accuracy if r else float("nan"),
                "knn_accuracy": s.knn_accuracy, "silhouette": s.silhouette,
                "per_class_f1": dict(r.per_class_f1) if r else {},
                "note": "; ".join(x for x in (e.note, s.note) if x),
            })
        return rows


def thumbnail_uri(path: str | Path, size: tuple[int, int] = THUMB_SIZE, quality: int = 70) -> str:
    """A tiny JPEG of an image file as a ``data:`` URI ("" when unreadable).

    Args:
        path: the image file.
        size: (width, height) it is fitted into, aspect kept.
        quality: JPEG quality.

    Returns:
        ``data:image/jpeg;base64,...``, or "" when the file cannot be read.
    """
    try:
        image = cv2.cvtColor(read_image(path), cv2.COLOR_RGB2BGR)  # checks the declared size first
    except InputError:
        return ""
    h, w = image.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return "data:image/jpeg;base64," + base64.b64encode(buffer.tobytes()).decode() if ok else ""


def default_teach_frame(comparison: Comparison) -> int:
    """The first frame where the models that classify disagree (else 0): the interesting one to teach."""
    answers = [m.embedding.predictions for m in comparison.models if m.embedding.predictions is not None]
    for i in range(len(comparison.frames)):
        if len({a[i].chord for a in answers}) > 1:
            return i
    return 0


def top_k(comparison: Comparison, frame: int, k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """Each classifying model's ``k`` most probable chords for one frame.

    Args:
        comparison: the comparison.
        frame: the frame's index.
        k: chords per model.

    Returns:
        Model name -> [(chord, probability)], most probable first; an empty list where the model could not
        decide the frame (no hand). Models that do not classify are left out.
    """
    out = {}
    for m in comparison.models:
        preds = m.embedding.predictions
        if preds is not None:
            out[m.name] = preds[frame].top(k) if preds[frame].covered else []
    return out


def frame_answers(comparison: Comparison, frame: int) -> dict[str, ChordPrediction]:
    """Each classifying model's answer for one frame (what a click on a map shows beside the frame).

    Args:
        comparison: the comparison.
        frame: the frame's index.

    Returns:
        Model name -> its :class:`~pipeline.core.types.ChordPrediction` (``covered`` False where it could
        not decide the frame), in the comparison's order; models that do not classify are left out.

    Raises:
        IndexError: ``frame`` is not one of the comparison's frames.
    """
    if not 0 <= frame < len(comparison.frames):
        raise IndexError(f"frame {frame} is not among the {len(comparison.frames)} frames compared")
    return {m.name: m.embedding.predictions[frame] for m in comparison.models if m.embedding.predictions is not None}


__all__ = ["THUMB_SIZE", "Comparison", "ModelComparison", "default_teach_frame", "frame_answers", "thumbnail_uri",
           "top_k"]
