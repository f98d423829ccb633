"""Explanations: plain Captum occlusion versus the fast paths, on the same models and frames.

The issue's bar: the default explanation of a 640x360 frame at least 10x faster than plain Captum at
the seed's full-frame settings (a 60x60 window, stride 20: 480 windows), with a map correlation of at
least 0.95 to plain Captum's. The default IS the seed's window and stride (scaled to the frame), evaluated
coarse to fine (``method="adaptive"``, see :mod:`pipeline.explain.adaptive`), so both columns compare with the
same reference.

Models and frames (``--frames`` real val frames of different chords, every one 640x360; seconds are
medians over the frames, the ratio's and the correlation's median and minimum are given):

* the compact CNN trained from scratch on the real train split (as ``python -m pipeline train --kind
  cnn`` does; about a minute on two idle cores, or ``--model FOLDER`` to reuse one);
* with ``--vit FOLDER``, a transformers model: the folder if it holds one, otherwise a small DINOv2
  (hidden 96, 4 layers, 3 heads, patch 14, 224 px) fine-tuned from scratch on the real train split and
  saved there (about 15 minutes on two idle cores; val accuracy 0.94). No pretrained DINOv2 can be
  downloaded here, and a DINOv2-small trained from scratch on two cores is out of reach;
* a DINOv2-small-sized ViT at 224 px (hidden 384, 12 layers, 6 heads, patch 14) with RANDOM weights, on
  the first frame. Its maps are those of an untrained network, closer to noise than to a hand, so its
  correlations say little about a trained ViT; its seconds say what the passes cost. Plain Captum over
  it at the seed's settings is 480 single-image passes (minutes); by default that row is ESTIMATED:
  seconds = 480 x the median of 12 timed single-image plain passes, map computed exactly (the same
  Captum Occlusion on the full frame, batched: the same numbers). ``--full`` runs it for real.

Methods: ``plain`` (Captum, one copy per pass, full frame), ``batched`` (Captum over a mask, frame resized
once), ``tokens`` (Captum over patches, ViT), ``adaptive`` with ``refine=0`` (every window, computed
directly: Captum's numbers), and the default (``adaptive``, refine 0.3: the tiling windows, grown along
the evidence).

Run: ``python -m benchmarks.bench_explain [--frames 8] [--model CNN_FOLDER] [--vit FOLDER] [--threads 2] [--full]``
(about 4 minutes on two idle cores with the CNN's training and a trained ViT folder).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from benchmarks.common import print_table
from pipeline.explain.attribution import map_correlation
from pipeline.explain.checks import SEED_STRIDE, SEED_WINDOW
from pipeline.explain.service import explain_frame


def _vit():
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from pipeline.models.cards import ImageModelCard
    from pipeline.models.image.transformer import TransformerChordModel

    torch.manual_seed(0)
    backbone = Dinov2Model(Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                                        image_size=224, patch_size=14))
    classes = ["A", "C", "D", "E", "G", "None"]
    card = ImageModelCard(kind="image", mode="fine-tune", backbone="random Dinov2Config (small size)",
                          input_size=[224, 224], classes=classes, embedding_dim=768)
    return TransformerChordModel(backbone, None, torch.nn.Linear(768, len(classes)), card)


def _real_frames(n: int) -> list[tuple[str, np.ndarray]]:
    """``n`` real val frames of different chords (name, RGB 640x360)."""
    import cv2

    from pipeline.core.config import get_settings
    from pipeline.models.datasets import read_image_folder
    from pipeline.models.image.inputs import read_rgb

    images = read_image_folder(get_settings().real_data, "val")
    chosen, seen = [], set()
    for image in images:
        if image.chord not in seen:
            seen.add(image.chord)
            frame = read_rgb(image.path)
            chosen.append((f"{image.chord} {image.path.name}", cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA)))
        if len(chosen) == n:
            break
    return chosen


def _trained_cnn(folder: str | None):
    from pipeline.core.config import get_settings
    from pipeline.models.datasets import read_image_folder
    from pipeline.models.image.loading import load_image_model
    from pipeline.models.image.training import train_image_model

    if folder:
        return load_image_model(folder)
    print("training the CNN on the real train split...", flush=True)
    return train_image_model(read_image_folder(get_settings().real_data, "train"), kind="cnn", seed=0)


def _trained_vit(folder: str):
    """The transformers model in ``folder``, or a small DINOv2 fine-tuned from scratch on the real train
    split and saved there."""
    from pathlib import Path

    from pipeline.models.image.loading import load_image_model

    if (Path(folder) / "card.json").is_file():
        return load_image_model(folder)
    import time

    import torch
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    from pipeline.core.config import get_settings
    from pipeline.models.datasets import read_image_folder
    from pipeline.models.image.training import train_image_model

    print(f"training a small DINOv2 on the real train split into {folder} (about 15 minutes)...", flush=True)
    torch.manual_seed(0)
    backbone = Path(folder) / "initial-backbone"
    Dinov2Model(Dinov2Config(hidden_size=96, num_hidden_layers=4, num_attention_heads=3, intermediate_size=384,
                             image_size=224, patch_size=14)).save_pretrained(backbone)
    BitImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224},
                      image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(backbone)
    real, start = get_settings().real_data, time.perf_counter()
    return train_image_model(read_image_folder(real, "train"), kind="image", backbone=str(backbone), mode="fine-tune",
                             epochs=40, lr=1e-3, patience=8, out=folder, val_images=read_image_folder(real, "val"),
                             progress=lambda epoch, metrics: print(epoch, metrics, f"{time.perf_counter() - start:.0f} s",
                                                                   flush=True))


def _plain_estimated(frame, model, window, stride):
    """Plain Captum's map at these settings, computed batched (identical numbers), and its seconds
    estimated as passes x the median single-image pass."""
    import statistics
    import time

    import torch
    from captum.attr import Occlusion

    from pipeline.explain.attribution import Attribution
    from pipeline.explain.checks import window_and_stride, window_positions
    from pipeline.explain.forward import baseline_image, probabilities_fn, resize_batch, to_tensor
    from pipeline.models.image.inputs import normalise

    window, stride = window_and_stride(frame.shape, window, stride)
    probabilities = probabilities_fn(model)

    def forward(x):
        return probabilities(normalise(resize_batch(x, model.input_size), model.card.mean, model.card.std))

    x = to_tensor(frame)
    base = baseline_image(x, "zero", window)
    times = []
    with torch.no_grad():
        p = forward(x)[0].numpy()
        for _ in range(12):
            occluded = x.clone()
            occluded[..., :window[0], :window[1]] = 0
            start = time.perf_counter()
            forward(occluded)
            times.append(time.perf_counter() - start)
    index = int(np.argmax(p))
    with torch.inference_mode():
        attribution = Occlusion(forward).attribute(x, sliding_window_shapes=(3, *window), strides=(3, *stride),
                                                   baselines=base, target=index, perturbations_per_eval=16)
    passes = (window_positions(frame.shape[0], window[0], stride[0])
              * window_positions(frame.shape[1], window[1], stride[1]))
    return Attribution(attribution[0].mean(0).numpy(), model.classes[index], float(p[index]),
                       {"method": "plain (estimated)", "passes": passes}, passes * statistics.median(times))


def _rows(name: str, model, frames, methods, estimate_plain: bool = False) -> list[list]:
    """One row per method: passes, median seconds, x = plain seconds / these, map correlation with plain."""
    import statistics

    seed = {"window": SEED_WINDOW, "stride": SEED_STRIDE}
    results: dict[str, list] = {}
    for label, frame in frames:
        plain = (_plain_estimated(frame, model, **seed) if estimate_plain
                 else explain_frame(frame, model, method="plain", **seed))
        print(f"{name} {label}: plain {plain.seconds:.1f} s", flush=True)
        results.setdefault(plain.settings["method"], []).append((plain, plain))
        for method, kwargs in methods:
            result = explain_frame(frame, model, **kwargs)
            results.setdefault(method, []).append((plain, result))
    rows = []
    for method, pairs in results.items():
        plain_s = statistics.median(p.seconds for p, _ in pairs)
        seconds = statistics.median(r.seconds for _, r in pairs)
        ratios = [p.seconds / r.seconds for p, r in pairs]
        correlations = [map_correlation(p.map, r.map) for p, r in pairs]
        passes = statistics.median(r.settings["passes"] for _, r in pairs)
        rows.append([name, method, f"{passes:g}/{pairs[0][0].settings['passes']}", seconds,
                     plain_s / seconds, min(ratios), statistics.median(correlations), min(correlations)])
    return rows


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8, help="real val frames (different chords)")
    parser.add_argument("--model", help="a trained CNN folder (default: train one on the real train split)")
    parser.add_argument("--vit", help="also a transformers model folder, on the same frames (an empty or new folder: "
                        "a small DINOv2 is trained from scratch into it first, about 15 minutes)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="run plain Captum over the ViT at the seed's settings")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    frames = _real_frames(args.frames)
    seed = {"window": SEED_WINDOW, "stride": SEED_STRIDE}
    rows = _rows("CNN (trained, real)", _trained_cnn(args.model), frames, [
        ("batched", {"method": "batched", **seed}),
        ("adaptive, every window", {"method": "adaptive", "refine": 0.0, **seed}),
        ("default (adaptive)", {}),
        ("adaptive, grown along the peak only", {"method": "adaptive", "refine": 1.0, **seed}),
    ])
    if args.vit:
        rows += _rows(f"ViT {args.vit.rstrip('/').split('/')[-1]} (trained)", _trained_vit(args.vit), frames, [
            ("tokens", {"method": "tokens", **seed}),
            ("adaptive, every window", {"method": "adaptive", "refine": 0.0, **seed}),
            ("default (adaptive)", {}),
        ])
    rows += _rows("DINOv2-S size (random)", _vit(), frames[:1], [
        ("tokens", {"method": "tokens", **seed}),
        ("adaptive, every window", {"method": "adaptive", "refine": 0.0, **seed}),
        ("default (adaptive)", {}),
    ], estimate_plain=not args.full)
    print_table(
        f"Occlusion on 640x360 real frames at the seed's settings (60x60, stride 20); seconds: median over "
        f"{len(frames)} frames (ViT: 1); x = plain Captum seconds / these; corr = Pearson with plain Captum's map",
        ["model", "method", "passes/plain", "seconds", "x median", "x min", "corr median", "corr min"], rows)
    return rows


if __name__ == "__main__":
    main()
