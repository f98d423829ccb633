"""The label store: clips, frames, predictions, labels with history, snapshots and jobs in one SQLite file.

A store is a folder (default :attr:`pipeline.core.config.Settings.data_dir`)::

    labels.sqlite                  the database (WAL mode)
    frames/<ab>/<sha256>.<ext>     each frame's bytes, once, named by the SHA-256 of its content
    jobs/<id>/log.txt              output of background training jobs

Why it cannot lose a label:

- Every change is one ``BEGIN IMMEDIATE`` transaction: a writer takes the write lock up front, so two
  processes queue on SQLite's busy timeout instead of failing half way; a process killed mid-write
  leaves the last committed state (WAL replays only whole transactions).
- Frame files are written (to a temporary name, then renamed) before the rows that point at them are
  committed, so a committed row always has its file. A failed add can leave an unreferenced file
  behind; it is named by its content, so a later add of the same frame reuses it.
- Label history is append-only: setting a label adds a row; undo marks a row undone (who can see
  it in the history) and never deletes it. ``frames.label_id`` caches the current label for fast
  queues and is updated in the same transaction as the history.
- Snapshots are immutable: triggers refuse any UPDATE or DELETE of a snapshot or its frames.
- ``PRAGMA user_version`` holds the schema version; opening an older store migrates it in one
  transaction, opening a newer one is refused before anything is written.

``synchronous=NORMAL`` (WAL): a killed process loses nothing committed; a power cut may lose the
last few transactions but never corrupts the store. Pass ``durable=True`` for ``FULL``.

One :class:`LabelStore` object per thread (SQLite connections are not shared between threads).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline.core.chords import VOCABULARY, parse_chord
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError

DB_FILE = "labels.sqlite"
FRAMES_DIR = "frames"
SCHEMA_VERSION = 2
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
HASH_SIDE = 16

# One list of statements per schema version: MIGRATIONS[v] takes a store from version v to v + 1.
# Statements, not executescript(): executescript commits first, and a migration must be one transaction.
MIGRATIONS: list[list[str]] = [
    [  # 0 -> 1: clips, frames, predictions, labels, snapshots
        """CREATE TABLE clips (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            digest TEXT UNIQUE,            -- SHA-256 of the video file; NULL for a named group of images
            path TEXT,
            fps REAL,
            duration REAL,
            added_at TEXT NOT NULL)""",
        """CREATE TABLE frames (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL UNIQUE,   -- SHA-256 of the stored bytes
            ext TEXT NOT NULL,
            clip_id INTEGER REFERENCES clips(id),
            time REAL,
            frame_index INTEGER,
            source TEXT NOT NULL,          -- the file or dataset it came from
            split TEXT,                    -- the split its source dataset put it in, if any
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            phash BLOB NOT NULL,           -- 256-bit difference hash, for near-duplicates
            box TEXT,                      -- fretboard box "x1 y1 x2 y2" in pixels, if known
            label_id INTEGER,              -- current label (cache of the history; see module doc)
            added_at TEXT NOT NULL)""",
        "CREATE INDEX frames_clip ON frames(clip_id, time)",
        "CREATE INDEX frames_label ON frames(label_id)",
        """CREATE TABLE predictions (
            id INTEGER PRIMARY KEY,
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            model TEXT NOT NULL,
            model_version TEXT NOT NULL,
            chord TEXT NOT NULL,
            probability REAL NOT NULL,
            covered INTEGER NOT NULL DEFAULT 1,
            embedding TEXT,                -- where the frame's embedding lives (e.g. a landmark cache key)
            created_at TEXT NOT NULL,
            UNIQUE (frame_id, model, model_version))""",
        "CREATE INDEX predictions_model ON predictions(model, chord)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            chord TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('hand', 'prediction', 'import')),
            prediction_id INTEGER REFERENCES predictions(id),
            undone_at TEXT)""",
        "CREATE INDEX labels_frame ON labels(frame_id, id)",
        "CREATE INDEX labels_author ON labels(author, id)",
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            n_frames INTEGER NOT NULL,
            counts TEXT NOT NULL,          -- JSON chord -> frames
            fingerprint TEXT NOT NULL)""",
        """CREATE TABLE snapshot_frames (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
            frame_id INTEGER NOT NULL REFERENCES frames(id),
            chord TEXT NOT NULL,
            label_id INTEGER NOT NULL,
            PRIMARY KEY (snapshot_id, frame_id)) WITHOUT ROWID""",
        *(
            f"CREATE TRIGGER {table}_immutable_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'snapshots are immutable'); END"
            for table in ("snapshots", "snapshot_frames")
            for op in ("UPDATE", "DELETE")
        ),
    ],
    [  # 1 -> 2: background jobs
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
            progress TEXT NOT NULL DEFAULT '',
            command TEXT NOT NULL,         -- JSON list: the training command line
            out TEXT NOT NULL,
            log TEXT NOT NULL,
            pid INTEGER,
            returncode INTEGER,
            started_at TEXT NOT NULL,
            finished_at TEXT)""",
    ],
]
assert len(MIGRATIONS) == SCHEMA_VERSION

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@-]{0,99}")


def now() -> str:
    """The current UTC time as ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def default_author() -> str:
    """The name labels are written under when none is given: the login name."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "anonymous"


def check_name(name: str, what: str) -> str:
    """Check a snapshot, clip or job name: letters, digits and ``. _ - + = @``, no ``..``.

    Names become folder and file names on export, so a name must not be able to leave its folder.

    Raises:
        InputError: the name is empty, too long, has other characters, or contains ``..``.
    """
    if not isinstance(name, str) or ".." in name or not _SAFE_NAME.fullmatch(name):
        raise InputError(
            f"{what} name {name!r} is not allowed: use up to 100 letters, digits and . _ - + = @, "
            "starting with a letter or digit, without '..'."
        )
    return name


def check_relative(member: str, what: str = "path") -> Path:
    """A relative path inside a folder: no absolute path, drive or ``..`` component.

    Args:
        member: a path from a dataset file or archive (``/`` or ``\\`` separated).
        what: what the path is, for the message.

    Returns:
        The path as a relative :class:`Path`.

    Raises:
        InputError: the path is empty, absolute, or has a ``..`` component.
    """
    text = str(member).replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts:
        raise InputError(f"The {what} {member!r} points outside its folder (absolute or with '..'); refusing it.")
    return Path(*parts)


def difference_hash(gray: np.ndarray) -> bytes:
    """256-bit difference hash of a grayscale image (16 x 16 brighter-than-right-neighbour bits), 32 bytes.

    Measured here: frames of one chord in one still shot differ in under 10 bits; frames of different
    chords in over 75 on the real frames and over 12 on the sample clips, where the hand is small in the
    frame (a 64-bit hash could not tell those apart at all).
    """
    import cv2

    small = cv2.resize(gray, (HASH_SIDE + 1, HASH_SIDE), interpolation=cv2.INTER_AREA).astype(np.int16)
    return np.packbits((small[:, 1:] > small[:, :-1]).reshape(-1)).tobytes()


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode image bytes to a grayscale array, refusing corrupt or truncated files.

    Raises:
        InputError: the bytes are not a readable image (a JPEG cut short included).
    """
    import cv2

    # OpenCV 4.11 refuses a truncated JPEG itself (checked in the tests), so no marker check of our own:
    # phones append kilobytes after the end-of-image marker, which such a check would refuse.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if data else None
    if image is None or image.size == 0:
        raise InputError(f"{name} is not a readable image.")
    return image


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class FrameRecord:
    """One stored frame.

    Attributes:
        id: frame id.
        digest: SHA-256 of its bytes.
        path: the file in the store.
        clip: name of its clip (or image group), None for a lone image.
        time: seconds into the clip (None for images).
        frame_index: index in the clip (None for images).
        source: the file or dataset it came from.
        split: the split its source dataset put it in ("" if none).
        width, height: size in pixels.
        box: fretboard box (x1, y1, x2, y2) in pixels, or None.
        chord: its current label, or None when unlabeled.
    """

    id: int
    digest: str
    path: Path
    clip: str | None
    time: float | None
    frame_index: int | None
    source: str
    split: str
    width: int
    height: int
    box: tuple[float, float, float, float] | None
    chord: str | None
    clip_id: int | None = None


@dataclass(frozen=True)
class Prediction:
    """A model's stored answer for a frame (``embedding`` names where the frame's embedding lives)."""

    id: int
    frame_id: int
    model: str
    model_version: str
    chord: str
    probability: float
    covered: bool = True
    embedding: str | None = None
    created_at: str = ""


@dataclass(frozen=True)
class NewPrediction:
    """A prediction to store with a frame."""

    model: str
    model_version: str
    chord: str
    probability: float
    covered: bool = True
    embedding: str | None = None


@dataclass(frozen=True)
class LabelEvent:
    """One change of a frame's label.

    Attributes:
        origin: "hand" (typed by a person), "prediction" (a person accepted a model's answer,
            ``prediction_id``), or "import" (came with an imported dataset).
        undone_at: when it was undone, or None.
    """

    id: int
    frame_id: int
    chord: str
    author: str
    created_at: str
    origin: str
    prediction_id: int | None
    undone_at: str | None


@dataclass(frozen=True)
class NewFrame:
    """A frame to add: its bytes (or a file to copy), where it comes from, and optionally its label.

    Attributes:
        source: the file or dataset it came from (shown in history and CSV exports).
        data: encoded image bytes; or None to read ``path``.
        path: image file to copy byte for byte (keeps its digest, so landmark caches still hit).
        ext: file suffix to store under (default: the path's, else ``.jpg``).
        time, frame_index: place in its clip.
        split: the split its source dataset put it in.
        box: fretboard box (x1, y1, x2, y2) in pixels.
        chord: a label that comes with it (any spelling :func:`pipeline.core.chords.parse_chord` reads).
        predictions: model answers to store with it.
    """

    source: str
    data: bytes | None = None
    path: Path | None = None
    ext: str | None = None
    time: float | None = None
    frame_index: int | None = None
    split: str = ""
    box: tuple[float, float, float, float] | None = None
    chord: str | None = None
    predictions: tuple[NewPrediction, ...] = ()


@dataclass(frozen=True)
class ClipInfo:
    """The clip (or named group of images) a batch of frames belongs to; frames of one clip share a split."""

    name: str
    digest: str | None = None
    path: str | None = None
    fps: float | None = None
    duration: float | None = None


@dataclass(frozen=True)
class PreparedFrame:
    """A validated frame whose file is already in the store (see :meth:`LabelStore.prepare`)."""

    item: NewFrame
    digest: str
    ext: str
    path: Path
    width: int
    height: int
    phash: bytes
    chord: str | None


@dataclass(frozen=True)
class AddResult:
    """What an add did: the new frame ids (in input order) and the sources skipped as duplicates."""

    frame_ids: list[int]
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Snapshot:
    """A frozen dataset version: its name, size, frames per chord and content fingerprint.

    ``fingerprint`` is SHA-256 over sorted ``digest:chord`` lines, the formula of
    :func:`pipeline.models.datasets.dataset_fingerprint`, so a model trained on the snapshot's frames (or
    their export) records the same fingerprint.
    """

    id: int
    name: str
    created_at: str
    note: str
    n_frames: int
    counts: dict[str, int]
    fingerprint: str


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed from snapshot ``a`` to ``b``.

    Attributes:
        added: frame ids in b, not in a. removed: in a, not in b.
        relabeled: (frame id, chord in a, chord in b).
        counts: chord -> (frames in a, frames in b), for every chord in either.
    """

    a: str
    b: str
    added: list[int]
    removed: list[int]
    relabeled: list[tuple[int, str, str]]
    counts: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Job:
    """A background training job (see :mod:`labeling.jobs`)."""

    id: int
    kind: str
    snapshot: str
    status: str
    progress: str
    command: str
    out: str
    log: str
    pid: int | None
    returncode: int | None
    started_at: str
    finished_at: str | None


@dataclass(frozen=True)
class StoreStats:
    """Counts of a store: frames, labeled frames, frames per current label, clips, predictions per model."""

    frames: int
    labeled: int
    chords: dict[str, int]
    clips: int
    predictions: dict[str, int]
    label_events: int
    snapshots: int


# --------------------------------------------------------------------------------------------------
# The store


class LabelStore:
    """An open label store.

    Args:
        root: the store folder (created if missing); default the configured data dir.
        durable: fsync on every commit (``synchronous=FULL``) and every frame file; slower, survives
            power cuts as well as killed processes.
        timeout: seconds a writer waits for another process's transaction.

    Raises:
        InputError: the database is not a label store, or was written by a newer schema.
    """

    def __init__(self, root: str | Path | None = None, *, durable: bool = False, timeout: float = 60.0) -> None:
        self.root = Path(root) if root is not None else get_settings().data_dir
        self.durable = durable
        self.db_path = self.root / DB_FILE
        if self.db_path.exists():
            with open(self.db_path, "rb") as handle:
                if handle.read(16) not in (b"SQLite format 3\x00", b""):
                    raise InputError(f"{self.db_path} is not a label store (not an SQLite database).")
        self.root.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write below opens its own.
        self._db = sqlite3.connect(self.db_path, timeout=timeout, isolation_level=None)
        try:
            self._check_version(self._version())
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # -- schema ----------------------------------------------------------------------------------

    def _version(self) -> int:
        try:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise InputError(f"{self.db_path} is not a label store ({error}).") from error

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise InputError(
                f"{self.db_path} was written by a newer version of the studio (schema {version}; this one reads "
                f"up to {SCHEMA_VERSION}); upgrade the studio to open it. Nothing was changed."
            )

    def _migrate(self) -> None:
        if self._version() == SCHEMA_VERSION:
            return
        with self._write():
            version = self._version()  # another process may have migrated while we waited
            self._check_version(version)
            for target in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        """The schema version of the open store."""
        return self._version()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so writers queue, never deadlock."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" for a sound database)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- frames ----------------------------------------------------------------------------------

    def frame_file(self, digest: str, ext: str) -> Path:
        """Where a frame with this digest and suffix lives in the store."""
        return self.root / FRAMES_DIR / digest[:2] / f"{digest}{ext}"

    def prepare(self, items: Sequence[NewFrame], on_duplicate: str = "error") -> tuple[list[PreparedFrame], list[str]]:
        """Validate frames and put their files into the store, before any row is written.

        Everything is checked before the first file is written, so bad input changes nothing.

        Args:
            items: the frames.
            on_duplicate: "error" refuses the batch if a frame is already stored (or twice in it);
                "skip" leaves such frames out.

        Returns:
            (the prepared frames in input order, the sources skipped as duplicates).

        Raises:
            InputError: an image is corrupt, a chord or box is invalid, or (on_duplicate="error") a
                frame is a duplicate.
        """
        if on_duplicate not in ("error", "skip"):
            raise ValueError("on_duplicate must be 'error' or 'skip'")
        checked: list[tuple[NewFrame, str, str, int, int, int, str | None]] = []
        seen: set[str] = set()
        skipped: list[str] = []
        for item in items:
            data = item.data if item.data is not None else _read_bytes(item.path, item.source)
            gray = decode_image(data, item.source)
            chord = parse_chord(item.chord) if item.chord is not None else None
            if item.box is not None and (len(item.box) != 4 or not all(np.isfinite(item.box))):
                raise InputError(f"{item.source}: a fretboard box needs four finite numbers x1 y1 x2 y2.")
            for prediction in item.predictions:
                if parse_chord(prediction.chord) != prediction.chord or not 0 <= prediction.probability <= 1:
                    raise InputError(f"{item.source}: prediction {prediction.chord!r} p={prediction.probability} "
                                     "is not a vocabulary chord with a probability in [0, 1].")
            ext = (item.ext or (item.path.suffix if item.path else "") or ".jpg").lower()
            if ext not in IMAGE_EXTS:
                raise InputError(f"{item.source}: suffix {ext!r} is not an image suffix ({', '.join(IMAGE_EXTS)}).")
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                if on_duplicate == "skip":
                    skipped.append(item.source)
                    continue
                raise InputError(f"{item.source} is the same image as another frame of this batch; nothing was added.")
            seen.add(digest)
            checked.append((item, digest, ext, gray.shape[1], gray.shape[0], difference_hash(gray), chord))
        known = self._known_digests([c[1] for c in checked])
        if known:
            duplicates = [c[0].source for c in checked if c[1] in known]
            if on_duplicate == "error":
                raise InputError(
                    f"{duplicates[0]} is already in the label store"
                    f"{f' (and {len(duplicates) - 1} more frames of this batch)' if len(duplicates) > 1 else ''}; "
                    "nothing was added (skip duplicates to add the rest)."
                )
            skipped += duplicates
            checked = [c for c in checked if c[1] not in known]
        prepared = []
        for item, digest, ext, width, height, phash, chord in checked:
            path = self.frame_file(digest, ext)
            if not path.exists():
                self._write_file(path, item.data if item.data is not None else _read_bytes(item.path, item.source))
            prepared.append(PreparedFrame(item, digest, ext, path, width, height, phash, chord))
        return prepared, skipped

    def _write_file(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Temp name then rename: a reader (or a killed writer) never leaves half a file under the real name.
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                if self.durable:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _known_digests(self, digests: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(digests), 500):
            chunk = list(digests[start: start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self._db.execute(f"SELECT digest FROM frames WHERE digest IN ({marks})", chunk))
        return found

    def commit(self, prepared: Sequence[PreparedFrame], clip: ClipInfo | None = None,
               author: str = "import") -> list[int]:
        """Insert prepared frames (with their clip, labels and predictions) in one transaction.

        Args:
            prepared: from :meth:`prepare`.
            clip: the clip they belong to (created, or reused when one of that name exists).
            author: recorded on the labels that come with the frames (origin "import").

        Returns:
            The new frame ids, in order.

        Raises:
            InputError: a frame was added by another process meanwhile (nothing is added).
        """
        stamp = now()
        ids = []
        try:
            with self._write() as db:
                clip_id = self._clip_id(clip, stamp) if clip is not None else None
                for frame in prepared:
                    item = frame.item
                    box = " ".join(f"{v:.2f}" for v in item.box) if item.box is not None else None
                    cursor = db.execute(
                        "INSERT INTO frames (digest, ext, clip_id, time, frame_index, source, split, width, height,"
                        " phash, box, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (frame.digest, frame.ext, clip_id, item.time, item.frame_index, item.source, item.split or "",
                         frame.width, frame.height, frame.phash, box, stamp),
                    )
                    frame_id = cursor.lastrowid
                    ids.append(frame_id)
                    for p in item.predictions:
                        db.execute(
                            "INSERT INTO predictions (frame_id, model, model_version, chord, probability, covered,"
                            " embedding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (frame_id, p.model, p.model_version, p.chord, float(p.probability), int(p.covered),
                             p.embedding, stamp),
                        )
                    if frame.chord is not None:
                        label = db.execute(
                            "INSERT INTO labels (frame_id, chord, author, created_at, origin) VALUES (?, ?, ?, ?, 'import')",
                            (frame_id, frame.chord, author, stamp),
                        ).lastrowid
                        db.execute("UPDATE frames SET label_id = ? WHERE id = ?", (label, frame_id))
        except sqlite3.IntegrityError as error:
            raise InputError(f"Frames were added by another process meanwhile ({error}); nothing was added.") from error
        return ids

    def _clip_id(self, clip: ClipInfo, stamp: str) -> int:
        check_name(clip.name, "Clip")
        if clip.digest is not None:
            row = self._db.execute("SELECT name FROM clips WHERE digest = ?", (clip.digest,)).fetchone()
            if row:
                raise InputError(f"This clip is already in the label store as {row[0]!r}; nothing was added.")
        row = self._db.execute("SELECT id, digest FROM clips WHERE name = ?", (clip.name,)).fetchone()
        if row:
            if clip.digest is None and row[1] is None:  # more images of a named group
                return int(row[0])
            raise InputError(f"A clip named {clip.name!r} is already in the label store; choose another name.")
        return int(self._db.execute(
            "INSERT INTO clips (name, digest, path, fps, duration, added_at) VALUES (?, ?, ?, ?, ?, ?)",
            (clip.name, clip.digest, clip.path, clip.fps, clip.duration, stamp),
        ).lastrowid)

    def add_frames(self, items: Sequence[NewFrame], clip: ClipInfo | None = None, *, author: str = "import",
                   on_duplicate: str = "error") -> AddResult:
        """Add frames, all or none (see :meth:`prepare` and :meth:`commit`).

        Returns:
            The new frame ids and the sources skipped as duplicates.
        """
        prepared, skipped = self.prepare(items, on_duplicate)
        return AddResult(self.commit(prepared, clip, author) if prepared else [], skipped)

    def add_frame(self, item: NewFrame, clip: ClipInfo | None = None, author: str = "import") -> int:
        """Add one frame (with its predictions and label, if any); returns its id.

        Raises:
            InputError: the image is corrupt, a chord unknown, or the frame already stored.
        """
        return self.add_frames([item], clip, author=author).frame_ids[0]

    def add_predictions(self, rows: Sequence[tuple[int, NewPrediction]]) -> int:
        """Store (frame id, prediction) pairs in one transaction, replacing a model version's older answer.

        Returns:
            Rows written.
        """
        stamp = now()
        with self._write() as db:
            for frame_id, p in rows:
                db.execute(
                    "INSERT INTO predictions (frame_id, model, model_version, chord, probability, covered, embedding,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (frame_id, model, model_version) DO UPDATE"
                    " SET chord = excluded.chord, probability = excluded.probability, covered = excluded.covered,"
                    " embedding = excluded.embedding, created_at = excluded.created_at",
                    (frame_id, p.model, p.model_version, parse_chord(p.chord), float(p.probability), int(p.covered),
                     p.embedding, stamp),
                )
        return len(rows)

    _FRAME_COLUMNS = ("f.id, f.digest, f.ext, c.name, f.time, f.frame_index, f.source, f.split, f.width, f.height,"
                      " f.box, l.chord, f.clip_id")
    _FRAME_JOINS = "FROM frames f LEFT JOIN clips c ON c.id = f.clip_id LEFT JOIN labels l ON l.id = f.label_id"

    def _frame_record(self, row) -> FrameRecord:
        box = tuple(float(v) for v in row[10].split()) if row[10] else None
        return FrameRecord(row[0], row[1], self.frame_file(row[1], row[2]), row[3], row[4], row[5], row[6],
                           row[7] or "", row[8], row[9], box, row[11], row[12])

    def frame(self, ref: int | str) -> FrameRecord:
        """A frame by id, or by its digest (or a unique prefix of at least 6 hex digits).

        Raises:
            InputError: no such frame, or the prefix is ambiguous.
        """
        text = str(ref).strip()
        if text.isdigit() and len(text) < 6:
            rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.id = ?",
                                    (int(text),)).fetchall()
        elif re.fullmatch(r"[0-9a-f]{6,64}", text):
            rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.digest >= ? AND "
                                    "f.digest < ? LIMIT 2", (text, text + "g")).fetchall()
            if not rows and text.isdigit():
                rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.id = ?",
                                        (int(text),)).fetchall()
        else:
            raise InputError(f"{ref!r} is neither a frame id nor a frame digest.")
        if not rows:
            raise InputError(f"No frame {ref!r} in the label store.")
        if len(rows) > 1:
            raise InputError(f"Digest prefix {ref!r} matches several frames; give more digits.")
        return self._frame_record(rows[0])

    def frames(self, ids: Sequence[int] | None = None, clip: str | None = None) -> list[FrameRecord]:
        """Frames by id (in the given order), or all frames (of one clip), by clip and time.

        Raises:
            InputError: an id is unknown.
        """
        if ids is not None:
            found: dict[int, FrameRecord] = {}
            for start in range(0, len(ids), 500):
                chunk = list(ids[start: start + 500])
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.id IN ({marks})",
                                            chunk):
                    found[row[0]] = self._frame_record(row)
            missing = [i for i in ids if i not in found]
            if missing:
                raise InputError(f"No frames {missing[:5]} in the label store.")
            return [found[i] for i in ids]
        where, args = ("WHERE c.name = ?", (clip,)) if clip is not None else ("", ())
        rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} {where} "
                                "ORDER BY f.clip_id, f.time, f.id", args)
        return [self._frame_record(row) for row in rows]

    def predictions(self, frame_id: int) -> list[Prediction]:
        """A frame's stored predictions, newest first."""
        rows = self._db.execute(
            "SELECT id, frame_id, model, model_version, chord, probability, covered, embedding, created_at"
            " FROM predictions WHERE frame_id = ? ORDER BY id DESC", (frame_id,))
        return [Prediction(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows]

    def clips(self) -> list[ClipInfo]:
        """The clips (and named image groups), by name."""
        rows = self._db.execute("SELECT name, digest, path, fps, duration FROM clips ORDER BY name")
        return [ClipInfo(*row) for row in rows]

    # -- labels ----------------------------------------------------------------------------------

    def set_label(self, frame: int | str, chord: str, author: str | None = None,
                  prediction_id: int | None = None) -> LabelEvent:
        """Label a frame (a new history row; the previous label stays in the history).

        Args:
            frame: frame id or digest (prefix).
            chord: any spelling of a vocabulary chord.
            author: who labels (default the login name).
            prediction_id: the prediction this label accepts (origin "prediction"); its chord must match.

        Returns:
            The new label event.

        Raises:
            InputError: unknown frame or chord, or a prediction of another frame or chord.
        """
        chord = parse_chord(chord)
        author = _check_author(author)
        frame_id = self.frame(frame).id if not isinstance(frame, int) else frame
        stamp = now()
        with self._write() as db:
            if db.execute("SELECT 1 FROM frames WHERE id = ?", (frame_id,)).fetchone() is None:
                raise InputError(f"No frame {frame_id} in the label store.")
            if prediction_id is not None:
                row = db.execute("SELECT frame_id, chord FROM predictions WHERE id = ?", (prediction_id,)).fetchone()
                if row is None or row[0] != frame_id or row[1] != chord:
                    raise InputError(f"Prediction {prediction_id} is not a {chord} prediction of frame {frame_id}.")
            label_id = db.execute(
                "INSERT INTO labels (frame_id, chord, author, created_at, origin, prediction_id) VALUES (?, ?, ?, ?, ?, ?)",
                (frame_id, chord, author, stamp, "prediction" if prediction_id is not None else "hand", prediction_id),
            ).lastrowid
            db.execute("UPDATE frames SET label_id = ? WHERE id = ?", (label_id, frame_id))
        return LabelEvent(label_id, frame_id, chord, author, stamp,
                          "prediction" if prediction_id is not None else "hand", prediction_id, None)

    def accept(self, frame: int | str, model: str | None = None, author: str | None = None) -> LabelEvent:
        """Label a frame with a model's answer (the most probable covered prediction, of ``model`` if given).

        Raises:
            InputError: the frame has no such prediction.
        """
        record = self.frame(frame)
        candidates = [p for p in self.predictions(record.id) if p.covered and (model is None or p.model == model)]
        if not candidates:
            raise InputError(f"Frame {record.id} has no prediction{f' of {model}' if model else ''} to accept.")
        best = max(candidates, key=lambda p: p.probability)
        return self.set_label(record.id, best.chord, author, prediction_id=best.id)

    def undo(self, author: str | None = None) -> LabelEvent | None:
        """Undo the last label change (of ``author``, if given): the frame's label goes back to the one before.

        Returns:
            The undone event (with its ``undone_at``), or None when there is nothing to undo.
        """
        stamp = now()
        with self._write() as db:
            where, args = ("AND author = ?", (author,)) if author is not None else ("", ())
            row = db.execute(f"SELECT id, frame_id FROM labels WHERE undone_at IS NULL {where} ORDER BY id DESC LIMIT 1",
                             args).fetchone()
            if row is None:
                return None
            db.execute("UPDATE labels SET undone_at = ? WHERE id = ?", (stamp, row[0]))
            db.execute("UPDATE frames SET label_id = (SELECT MAX(id) FROM labels WHERE frame_id = ? AND undone_at IS NULL)"
                       " WHERE id = ?", (row[1], row[1]))
            event = db.execute("SELECT id, frame_id, chord, author, created_at, origin, prediction_id, undone_at"
                               " FROM labels WHERE id = ?", (row[0],)).fetchone()
        return LabelEvent(*event)

    def history(self, frame: int | str) -> list[LabelEvent]:
        """Every label change of a frame, oldest first (undone ones included, with ``undone_at``)."""
        frame_id = self.frame(frame).id
        rows = self._db.execute("SELECT id, frame_id, chord, author, created_at, origin, prediction_id, undone_at"
                                " FROM labels WHERE frame_id = ? ORDER BY id", (frame_id,))
        return [LabelEvent(*row) for row in rows]

    # -- snapshots -------------------------------------------------------------------------------

    def create_snapshot(self, name: str, note: str = "") -> Snapshot:
        """Freeze the current labels as an immutable, named dataset version.

        Raises:
            InputError: the name is not allowed or taken, or no frame is labeled.
        """
        check_name(name, "Snapshot")
        stamp = now()
        with self._write() as db:
            if db.execute("SELECT 1 FROM snapshots WHERE name = ?", (name,)).fetchone():
                raise InputError(f"A snapshot named {name!r} exists already; snapshots never change, choose a new name.")
            rows = db.execute("SELECT f.digest, l.chord FROM frames f JOIN labels l ON l.id = f.label_id").fetchall()
            if not rows:
                raise InputError("No frame is labeled yet; label some frames before taking a snapshot.")
            counts = _counts(chord for _, chord in rows)
            fingerprint = hashlib.sha256("\n".join(sorted(f"{d}:{c}" for d, c in rows)).encode()).hexdigest()
            snapshot_id = db.execute(
                "INSERT INTO snapshots (name, created_at, note, n_frames, counts, fingerprint) VALUES (?, ?, ?, ?, ?, ?)",
                (name, stamp, note, len(rows), json.dumps(counts), fingerprint),
            ).lastrowid
            db.execute("INSERT INTO snapshot_frames (snapshot_id, frame_id, chord, label_id) SELECT ?, f.id, l.chord, l.id"
                       " FROM frames f JOIN labels l ON l.id = f.label_id", (snapshot_id,))
        return Snapshot(snapshot_id, name, stamp, note, len(rows), counts, fingerprint)

    def snapshots(self) -> list[Snapshot]:
        """All snapshots, oldest first."""
        rows = self._db.execute("SELECT id, name, created_at, note, n_frames, counts, fingerprint FROM snapshots ORDER BY id")
        return [Snapshot(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows]

    def snapshot(self, name: str) -> Snapshot:
        """A snapshot by name.

        Raises:
            InputError: no snapshot has that name.
        """
        for snapshot in self.snapshots():
            if snapshot.name == name:
                return snapshot
        known = [s.name for s in self.snapshots()]
        raise InputError(f"No snapshot named {name!r}; known: {known or 'none yet'}.")

    def snapshot_frames(self, name: str) -> list[tuple[FrameRecord, str]]:
        """A snapshot's frames with the chord each had when it was taken, by clip and time."""
        snapshot = self.snapshot(name)
        rows = self._db.execute(
            f"SELECT {self._FRAME_COLUMNS}, s.chord FROM snapshot_frames s JOIN frames f ON f.id = s.frame_id "
            "LEFT JOIN clips c ON c.id = f.clip_id LEFT JOIN labels l ON l.id = f.label_id WHERE s.snapshot_id = ? "
            "ORDER BY f.clip_id, f.time, f.id", (snapshot.id,))
        return [(self._frame_record(row[:-1]), row[-1]) for row in rows]

    def diff_snapshots(self, a: str, b: str) -> SnapshotDiff:
        """What changed between two snapshots (frames added, removed, relabeled; counts per chord)."""
        first, second = self.snapshot(a), self.snapshot(b)
        chords_a = dict(self._db.execute("SELECT frame_id, chord FROM snapshot_frames WHERE snapshot_id = ?", (first.id,)))
        chords_b = dict(self._db.execute("SELECT frame_id, chord FROM snapshot_frames WHERE snapshot_id = ?", (second.id,)))
        relabeled = sorted((f, chords_a[f], chords_b[f]) for f in chords_a.keys() & chords_b.keys()
                           if chords_a[f] != chords_b[f])
        names = [c for c in VOCABULARY if c in first.counts or c in second.counts]
        return SnapshotDiff(a, b, sorted(chords_b.keys() - chords_a.keys()), sorted(chords_a.keys() - chords_b.keys()),
                            relabeled, {c: (first.counts.get(c, 0), second.counts.get(c, 0)) for c in names})

    # -- jobs ------------------------------------------------------------------------------------

    def create_job(self, kind: str, snapshot: str, command: Sequence[str], out: str, log: str) -> int:
        """Record a queued background job (its command line, model folder and log file); returns its id."""
        with self._write() as db:
            return int(db.execute("INSERT INTO jobs (kind, snapshot, status, command, out, log, started_at) VALUES"
                                  " (?, ?, 'queued', ?, ?, ?, ?)",
                                  (kind, snapshot, json.dumps(list(command)), out, log, now())).lastrowid)

    def update_job(self, job_id: int, **values) -> None:
        """Set fields of a job (status, progress, pid, returncode, finished_at, log)."""
        allowed = {"status", "progress", "pid", "returncode", "finished_at", "log"}
        if not values or set(values) - allowed:
            raise ValueError(f"job fields must be among {sorted(allowed)}")
        assignments = ", ".join(f"{key} = ?" for key in values)
        with self._write() as db:
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))

    def jobs(self) -> list[Job]:
        """All background jobs, newest first."""
        rows = self._db.execute("SELECT id, kind, snapshot, status, progress, command, out, log, pid, returncode, started_at,"
                                " finished_at FROM jobs ORDER BY id DESC")
        return [Job(*row) for row in rows]

    def job(self, job_id: int) -> Job:
        """A job by id.

        Raises:
            InputError: no such job.
        """
        for job in self.jobs():
            if job.id == job_id:
                return job
        raise InputError(f"No job {job_id} in the label store.")

    # -- stats -----------------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        """Counts of frames, labels, clips and predictions."""
        db = self._db
        chords = dict(db.execute("SELECT l.chord, COUNT(*) FROM frames f JOIN labels l ON l.id = f.label_id GROUP BY l.chord"))
        return StoreStats(
            frames=db.execute("SELECT COUNT(*) FROM frames").fetchone()[0],
            labeled=sum(chords.values()),
            chords={c: chords[c] for c in VOCABULARY if c in chords},
            clips=db.execute("SELECT COUNT(*) FROM clips").fetchone()[0],
            predictions=dict(db.execute("SELECT model, COUNT(*) FROM predictions GROUP BY model ORDER BY model")),
            label_events=db.execute("SELECT COUNT(*) FROM labels").fetchone()[0],
            snapshots=db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0],
        )

    def query(self, sql: str, args: Sequence = ()) -> sqlite3.Cursor:
        """Run a read-only query (the review queue, tests); iterate the cursor for its rows."""
        return self._db.execute(sql, args)


def _read_bytes(path: Path | None, source: str) -> bytes:
    if path is None:
        raise ValueError(f"{source}: a NewFrame needs data or a path")
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}.") from error


def _check_author(author: str | None) -> str:
    author = default_author() if author is None else author
    if not isinstance(author, str) or not author.strip() or len(author) > 100:
        raise InputError(f"Author {author!r} must be a name of 1 to 100 characters.")
    return author.strip()


def _counts(chords) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chord in chords:
        counts[chord] = counts.get(chord, 0) + 1
    return {c: counts[c] for c in VOCABULARY if c in counts}


def open_store(root: str | Path | None = None) -> LabelStore:
    """Open (or create) the label store at ``root``, default the configured data dir."""
    return LabelStore(root)


__all__ = [
    "AddResult", "ClipInfo", "FrameRecord", "Job", "LabelEvent", "LabelStore", "NewFrame", "NewPrediction",
    "Prediction", "PreparedFrame", "SCHEMA_VERSION", "Snapshot", "SnapshotDiff", "StoreStats", "check_name",
    "check_relative", "decode_image", "difference_hash", "open_store",
]
