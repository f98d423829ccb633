"""Labeled frames on disk: ImageFolder trees, and their hand landmarks with an on-disk cache.

An ImageFolder tree is ``<root>/<split>/<chord>/*.jpg`` or ``<root>/<chord>/*.jpg``; chord folder
names go through the vocabulary (``a minor``, ``Am`` and ``A_minor`` are all Am).

Landmarks are cached in one SQLite file per detector setting, keyed by the SHA-256 of the image file's
bytes: a renamed or copied image hits the cache, an edited one does not, and a second run over the
same images reads instead of detecting.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY, parse_chord
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandSettings, HandsResult
from pipeline.vision.hands import HandDetector

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class LabeledImage:
    """One image file with its chord and split ("" for a tree without splits)."""

    path: Path
    chord: str
    split: str = ""


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
    return images


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
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        return path, None
    return path, _pack(_worker_detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))


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
