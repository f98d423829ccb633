"""Generalisation across domains: train on one shared set, score on the other, and on both.

Two labeled sets (``../shared/data``): ``guitar-chords-real`` (one player, one guitar, one camera;
its ``val`` frames are near-duplicates of ``train``) and ``guitar-chords-mixed`` (several players,
guitars and cameras; split here by its ``groups.csv``, whole groups held out, so its held-out frames
are at least other moments of the footage, see :func:`pipeline.models.datasets.read_datasets`).

For each model kind (landmarks: raw63 + SVM on the hand-settings cascade's landmarks; the compact
CNN, a few epochs), three trainings:

* on the real set's ``train``: scored on its ``val`` (in domain, near-duplicates: memory, not
  recognition) and on every mixed frame (another domain);
* on the mixed set's training groups: scored on its held-out groups and on every real frame;
* on both: scored on the mixed set's held-out groups and the real set's ``val``.

Test frames are those of the chords the model knows (a model trained on the real set knows 10 of
the mixed set's 14 chords). Columns: accuracy (every frame counts; a frame without a hand is
undecided for the landmark model), coverage (frames the model decided), familiar share and accuracy
on familiar frames (from each prediction's ``familiar`` flag), and the familiarity AUROC between the
model's own held-out frames and the other domain's (``n/a`` where predictions carry no familiarity,
or the test set is the model's own domain).

Run: ``python -m benchmarks.bench_domains [--epochs 4] [--kinds landmarks cnn]`` (landmarks come from
the landmark cache: the first run detects about 5,000 frames, several minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import numpy as np

from benchmarks.common import print_table
from pipeline.core.config import get_settings
from pipeline.core.hands import CASCADE_HANDS
from pipeline.core.types import ModelSet
from pipeline.models.datasets import LabeledImage, dataset_fingerprint, extract_landmarks, holdout_groups, read_datasets
from pipeline.models.evaluation import evaluate_chord_predictions
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import LandmarkChordModel, train_landmark_model
from pipeline.timeline.analyze import predict_image_files

COLUMNS = ("train", "test", "kind", "frames", "accuracy", "coverage", "familiar share", "familiar accuracy",
           "familiarity AUROC")


def _sets(real: Path, mixed: Path) -> dict[str, list[LabeledImage]]:
    """The frames of each training and test set, by name."""
    return {
        "real": read_datasets([real], "train"),
        "real val": read_datasets([real], "val"),
        "mixed": read_datasets([mixed], "train"),
        "mixed held-out groups": read_datasets([mixed], "val"),
        "mixed (all)": read_datasets([mixed]),
        "real (all)": read_datasets([real]),
        "both": read_datasets([real, mixed], "train"),
    }


PLAN = (
    # (training set, own held-out set, other domain's set or None)
    ("real", "real val", "mixed (all)"),
    ("mixed", "mixed held-out groups", "real (all)"),
    ("both", "mixed held-out groups", None),
    ("both", "real val", None),
)


def _train(kind: str, images: list[LabeledImage], epochs: int):
    """A model of ``kind`` trained on ``images`` (landmarks from the cache, with the cascade)."""
    domains = sorted({image.domain for image in images})
    if kind == "landmarks":
        hands = extract_landmarks([i.path for i in images], CASCADE_HANDS, workers=2)
        model = train_landmark_model(hands, [i.chord for i in images], feature_versions=("raw63",),
                                     estimators=("svm",), folds=3, data_fingerprint=dataset_fingerprint(images),
                                     hand_settings=CASCADE_HANDS, domains=domains, trained_on=" + ".join(domains),
                                     groups=holdout_groups(images))
        return model
    model = train_image_model(images, kind="cnn", epochs=epochs, threads=2, trained_on=" + ".join(domains))
    model.card.domains = domains
    return model


def _predict(model, images: list[LabeledImage]) -> list:
    """The model's prediction of each image (landmarks through the cache)."""
    models = ModelSet(landmarks=model) if isinstance(model, LandmarkChordModel) else ModelSet(image=model)
    _, by_model = predict_image_files(models, [i.path for i in images], workers=2)
    return next(iter(by_model.values()))


def _scores(model, images: list[LabeledImage]) -> tuple[dict, list]:
    """(row scores, predictions) on the frames of chords the model knows."""
    known = [i for i in images if i.chord in set(model.classes)]
    predictions = _predict(model, known)
    report = evaluate_chord_predictions([i.chord for i in known], predictions)
    familiar = [getattr(p, "familiar", None) for p in predictions]
    scores = {"frames": len(known), "accuracy": report.accuracy, "coverage": report.coverage,
              "familiar share": "n/a", "familiar accuracy": "n/a"}
    if any(f is not None for f in familiar):
        flags = np.array([bool(f) for f in familiar])
        right = np.array([p.covered and p.chord == i.chord for p, i in zip(predictions, known)])
        scores["familiar share"] = float(flags.mean())
        scores["familiar accuracy"] = float(right[flags].mean()) if flags.any() else "n/a"
    return scores, predictions


def _auroc(own: list, other: list) -> float | str:
    """AUROC of familiarity telling the model's own held-out frames (positive) from the other domain's."""
    from sklearn.metrics import roc_auc_score

    a = [p.familiarity for p in own if getattr(p, "familiarity", None) is not None]
    b = [p.familiarity for p in other if getattr(p, "familiarity", None) is not None]
    if not a or not b:
        return "n/a"
    return float(roc_auc_score([1] * len(a) + [0] * len(b), a + b))


def main(argv: list[str] | None = None) -> int:
    """Train and score every (kind, training set) of the plan and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_domains", description=__doc__.splitlines()[0])
    real_default = get_settings().real_data
    parser.add_argument("--real", type=Path, default=real_default)
    parser.add_argument("--mixed", type=Path, default=real_default.parent / "guitar-chords-mixed")
    parser.add_argument("--kinds", nargs="+", default=["landmarks", "cnn"], choices=["landmarks", "cnn"])
    parser.add_argument("--epochs", type=int, default=4, help="CNN epochs")
    args = parser.parse_args(argv)
    if not args.real.is_dir() or not args.mixed.is_dir():
        print(f"needs {args.real} and {args.mixed}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(f"$ python -m benchmarks.bench_domains {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    sets = _sets(args.real, args.mixed)
    rows = []
    for kind in args.kinds:
        models = {}
        for train_name, own_name, other_name in PLAN:
            t0 = time.perf_counter()
            if train_name not in models:
                models[train_name] = _train(kind, sets[train_name], args.epochs)
            model = models[train_name]
            own_scores, own_predictions = _scores(model, sets[own_name])
            rows.append([train_name, own_name, kind, *[own_scores[c] for c in COLUMNS[3:8]], "n/a"])
            if other_name is not None:
                other_scores, other_predictions = _scores(model, sets[other_name])
                rows.append([train_name, other_name, kind, *[other_scores[c] for c in COLUMNS[3:8]],
                             _auroc(own_predictions, other_predictions)])
            print(f"  {kind} trained on {train_name}, scored on {own_name}"
                  f"{' and ' + other_name if other_name else ''}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print_table("Generalisation across the shared sets (test frames: chords the model knows)", COLUMNS, rows)
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
