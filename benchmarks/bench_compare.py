"""Model comparison (:mod:`pipeline.compare.report`): t-SNE speed, and the report for three models on real frames.

Rows:

* t-SNE of 3,000 points of 384 dimensions (11 Gaussian clusters, like DINOv2-small embeddings of 11
  chords): our settings (PCA to 50 dimensions, PCA initialisation, Barnes-Hut, 500 iterations, one
  OpenMP thread) against scikit-learn's defaults (1,000 iterations on all 384 dimensions, every
  thread). Bar: ours under 20 s.
* the HTML report for three models (landmarks raw63, landmarks centred, a CNN trained for 2 epochs on
  20 frames per chord of ``train``) over every ``val`` frame of the shared real data (~340), from
  cached embeddings (a first, untimed run fills the landmark and embedding caches). Bar: under 30 s.

Run: ``python -m benchmarks.bench_compare [--quick]`` (``--quick`` skips scikit-learn's defaults, the
slow row). The report row needs the shared real frames; models are trained into a temp folder, the
caches are the configured ones (``CHORD_STUDIO_HOME``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np

from benchmarks.common import print_table
from pipeline.compare.maps import embedding_map
from pipeline.compare.report import compare_models
from pipeline.core.config import get_settings


def toy_embeddings(n: int = 3000, dim: int = 384, classes: int = 11, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 points in ``classes`` Gaussian clusters, and their labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dim)) * 3
    y = rng.integers(0, classes, n)
    return (centres[y] + rng.normal(size=(n, dim))).astype(np.float32), y


def bench_tsne(quick: bool) -> list[list]:
    from sklearn.manifold import TSNE

    X, _ = toy_embeddings()
    started = time.perf_counter()
    embedding_map(X, "tsne", seed=0)
    ours = time.perf_counter() - started
    rows = [["t-SNE 3000x384, ours (PCA 50, 500 it, 1 thread)", round(ours, 2), "", "yes" if ours < 20 else "NO"]]
    if not quick:
        started = time.perf_counter()
        TSNE(2, random_state=0).fit_transform(X)
        default = time.perf_counter() - started
        rows.append(["t-SNE 3000x384, scikit-learn defaults", round(default, 2), round(default / ours, 2), ""])
    return rows


def bench_report(data_root: Path) -> list[list]:
    from pipeline.models.datasets import read_image_folder
    from pipeline.models.image.training import train_image_model
    from pipeline.models.landmark import train_landmark_model_on_images

    train = read_image_folder(data_root, "train")
    val = read_image_folder(data_root, "val")
    subset = [im for chord in sorted({i.chord for i in train}) for im in [i for i in train if i.chord == chord][:20]]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        folders = [Path(scratch) / f"landmarks-{version}" for version in ("raw63", "centred")]
        for version, folder in zip(("raw63", "centred"), folders):  # the second reads the landmark cache
            train_landmark_model_on_images(subset, folder, feature_versions=(version,), estimators=("svm",), folds=3,
                                           trained_on="bench subset")
        train_image_model(subset, kind="cnn", epochs=2, out=Path(scratch) / "cnn", threads=2)
        folders.append(Path(scratch) / "cnn")
        setup = time.perf_counter() - started
        rows.append([f"setup: 3 models on {len(subset)} train frames", round(setup, 2), "", ""])

        started = time.perf_counter()
        compare_models(folders, val, Path(scratch) / "cold.html")
        cold = time.perf_counter() - started
        rows.append([f"report, 3 models x {len(val)} val frames, cold caches*", round(cold, 2), "", ""])

        started = time.perf_counter()
        comparison = compare_models(folders, val, Path(scratch) / "report.html")
        warm = time.perf_counter() - started
        size = (Path(scratch) / "report.html").stat().st_size / 1e6
        stages = ", ".join(f"{k} {v:.1f}" for k, v in comparison.seconds.items() if k != "total")
        rows.append([f"report, 3 models x {len(val)} val frames, cached ({stages}; {size:.1f} MB)", round(warm, 2), "",
                     "yes" if warm < 30 else "NO"])
        for row in comparison.metrics_rows():
            print(f"  {row['model']:<20} acc {row['accuracy']:.3f}  macro F1 {row['macro_f1']:.3f}  coverage "
                  f"{row['coverage']:.3f}  kNN {row['knn_accuracy']:.3f}  silhouette {row['silhouette']:.3f}")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip scikit-learn's default t-SNE (the slow row)")
    args = parser.parse_args(argv)
    rows = bench_tsne(args.quick)
    root = get_settings().real_data
    if (root / "val").is_dir() and (root / "train").is_dir():
        rows += bench_report(root)
    else:
        rows.append([f"report: real frames not found at {root}", "", "", ""])
    print_table("pipeline.compare.report (seconds; * cold: landmark detection and CNN embeddings not yet cached)",
                ["case", "seconds", "default / ours", "under bar"], rows)


if __name__ == "__main__":
    main()
