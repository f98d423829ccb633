"""Labeled frames on disk: ImageFolder trees, and their hand landmarks with an on-disk cache.

An ImageFolder tree is ``<root>/<split>/<chord>/*.jpg`` or ``<root>/<chord>/*.jpg``; chord folder
names go through the vocabulary (``a minor``, ``Am`` and ``A_minor`` are all Am). A tree may give
``groups.csv`` (``file,group``: each file's source group, e.g. clusters of near-identical frames);
:func:`read_datasets` reads several trees as one set and splits such a tree by group, never by file.

Landmarks are cached in one SQLite file per detector setting, keyed by the SHA-256 of the image file's
bytes: a renamed or copied image hits the cache, an edited one does not, and a second run over the
same images reads instead of detecting.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import re
import sqlite3
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY, parse_chord
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandSettings, HandsResult
from pipeline.vision.hands import HandDetector
from pipeline.vision.video import read_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
GROUPS_FILE = "groups.csv"
HELD_OUT_SHARE = 0.2
"""Share of a grouped tree's frames that :func:`read_datasets` holds out as ``val`` (whole groups)."""
RUNS_PER_CLASS = 10
"""Contiguous runs (in file-name order) each chord folder of a tree without ``groups.csv`` is cut into
by :func:`holdout_groups`."""


@dataclass(frozen=True)
class LabeledImage:
    """One image file with its chord and split ("" for a tree without splits).

    Attributes:
        group: its source group from the tree's ``groups.csv`` ("" when the tree has none).
        domain: the data set it comes from (the tree's folder name).
    """

    path: Path
    chord: str
    split: str = ""
    group: str = ""
    domain: str = ""


def _chord_dirs(folder: Path) -> dict[str, list[Path]] | None:
    """Map chord -> its folders (in vocabulary order) if every subfolder names a chord, else None.

    Two spellings of one chord (``Am`` and ``a minor``) are one class with both folders.
    """
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        return None
    chords: dict[str, list[Path]] = {}
    for sub in subdirs:
        try:
            chords.setdefault(parse_chord(sub.name.replace("_", " ")), []).append(sub)
        except InputError:
            return None
    return {chord: chords[chord] for chord in VOCABULARY if chord in chords}


def read_image_folder(root: str | Path, split: str | None = None) -> list[LabeledImage]:
    """List the labeled images of an ImageFolder tree.

    Args:
        root: ``<root>/<chord>/*`` or ``<root>/<split>/<chord>/*``.
        split: only this split (for a tree with splits); None for all of them.

    Returns:
        Images sorted by split, chord (vocabulary order), folder and file name.

    Raises:
        InputError: the folder is missing, a folder name is not a chord, the split does not exist, or
            no image was found.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"No dataset folder at {root}.")
    layout: dict[str, dict[str, list[Path]]] = {}
    flat = _chord_dirs(root)
    if flat is not None:
        layout[""] = flat
    else:
        for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            chords = _chord_dirs(sub)
            if chords is None:
                bad = [p.name for p in sub.iterdir() if p.is_dir()] or [sub.name]
                raise InputError(
                    f"{root.name}/{sub.name}: folder names {bad[:5]} are neither chords nor splits of chord "
                    "folders (expected <root>/<chord>/*.jpg or <root>/<split>/<chord>/*.jpg)."
                )
            layout[sub.name] = chords
    if split is not None:
        if split not in layout:
            raise InputError(f"{root.name} has no split {split!r}; it has {sorted(layout) or 'none'}.")
        layout = {split: layout[split]}
    images = [
        LabeledImage(path, chord, split_name)
        for split_name, chords in layout.items()
        for chord, folders in chords.items()
        for folder in folders
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not images:
        raise InputError(f"No images ({', '.join(IMAGE_SUFFIXES)}) under {root}.")
    groups = read_groups(root)
    domain = root.resolve().name
    return [LabeledImage(image.path, image.chord, image.split,
                         groups.get(image.path.relative_to(root).as_posix(), "") if groups else "", domain)
            for image in images]


def read_groups(root: str | Path) -> dict[str, str]:
    """A tree's ``groups.csv``: file path relative to the root (``val/A/A-0000.jpg``) -> group; {} without one.

    Raises:
        InputError: the file lacks the ``file`` and ``group`` columns.
    """
    path = Path(root) / GROUPS_FILE
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"file", "group"} <= set(reader.fieldnames or ()):
            raise InputError(f"{Path(root).name}/{GROUPS_FILE} needs the columns file,group; "
                             f"it has {reader.fieldnames}.")
        return {row["file"].strip().replace("\\", "/"): row["group"].strip() for row in reader}


def read_datasets(
    roots: Sequence[str | Path], split: str | None = None, held_out: float = HELD_OUT_SHARE, seed: int = 0
) -> list[LabeledImage]:
    """The labeled images of several ImageFolder trees as one set (the union of their chords).

    A tree with ``groups.csv`` is split by group: all its images are pooled (its own split folders
    hold near-duplicates of each other) and whole groups, about ``held_out`` of its frames, become
    ``val``, the rest ``train``; files the CSV does not list are groups of their own. A tree without
    groups keeps its split folders (a tree without splits is all ``train``).

    Args:
        roots: the trees (``<root>/<chord>/*`` or ``<root>/<split>/<chord>/*``).
        split: "train", "val", or None for every image.
        held_out: share of a grouped tree held out as ``val``.
        seed: which groups are held out.

    Returns:
        Images of every tree in the order given, each with its ``domain`` and ``split`` ("train" or
        "val"; a split folder of another name keeps its name).

    Raises:
        InputError: no tree, a tree that cannot be read (see :func:`read_image_folder`), or no image
            in the split asked for.
    """
    if not roots:
        raise InputError("No dataset folder was given.")
    images = []
    for root in roots:
        found = read_image_folder(root)
        if read_groups(root):
            val_groups = _held_out_groups(found, held_out, seed)
            found = [LabeledImage(i.path, i.chord, "val" if _group_of(i) in val_groups else "train", i.group,
                                  i.domain) for i in found]
        else:
            found = [i if i.split else LabeledImage(i.path, i.chord, "train", i.group, i.domain) for i in found]
        images += [i for i in found if split is None or i.split == split]
    if not images:
        raise InputError(f"No images in split {split!r} of {', '.join(Path(r).name for r in roots)}.")
    return images


def read_train_and_val(roots: Sequence[str | Path]) -> tuple[list[LabeledImage], list[LabeledImage] | None]:
    """The training images of several trees and their validation images (None when no tree has a
    ``val`` split), both by :func:`read_datasets` (a tree with ``groups.csv`` split by group).

    Raises:
        InputError: no labeled images to train on.
    """
    images = read_datasets(roots, "train")
    try:
        return images, read_datasets(roots, "val")
    except InputError:  # no tree has a val split
        return images, None


def _group_of(image: LabeledImage) -> str:
    """The image's group, or the image itself when the CSV does not list it."""
    return image.group or f"file:{image.path.name}"


def _held_out_groups(images: Sequence[LabeledImage], share: float, seed: int) -> set[str]:
    """Groups to hold out: in a seeded random order, each group that keeps the held-out frames within
    ``share`` of all, so that the held-out part is about ``share`` and never a near twin of training."""
    sizes: dict[str, int] = {}
    for image in images:
        sizes[_group_of(image)] = sizes.get(_group_of(image), 0) + 1
    order = sorted(sizes, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    budget, chosen, taken = share * len(images), set(), 0
    for group in order:
        if taken + sizes[group] <= budget:
            chosen.add(group)
            taken += sizes[group]
    return chosen


def _natural_key(name: str) -> tuple:
    """Sort key putting ``A-9.jpg`` before ``A-10.jpg``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name))


def holdout_groups(images: Sequence[LabeledImage], runs: int = RUNS_PER_CLASS) -> list[str]:
    """A group per image for holdouts and cross-validation folds, so that a held-out frame is not a near
    twin of a training frame.

    The tree's ``groups.csv`` group where it gives one; otherwise a run of consecutive files: each chord
    folder's files in natural name order (frames of a recording are named in order: ``A-9`` before
    ``A-10``) cut into ``runs`` contiguous runs of about equal length.

    Args:
        images: labeled images (e.g. from :func:`read_datasets`).
        runs: runs per chord folder where the tree gives no groups.

    Returns:
        One group key per image, in order (keys of different trees and folders never collide).
    """
    keys: list[str] = [""] * len(images)
    folders: dict[tuple[str, str], list[int]] = {}
    for index, image in enumerate(images):
        if image.group:
            keys[index] = f"{image.domain}:group:{image.group}"
        else:
            folders.setdefault((image.domain, str(image.path.parent)), []).append(index)
    for (domain, folder), members in folders.items():
        members = sorted(members, key=lambda i: _natural_key(images[i].path.name))
        for position, index in enumerate(members):
            keys[index] = f"{domain}:{folder}:run{position * max(1, runs) // len(members)}"
    return keys


def group_folds(labels: Sequence, groups: Sequence | None, folds: int,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cross-validation folds, (train indices, test indices) each, that keep every group whole.

    Stratified by label as far as whole groups allow (``StratifiedGroupKFold``, shuffled by ``seed``).
    Without ``groups``, with fewer groups than folds, or when a fold's training part would lack a
    class, the folds are stratified folds of single frames (``StratifiedKFold``) instead.

    Args:
        labels: class of each item.
        groups: group of each item (e.g. :func:`holdout_groups`), or None.
        folds: number of folds (at least 2).
        seed: random seed of the folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    placeholder = np.zeros((len(labels), 1))
    # scikit-learn refuses more folds than the largest class has members (tiny sets: a few per chord)
    folds = max(2, min(folds, int(np.unique(labels, return_counts=True)[1].max())))
    if groups is not None and len(np.unique(np.asarray(groups))) >= folds:
        with warnings.catch_warnings():  # "the least populated class has fewer members than folds"
            warnings.simplefilter("ignore", UserWarning)
            splits = list(StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
                          .split(placeholder, labels, np.asarray(groups)))
        classes = len(np.unique(labels))
        if all(len(test) and len(np.unique(labels[train])) == classes for train, test in splits):
            return splits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(placeholder, labels))


def group_holdout(labels: Sequence, groups: Sequence, fraction: float,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(train, holdout) indices: whole groups held out, at most ``fraction`` of each class.

    Groups are taken in a seeded random order, each one whose frames keep every class it holds within
    ``fraction`` of that class; a class the holdout would take whole stays in training.

    Returns:
        None when no group fits (e.g. every group is larger than ``fraction`` of its class).
    """
    labels, groups = np.asarray(labels), np.asarray(groups).astype(str)
    budget = {label: fraction * count for label, count in zip(*np.unique(labels, return_counts=True))}
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    taken = dict.fromkeys(budget, 0)
    held: list[int] = []
    for group in sorted(members, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest()):
        counts = dict(zip(*np.unique(labels[members[group]], return_counts=True)))
        if all(taken[label] + n <= budget[label] for label, n in counts.items()):
            held += members[group]
            for label, n in counts.items():
                taken[label] += n
    holdout = np.array(sorted(held), dtype=int)
    if not len(holdout):
        return None
    return np.setdiff1d(np.arange(len(labels)), holdout), holdout


def file_digest(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes (remembered while the file's size and mtime hold)."""
    stat = os.stat(path)
    return _digest(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=65536)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_fingerprint(images: Sequence[LabeledImage]) -> str:
    """SHA-256 over the images' contents and labels, independent of file names and order."""
    pairs = sorted(f"{file_digest(image.path)}:{image.chord}" for image in images)
    return hashlib.sha256("\n".join(pairs).encode()).hexdigest()


def _pack(result: HandsResult) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        landmarks=(np.stack([h.landmarks_norm for h in result.hands]) if result.hands
                   else np.zeros((0, 21, 3), np.float32)),
        handedness=np.array([h.handedness for h in result.hands], dtype="U5"),
        scores=np.array([h.score for h in result.hands], dtype=np.float32),
        size=np.array([result.width, result.height]),
    )
    return buffer.getvalue()


def hands_result(landmarks, handedness, scores, width: int, height: int, settings: HandSettings) -> HandsResult:
    """A frame's hands rebuilt from what the landmark cache stores per hand: normalised landmarks
    (n, 21, 3), handedness and score."""
    hands = [Hand.from_normalised(points, str(label), float(score), int(width), int(height))
             for points, label, score in zip(landmarks, handedness, scores)]
    return HandsResult.from_hands(hands, int(width), int(height), settings)


def _unpack(blob: bytes, settings: HandSettings) -> HandsResult:
    data = np.load(io.BytesIO(blob))
    width, height = data["size"]
    return hands_result(data["landmarks"], data["handedness"], data["scores"], width, height, settings)


class LandmarkCache:
    """Hand landmarks by image content, in one SQLite file per detector setting.

    Safe for several processes: SQLite serialises writers, and each write is one short transaction.
    """

    def __init__(self, settings: HandSettings = HandSettings(), folder: str | Path | None = None) -> None:
        folder = Path(folder) if folder else get_settings().cache_dir / "landmarks"
        folder.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.path = folder / f"{settings.key}.sqlite"
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS landmarks (digest TEXT PRIMARY KEY, result BLOB NOT NULL)")
        self._db.commit()

    def get_many(self, digests: Sequence[str]) -> dict[str, HandsResult]:
        """The cached results among ``digests``."""
        found = {}
        for start in range(0, len(digests), 500):
            chunk = list(digests[start : start + 500])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT digest, result FROM landmarks WHERE digest IN ({marks})"
            for digest, blob in self._db.execute(query, chunk):
                found[digest] = _unpack(blob, self.settings)
        return found

    def put(self, digest: str, result: HandsResult) -> None:
        """Store one result (replacing an older one for the same content)."""
        self.put_packed(digest, _pack(result))

    def put_packed(self, digest: str, blob: bytes) -> None:
        """Store one result already packed by a worker."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO landmarks VALUES (?, ?)", (digest, blob))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()


_worker_detector: HandDetector | None = None


def _init_worker(settings: HandSettings) -> None:
    global _worker_detector
    os.environ.setdefault("GLOG_minloglevel", "2")
    _worker_detector = HandDetector(settings)


def _detect_file(path: str) -> tuple[str, bytes | None]:
    """Worker: landmarks of one image file, packed; None for an unreadable image."""
    try:
        image = read_image(path)  # checks the declared size before decoding
    except InputError:
        return path, None
    return path, _pack(_worker_detector.detect(image))


def extract_landmarks(
    paths: Sequence[str | Path],
    settings: HandSettings = HandSettings(),
    cache: LandmarkCache | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[HandsResult]:
    """Hand landmarks of image files, from the cache where it has them, detected otherwise.

    Each image is detected on its own (MediaPipe's image mode), so a result never depends on the
    order of the files. Detection runs in ``workers`` processes (default: the number of CPUs, at most
    4); each starts its own MediaPipe.

    Args:
        paths: image files.
        settings: detector settings (part of the cache key).
        cache: the cache to read and fill; default the settings' cache under CHORD_STUDIO_HOME.
        workers: processes for detection; 1 detects in this process.
        progress: called as ``progress(done, total)`` while images are detected.

    Returns:
        One result per path, in order.

    Raises:
        InputError: an image cannot be read.
    """
    own_cache = cache is None
    cache = cache or LandmarkCache(settings)
    try:
        digests = [file_digest(p) for p in paths]
        known = cache.get_many(digests)
        todo = sorted({str(p): d for p, d in zip(paths, digests) if d not in known}.items())
        total = len(todo)
        if progress:
            progress(0, total)
        workers = workers or min(4, os.cpu_count() or 1)
        if todo and (workers <= 1 or total < 8):
            _init_worker(settings)
            outputs = map(_detect_file, [p for p, _ in todo])
            _run(outputs, dict(todo), cache, known, settings, progress, total)
        elif todo:
            import multiprocessing

            # spawn, not fork: MediaPipe's graph and threads do not survive a fork.
            context = multiprocessing.get_context("spawn")
            with context.Pool(workers, initializer=_init_worker, initargs=(settings,)) as pool:
                outputs = pool.imap_unordered(_detect_file, [p for p, _ in todo], chunksize=8)
                _run(outputs, dict(todo), cache, known, settings, progress, total)
        return [known[d] for d in digests]
    finally:
        if own_cache:
            cache.close()


def _run(outputs, digest_of: dict[str, str], cache: LandmarkCache, known: dict, settings, progress, total) -> None:
    """Store each worker output in the cache and in ``known``, reporting progress."""
    for done, (path, blob) in enumerate(outputs, start=1):
        if blob is None:
            raise InputError(f"{Path(path).name} is not a readable image.")
        digest = digest_of[path]
        cache.put_packed(digest, blob)
        known[digest] = _unpack(blob, settings)
        if progress:
            progress(done, total)
