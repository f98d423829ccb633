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


@dataclass
class TimelineScore:
    """How a predicted chord timeline matches the true one.

    Attributes:
        frame_accuracy: share of time (sampled every ``step`` seconds) with the right chord.
        segment_precision, segment_recall, segment_f1: predicted segments matching a true segment one
            to one (same chord, overlap at least half their union).
        changes: chord changes in the prediction; true_changes: in the truth.
    """

    frame_accuracy: float
    segment_precision: float
    segment_recall: float
    segment_f1: float
    changes: int
    true_changes: int

    @property
    def spurious_changes(self) -> int:
        """Changes beyond the true number (0 when the prediction changes no more often than the truth)."""
        return max(0, self.changes - self.true_changes)


def _merged(timeline) -> list[tuple[float, float, str]]:
    """Segments with neighbours of the same chord joined."""
    merged: list[list] = []
    for s in timeline.segments:
        if merged and merged[-1][2] == s.chord and abs(merged[-1][1] - s.start) < 1e-6:
            merged[-1][1] = s.end
        else:
            merged.append([s.start, s.end, s.chord])
    return [tuple(m) for m in merged]


def score_timeline(predicted, truth, step: float = 0.04) -> TimelineScore:
    """Score a predicted :class:`~pipeline.timeline.Timeline` against the true one.

    Args:
        predicted: the predicted timeline.
        truth: the ground truth.
        step: sampling step in seconds for the frame accuracy.

    Returns:
        The scores; time not covered by any segment counts as ``None``.
    """
    from pipeline.chords import NO_CHORD

    end = truth.duration or (truth.segments[-1].end if truth.segments else 0.0)
    times = np.arange(0.0, end, step)
    right = [(predicted.chord_at(t) or NO_CHORD) == (truth.chord_at(t) or NO_CHORD) for t in times]
    ours, theirs = _merged(predicted), _merged(truth)
    used: set[int] = set()
    matches = 0
    for start, stop, chord in ours:
        for k, (t_start, t_stop, t_chord) in enumerate(theirs):
            overlap = min(stop, t_stop) - max(start, t_start)
            union = max(stop, t_stop) - min(start, t_start)
            if k not in used and chord == t_chord and overlap > 0 and overlap / union >= 0.5:
                used.add(k)
                matches += 1
                break
    precision = matches / len(ours) if ours else 0.0
    recall = matches / len(theirs) if theirs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TimelineScore(
        frame_accuracy=float(np.mean(right)) if len(right) else float("nan"),
        segment_precision=precision, segment_recall=recall, segment_f1=f1,
        changes=max(0, len(ours) - 1), true_changes=max(0, len(theirs) - 1),
    )
