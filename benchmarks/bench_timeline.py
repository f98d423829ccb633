"""Timeline quality on the sample clips: per-frame argmax, the seed's one-second majority vote, Viterbi.

Each clip is analysed once (sample model, 5 fps); the three methods smooth the same per-frame
probabilities, so the table compares smoothing alone. Run: ``python -m benchmarks.bench_timeline``.
"""

from __future__ import annotations

import os

os.environ.setdefault("GLOG_minloglevel", "2")

from benchmarks.common import print_table
from pipeline.analyze import analyze_clip
from pipeline.config import SAMPLE_MEDIA_DIR
from pipeline.evaluation import score_timeline
from pipeline.registry import load_model_set
from pipeline.smoothing import METHODS, SmoothingSettings
from pipeline.timeline import Timeline


def main(clips=("progression", "strumming_em_d")) -> None:
    models = load_model_set([None])
    rows = []
    for clip in clips:
        truth = Timeline.load(SAMPLE_MEDIA_DIR / f"{clip}.timeline.json")
        analysis = analyze_clip(SAMPLE_MEDIA_DIR / f"{clip}.mp4", models, fps=5)
        for method in METHODS:
            score = score_timeline(analysis.resmoothed(SmoothingSettings(method=method)).timeline, truth)
            rows.append([clip, method, score.frame_accuracy, score.segment_f1, score.changes, score.true_changes,
                         score.spurious_changes])
    print_table(
        "timeline vs ground truth on the sample clips (sample landmark model, 5 fps)",
        ["clip", "method", "frame acc", "segment F1", "changes", "true", "spurious"],
        rows,
    )


if __name__ == "__main__":
    main()
