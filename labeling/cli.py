"""``python -m labeling``: add, queue, label, undo, history, snapshot, export, train, jobs, stats.

Exit status: 0 success, 2 bad input (one line on stderr saying why: a bad argument, a file that cannot
be read or written, a read-only, full, locked or damaged store), 130 interrupted.
The store is ``--store DIR``, else ``CHORD_STUDIO_DATA``, else ``<CHORD_STUDIO_HOME>/labels``.
A frame is named by its id (a number) or by ``sha:`` and a prefix of its SHA-256 digest.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from dataclasses import asdict
from pathlib import Path

from labeling.batches import add_batch, is_batch_folder
from labeling.database import DB_FILE, store_error
from labeling.export import FORMATS as EXPORT_FORMATS
from labeling.export import export_snapshot
from labeling.formats import FORMATS as IMPORT_FORMATS
from labeling.frames import DIGEST_MARKER
from labeling.ingest import ModelRef, add_clip, add_dataset, add_images
from labeling.labels import default_author
from labeling.queue import STATUSES, review_queue
from labeling.store import LabelStore
from labeling.train import TRAINABLE_KINDS, job_status, start_job, train_from_snapshot
from pipeline.cli import OneLineParser, finite, positive, run_parser
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.vision.video import VIDEO_SUFFIXES


def _store(args: argparse.Namespace) -> LabelStore:
    return LabelStore(args.store)


def cmd_add(args: argparse.Namespace) -> int:
    """``add PATH``: add a clip, a folder of images, a dataset (folder or zip) or a batch result folder;
    returns the exit status."""
    path = Path(args.path)
    if not path.exists():
        raise InputError(f"Nothing at {path}.")
    model = ModelRef.load(args.model) if args.model else None
    duplicates = "skip" if args.skip_duplicates else "error"
    with _store(args) as store:
        if path.is_dir() and is_batch_folder(path):  # python -m pipeline batch --out: its finished clips
            result = add_batch(store, path, on_duplicate="skip")
        elif path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            result = add_clip(store, path, fps=args.fps, start=args.start, end=args.end, model=model, name=args.clip,
                              on_duplicate=duplicates, workers=args.workers)
        elif args.format == "images" or (path.is_dir() and args.clip):
            result = add_images(store, path, clip=args.clip, chord=args.chord, model=model, on_duplicate=duplicates,
                                workers=args.workers)
        else:
            result = add_dataset(store, path, format=args.format, model=model, on_duplicate=duplicates,
                                 workers=args.workers)
    print(f"added {len(result.frame_ids)} frames"
          + (f", labeled {len(result.labeled)} frames already stored" if result.labeled else "")
          + (f", skipped {len(result.skipped)} duplicates" if result.skipped else "")
          + (f", predicted by {model.name}" if model else ""))
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    """``queue``: print the frames to review next (or JSON with ``--json``); returns the exit status."""
    with _store(args) as store:
        items = review_queue(store, limit=args.limit, status=args.status, clip=args.clip, chord=args.chord,
                             model=args.model, near_duplicate_bits=args.near_duplicate_bits)
    if args.json:
        print(json.dumps([asdict(item) for item in items], indent=2))
        return 0
    for item in items:
        guesses = " ".join(f"{c}:{p:.2f}" for c, p in sorted(item.predicted.items(), key=lambda kv: -kv[1])) or "-"
        where = f"{item.clip}@{item.time:.2f}s" if item.clip and item.time is not None else (item.clip or "-")
        print(f"{item.frame_id:8d}  {'DISAGREE' if item.disagreement else '        '}  conf {item.confidence:.2f}  "
              f"label {item.label or '-':5s}  predicted {guesses:24s}  {where}")
    print(f"{len(items)} frames to review", file=sys.stderr)
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    """``label FRAME CHORD`` or ``label FRAME --accept``: label a frame; returns the exit status."""
    with _store(args) as store:
        if args.accept:
            if args.chord:
                raise InputError("Give a chord or --accept, not both.")
            event = store.accept(args.frame, model=args.model, author=args.by)
        elif not args.chord:
            raise InputError("Give the chord to label the frame with, or --accept for the model's answer.")
        else:
            event = store.set_label(args.frame, args.chord, author=args.by)
    print(f"frame {event.frame_id}: {event.chord} ({event.origin}, by {event.author})")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    """``undo``: undo the last label change (yours, or anyone's with ``--anyone``); returns the exit status."""
    with _store(args) as store:
        event = store.undo(None if args.anyone else (args.by if args.by is not None else default_author()))
    if event is None:
        print("nothing to undo")
    else:
        print(f"undid label {event.chord} of frame {event.frame_id} (by {event.author}, {event.created_at})")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """``history FRAME``: print every label change of a frame; returns the exit status."""
    with _store(args) as store:
        frame = store.frame(args.frame)
        events = store.history(frame.id)
    print(f"frame {frame.id} {frame.digest[:12]} {frame.source}: now {frame.chord or 'unlabeled'}")
    for e in events:
        source = f"prediction {e.prediction_id}" if e.origin == "prediction" else e.origin
        undone = f"  undone {e.undone_at}" if e.undone_at else ""
        print(f"  {e.created_at}  {e.chord:5s} by {e.author} ({source}){undone}")
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    """``snapshot create NAME | list | diff OLD NEW``: freeze, list or compare snapshots; returns the exit status."""
    with _store(args) as store:
        if args.action == "create":
            if not args.names or len(args.names) != 1:
                raise InputError("snapshot create needs one name.")
            snapshot = store.create_snapshot(args.names[0], args.note or "")
            print(f"snapshot {snapshot.name}: {snapshot.n_frames} frames  " +
                  " ".join(f"{c}:{n}" for c, n in snapshot.counts.items()))
        elif args.action == "list":
            for s in store.snapshots():
                print(f"{s.name:24s} {s.created_at}  {s.n_frames:7d} frames  {s.fingerprint[:12]}  " +
                      " ".join(f"{c}:{n}" for c, n in s.counts.items()) + (f"  # {s.note}" if s.note else ""))
        else:
            if not args.names or len(args.names) != 2:
                raise InputError("snapshot diff needs two names: OLD NEW.")
            diff = store.diff_snapshots(*args.names)
            print(f"{diff.a} -> {diff.b}: +{len(diff.added)} frames, -{len(diff.removed)} frames, "
                  f"{len(diff.relabeled)} relabeled")
            for chord, (a, b) in diff.counts.items():
                print(f"  {chord:5s} {a:6d} -> {b:6d}  ({b - a:+d})")
            for frame_id, old, new in diff.relabeled[:20]:
                print(f"  frame {frame_id}: {old} -> {new}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``export SNAPSHOT OUT``: write a snapshot as ImageFolder, YOLO or CSV; returns the exit status."""
    with _store(args) as store:
        result = export_snapshot(store, args.snapshot, args.out, args.format, ratios=args.ratios, seed=args.seed)
    print(f"exported {sum(result.counts.values())} frames as {result.format} to {result.path}  " +
          " ".join(f"{s}:{n}" for s, n in result.counts.items()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``train SNAPSHOT``: train the landmark model here, or any kind as a background job; returns the exit status."""
    with _store(args) as store:
        if args.background or args.kind != "landmarks":
            job = start_job(store, args.snapshot, args.kind, args.out)
            print(f"job {job.id} started: {args.kind} on snapshot {args.snapshot} -> {job.out} "
                  f"(python -m labeling jobs {job.id})")
            return 0
        model = train_from_snapshot(store, args.snapshot, args.out, split=None if args.split == "all" else args.split,
                                    workers=args.workers)
    print(f"cross-validated accuracy {model.card.cv_accuracy:.3f} on {model.card.n_covered} frames with a hand; "
          f"trained on {model.card.trained_on}")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """``jobs [JOB]``: print the state of background jobs; returns the exit status."""
    with _store(args) as store:
        ids = [args.job] if args.job is not None else [j.id for j in store.jobs()]
        jobs = [job_status(store, job_id) for job_id in ids]
    for job in jobs:
        print(f"job {job.id}  {job.status:7s}  {job.kind} on {job.snapshot} -> {job.out}  {job.progress}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """``stats``: print the store's counts (or JSON with ``--json``); returns the exit status."""
    with _store(args) as store:
        stats = store.stats()
    if args.json:
        print(json.dumps(asdict(stats), indent=2))
        return 0
    print(f"{stats.frames} frames in {stats.clips} clips, {stats.labeled} labeled "
          f"({stats.label_events} label changes), {stats.snapshots} snapshots")
    for chord, n in stats.chords.items():
        print(f"  {chord:5s} {n}")
    for model, n in stats.predictions.items():
        print(f"  predictions by {model}: {n}")
    return 0


def seconds(text: str) -> float:
    """``type=`` for clip times: a finite number of seconds, 0 or more."""
    value = finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} seconds must be 0 or more")
    return value


def share(text: str) -> float:
    """``type=`` for split ratios: a finite share, 0 or more."""
    value = finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive_int(text: str) -> int:
    """``type=`` for counts (workers, a queue's length): a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m labeling``."""
    parser = OneLineParser(prog="python -m labeling", description="Grow and correct a chord dataset.",
                           epilog=f"A frame is its id (a number) or {DIGEST_MARKER} and 6+ hex digits of its digest.")
    parser.add_argument("--store", help="label store folder (default CHORD_STUDIO_DATA or <CHORD_STUDIO_HOME>/labels)")
    commands = parser.add_subparsers(dest="command", required=True)

    add = commands.add_parser("add", help="add frames: a clip, a folder of images, "
                                          "an ImageFolder/YOLO/COCO export or zip, or a batch result folder")
    add.add_argument("path")
    add.add_argument("--format", default="auto", choices=IMPORT_FORMATS, help="dataset format (default: detected)")
    add.add_argument("--fps", type=positive, default=1.0, help="frames sampled per second of a clip")
    add.add_argument("--start", type=seconds, help="clip start in seconds")
    add.add_argument("--end", type=seconds, help="clip end in seconds")
    add.add_argument("--clip", help="clip name (a folder of images: keep them together in one split)")
    add.add_argument("--chord", help="label every image of a plain folder with this chord")
    add.add_argument("--model", help="suggest chords with this model folder (landmarks, cnn or image), or 'sample' "
                     "(default: no predictions)")
    add.add_argument("--skip-duplicates", action="store_true", help="skip frames already stored instead of refusing")
    add.add_argument("--workers", type=positive_int, help="processes for hand detection")
    add.set_defaults(run=cmd_add)

    queue = commands.add_parser("queue", help="frames to review next: disagreements and least sure first")
    queue.add_argument("--limit", type=positive_int, default=20)
    queue.add_argument("--status", default="unlabeled", choices=STATUSES)
    queue.add_argument("--clip")
    queue.add_argument("--chord")
    queue.add_argument("--model", help="only this model's predictions")
    queue.add_argument("--near-duplicate-bits", type=int, default=10,
                       help="hash distance that counts as a duplicate; -1 keeps all")
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(run=cmd_queue)

    label = commands.add_parser("label", help="set a frame's chord (or accept a model's answer)")
    label.add_argument("frame", help=f"frame id (a number), or {DIGEST_MARKER}PREFIX: 6+ hex digits of its digest")
    label.add_argument("chord", nargs="?")
    label.add_argument("--accept", action="store_true", help="label with the most probable prediction")
    label.add_argument("--model", help="with --accept: this model's prediction")
    label.add_argument("--by", help="author (default: login name)")
    label.set_defaults(run=cmd_label)

    undo = commands.add_parser("undo", help="undo your last label change")
    undo.add_argument("--by", help="whose last change (default: login name)")
    undo.add_argument("--anyone", action="store_true", help="the last change of anyone")
    undo.set_defaults(run=cmd_undo)

    history = commands.add_parser("history", help="a frame's label history")
    history.add_argument("frame", help=f"frame id (a number), or {DIGEST_MARKER}PREFIX: 6+ hex digits of its digest")
    history.set_defaults(run=cmd_history)

    snapshot = commands.add_parser("snapshot", help="create, list or diff immutable dataset versions")
    snapshot.add_argument("action", choices=["create", "list", "diff"])
    snapshot.add_argument("names", nargs="*", help="create: NAME; diff: OLD NEW")
    snapshot.add_argument("--note")
    snapshot.set_defaults(run=cmd_snapshot)

    export = commands.add_parser("export", help="export a snapshot as ImageFolder (by clip), YOLO or CSV")
    export.add_argument("snapshot")
    export.add_argument("--out", required=True, help="new folder (imagefolder, yolo) or .csv file")
    export.add_argument("--format", default="imagefolder", choices=EXPORT_FORMATS)
    export.add_argument("--ratios", type=share, nargs=3, default=[0.8, 0.1, 0.1], metavar=("TRAIN", "VAL", "TEST"))
    export.add_argument("--seed", type=int, default=0)
    export.set_defaults(run=cmd_export)

    train = commands.add_parser("train", help="train a model on a snapshot "
                                              "(landmarks here; other kinds in the background)")
    train.add_argument("snapshot")
    train.add_argument("--kind", default="landmarks", choices=TRAINABLE_KINDS)
    train.add_argument("--out", help="model folder (default <store>/models/<snapshot>-<kind>)")
    train.add_argument("--split", default="train", choices=["train", "val", "test", "all"])
    train.add_argument("--background", action="store_true", help="run as a background job")
    train.add_argument("--workers", type=positive_int)
    train.set_defaults(run=cmd_train)

    jobs = commands.add_parser("jobs", help="background training jobs and their progress")
    jobs.add_argument("job", type=int, nargs="?")
    jobs.set_defaults(run=cmd_jobs)

    stats = commands.add_parser("stats", help="counts of frames, labels, clips, predictions")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(run=cmd_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input, 130 interrupted).

    Bad input of every kind ends in one line on stderr and status 2: bad arguments
    (:class:`pipeline.cli.OneLineParser`), what the commands refuse (:class:`~pipeline.core.errors.InputError`),
    files that cannot be read or written (:func:`pipeline.cli.run_parser`), and a store that is read-only,
    full, locked or damaged.
    """
    try:
        return run_parser(build_parser(), argv)
    except sqlite3.Error as error:  # met reading a store (opening and writing say it themselves)
        print(f"error: {store_error(error, _store_path(argv) / DB_FILE)}", file=sys.stderr)
        return 2


def _store_path(argv: list[str] | None) -> Path:
    """The store folder the command line names (for a message about it)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store")
    args, _ = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    return Path(args.store) if args.store else get_settings().data_dir
