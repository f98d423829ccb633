"""``python -m pipeline``: train, evaluate, analyze, batch, listen.

Exit status: 0 success, 2 bad input (one line on stderr saying why), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from tqdm import tqdm

from pipeline.audio.music import PerformanceSettings
from pipeline.audio.mux import render_listen_outputs
from pipeline.compare.report import compare_models
from pipeline.core.errors import InputError
from pipeline.core.hands import CASCADE_HANDS, HandSettings
from pipeline.core.types import ModelKind
from pipeline.explain.checks import BASELINES
from pipeline.explain.service import METHODS, explain_path
from pipeline.models.cards import model_kind, read_card
from pipeline.models.datasets import read_datasets, read_groups, read_image_folder, read_train_and_val
from pipeline.models.detector import evaluate_detector, train_detector
from pipeline.models.evaluation import evaluate_chord_predictions
from pipeline.models.features import FEATURE_VERSIONS
from pipeline.models.image.training import train_image_model
from pipeline.models.landmark import ESTIMATORS, train_landmark_model_on_images
from pipeline.models.registry import load_model, load_model_set
from pipeline.teach.clips import TEACH_FPS
from pipeline.teach.training import CNN_EPOCHS, expand_taught, teach
from pipeline.text import (
    CLI_TEACH_REMEDY,
    CLI_TRAIN_REMEDY,
    synthetic_note,
    teach_counts_line,
    teach_summary,
    unfamiliar_message,
)
from pipeline.timeline.analyze import analyze_clip, predict_image_files
from pipeline.timeline.batch import BatchSettings, run_batch
from pipeline.vision.drawing import write_annotated_video
from pipeline.vision.hands import default_hand_workers, start_hand_workers

HAND_CHOICES = {"cascade": CASCADE_HANDS, "plain": HandSettings()}
"""``train --hands``: how a landmark model's training frames (and later its analyses) find hands."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (``error: ...``), exit status 2.

    Subcommands inherit it; ``--help`` prints the usage as usual.
    """

    def error(self, message: str):
        """Print ``error: <prog>: <message>`` on one line and exit with status 2."""
        self.exit(2, f"error: {self.prog}: {message}\n")


def finite(text: str) -> float:
    """``type=`` for number options: a finite number (``nan`` and ``inf`` refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive(text: str) -> float:
    """``type=`` for rates and sizes: a finite number above zero."""
    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not above zero")
    return value


def _bar(total: int | None, desc: str):
    # disable=None: a bar on a terminal, silence in logs and pipes.
    return tqdm(total=total, desc=desc, unit="frame", disable=None, file=sys.stderr, leave=False)


def _moves(bar):
    """A ``progress(done, total)`` callback that moves ``bar``."""

    def progress(done: int, total: int) -> None:
        bar.total, bar.n = total, done
        bar.refresh()

    return progress


def _default_split(root: Path, split: str | None, preferred: str) -> str | None:
    """The split to read: the one asked for, else ``preferred`` when the tree has it, else all."""
    if split is not None:
        return None if split == "all" else split
    return preferred if (root / preferred).is_dir() else None


def cmd_train(args: argparse.Namespace) -> int:
    """Train a chord model (``--kind landmarks``, ``image``, ``cnn``) on ImageFolder trees, or a detector.

    Several ``--data`` trees train one model on the union of their chords (:func:`read_datasets`: a tree
    with ``groups.csv`` is split by group); the card lists them as its domains.

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    if args.kind == "detector":
        if len(args.data) != 1:
            raise InputError("A detector trains on one YOLO data.yaml; give one --data.")
        return _train_detector(args)
    images, val = _training_images(args)
    trained_on = " + ".join(str(Path(root).resolve()) for root in args.data)
    domains = sorted({image.domain for image in images})
    if args.kind in ("image", "cnn"):
        return _train_image(args, images, val, trained_on)
    bar = _bar(None, "hands")

    def hands_found(results) -> None:
        bar.close()
        print(f"{len(images)} images, {sum(bool(r) for r in results)} with a hand", file=sys.stderr)

    def report(key: str, score: float) -> None:
        print(f"  cv accuracy {key:16s} {score:.3f}", file=sys.stderr)

    try:
        model = train_landmark_model_on_images(
            images,
            args.out,
            workers=args.workers,
            hand_settings=HAND_CHOICES[args.hands],
            detection_progress=_moves(bar),
            hands_found=hands_found,
            feature_versions=args.features,
            estimators=args.estimators,
            folds=args.folds,
            trained_on=trained_on,
            domains=domains,
            synthetic=args.synthetic,
            progress=report,
        )
    finally:
        bar.close()
    card = model.card
    print(f"best: {card.feature_version}/{card.estimator} {card.params} "
          f"cross-validated accuracy {card.cv_accuracy:.3f}")
    print(f"saved {args.out}")
    return 0


def _training_images(args: argparse.Namespace) -> tuple[list, list | None]:
    """(training images, validation images or None) of the ``--data`` trees.

    Without ``--split``: :func:`read_datasets` (train / val; a tree with ``groups.csv`` split by group).
    With it: that split of every tree, as it is on disk, and no validation.
    """
    if args.split is not None:
        images = [image for root in args.data
                  for image in read_image_folder(root, _default_split(Path(root), args.split, "train"))]
        return images, None
    return read_train_and_val(args.data)


def _train_image(args: argparse.Namespace, images, val, trained_on: str) -> int:
    def report(epoch: int, metrics: dict) -> None:
        shown = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float))
        print(f"  epoch {epoch}: {shown}", file=sys.stderr)

    model = train_image_model(
        images, kind=args.kind, backbone=args.backbone, mode=args.mode, epochs=args.epochs,
        progress=report, input_size=args.input_size, val_images=val, trained_on=trained_on,
        synthetic=args.synthetic,
    )
    model.save(args.out)
    metrics = {k: round(v, 4) for k, v in model.card.metrics.items() if isinstance(v, (int, float))}
    print(f"{args.kind} ({model.card.mode}) {metrics}")
    print(f"saved {args.out}")
    return 0


def _train_detector(args: argparse.Namespace) -> int:
    best = train_detector(args.data[0], args.out, base=args.base, epochs=args.epochs or 20, imgsz=args.imgsz,
                          freeze=args.freeze)
    card = read_card(best)
    print(f"detector {card.metrics} in {card.train_seconds:.0f} s")
    print(f"saved {best}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score a model, or fused models, on labeled frames (a detector on its YOLO data).

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    if len(args.model) == 1 and model_kind(args.model[0]) == ModelKind.DETECTOR:
        scores = evaluate_detector(args.model[0], args.data)
        print(json.dumps(scores, indent=2) if args.json else "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
        return 0
    models = load_model_set(expand_taught(args.model), detector=args.detector)
    images = _evaluation_images(args)
    bar = _bar(None, "hands")
    try:
        fused, by_model = predict_image_files(models, [image.path for image in images], args.workers, _moves(bar))
    finally:
        bar.close()
    truth = [image.chord for image in images]
    main_report = evaluate_chord_predictions(truth, fused)
    if args.json:
        out = main_report.to_dict()
        if len(by_model) > 1:
            out["by_model"] = {name: evaluate_chord_predictions(truth, p).to_dict() for name, p in by_model.items()}
        print(json.dumps(out, indent=2))
        return 0
    if len(by_model) > 1:
        for name, predictions in by_model.items():
            single = evaluate_chord_predictions(truth, predictions)
            familiar = ("" if single.familiar_share is None else
                        f"  familiar {single.familiar_share:.3f} (accuracy there {single.familiar_accuracy:.3f})")
            print(f"{name:10s} accuracy {single.accuracy:.3f}  coverage {single.coverage:.3f}  "
                  f"macro F1 {single.macro_f1:.3f}{familiar}")
        print("fused:")
    print(main_report.format_text())
    return 0


def _evaluation_images(args: argparse.Namespace) -> list:
    """The frames ``evaluate`` scores: a tree with ``groups.csv`` and no ``--split``, the groups ``train``
    holds out (:func:`read_datasets`, the same split as training: its ``val`` folder holds near twins of
    training frames); otherwise the ``--split`` asked for, else ``val`` when the tree has one, else all."""
    if args.split is None and read_groups(args.data):
        return read_datasets([args.data], "val")
    return read_image_folder(args.data, _default_split(Path(args.data), args.split, "val"))


def _model_set(args: argparse.Namespace):
    return load_model_set(expand_taught(args.model or [None]), detector=args.detector)


def _model_names(specs: list[str] | None) -> dict[str, str]:
    """Model slot ("landmarks", "image") -> the folder name of the chord model given for it."""
    names = {}
    for spec in expand_taught(specs or []):
        kind = model_kind(spec)
        if kind != ModelKind.DETECTOR:
            names["image" if kind.reads_images else "landmarks"] = Path(spec).name
    return names


def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse a clip: write frames.csv, timeline.json and the annotated video into ``--out``.

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    start_hand_workers(default_hand_workers())  # they import MediaPipe while the models load
    models = _model_set(args)
    bar = _bar(100, "analyze")

    def progress(fraction: float) -> None:
        bar.n = round(100 * fraction)
        bar.refresh()

    try:
        analysis = analyze_clip(args.clip, models, fps=args.fps, start=args.start, end=args.end, progress=progress,
                                hand_workers=default_hand_workers())
    finally:
        bar.close()
    if analysis.clip.warning:  # a truncated clip: analysed as far as it goes
        print(f"warning: {analysis.clip.warning}", file=sys.stderr)
    written = analysis.write(args.out)
    if not args.no_video and not analysis.clip.is_image:
        written["video"] = write_annotated_video(analysis, Path(args.out) / "annotated.mp4")
    if models.synthetic:
        print("note: " + synthetic_note("A model here", CLI_TRAIN_REMEDY, markdown=False), file=sys.stderr)
    unfamiliar = unfamiliar_message(analysis, CLI_TEACH_REMEDY, _model_names(args.model), markdown=False)
    if unfamiliar:
        print("warning: " + unfamiliar, file=sys.stderr)
    familiar = "" if analysis.familiar_share is None else f", familiar {analysis.familiar_share:.0%}"
    print(f"{len(analysis.frames)} frames, hand found in {analysis.hand_share:.0%}{familiar}")
    for segment in analysis.timeline.segments:
        print(f"  {segment.start:7.2f} - {segment.end:7.2f} s  {segment.chord:5s} p={segment.probability:.2f}"
              + ("  unsure (unfamiliar footage)" if segment.unsure else ""))
    for path in written.values():
        print(f"wrote {path}")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Analyse many clips on Ray into ``--out``: a folder per clip and summary.parquet / summary.csv.

    Returns:
        The exit status: 0, also when some clips failed (the summary gives their reasons).
    """
    settings = BatchSettings(tuple(expand_taught(args.model or [None])), args.detector, args.fps, args.video)
    summary = run_batch(args.inputs, args.out, settings, workers=args.workers, address=args.address)
    failed = summary[summary["error"].fillna("") != ""]
    print(f"{len(summary) - len(failed)} clips analysed, {len(failed)} failed; wrote {Path(args.out) / 'summary.csv'}")
    for _, row in failed.iterrows():
        print(f"  failed: {row['clip']}: {row['error']}", file=sys.stderr)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    """Render a timeline, or a clip's recognised chords, as guitar audio (MIDI, WAV, subtitles, MP4).

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    source = Path(args.source)
    clip = None
    if source.suffix.lower() == ".json":
        timeline = source
    else:
        timeline = analyze_clip(source, _model_set(args), fps=args.fps, hand_workers=default_hand_workers()).timeline
        clip = source
    settings = PerformanceSettings(guitar=args.guitar, pattern=args.pattern, bpm=args.bpm)
    outputs = render_listen_outputs(
        timeline, args.out, clip=clip, settings=settings, synth=args.synth, soundfont=args.soundfont, mix=args.mix
    )
    for warning in outputs.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"synth {outputs.synth}, {outputs.bpm:.0f} BPM, {outputs.duration:.1f} s")
    for path in outputs.files():
        print(f"wrote {path}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain one frame's chord: an occlusion heatmap (image model) or finger attribution (landmarks).

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    if Path(args.out).suffix.lower() != ".png":
        raise InputError(f"--out {args.out!r} must be a .png file: the explanation is written as a PNG image.")
    model = load_model(args.model[0] if args.model else None)
    options = {k: v for k, v in (("window", args.window), ("stride", args.stride), ("baseline", args.baseline),
                                 ("method", args.method), ("refine", args.refine)) if v is not None}
    result, png = explain_path(args.source, model, args.out, time_s=args.time, target=args.target, **options)
    if hasattr(result, "scores"):
        ranked = sorted(result.scores.items(), key=lambda item: -item[1])
        print(f"{result.target} p={result.probability:.2f}; fingers: " + ", ".join(f"{k} {v:+.2f}" for k, v in ranked))
    else:
        print(f"{result.target} p={result.probability:.2f}; {result.settings.get('method')} occlusion "
              f"in {result.seconds:.1f} s")
    print(f"wrote {png}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Put models side by side on labeled frames and write the HTML report; exit 2 when no model could be
    compared (each one's reason on the one line).

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    comparison = compare_models(args.models, args.data, args.out, split=args.split)
    if not any(m.embedding.n_embedded for m in comparison.models):  # every model failed: no comparison
        reasons = "; ".join(f"{m.name}: {m.embedding.note or 'no frame embedded'}" for m in comparison.models)
        raise InputError(f"Nothing was compared: no model gave an embedding of any frame ({reasons}).")
    for row in comparison.metrics_rows():
        print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                        if not isinstance(v, dict) and v != ""))
    print(f"wrote {comparison.html_path}")
    return 0


def cmd_teach(args: argparse.Namespace) -> int:
    """Teach a fused pair (landmarks and CNN) from one short clip per chord into ``--out``.

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    base = read_datasets(args.base_data, "train") if args.base_data else []
    bar = tqdm(total=100, desc="teach", disable=None, file=sys.stderr, leave=False)

    def progress(fraction: float, step: str) -> None:
        bar.n = round(100 * fraction)
        bar.set_description(step)

    try:
        result = teach(args.clips, args.out, chord_times=args.chords, fps=args.fps, base_images=base,
                       epochs=args.epochs, progress=progress)
    finally:
        bar.close()
    for chord, c in result.counts.items():
        print("  " + teach_counts_line(chord, c.sampled, c.kept, c.dark, c.blurred, c.duplicates, c.no_hand))
    print(teach_summary(result.accuracy, result.n_train, result.n_held_out, result.seconds))
    for slot, score in result.accuracy.items():
        print(f"  held-out accuracy {slot:9s} {score:.3f}")
    print(f"saved {args.out} (analyze with --model {args.out})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m pipeline``."""
    parser = OneLineParser(prog="python -m pipeline", description="Recognise guitar chords in clips.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a chord model (ImageFolder tree) or a detector (YOLO data)")
    train.add_argument("--kind", default="landmarks", choices=["landmarks", "image", "cnn", "detector"],
                       help="landmarks: SVM/RF/MLP on hand landmarks; image: a transformers backbone; "
                            "cnn: a compact CNN from scratch; detector: YOLO fretboard detector")
    train.add_argument("--data", required=True, nargs="+", action="extend",
                       help="<root>/<chord>/*.jpg or <root>/<split>/<chord>/*.jpg, one or more (--data A B or "
                            "--data A --data B: one model on the union of their chords; a tree with groups.csv "
                            "is split by group, 20 %% of its frames held out as val); for a detector, a YOLO "
                            "data.yaml")
    train.add_argument("--split", help="split of every tree to train on, as on disk, no group split "
                                       "(default: train, split by group where a tree has groups.csv; 'all' for all)")
    train.add_argument("--hands", choices=list(HAND_CHOICES), default="cascade",
                       help="landmarks: how hands are found: cascade (confidence 0.1, then a black border, then "
                            "the light model, where no hand was found) or plain (MediaPipe's defaults)")
    train.add_argument("--out", required=True, help="model folder to write")
    train.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    train.add_argument("--features", nargs="+", default=list(FEATURE_VERSIONS), choices=list(FEATURE_VERSIONS))
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    train.add_argument("--workers", type=int, help="processes for hand detection (default: CPUs, at most 4)")
    train.add_argument("--synthetic", action="store_true", help="mark the model as trained on synthetic renders")
    train.add_argument("--epochs", type=int, help="epochs (cnn, image fine-tune, detector)")
    train.add_argument("--backbone", help="image: hub id or local folder (default facebook/dinov2-small)")
    train.add_argument("--mode", choices=["linear-probe", "fine-tune", "from-scratch"],
                       help="image / cnn training mode")
    train.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), help="image / cnn input size")
    train.add_argument("--base", default="yolov8n.yaml",
                       help="detector: yolov8n.yaml (from scratch), yolov8n.pt or a path")
    train.add_argument("--imgsz", type=int, default=640, help="detector: training image size")
    train.add_argument("--freeze", type=int, help="detector: freeze the first N layers (the seed's frozen backbone)")
    train.set_defaults(run=cmd_train)

    teach_cmd = commands.add_parser("teach", help="teach your setup: one short clip per chord -> a fused pair")
    teach_cmd.add_argument("clips", nargs="+", metavar="CLIP",
                           help="one clip per chord, named after it (G.mp4, Am-2.mov); or one clip with --chords")
    teach_cmd.add_argument("--out", required=True, help="the taught folder (landmarks/, cnn/, frames/, teach.json)")
    teach_cmd.add_argument("--chords", help='chords of one clip with their times, e.g. "G:0-4,C:4-8"')
    teach_cmd.add_argument("--base-data", nargs="+", action="extend", default=[],
                           help="labeled ImageFolder trees to train on as well (e.g. the shared real data)")
    teach_cmd.add_argument("--fps", type=positive, default=TEACH_FPS, help="frames sampled per second")
    teach_cmd.add_argument("--epochs", type=int, default=CNN_EPOCHS, help="CNN epochs")
    teach_cmd.set_defaults(run=cmd_teach)

    evaluate = commands.add_parser("evaluate", help="score a model, or fused models, on labeled frames")
    evaluate.add_argument("--model", required=True, nargs="+",
                          help="model folder(s): one landmark and / or one image model (fused), or a detector")
    evaluate.add_argument("--detector", help="detector weights, for image models trained on regions")
    evaluate.add_argument("--data", required=True, help="ImageFolder tree; for a detector, a YOLO data.yaml")
    evaluate.add_argument("--split", help="split to evaluate (default: for a tree with groups.csv the groups "
                          "train holds out; else 'val' if present, else all; 'all' for all)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument("--workers", type=int, help="processes for hand detection")
    evaluate.set_defaults(run=cmd_evaluate)

    analyze = commands.add_parser("analyze", help="chords of a clip: frames.csv and timeline.json")
    analyze.add_argument("clip", help="video (mp4, mov, avi, webm, mkv) or image (jpg, png)")
    analyze.add_argument("--model", nargs="+",
                         help="chord model folder(s): a landmark and / or an image model, fused "
                              "(default: the sample model, trained on first use)")
    analyze.add_argument("--detector", help="fretboard detector weights (best.pt or its folder)")
    analyze.add_argument("--no-video", action="store_true", help="skip the annotated MP4")
    analyze.add_argument("--out", required=True, help="folder for frames.csv, timeline.json and annotated.mp4")
    analyze.add_argument("--fps", type=positive, default=5.0, help="frames sampled per second")
    analyze.add_argument("--start", type=finite, help="start time in seconds")
    analyze.add_argument("--end", type=finite, help="end time in seconds")
    analyze.set_defaults(run=cmd_analyze)

    batch = commands.add_parser("batch", help="many clips on Ray: a folder per clip and one summary table")
    batch.add_argument("inputs", nargs="+", help="clips, folders of clips (recursive) or .txt lists of clips")
    batch.add_argument("--out", required=True, help="folder for the clips' results and summary.parquet / .csv")
    batch.add_argument("--model", nargs="+", help="chord model folder(s) (default: the sample model)")
    batch.add_argument("--detector", help="fretboard detector weights (best.pt or its folder)")
    batch.add_argument("--fps", type=positive, default=5.0, help="frames sampled per second")
    batch.add_argument("--workers", type=int, help="Ray workers, one clip each (default: the CPUs)")
    batch.add_argument("--address", help="an existing Ray cluster (ray://HOST:10001 or auto); default a local Ray")
    batch.add_argument("--video", action="store_true", help="also write each clip's annotated.mp4")
    batch.set_defaults(run=cmd_batch)

    explain = commands.add_parser("explain", help="why a model chose a chord: occlusion heatmap or finger attribution")
    explain.add_argument("source", help="a frame (jpg, png) or a clip")
    explain.add_argument("--model", nargs=1, help="model folder (default: the sample landmark model)")
    explain.add_argument("--time", type=finite, default=0.0, help="the frame's time in seconds, for a clip")
    explain.add_argument("--target", help="chord to explain (default: the predicted one)")
    explain.add_argument("--window", type=int, nargs="+", help="occlusion window in frame pixels (one or H W)")
    explain.add_argument("--stride", type=int, nargs="+", help="occlusion stride in frame pixels (one or H W)")
    explain.add_argument("--baseline", choices=BASELINES, help="what occluded pixels become")
    explain.add_argument("--method", choices=METHODS, help="occlusion path")
    explain.add_argument("--refine", type=finite, help="adaptive: evaluate windows next to evaluated ones whose "
                         "log-odds drop is at least this share of the largest (default 0.3; 0: every window)")
    explain.add_argument("--out", required=True, help="the PNG to write")
    explain.set_defaults(run=cmd_explain)

    compare = commands.add_parser("compare", help="models side by side: t-SNE / PCA maps, metrics, confusion (HTML)")
    compare.add_argument("--models", required=True, nargs="+",
                         help="model folders, or features:raw63 / features:centred for landmark features alone")
    compare.add_argument("--data", required=True, help="ImageFolder tree of labeled frames")
    compare.add_argument("--split", help="split to use (default: 'val' if present, else all)")
    compare.add_argument("--out", required=True, help="the HTML report to write")
    compare.set_defaults(run=cmd_compare)

    listen = commands.add_parser("listen", help="render a timeline (or a clip's chords) as guitar audio")
    listen.add_argument("source", help="timeline.json, or a clip to analyse and mux the audio onto")
    listen.add_argument("--out", required=True, help="folder for the MIDI, WAV, subtitles and MP4")
    listen.add_argument("--model", nargs="+", help="chord model folder(s), for a clip (default: the sample model)")
    listen.add_argument("--detector", help="fretboard detector weights, for a clip")
    listen.add_argument("--fps", type=positive, default=5.0, help="frames sampled per second, for a clip")
    listen.add_argument("--bpm", type=positive, help="tempo (default: estimated from the chord changes)")
    listen.add_argument("--pattern", default="folk", help="strumming pattern: down, folk, eighths, waltz")
    listen.add_argument("--guitar", default="steel", choices=["steel", "nylon"])
    listen.add_argument("--synth", default="auto", choices=["auto", "fluidsynth", "pluck"])
    listen.add_argument("--soundfont", help="a General MIDI .sf2 for FluidSynth (default: pretty_midi's)")
    listen.add_argument("--mix", type=finite, default=0.0, help="share of the clip's own sound, 0 to 1")
    listen.set_defaults(run=cmd_listen)
    return parser


def run_parser(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command's ``run``, mapping bad input to exit status 2.

    Shared by ``python -m pipeline`` and ``python -m labeling``: 0 success, 2 bad input (one line on
    stderr), 130 interrupted. Bad input is an :class:`InputError`, a usage error (one line with a
    :class:`OneLineParser`), or any ``OSError`` on the way (a missing or read-only folder, an ``--out``
    that is a file, a full disk: :func:`os_error_line`); the reason is one line, never a traceback.
    """
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except SystemExit as done:  # argparse: --help (0) or a usage error (2, already printed)
        return done.code if isinstance(done.code, int) else 2
    except InputError as error:
        print(f"error: {_one_line(str(error))}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 2
    except UnicodeError as error:  # a text file that is not UTF-8
        print(f"error: a file is not UTF-8 text ({error.reason}); give the file the command expects.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def os_error_line(error: OSError) -> str:
    """An ``OSError`` as one sentence: what failed, on which path, and what to do."""
    import errno

    where = f" ({error.filename})" if error.filename else ""
    why = error.strerror or str(error) or type(error).__name__
    hint = {errno.ENOSPC: "free some disk space and run it again",
            errno.EACCES: "choose a folder you can write to",
            errno.EROFS: "choose a folder on a writable disk",
            errno.EEXIST: "choose a folder name that is not a file",
            errno.ENOTDIR: "a part of the path is a file, not a folder",
            errno.ENOENT: "check the path"}.get(error.errno, "check the path and the disk")
    return _one_line(f"{why}{where}; {hint}.")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    return run_parser(build_parser(), argv)
