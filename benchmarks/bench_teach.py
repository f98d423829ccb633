"""Teach it your guitar: wall time from clips to a usable pair of models, and its accuracy on frames held
out by time, against today's ``train`` on the same span of frames; and a learning curve.

Clips are made of the shared real frames (``<real>/train/<chord>/*.jpg``; consecutive file numbers are
neighbouring frames of a recording): the first ``TEACH_FRAMES`` frames of each chord become a 4 s clip,
the last ``TEST_FRAMES`` are the test frames (later in time, never trained on).

    python -m benchmarks.bench_teach [--real DIR] [--skip-curve]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import print_table
from pipeline.core.config import get_settings
from pipeline.core.hands import CASCADE_HANDS
from pipeline.models.datasets import LabeledImage, extract_landmarks
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import train_landmark_model, train_landmark_model_on_images
from pipeline.models.registry import load_model_set
from pipeline.teach.clips import TEACH_FPS
from pipeline.teach.training import CNN_EPOCHS, teach
from pipeline.timeline.analyze import predict_image_files
from pipeline.vision.video import read_image, write_video

CLIP_FPS = 30.0
TEACH_FRAMES = 120
"""4 s at 30 fps."""
TEST_FRAMES = 30
GAP_FRAMES = 30
"""Frames just before the test frames that no row trains on: teach holds out the last quarter of each clip
(its last 30 frames), so every row learns from the same span, the first 90 frames of each chord."""
CURVE = (5, 10, 20, 50, 90)


def ordered_frames(folder: Path) -> list[Path]:
    """A chord folder's frames in recording order (by the number in the file name)."""
    return sorted(folder.glob("*.jpg"), key=lambda p: int(re.findall(r"\d+", p.stem)[-1]))


def make_clips(real: Path, out: Path) -> tuple[list[Path], list[LabeledImage]]:
    """One 4 s clip per chord (named after it) and the later frames held out as test frames."""
    clips, test = [], []
    for chord_dir in sorted(p for p in (real / "train").iterdir() if p.is_dir()):
        frames = ordered_frames(chord_dir)
        clip = out / f"{chord_dir.name}.mp4"
        write_video(clip, (read_image(p) for p in frames[:TEACH_FRAMES]), CLIP_FPS)
        clips.append(clip)
        test += [LabeledImage(p, chord_dir.name) for p in frames[-TEST_FRAMES:]]
    return clips, test


def accuracy(models, images: list[LabeledImage]) -> dict[str, float]:
    """Per-model and fused accuracy on labeled images."""
    fused, by_model = predict_image_files(models, [i.path for i in images])
    truth = [i.chord for i in images]
    score = {name: float(np.mean([p.chord == t for p, t in zip(preds, truth)])) for name, preds in by_model.items()}
    familiar = [p.familiar for p in fused if p.familiar is not None]
    return {**score, "fused": float(np.mean([p.chord == t for p, t in zip(fused, truth)])),
            "familiar": float(np.mean(familiar)) if familiar else float("nan")}


def bench_teach(clips: list[Path], test: list[LabeledImage], work: Path, fps: float = TEACH_FPS,
                epochs: int = CNN_EPOCHS) -> list:
    """Teach from the clips (at ``fps``, ``epochs`` CNN epochs) and score the pair on the test frames."""
    started = time.perf_counter()
    result = teach(clips, work / "taught", name="bench", fps=fps, epochs=epochs)
    seconds = time.perf_counter() - started
    score = accuracy(load_model_set([str(p) for p in result.model_folders()]), test)
    return [f"teach ({len(clips)} clips x 4 s, {fps:g} fps)", f"{seconds:.0f}", result.n_train,
            f"{result.accuracy.get('fused', 0):.3f}",
            f"{score['landmarks']:.3f}", f"{score['image']:.3f}", f"{score['fused']:.3f}", f"{score['familiar']:.3f}"]


def training_frames(real: Path) -> dict[str, list[Path]]:
    """Each chord's frames that a row may train on: all but the last ``TEST_FRAMES + GAP_FRAMES``."""
    return {d.name: ordered_frames(d)[:-(TEST_FRAMES + GAP_FRAMES)]
            for d in sorted((real / "train").iterdir()) if d.is_dir()}


def bench_train(real: Path, test: list[LabeledImage], work: Path) -> list:
    """Today's ``train`` (landmarks and cnn, default recipe) on every frame a row may train on."""
    images = [LabeledImage(p, chord) for chord, paths in training_frames(real).items() for p in paths]
    started = time.perf_counter()
    train_landmark_model_on_images(images, work / "lm")
    train_image_model(images, "cnn", out=work / "cnn")
    seconds = time.perf_counter() - started
    score = accuracy(load_model_set([str(work / "lm"), str(work / "cnn")]), test)
    return ["train (same span, every frame)", f"{seconds:.0f}", len(images), "-",
            f"{score['landmarks']:.3f}", f"{score['image']:.3f}", f"{score['fused']:.3f}", f"{score['familiar']:.3f}"]


def learning_curve(real: Path, test: list[LabeledImage], work: Path) -> list[list]:
    """Accuracy on the test frames against training frames per chord (the earliest N of each chord)."""
    rows = []
    by_chord = training_frames(real)
    for n in CURVE:
        images = [LabeledImage(p, chord) for chord, paths in by_chord.items()
                  for p in paths[:: max(1, len(paths) // n)][:n]]
        started = time.perf_counter()
        hands = extract_landmarks([i.path for i in images], CASCADE_HANDS)
        try:
            lm = train_landmark_model(hands, [i.chord for i in images], estimators=("svm",), folds=3,
                                      hand_settings=CASCADE_HANDS)
            lm.save(work / f"lm{n}")
            specs = [str(work / f"lm{n}")]
        except Exception as error:  # too few hands for a chord at the smallest sizes
            print(f"  landmarks at {n}/chord: {error}")
            specs = []
        train_image_model(images, "cnn", epochs=CNN_EPOCHS, patience=CNN_EPOCHS, out=work / f"cnn{n}")
        specs.append(str(work / f"cnn{n}"))
        seconds = time.perf_counter() - started
        score = accuracy(load_model_set(specs), test)
        rows.append([n, len(images), f"{seconds:.0f}", f"{score.get('landmarks', float('nan')):.3f}",
                     f"{score['image']:.3f}", f"{score['fused']:.3f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=get_settings().real_data)
    parser.add_argument("--skip-curve", action="store_true")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--fps", type=float, nargs="+", default=[TEACH_FPS], help="teach at each of these rates")
    parser.add_argument("--epochs", type=int, default=CNN_EPOCHS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips, test = make_clips(args.real, work)
        rows = [bench_teach(clips, test, work, fps, args.epochs) for fps in args.fps]
        if not args.skip_train:
            rows.append(bench_train(args.real, test, work))
        print_table(f"Clips to models ({len(test)} test frames: the last {TEST_FRAMES} of each chord)",
                    ["how", "seconds", "frames", "held-out fused", "test landmarks", "test cnn", "test fused",
                     "test familiar"], rows)
        if not args.skip_curve:
            print_table("Learning curve (test frames as above)",
                        ["frames/chord", "frames", "seconds", "landmarks", "cnn", "fused"],
                        learning_curve(args.real, test, work))


if __name__ == "__main__":
    main()
