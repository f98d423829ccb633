"""How well a chord model does on labeled frames: accuracy, coverage, F1, confusion matrix.

Coverage is the share of frames where the model could decide (for a landmark model: a hand was
found). A frame it could not decide counts as predicted ``None`` in the overall accuracy, so the
overall figure is honest about the frames the model cannot see.

Familiarity: of the frames the model decided and whose familiarity it knows (a model with a familiarity
reference, :attr:`~pipeline.core.types.ChordPrediction.familiar`), the share it calls familiar, and the
accuracy on those: in-domain accuracy measured where the model says it is in its domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY


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
        familiar_share: share of the frames with a known familiarity (decided by a model that has a
            familiarity reference) that the model calls familiar; None when no frame's is known.
        familiar_accuracy: accuracy on the frames it calls familiar (nan when none; None when unknown).
    """

    n: int
    accuracy: float
    coverage: float
    covered_accuracy: float
    macro_f1: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]
    familiar_share: float | None = None
    familiar_accuracy: float | None = None

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)

    @property
    def per_class_accuracy(self) -> dict[str, float]:
        """Chord -> share of its frames predicted right (recall), for the chords among the true ones."""
        return {c: row[i] / sum(row) for i, (c, row) in enumerate(zip(self.labels, self.confusion)) if sum(row)}

    def format_text(self) -> str:
        """A readable summary with the per-class F1 and the confusion matrix."""
        lines = [
            f"frames            {self.n}",
            f"accuracy          {self.accuracy:.3f}  (frames without a hand count as None)",
            f"coverage          {self.coverage:.3f}  (share of frames with a hand)",
            f"covered accuracy  {self.covered_accuracy:.3f}",
            f"macro F1          {self.macro_f1:.3f}",
            "per-class F1      " + "  ".join(f"{c} {f:.2f}" for c, f in self.per_class_f1.items()),
        ]
        if self.familiar_share is not None:
            lines += [f"familiar share    {self.familiar_share:.3f}  (of the decided frames)",
                      f"familiar accuracy {self.familiar_accuracy:.3f}  (accuracy on those frames)"]
        lines += [
            "confusion (rows true, columns predicted):",
            "      " + "".join(f"{c:>6}" for c in self.labels),
        ]
        lines += [f"{c:>6}" + "".join(f"{v:>6}" for v in row) for c, row in zip(self.labels, self.confusion)]
        return "\n".join(lines)


def evaluate_predictions(true: Sequence[str], predicted: Sequence[str],
                         covered: Sequence[bool] | None = None,
                         familiar: Sequence[bool | None] | None = None) -> EvaluationReport:
    """Score predicted chords against true chords: the one place every model's scores come from.

    A label outside the vocabulary (in ``true`` or ``predicted``) is scored like any other: it gets
    its own row and column, after the vocabulary's; a frame whose true chord the model never
    predicts is simply wrong.

    Args:
        true: true chord per frame.
        predicted: predicted chord per frame (``None`` for undecided frames).
        covered: whether the model could decide each frame (default: every frame).
        familiar: whether the model calls each frame familiar (None: unknown, as on undecided frames);
            default: unknown everywhere.

    Returns:
        The report; classes are those present in ``true`` or ``predicted``, in vocabulary order (labels
        outside the vocabulary last, sorted).
    """
    covered = [True] * len(true) if covered is None else covered
    true, predicted, covered = np.asarray(true), np.asarray(predicted), np.asarray(covered, dtype=bool)
    if not (len(true) == len(predicted) == len(covered)):
        raise ValueError("true, predicted and covered must have the same length")
    present = set(true) | set(predicted)
    labels = [c for c in VOCABULARY if c in present] + sorted(present - set(VOCABULARY))
    confusion = _confusion(true, predicted, labels)
    true_counts = confusion.sum(axis=1)
    # F1 = 2 TP / (true + predicted); every label is true or predicted somewhere, so no zero division
    f1 = 2.0 * np.diag(confusion) / (true_counts + confusion.sum(axis=0))
    per_class = {c: float(f1[i]) for i, c in enumerate(labels) if true_counts[i]}
    right = true == predicted
    if familiar is not None and len(familiar) != len(true):
        raise ValueError("true and familiar must have the same length")
    familiar_share = familiar_accuracy = None
    known = [k for k, flag in enumerate(familiar or []) if flag is not None and covered[k]]
    if known:
        familiar_frames = [k for k in known if familiar[k]]
        familiar_share = len(familiar_frames) / len(known)
        familiar_accuracy = float(right[familiar_frames].mean()) if familiar_frames else float("nan")
    return EvaluationReport(
        n=int(len(true)),
        accuracy=float(right.mean()) if len(true) else float("nan"),
        coverage=float(covered.mean()) if len(true) else float("nan"),
        covered_accuracy=float(right[covered].mean()) if covered.any() else float("nan"),
        macro_f1=float(np.mean(list(per_class.values()))) if per_class else float("nan"),
        per_class_f1=per_class,
        labels=labels,
        confusion=confusion.tolist(),
        familiar_share=familiar_share,
        familiar_accuracy=familiar_accuracy,
    )


def _confusion(true: np.ndarray, predicted: np.ndarray, labels: list[str]) -> np.ndarray:
    """Counts of (true, predicted) pairs: rows true, columns predicted, in the order of ``labels``."""
    index = {c: i for i, c in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), int)
    np.add.at(confusion, ([index[c] for c in true], [index[c] for c in predicted]), 1)
    return confusion


def evaluate_chord_predictions(true: Sequence[str], predictions: Sequence) -> EvaluationReport:
    """Score a model's :class:`~pipeline.core.types.ChordPrediction` per frame against true chords
    (:func:`evaluate_predictions`; a prediction that is not ``covered`` counts as undecided; its
    ``familiar`` flag gives the familiar share and accuracy)."""
    return evaluate_predictions(true, [p.chord for p in predictions], [p.covered for p in predictions],
                                [getattr(p, "familiar", None) for p in predictions])


CHANGE_TOLERANCE = 0.5
"""Seconds a predicted chord change may sit from a true one and still match it: half a beat at 60 BPM,
more than the ~0.3 s a hand takes to move between shapes and less than half the shortest chord that
real playing holds (about 1 s)."""


@dataclass
class TimelineScore:
    """How a predicted chord timeline matches the true one.

    A chord change is a boundary between neighbouring segments of different chords (neighbours of the
    same chord are joined first). A predicted change *matches* a true change at most ``tolerance``
    seconds away, one to one (each true change matches at most one predicted change).

    Attributes:
        frame_accuracy: share of time (sampled every ``step`` seconds) with the right chord.
        segment_precision, segment_recall, segment_f1: predicted segments matching a true segment one
            to one (same chord, overlap at least half their union).
        changes: chord changes in the prediction; true_changes: in the truth.
        spurious_changes: predicted changes that match no true change (a flicker counts two: there
            and back).
        missed_changes: true changes that no predicted change matches.
        change_precision, change_recall, change_f1: of the change points, from the matched count.
        tolerance: the matching tolerance in seconds.
    """

    frame_accuracy: float
    segment_precision: float
    segment_recall: float
    segment_f1: float
    changes: int
    true_changes: int
    spurious_changes: int
    missed_changes: int
    change_precision: float
    change_recall: float
    change_f1: float
    tolerance: float = CHANGE_TOLERANCE


def _merged(timeline) -> list[tuple[float, float, str]]:
    """Segments with neighbours of the same chord joined."""
    merged: list[list] = []
    for s in timeline.segments:
        if merged and merged[-1][2] == s.chord and abs(merged[-1][1] - s.start) < 1e-6:
            merged[-1][1] = s.end
        else:
            merged.append([s.start, s.end, s.chord])
    return [tuple(m) for m in merged]


def _f1(matches: int, predicted: int, true: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from a match count (an empty side scores 1 when both are empty)."""
    precision = matches / predicted if predicted else float(true == 0)
    recall = matches / true if true else float(predicted == 0)
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def _matched_changes(predicted: Sequence[float], true: Sequence[float], tolerance: float) -> int:
    """Most one-to-one pairs of a predicted and a true change time at most ``tolerance`` apart.

    Both lists are in time order; taking the earliest free true change in reach of each predicted
    one, in time order, gives a largest matching for points on a line.
    """
    matches, k = 0, 0
    for time in predicted:
        while k < len(true) and true[k] < time - tolerance:
            k += 1
        if k < len(true) and true[k] <= time + tolerance:
            matches, k = matches + 1, k + 1
    return matches


def score_timeline(predicted, truth, step: float = 0.04, tolerance: float = CHANGE_TOLERANCE) -> TimelineScore:
    """Score a predicted :class:`~pipeline.core.timeline.Timeline` against the true one.

    Args:
        predicted: the predicted timeline.
        truth: the ground truth.
        step: sampling step in seconds for the frame accuracy.
        tolerance: how far, in seconds, a predicted chord change may be from a true one to match it.

    Returns:
        The scores (see :class:`TimelineScore`); time not covered by any segment counts as ``None``.
    """
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
    precision, recall, f1 = _f1(matches, len(ours), len(theirs))
    changes, true_changes = [s[0] for s in ours[1:]], [s[0] for s in theirs[1:]]
    matched = _matched_changes(changes, true_changes, tolerance)
    change_precision, change_recall, change_f1 = _f1(matched, len(changes), len(true_changes))
    return TimelineScore(
        frame_accuracy=float(np.mean(right)) if len(right) else float("nan"),
        segment_precision=precision, segment_recall=recall, segment_f1=f1,
        changes=len(changes), true_changes=len(true_changes),
        spurious_changes=len(changes) - matched, missed_changes=len(true_changes) - matched,
        change_precision=change_precision, change_recall=change_recall, change_f1=change_f1, tolerance=tolerance,
    )
