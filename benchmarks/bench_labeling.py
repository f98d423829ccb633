"""Label store speed on a store of 50,000 frames: add a frame with its prediction, write a label,
build the review queue (the issue's bars: under 10 ms, 10 ms and 1 s).

The store is built fast the way a bulk import builds it: tiny 8 x 8 PNG frames (unique random pixels),
inserted with :meth:`LabelStore.add_frames` in batches of 5,000 (one transaction each), every frame
with two models' predictions (one in five disagreeing) and half of them with a label. Timings are
medians over single operations, each its own transaction, as the labeling UI does them. Adding a frame
here stores it with a prediction already computed; detecting its hand costs about 30 ms more
(MediaPipe, DESIGN.md section 5), outside the store.

Run: ``python -m benchmarks.bench_labeling`` (about a minute on two cores; writes only to a temp folder).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import print_table
from labeling.queue import review_queue
from labeling.records import NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.chords import VOCABULARY

N_FRAMES = 50_000
BATCH = 5_000
REPEAT = 200


def _frame(rng: np.random.Generator, i: int, labeled: bool) -> NewFrame:
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    first = VOCABULARY[int(rng.integers(len(VOCABULARY)))]
    second = first if rng.random() > 0.2 else VOCABULARY[int(rng.integers(len(VOCABULARY)))]
    return NewFrame(
        source=f"bench-{i}", data=cv2.imencode(".png", image)[1].tobytes(), ext=".png", time=i / 5.0, frame_index=i,
        chord=first if labeled else None,
        predictions=(NewPrediction("landmarks", "v1", first, float(rng.uniform(0.2, 1.0))),
                     NewPrediction("image", "v1", second, float(rng.uniform(0.2, 1.0)))),
    )


def build_store(root: Path, n: int = N_FRAMES, seed: int = 0) -> float:
    """Fill a store with ``n`` tiny frames in bulk; returns the seconds it took."""
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    with LabelStore(root) as store:
        for first in range(0, n, BATCH):
            store.add_frames([_frame(rng, i, labeled=i % 2 == 0) for i in range(first, min(n, first + BATCH))])
    return time.perf_counter() - start


def _median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-labeling-") as scratch:
        root = Path(scratch) / "store"
        seconds = build_store(root)
        rng = np.random.default_rng(1)
        with LabelStore(root) as store:
            frames = store.stats().frames
            add_times, label_times, queue_times, queue_all_times = [], [], [], []
            for k in range(REPEAT):
                item = _frame(rng, N_FRAMES + k, labeled=False)
                start = time.perf_counter()
                store.add_frame(item)
                add_times.append(time.perf_counter() - start)
            ids = rng.integers(1, N_FRAMES + 1, REPEAT)
            for k, frame in enumerate(ids):
                start = time.perf_counter()
                store.set_label(int(frame), VOCABULARY[k % len(VOCABULARY)], author="bench")
                label_times.append(time.perf_counter() - start)
            for _ in range(5):
                start = time.perf_counter()
                queue = review_queue(store, limit=50)
                queue_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                review_queue(store, limit=50, status="all", model="landmarks")
                queue_all_times.append(time.perf_counter() - start)
            assert len(queue) == 50 and store.integrity_check() == "ok"
        print_table(
            f"Label store on {frames:,} frames (built in {seconds:.1f} s by bulk inserts of {BATCH:,} tiny frames)",
            ["operation", "median ms", "bar ms", "within bar"],
            [
                ["add a frame with its prediction", _median_ms(add_times), 10.0, _median_ms(add_times) < 10],
                ["write a label", _median_ms(label_times), 10.0, _median_ms(label_times) < 10],
                ["review queue, 50 of ~25,000 unlabeled", _median_ms(queue_times), 1000.0, _median_ms(queue_times) < 1000],
                ["review queue, 50 of all 50,000 (model filter)", _median_ms(queue_all_times), 1000.0,
                 _median_ms(queue_all_times) < 1000],
            ],
        )


if __name__ == "__main__":
    main()
