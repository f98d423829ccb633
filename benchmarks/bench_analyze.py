"""Frames per second of chord analysis: the pipeline against a plain per-frame loop.

The first table's plain loop is the seed's way: decode every frame, keep the sampled ones, run MediaPipe
in image mode on the full frame, classify each frame with its own ``predict_proba`` call. The pipeline
skips unneeded frames without decoding them, shrinks large frames to 640 px before detection, and
classifies all frames in one call. On a folder of images it detects in two processes and caches
landmarks by file content.

The second table times whole analyses of a 30 s 640x360 clip (the progression sample three times) at
5 fps with each model set, side by side with a plain loop of the same models (:func:`plain_set_loop`:
frame by frame in one process, hands found as the landmark model's card asks, each model called on one
frame at a time, one torch thread, its fastest setting here), run alternately so both see the same load.
The real-data models (landmark SVM, CNN) are trained here first, in about a minute.

Run: ``python -m benchmarks.bench_analyze`` (about 4 minutes on two cores; needs the sample clips, and
the shared real frames for the image rows and the model-set rows); ``--sets-only`` for the second table,
``--models LANDMARK_FOLDER CNN_FOLDER`` to time models trained before (``python -m pipeline train``).
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
from pipeline.core.types import ChordPrediction, ModelSet
from pipeline.models.datasets import LandmarkCache, extract_landmarks, read_image_folder
from pipeline.models.landmark import train_landmark_model_on_images
from pipeline.models.registry import load_landmark_model
from pipeline.models.image.inputs import torch_threads
from pipeline.timeline.analyze import analyze_clip, fuse_answers, hand_settings_for, image_model_input, sees_region
from pipeline.vision.hands import HandDetector, default_hand_workers
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


def plain_set_loop(path: Path, models: ModelSet, fps: float) -> list[tuple[dict[str, ChordPrediction],
                                                                          ChordPrediction]]:
    """A plain loop over a clip with a model set, one frame at a time in one process: decode every frame;
    for each sampled one find the hands as the landmark model's card asks (:class:`HandDetector`, image
    mode, the cascade where the card has it; no MediaPipe for a whole-frame image model alone), call the
    landmark model and the image model on that frame alone, fuse their answers; one torch thread.

    Returns:
        Per sampled frame: (each model's prediction by name, the fused prediction).
    """
    needs_hands = models.landmarks is not None or (models.image is not None and sees_region(models.image))
    capture = cv2.VideoCapture(str(path))
    step = capture.get(cv2.CAP_PROP_FPS) / fps
    index, next_pick, out = 0, 0.0, []
    with HandDetector(hand_settings_for(models)) as detector, torch_threads(1):
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index >= next_pick - 1e-6:
                next_pick += step
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                hands = detector.detect(rgb) if needs_hands else HandsResult((), None, rgb.shape[1], rgb.shape[0])
                answers = {}
                if models.landmarks is not None:
                    answers["landmarks"] = models.landmarks.predict([hands])[0]
                if models.image is not None:
                    answers["image"] = models.image.predict([image_model_input(rgb, models.image, None, hands)[0]])[0]
                out.append((answers, fuse_answers(answers, models.weights)))
            index += 1
    capture.release()
    return out


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


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its live child processes (the hand-detection pool; read
    from /proc, so children count on Linux only)."""
    import multiprocessing

    total = time.process_time()
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


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


def model_set_rows(landmarks, cnn, repeat: int = 5) -> list[list]:
    """Each model set's pipeline beside its plain loop (:func:`plain_set_loop`), run alternately; medians."""
    clip = SAMPLE_MEDIA_DIR / "progression.mp4"
    rows = []
    workers = default_hand_workers()
    with tempfile.TemporaryDirectory() as scratch:
        long_clip = Path(scratch) / "progression_30s.mp4"
        frames = lambda: (f.image for _ in range(3) for f in iter_frames(clip, fps=None))  # noqa: E731
        write_video(long_clip, frames(), probe(clip).fps)
        seconds = probe(long_clip).duration
        for name, models in [("landmarks", ModelSet(landmarks=landmarks)), ("CNN", ModelSet(image=cnn)),
                             ("landmarks + CNN (fused)", ModelSet(landmarks=landmarks, image=cnn))]:
            runs = {"plain per-frame loop": lambda models=models: plain_set_loop(long_clip, models, 5)}
            ways = [("pipeline (no MediaPipe)", 1)] if models.landmarks is None else [
                ("pipeline, 1 process", 1), (f"pipeline, {workers} hand processes", workers)]
            for label, hand_workers in ways:
                runs[label] = lambda models=models, hand_workers=hand_workers: analyze_clip(  # noqa: E731
                    long_clip, models, fps=5, hand_workers=hand_workers, find_hands=None)
            for run in runs.values():
                run()  # warm: models, and the hand-detection processes start once per process
            times: dict[str, list[float]] = {label: [] for label in runs}
            cpu: dict[str, list[float]] = {label: [] for label in runs}
            for _ in range(repeat):  # alternately, so a change of the machine's load hits every row alike
                for label, run in runs.items():
                    used = cpu_seconds()
                    times[label].append(timed(run)[0])
                    cpu[label].append(cpu_seconds() - used)
            plain = float(np.median(times["plain per-frame loop"]))
            for label, taken in times.items():
                took = float(np.median(taken))
                rows.append([name, label, took, seconds / took, plain / took, float(np.median(cpu[label]))])
    return rows


def main() -> None:
    before = os.getloadavg()
    rows = clip_rows(load_landmark_model(None)) if "--sets-only" not in sys.argv else []
    real = get_settings().real_data
    set_rows = []
    if "--models" in sys.argv:  # already trained: --models LANDMARK_FOLDER CNN_FOLDER
        from pipeline.models.registry import load_model

        at = sys.argv.index("--models")
        set_rows = model_set_rows(load_model(sys.argv[at + 1]), load_model(sys.argv[at + 2]))
    elif (real / "val").is_dir():
        landmarks, cnn = train_real_models(real)
        rows += image_rows(real, landmarks) if rows else []
        set_rows = model_set_rows(landmarks, cnn)
    else:
        print(f"(real frames not found at {real}: image and model-set rows skipped)")
    load = os.getloadavg()
    print(f"load average at the start {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    if rows:
        print_table(
            "analyze: frames per second, plain MediaPipe loop vs pipeline (median of runs; sampling 5 fps on clips)",
            ["input", "frames", "plain fps", "pipeline fps", "speed-up"],
            rows,
        )
    if set_rows:
        print_table(
            "analyze a 30 s 640x360 clip at 5 fps, by model set, beside a plain loop of the same models (median of 5; "
            "CPU s: this process and its hand processes)",
            ["models", "how", "seconds", "x real time", "vs plain loop", "CPU s"],
            set_rows,
        )


if __name__ == "__main__":
    main()
