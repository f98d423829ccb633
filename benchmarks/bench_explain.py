"""Explanations: plain Captum occlusion versus the fast paths, on the same model and frame.

For two models (a DINOv2-small-sized ViT at 224 px, random weights: hidden 384, 12 layers, 6 heads,
patch 14, no network here; and the compact CNN at 72x128, random weights) and one 640x360 frame, at
two settings:

* seed: the seed's full-frame settings, a 60x60 window with stride 20 (480 windows);
* default: :func:`pipeline.explain.explain_frame`'s defaults, a window of a quarter of the frame's
  height and width (90x160) with stride an eighth (45x80): 49 windows, 4x4 patches every 2 on the ViT.

Each method's seconds, its speed-up over plain Captum at the same settings and over plain Captum at
the seed's settings (the issue's bar: the default explanation at least 10x faster than that), and the
Pearson correlation of its map with both plain maps.

Plain Captum over the ViT at the seed's settings is 480 single-image passes (minutes on two cores, far
more when the cores are shared). By default that one row is ESTIMATED: its seconds are 480 times the
median of 12 timed single-image plain passes (the resize and the forward, as Captum runs them), and its
map is computed exactly (the same Captum Occlusion on the full frame with the same forward function,
only with ``perturbations_per_eval=16``: the same numbers, batched). ``--full`` runs it for real.

Run: ``python -m benchmarks.bench_explain [--threads 2] [--full]`` (about 3 minutes on two idle cores
without ``--full``; add about 2 with it, more on busy cores).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from benchmarks.common import print_table
from pipeline.explain import SEED_STRIDE, SEED_WINDOW, explain_frame, map_correlation


def _vit():
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from pipeline.image_models import ImageModelCard, TransformerChordModel

    torch.manual_seed(0)
    backbone = Dinov2Model(Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6,
                                        image_size=224, patch_size=14))
    classes = ["A", "C", "D", "E", "G", "None"]
    card = ImageModelCard(kind="image", mode="fine-tune", backbone="random Dinov2Config (small size)",
                          input_size=[224, 224], classes=classes, embedding_dim=768)
    return TransformerChordModel(backbone, None, torch.nn.Linear(768, len(classes)), card)


def _cnn():
    import torch

    from pipeline.image_models import CNN_INPUT_SIZE, CNNChordModel, ImageModelCard, _cnn_module

    torch.manual_seed(0)
    classes = ["A", "C", "D", "E", "G", "None"]
    card = ImageModelCard(kind="cnn", input_size=list(CNN_INPUT_SIZE), classes=classes, embedding_dim=256,
                          architecture={"stem": 24, "widths": [32, 64, 128, 256], "dropout": 0.2})
    return CNNChordModel(_cnn_module(len(classes)), card)


def _frame() -> np.ndarray:
    """A 640x360 frame of the sample clips if there is one, else a synthetic one (noise and a bright block)."""
    from pipeline.config import SAMPLE_MEDIA_DIR
    from pipeline.video import read_frame

    clips = [SAMPLE_MEDIA_DIR / "progression.mp4"] if (SAMPLE_MEDIA_DIR / "progression.mp4").is_file() else []
    if clips:
        import cv2

        image = read_frame(clips[0], 1.0).image
        return cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    frame = rng.integers(60, 120, (360, 640, 3), dtype=np.uint8)
    frame[120:230, 380:520] = (230, 200, 160)
    return frame


def _plain_estimated(frame, model, window, stride):
    """Plain Captum's map at these settings, computed batched (identical numbers), and its seconds
    estimated as passes x the median single-image pass."""
    import statistics
    import time

    import torch
    from captum.attr import Occlusion

    from pipeline.explain import Attribution, _baseline, _geometry, _positions, _probabilities_fn, _resize, _to_tensor
    from pipeline.image_models import _normalise

    window, stride = _geometry(frame.shape, window, stride)
    probabilities = _probabilities_fn(model)

    def forward(x):
        return probabilities(_normalise(_resize(x, model.input_size), model.card.mean, model.card.std))

    x = _to_tensor(frame)
    base = _baseline(x, "zero", window)
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
    passes = _positions(frame.shape[0], window[0], stride[0]) * _positions(frame.shape[1], window[1], stride[1])
    return Attribution(attribution[0].mean(0).numpy(), model.classes[index], float(p[index]),
                       {"method": "plain (estimated)", "passes": passes}, passes * statistics.median(times))


def main(argv: list[str] | None = None) -> list[list]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="run plain Captum over the ViT at the seed's settings")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    frame = _frame()
    settings = {"seed": {"window": SEED_WINDOW, "stride": SEED_STRIDE}, "default": {}}
    rows = []
    models = (("DINOv2-small 224", _vit(), ("batched", "tokens")), ("CNN 72x128", _cnn(), ("batched",)))
    for name, model, fast in models:
        plain = {}
        for label, kw in settings.items():
            if label == "seed" and name.startswith("DINOv2") and not args.full:
                plain[label] = _plain_estimated(frame, model, **kw)
            else:
                plain[label] = explain_frame(frame, model, method="plain", **kw)
            print(f"{name} plain {label}: {plain[label].seconds:.1f} s", flush=True)
        for label, kw in settings.items():
            runs = [(plain[label].settings["method"], plain[label])]
            runs += [(method, explain_frame(frame, model, method=method, **kw)) for method in fast]
            if label == "default":
                runs.append(("auto (default)", explain_frame(frame, model)))
            for method, result in runs:
                same = plain.get(label)
                seed = plain.get("seed")
                rows.append([
                    name, label, method, result.settings["passes"], result.seconds,
                    same.seconds / result.seconds if same else float("nan"),
                    seed.seconds / result.seconds if seed else float("nan"),
                    map_correlation(same.map, result.map) if same else float("nan"),
                    map_correlation(seed.map, result.map) if seed else float("nan"),
                ])
    print_table(
        "Occlusion on one 640x360 frame (seconds; x = plain Captum seconds / these; corr = Pearson of the maps)",
        ["model", "settings", "method", "passes", "seconds", "x vs plain same", "x vs plain seed",
         "corr plain same", "corr plain seed"], rows)
    return rows


if __name__ == "__main__":
    main()
