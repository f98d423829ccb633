"""Clips per minute of ``batch`` on a local Ray with 1 and 2 workers, against a plain loop of analyses.

The corpus is the sample clips, copied ``--copies`` times (each copy its own clip). The plain loop
runs ``analyze_clip`` on each clip in turn in this process, models loaded once, as a script would; the
batch rows include starting Ray and loading the models in each worker (what a user waits for).

Run: ``python -m benchmarks.bench_batch [--copies 3]`` (about 2 minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from benchmarks.common import print_table
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.models.registry import load_model_set
from pipeline.timeline.analyze import analyze_clip
from pipeline.timeline.batch import BatchSettings, run_batch

CLIPS = ["progression", "progression_108bpm", "strumming_em_d", "no_hand"]


def corpus(folder: Path, copies: int) -> list[Path]:
    """The sample clips, ``copies`` times over, in ``folder``."""
    paths = []
    for k in range(copies):
        for name in CLIPS:
            path = folder / f"{name}_{k}.mp4"
            shutil.copy(SAMPLE_MEDIA_DIR / f"{name}.mp4", path)
            paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clips = corpus(Path(scratch), args.copies)
        models = load_model_set([None])
        began = time.perf_counter()
        for clip in clips:
            analyze_clip(clip, models, fps=5, hand_workers=1)
        plain_s = time.perf_counter() - began
        rows = [["plain loop of analyze_clip (1 process)", len(clips), plain_s, 60 * len(clips) / plain_s, 1.0, ""]]
        per_worker = {}
        for workers in (1, 2):
            began = time.perf_counter()
            out = Path(scratch) / f"out{workers}"
            summary = run_batch(clips, out, BatchSettings(), workers=workers, progress=False)
            took = time.perf_counter() - began
            analysis_s = float(summary["seconds"].sum())
            per_worker[workers] = 60 * len(clips) / took
            rows.append([f"batch, {workers} Ray worker(s)", len(clips), took, per_worker[workers], plain_s / took,
                         f"{60 * len(clips) / analysis_s:.1f}"])
    load = os.getloadavg()
    print_table(
        f"batch: clips per minute (sample clips of 3-10 s, 5 fps, sample landmark model; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs)",
        ["run", "clips", "seconds", "clips / min", "vs plain loop", "clips / worker-min (analysis only)"],
        rows,
    )
    print(f"scaling 1 -> 2 workers: {per_worker[2] / per_worker[1]:.2f}x")


if __name__ == "__main__":
    main()
