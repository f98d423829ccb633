"""How well a chord model does on labeled frames: accuracy, coverage, F1, confusion matrix.

Coverage is the share of frames where the model could decide (for a landmark model: a hand was
found). A frame it could not decide counts as predicted ``None`` in the overall accuracy, so the
overall figure is honest about the frames the model cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pipeline.chords import VOCABULARY


@dataclass
class EvaluationReport:
    """Scores of one model on one set of frames.

    Attributes:
        n: frames evaluated.
        accuracy: share of all frames predicted right (undecided frames count as ``None``).
        coverage: share of frames the model could decide.
        covered_accuracy: accuracy on the decided frames only (nan when none).
        macro_f1: unweighted mean of the per-class F1 over ``labels``.
        per_class_f1: chord -> F1.
        labels: row / column order of ``confusion`` (vocabulary order).
        confusion: (len(labels), len(labels)) counts, rows true, columns predicted.
    """

    n: int
    accuracy: float
    coverage: float
    covered_accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    def format_text(self) -> str:
        """A readable summary with the per-class F1 and the confusion matrix."""
        lines = [
            f"frames            {self.n}",
            f"accuracy          {self.accuracy:.3f}  (frames without a hand count as None)",
            f"coverage          {self.coverage:.3f}  (share of frames with a hand)",
            f"covered accuracy  {self.covered_accuracy:.3f}",
            f"macro F1          {self.macro_f1:.3f}",
            "per-class F1      " + "  ".join(f"{c} {f:.2f}" for c, f in self.per_class_f1.items()),
            "confusion (rows true, columns predicted):",
            "      " + "".join(f"{c:>6}" for c in self.labels),
        ]
        lines += [f"{c:>6}" + "".join(f"{v:>6}" for v in row) for c, row in zip(self.labels, self.confusion)]
        return "\n".join(lines)


def evaluate_predictions(true: Sequence[str], predicted: Sequence[str], covered: Sequence[bool]) -> EvaluationReport:
    """Score predictions against true chords.

    Args:
        true: true chord per frame.
        predicted: predicted chord per frame (``None`` for undecided frames).
        covered: whether the model could decide each frame.

    Returns:
        The report; classes are those present in ``true`` or ``predicted``, in vocabulary order.
    """
    from sklearn.metrics import confusion_matrix, f1_score

    true, predicted, covered = np.asarray(true), np.asarray(predicted), np.asarray(covered, dtype=bool)
    if not (len(true) == len(predicted) == len(covered)):
        raise ValueError("true, predicted and covered must have the same length")
    present = set(true) | set(predicted)
    labels = [c for c in VOCABULARY if c in present] + sorted(present - set(VOCABULARY))
    right = true == predicted
    f1 = f1_score(true, predicted, labels=labels, average=None, zero_division=0) if len(true) else []
    true_labels = [c for c in labels if c in set(true)]
    per_class = {c: float(v) for c, v in zip(labels, f1) if c in true_labels}
    return EvaluationReport(
        n=int(len(true)),
        accuracy=float(right.mean()) if len(true) else float("nan"),
        coverage=float(covered.mean()) if len(true) else float("nan"),
        covered_accuracy=float(right[covered].mean()) if covered.any() else float("nan"),
        macro_f1=float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        per_class_f1=per_class,
        labels=labels,
        confusion=confusion_matrix(true, predicted, labels=labels).tolist() if len(true) else [],
    )
