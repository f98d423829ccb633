"""Timeline quality on the sample clips: per-frame argmax, the seed's one-second majority vote, Viterbi.

Each clip is analysed once per sampling rate (sample model, 5 and 10 fps); the three methods smooth
the same per-frame probabilities, so the table compares smoothing alone. At 10 fps each one-second
window holds twice as many frames, and a window split between two chords can flip the vote. ``progression`` changes chords on whole
seconds, exactly where the majority vote's one-second windows cut, and ``strumming_em_d`` every 1.5 s;
both change on sampled frames. ``progression_108bpm`` changes at 108 BPM in bars and half bars, off
the whole seconds and off the 0.2 s sampling grid, as real playing does.

Columns (see :func:`pipeline.models.evaluation.score_timeline`):

- frame acc: share of the clip's time with the right chord (sampled every 0.04 s).
- segment F1: predicted segments matching true ones one to one (same chord, overlap at least half
  their union).
- changes / true: chord changes (boundaries between segments of different chords) predicted / true.
- spurious: predicted changes with no true change within 0.5 s (``CHANGE_TOLERANCE``; each true change
  matches at most one predicted change), so a one-frame flicker counts two: there and back. A change
  to the wrong chord at the right time is not spurious (frame acc and segment F1 count it).
  missed: true changes with no predicted change within 0.5 s.
- change P / R / F1: precision, recall and F1 of the predicted change points under that matching.

Run: ``python -m benchmarks.bench_timeline`` (about 30 s on two cores once the sample model is built,
which takes under a minute on first use).
"""

from __future__ import annotations

import os

os.environ.setdefault("GLOG_minloglevel", "2")

from benchmarks.common import print_table
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.timeline import Timeline
from pipeline.models.evaluation import CHANGE_TOLERANCE, score_timeline
from pipeline.models.registry import load_model_set
from pipeline.timeline.analyze import analyze_clip, resmooth
from pipeline.timeline.smoothing import METHODS, SmoothingSettings

CLIPS = ("progression", "strumming_em_d", "progression_108bpm")
RATES = (5, 10)
ROW_ORDER = tuple(reversed(METHODS))  # the baselines first, Viterbi last


def main(clips=CLIPS, rates=RATES) -> None:
    models = load_model_set([None])
    rows = []
    for fps in rates:
        for clip in clips:
            truth = Timeline.load(SAMPLE_MEDIA_DIR / f"{clip}.timeline.json")
            analysis = analyze_clip(SAMPLE_MEDIA_DIR / f"{clip}.mp4", models, fps=fps)
            for method in ROW_ORDER:
                score = score_timeline(resmooth(analysis, SmoothingSettings(method=method)).timeline, truth)
                rows.append([fps, clip, "majority 1 s" if method == "majority" else method, score.frame_accuracy,
                             score.segment_f1, score.changes, score.true_changes, score.spurious_changes,
                             score.missed_changes, score.change_precision, score.change_recall, score.change_f1])
    print_table(
        f"timeline vs ground truth on the sample clips (sample landmark model; changes match within "
        f"{CHANGE_TOLERANCE:g} s)",
        ["fps", "clip", "method", "frame acc", "segment F1", "changes", "true", "spurious", "missed", "change P",
         "change R", "change F1"],
        rows,
    )


if __name__ == "__main__":
    main()
