"""Image chord models: the compact CNN trained from scratch on the real frames, and inference speed.

Rows:

* the CNN's full training on ``train`` of the shared real frames (1,650), scored on EVERY ``val`` frame
  (340; ``None`` and no-hand frames included): minutes, epochs, accuracy, per-frame inference at batch
  1 and 32. The default recipe (72x128, 6 epochs) and a larger one (96x160, 8 epochs).
* out of domain (reported, never tuned on): the default CNN on the sample clips' frames (5 fps, their
  ground-truth timelines) and on synthetic renders of random scenes, guitars and hands.
* a DINOv2-small-sized backbone (hidden 384, 12 layers, 6 heads, random weights: no network here) at
  224x224 through the same ``predict_proba`` path, per frame at batch 1 and 8.

Run: ``python -m benchmarks.bench_image_models [--quick] [--threads 2]`` (about 5 minutes on two idle
cores, 10 on busy ones; ``--quick`` skips the second recipe). Needs the shared real frames for the CNN rows.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from benchmarks.common import median_seconds, print_table
from pipeline.core.config import SAMPLE_MEDIA_DIR, get_settings
from pipeline.models.cards import ImageModelCard
from pipeline.models.datasets import read_image_folder
from pipeline.models.evaluation import evaluate_predictions
from pipeline.models.image.training import train_image_model
from pipeline.models.image.transformer import TransformerChordModel

RECIPES = (("default 72x128", (72, 128), 6), ("larger 96x160", (96, 160), 8))


def _per_frame_ms(model, frames: list[np.ndarray], batch: int) -> float:
    chunk = (frames * (batch // len(frames) + 1))[:batch]
    # many repeats: other jobs share this machine's cores, and the median shrugs off their bursts
    return 1000 * median_seconds(lambda: model.predict_proba(chunk), repeat=max(5, 64 // batch), warmup=2) / batch


def sample_clip_frames(fps: float = 5.0) -> tuple[list[np.ndarray], list[str]]:
    """Frames of the committed sample clips at ``fps`` with their ground-truth chords (change moments skipped)."""
    from pipeline.core.timeline import Timeline
    from pipeline.vision.video import iter_frames

    frames, truth = [], []
    for clip in sorted(SAMPLE_MEDIA_DIR.glob("*.mp4")):
        timeline = Timeline.load(clip.with_suffix(".timeline.json"))
        for frame in iter_frames(clip, fps=fps):
            chord = timeline.chord_at(frame.time)
            near_change = any(abs(frame.time - s.start) < 0.2 for s in timeline.segments if s.start > 0)
            if chord is not None and not near_change:
                frames.append(frame.image)
                truth.append(chord)
    return frames, truth


def synthetic_frames(classes: list[str], per_class: int = 10, seed: int = 99) -> tuple[list[np.ndarray], list[str]]:
    """Renders of random scenes (camera, guitar, hand, light); a third of ``None`` frames show no hand."""
    from tools.samplegen.render import render_frame

    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for chord in classes:
        for n in range(per_class):
            frame, _ = render_frame(chord, rng, hand=not (chord == "None" and n % 3 == 0))
            frames.append(frame)
            truth.append(chord)
    return frames, truth


def dinov2_small_row(threads: int) -> list[object]:
    """A randomly initialised DINOv2-small-sized backbone behind a linear head, timed at 224x224."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    backbone = Dinov2Model(Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                                        image_size=224, patch_size=14))
    classes = ["A", "C", "G", "None"]
    card = ImageModelCard(kind="image", mode="fine-tune", backbone="random Dinov2Config (small size)",
                          input_size=[224, 224], classes=classes, embedding_dim=768)
    model = TransformerChordModel(backbone, None, torch.nn.Linear(768, len(classes)), card)
    frames = [np.random.default_rng(k).integers(0, 255, (360, 640, 3), dtype=np.uint8) for k in range(8)]
    torch.set_num_threads(threads)
    params = sum(p.numel() for p in backbone.parameters()) / 1e6
    return [f"DINOv2-small size ({params:.0f} M params, random)", "224x224", "-", "-", "-", "-",
            _per_frame_ms(model, frames, 1), _per_frame_ms(model, frames, 8), "batch 8"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the default recipe")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    root = get_settings().real_data
    rows, ood_rows = [], []
    columns = ["model", "input", "train min", "epochs (best)", "val acc (all frames)", "val frames",
               "ms/frame b1", "ms/frame b32", "note"]
    if (root / "train").is_dir():
        train, val = read_image_folder(root, "train"), read_image_folder(root, "val")
        recipes = RECIPES[:1] if args.quick else RECIPES
        clip_frames, clip_truth = sample_clip_frames()
        for k, (name, size, epochs) in enumerate(recipes):
            start = time.perf_counter()
            model = train_image_model(train, kind="cnn", epochs=epochs, input_size=size, threads=args.threads,
                                      seed=0, val_images=val, trained_on=str(root),
                                      progress=lambda e, m: print(f"  {name} epoch {e}: " + ", ".join(
                                          f"{key} {v:.3f}" for key, v in m.items() if key != "epoch"), flush=True))
            minutes = (time.perf_counter() - start) / 60
            frames = [np.zeros((360, 640, 3), np.uint8) + 90]
            card = model.card
            rows.append([f"CNN from scratch, {name}", f"{size[0]}x{size[1]}", minutes,
                         f"{card.epochs_run} ({card.best_epoch})", card.metrics["val_accuracy"],
                         card.metrics["val_n"], _per_frame_ms(model, frames, 1), _per_frame_ms(model, frames, 32),
                         f"{len(train)} train frames"])
            if k == 0:
                classes = model.classes
                predicted = [p.chord for p in model.predict(clip_frames)]
                clips = evaluate_predictions(clip_truth, predicted)
                ood_rows.append([f"CNN {name}", "sample clips (synthetic), 5 fps", clips.n, clips.accuracy,
                                 f"{1 / len(classes):.3f}", _top_predictions(predicted)])
                renders, render_truth = synthetic_frames(classes)
                predicted = [p.chord for p in model.predict(renders)]
                report = evaluate_predictions(render_truth, predicted)
                ood_rows.append([f"CNN {name}", "random synthetic scenes", report.n, report.accuracy,
                                 f"{1 / len(classes):.3f}", _top_predictions(predicted)])
    else:
        print(f"real frames not found at {root}: CNN rows skipped")
    rows.append(dinov2_small_row(args.threads))
    load_after = os.getloadavg()
    print_table(f"Image chord models (torch threads {args.threads}; load average before "
                f"{load_before[0]:.1f}, after {load_after[0]:.1f} on {os.cpu_count()} cores)", columns, rows)
    if ood_rows:
        print_table("Out of domain: the real-trained CNN on frames unlike its training ones (reported, not tuned on)",
                    ["model", "frames", "n", "accuracy", "chance", "most predicted"], ood_rows)
    return 0


def _top_predictions(predicted: list[str]) -> str:
    names, counts = np.unique(predicted, return_counts=True)
    order = np.argsort(-counts)[:3]
    return ", ".join(f"{names[i]} {counts[i]}" for i in order)


if __name__ == "__main__":
    raise SystemExit(main())
