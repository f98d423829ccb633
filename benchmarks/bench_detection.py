r"""Fretboard detector: speed per frame at two input sizes, and (with ``--train``) the training recipe.

Speed (default)::

    python -m benchmarks.bench_detection [--weights best.pt] [--repeat 20]

times :meth:`pipeline.vision.detection.FretboardDetector.detect` on a 640x360 frame (median of repeats, after
a warm-up) at ``imgsz`` 320 and 640, and prints the ratio. Without ``--weights`` it times an untrained
``yolov8n.yaml`` network: the same architecture and arithmetic as trained YOLOv8n weights.

Training recipe (not part of the tests; about 10 minutes on two CPU cores)::

    python -m benchmarks.bench_detection --train --out /tmp/chord-detector \
        [--n-train 400 --n-val 80 --imgsz 320 --epochs 10 --warmup-epochs 1] \
        [--real ../shared/data/guitar-chords-real --show /tmp/det-show]

renders a synthetic YOLO set (:func:`tools.samplegen.datasets.make_yolo_dataset`) under ``--out``, trains
``yolov8n.yaml`` from scratch on it, prints training time and validation mAP50 / mAP50-95, then
times the trained model. With ``--real`` it also runs the detector over real frames (``val/<chord>/``,
a few per class) and reports how often it finds a fretboard; with ``--show`` it draws those frames
with the project's annotators into PNGs there, to look at. Real frames are only read, never copied.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from benchmarks.common import median_seconds, print_table


def _frame() -> np.ndarray:
    from tools.samplegen.render import render_frame

    frame, _ = render_frame("G", np.random.default_rng(7))
    return frame  # (360, 640, 3) RGB


def bench_speed(weights: str, repeat: int = 20) -> list[list[object]]:
    """Median ms per 640x360 frame at imgsz 320 and 640; rows for :func:`print_table`."""
    from pipeline.vision.detection import FretboardDetector

    frame = _frame()
    times = {}
    for imgsz in (320, 640):
        detector = FretboardDetector(weights, conf=0.25, imgsz=imgsz)
        times[imgsz] = median_seconds(lambda: detector.detect(frame), repeat=repeat, warmup=3) * 1000
    return [
        ["detect, imgsz 320", times[320], 1000 / times[320]],
        ["detect, imgsz 640", times[640], 1000 / times[640]],
        ["ratio 640 / 320", times[640] / times[320], ""],
    ]


def look_at_real_frames(weights: str, real: Path, per_class: int, imgsz: int, show: Path | None) -> list[list[object]]:
    """Detect on ``per_class`` real val frames of each class; rows of hit rate and scores."""
    import cv2

    from pipeline.vision.detection import FretboardDetector
    from pipeline.vision.drawing import BoxAnnotator, ChordLabelAnnotator

    detector = FretboardDetector(weights, conf=0.05, imgsz=imgsz)
    boxes, chords = BoxAnnotator(), ChordLabelAnnotator()
    scores, found25, count = [], 0, 0
    if show is not None:
        show.mkdir(parents=True, exist_ok=True)
    for folder in sorted(p for p in (real / "val").iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg"))[:per_class]:
            image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            detections = detector.detect(image)
            count += 1
            scores.append(detections.best_score or 0.0)
            found25 += bool(detections.above(0.25).scores.size)
            if show is not None:
                drawn = chords.annotate(boxes.annotate(image, detections.above(0.05)), folder.name)
                cv2.imwrite(str(show / f"{folder.name}-{path.stem}.png"), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
    scores = np.array(scores)
    return [
        ["real val frames", count, ""],
        ["with a box scoring >= 0.25", found25 / max(count, 1), ""],
        ["best score, median", float(np.median(scores)) if count else float("nan"), ""],
        ["best score, max", float(scores.max()) if count else float("nan"), ""],
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="detector weights to time (default: untrained yolov8n.yaml)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--train", action="store_true", help="train on a synthetic set first (the recipe)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/chord-detector"))
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--n-val", type=int, default=80)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--warmup-epochs", type=float, default=1.0, help="Ultralytics' default 3 wastes short runs")
    parser.add_argument("--real", type=Path, help="real frames root (ImageFolder with val/<chord>/)")
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--show", type=Path, help="folder for annotated PNGs of the real frames")
    args = parser.parse_args(argv)

    weights = args.weights or "yolov8n.yaml"
    if args.train:
        from pipeline.models.cards import read_card
        from pipeline.models.detector import train_detector
        from tools.samplegen.datasets import make_yolo_dataset

        start = time.perf_counter()
        data = args.out / "data" / "data.yaml"
        if not data.is_file():
            data = make_yolo_dataset(args.out / "data", args.n_train, args.n_val, seed=0, imgsz=max(args.imgsz, 320))
        rendered = time.perf_counter() - start
        start = time.perf_counter()
        weights = str(train_detector(data, args.out / "model", base="yolov8n.yaml", epochs=args.epochs,
                                     imgsz=args.imgsz, batch=args.batch, patience=args.epochs, seed=0,
                                     warmup_epochs=args.warmup_epochs))
        trained = time.perf_counter() - start
        card = read_card(args.out / "model")
        print_table(
            f"Fretboard detector trained from scratch on synthetic frames ({args.n_train} train / {args.n_val} val, "
            f"imgsz {args.imgsz}, {card['epochs_run']} epochs)",
            ["measure", "value"],
            [
                ["render data set, s", rendered],
                ["train, s", trained],
                ["val mAP50", card.metrics["mAP50"]],
                ["val mAP50-95", card.metrics["mAP50-95"]],
                ["val precision", card.metrics["precision"]],
                ["val recall", card.metrics["recall"]],
            ],
        )
    if args.real is not None:
        rows = look_at_real_frames(weights, args.real, args.per_class, args.imgsz, args.show)
        print_table(f"The synthetic-trained detector on real frames ({args.real})", ["measure", "value", ""], rows)
    print_table(
        "Fretboard detector speed, CPU, one 640x360 frame (median)",
        ["setting", "ms per frame", "frames per s"],
        bench_speed(weights, args.repeat),
    )


if __name__ == "__main__":
    main()
