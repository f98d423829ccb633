"""Frames per second of chord analysis: the pipeline against a plain per-frame MediaPipe loop.

The plain loop is the seed's way: decode every frame, keep the sampled ones, run MediaPipe in image
mode on the full frame, classify each frame with its own ``predict_proba`` call. The pipeline skips
unneeded frames without decoding them, tracks the hand between frames (MediaPipe's video mode),
shrinks large frames to 640 px before detection, and classifies all frames in one call. On a folder
of images it detects in two processes and caches landmarks by file content.

A second table times whole analyses of a 30 s 640x360 clip (the progression sample three times) at
5 fps with each model set, against the clip's own length (real-time factor above 1: faster than it
plays). The real-data models (landmark SVM, CNN) are trained here first, in about a minute.

Run: ``python -m benchmarks.bench_analyze`` (about 4 minutes on two cores; needs the sample clips, and
the shared real frames for the image rows and the model-set rows).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import cv2
import numpy as np

from benchmarks.common import print_table
from pipeline.core.config import SAMPLE_MEDIA_DIR, get_settings
from pipeline.core.hands import HandSettings, HandsResult
from pipeline.models.datasets import LandmarkCache, extract_landmarks, read_image_folder
from pipeline.models.landmark import train_landmark_model_on_images
from pipeline.models.registry import load_landmark_model
from pipeline.timeline.analyze import analyze_clip
from pipeline.vision.hands import default_hand_workers
from pipeline.vision.video import iter_frames, probe, write_video


def plain_clip_loop(path: Path, model, fps: float) -> int:
    """The seed's way over a clip; returns the frames classified."""
    import mediapipe as mp

    capture = cv2.VideoCapture(str(path))
    step = capture.get(cv2.CAP_PROP_FPS) / fps
    done = index = 0
    next_pick = 0.0
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index >= next_pick - 1e-6:
                next_pick += step
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                result = HandsResult.from_mediapipe(hands.process(rgb), rgb.shape[1], rgb.shape[0])
                model.predict([result])
                done += 1
            index += 1
    capture.release()
    return done


def plain_image_loop(paths: list[Path], model) -> int:
    """The seed's way over image files; returns the images classified."""
    import mediapipe as mp

    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=2) as hands:
        for path in paths:
            rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            model.predict([HandsResult.from_mediapipe(hands.process(rgb), rgb.shape[1], rgb.shape[0])])
    return len(paths)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def clip_rows(model, fps: float = 5.0, repeat: int = 3) -> list[list]:
    clip = SAMPLE_MEDIA_DIR / "progression.mp4"
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        big = Path(scratch) / "progression_720p.mp4"
        write_video(big, (cv2.resize(f.image, (1280, 720)) for f in iter_frames(clip, fps=None)), probe(clip).fps)
        for name, path in [("sample clip 640x360", clip), ("sample clip 1280x720", big)]:
            plain = [timed(lambda: plain_clip_loop(path, model, fps)) for _ in range(repeat)]
            ours = [timed(lambda: len(analyze_clip(path, model, fps=fps).frames)) for _ in range(repeat)]
            n = ours[0][1]
            plain_s, ours_s = float(np.median([t for t, _ in plain])), float(np.median([t for t, _ in ours]))
            rows.append([name, n, n / plain_s, n / ours_s, plain_s / ours_s])
    return rows


def train_real_models(real: Path):
    """A landmark SVM and the default CNN on the real train split (as the CLI's defaults would)."""
    from pipeline.models.image.training import train_image_model

    train = read_image_folder(real, "train")
    landmarks = train_landmark_model_on_images(train, feature_versions=("raw63",), estimators=("svm",))
    return landmarks, train_image_model(train, kind="cnn")


def image_rows(real: Path, model) -> list[list]:
    paths = [image.path for image in read_image_folder(real, "val")]
    plain_s, _ = timed(lambda: plain_image_loop(paths, model))
    with tempfile.TemporaryDirectory() as scratch:
        cache = LandmarkCache(HandSettings(), folder=scratch)
        cold_s, _ = timed(lambda: model.predict(extract_landmarks(paths, cache=cache, workers=2)))
        warm_s, _ = timed(lambda: model.predict(extract_landmarks(paths, cache=cache)))
        cache.close()
    n = len(paths)
    return [
        ["real val frames, cold cache (2 processes)", n, n / plain_s, n / cold_s, plain_s / cold_s],
        ["real val frames, warm cache", n, n / plain_s, n / warm_s, plain_s / warm_s],
    ]


def model_set_rows(landmarks, cnn, repeat: int = 3) -> list[list]:
    from pipeline.core.types import ModelSet

    clip = SAMPLE_MEDIA_DIR / "progression.mp4"
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        long_clip = Path(scratch) / "progression_30s.mp4"
        frames = lambda: (f.image for _ in range(3) for f in iter_frames(clip, fps=None))  # noqa: E731
        write_video(long_clip, frames(), probe(clip).fps)
        seconds = probe(long_clip).duration
        plain = float(np.median([timed(lambda: plain_clip_loop(long_clip, landmarks, 5))[0] for _ in range(repeat)]))
        rows.append(["plain per-frame MediaPipe loop (landmarks)", f"{seconds:.0f} s", plain, seconds / plain, 1.0])
        for name, models, workers in [
            ("landmarks, 1 process", ModelSet(landmarks=landmarks), 1),
            ("landmarks + CNN (fused), 1 process", ModelSet(landmarks=landmarks, image=cnn), 1),
            ("landmarks", ModelSet(landmarks=landmarks), None), ("CNN (no MediaPipe)", ModelSet(image=cnn), None),
            ("landmarks + CNN (fused)", ModelSet(landmarks=landmarks, image=cnn), None),
        ]:
            run = lambda: analyze_clip(long_clip, models, fps=5, hand_workers=workers or default_hand_workers(),  # noqa: E731
                                       find_hands=None)
            run()  # warm: the hand-detection processes start once per process
            took = float(np.median([timed(run)[0] for _ in range(repeat)]))
            rows.append([name, f"{seconds:.0f} s", took, seconds / took, plain / took])
    return rows


def main() -> None:
    rows = clip_rows(load_landmark_model(None)) if "--sets-only" not in sys.argv else []
    real = get_settings().real_data
    set_rows = []
    if (real / "val").is_dir():
        landmarks, cnn = train_real_models(real)
        rows += image_rows(real, landmarks) if rows else []
        set_rows = model_set_rows(landmarks, cnn)
    else:
        print(f"(real frames not found at {real}: image and model-set rows skipped)")
    if load := os.getloadavg():
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    if rows:
        print_table(
            "analyze: frames per second, plain MediaPipe loop vs pipeline (median of runs; sampling 5 fps on clips)",
            ["input", "frames", "plain fps", "pipeline fps", "speed-up"],
            rows,
        )
    if set_rows:
        print_table(
            "analyze a 30 s 640x360 clip at 5 fps, by model set (median of 3)",
            ["models", "clip", "seconds", "x real time", "vs plain loop"],
            set_rows,
        )


if __name__ == "__main__":
    main()
