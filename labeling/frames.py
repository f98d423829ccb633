"""The frames of the label store: files named by content, validated adds in one transaction, predictions,
clips, and frame lookups by id or digest.

Frame files are written (to a temporary name, then renamed) before the rows that point at them are
committed, so a committed row always has its file (see :mod:`labeling.store`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from labeling.database import FRAMES_DIR, StoreDatabase, now
from labeling.names import check_name
from labeling.records import AddResult, ClipInfo, FrameRecord, NewFrame, NewPrediction, Prediction, PreparedFrame
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError
from pipeline.vision.video import check_image_header, difference_hash

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
HASH_SIDE = 16
"""The store's near-duplicate hash is 256 bits (:func:`pipeline.vision.video.difference_hash`). Measured here:
frames of one chord in one still shot differ in under 10 bits; frames of different chords in over 75 on the
real frames and over 12 on the sample clips, where the hand is small in the frame (a 64-bit hash could not
tell those apart at all)."""
DIGEST_MARKER = "sha:"
"""What marks a frame reference as a digest prefix (``sha:1a2b3c``); a plain number is a frame id."""


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode image bytes to a grayscale array, refusing corrupt or truncated files.

    Raises:
        InputError: the bytes are not a readable image (a JPEG cut short included).
    """
    # OpenCV 4.11 refuses a truncated JPEG itself (checked in the tests), so no marker check of our own:
    # phones append kilobytes after the end-of-image marker, which such a check would refuse.
    if data:
        check_image_header(data, name)  # a small file may declare gigapixels: refuse before decoding
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if data else None
    if image is None or image.size == 0:
        raise InputError(f"{name} is not a readable image.")
    return image


class FramesMixin(StoreDatabase):
    """The frame methods of :class:`labeling.store.LabelStore`: add frames (with their clip, labels and
    predictions), add predictions, and read frames, predictions and clips."""

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
            checked.append((item, digest, ext, gray.shape[1], gray.shape[0], difference_hash(gray, HASH_SIDE), chord))
        known = self._known_digests([c[1] for c in checked])
        # A stored frame that is unlabeled and comes again with a label gets the label (a labeled re-import of
        # frames first added unlabeled); any other stored frame is a duplicate.
        def duplicate(c) -> bool:
            return c[1] in known and (c[6] is None or known[c[1]])

        duplicates = [c[0].source for c in checked if duplicate(c)]
        if duplicates:
            if on_duplicate == "error":
                raise InputError(
                    f"{duplicates[0]} is already in the label store"
                    f"{f' (and {len(duplicates) - 1} more frames of this batch)' if len(duplicates) > 1 else ''}; "
                    "nothing was added (skip duplicates to add the rest)."
                )
            skipped += duplicates
            checked = [c for c in checked if not duplicate(c)]
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

    def _known_digests(self, digests: Sequence[str]) -> dict[str, bool]:
        """Digest -> whether the stored frame has a label, for the digests already stored."""
        found: dict[str, bool] = {}
        for start in range(0, len(digests), 500):
            chunk = list(digests[start: start + 500])
            marks = ",".join("?" * len(chunk))
            found.update((r[0], r[1] is not None) for r in self._db.execute(
                f"SELECT digest, label_id FROM frames WHERE digest IN ({marks})", chunk))
        return found

    def commit(self, prepared: Sequence[PreparedFrame], clip: ClipInfo | None = None, author: str = "import",
               on_duplicate: str = "skip") -> AddResult:
        """Insert prepared frames (with their clip, labels and predictions) in one transaction.

        Whether a frame is already stored is decided inside the transaction, so processes adding the same
        frame at once (two people correcting one frame) all succeed: the first adds it, the others find it.
        A stored frame that is unlabeled gets the label its item brings; any other stored frame is a duplicate.

        Args:
            prepared: from :meth:`prepare`.
            clip: the clip they belong to (created, or reused when one of that name exists).
            author: recorded on the labels that come with the frames (origin "import").
            on_duplicate: "skip" leaves frames stored meanwhile out; "error" refuses the batch.

        Returns:
            The new frame ids (in order), the sources skipped as duplicates and the stored frames that got
            their label.

        Raises:
            InputError: (on_duplicate="error") a frame was stored meanwhile; nothing is added.
        """
        stamp = now()
        ids, skipped, labeled = [], [], []
        with self._write() as db:
            clip_id = self._clip_id(clip, stamp) if clip is not None else None
            for frame in prepared:
                item = frame.item
                row = db.execute("SELECT id, label_id FROM frames WHERE digest = ?", (frame.digest,)).fetchone()
                if row is not None:
                    if frame.chord is not None and row[1] is None:
                        self._insert_label(db, row[0], frame.chord, author, stamp)
                        labeled.append(row[0])
                    elif on_duplicate == "error":
                        raise InputError(f"{item.source} is already in the label store; nothing was added.")
                    else:
                        skipped.append(item.source)
                    continue
                box = " ".join(f"{v:.2f}" for v in item.box) if item.box is not None else None
                frame_id = db.execute(
                    "INSERT INTO frames (digest, ext, clip_id, time, frame_index, source, split, width, height,"
                    " phash, box, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (frame.digest, frame.ext, clip_id, item.time, item.frame_index, item.source, item.split or "",
                     frame.width, frame.height, frame.phash, box, stamp),
                ).lastrowid
                ids.append(frame_id)
                for p in item.predictions:
                    db.execute(
                        "INSERT INTO predictions (frame_id, model, model_version, chord, probability, covered,"
                        " embedding, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (frame_id, p.model, p.model_version, p.chord, float(p.probability), int(p.covered),
                         p.embedding, stamp),
                    )
                if frame.chord is not None:
                    self._insert_label(db, frame_id, frame.chord, author, stamp)
        return AddResult(ids, skipped, labeled)

    @staticmethod
    def _insert_label(db: sqlite3.Connection, frame_id: int, chord: str, author: str, stamp: str) -> None:
        """An imported label row and the frame's current label, inside the caller's transaction."""
        label = db.execute("INSERT INTO labels (frame_id, chord, author, created_at, origin)"
                           " VALUES (?, ?, ?, ?, 'import')", (frame_id, chord, author, stamp)).lastrowid
        db.execute("UPDATE frames SET label_id = ? WHERE id = ?", (label, frame_id))

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
            The new frame ids, the sources skipped as duplicates, and the stored unlabeled frames that got
            the label their item brought.
        """
        prepared, skipped = self.prepare(items, on_duplicate)
        result = self.commit(prepared, clip, author, on_duplicate) if prepared else AddResult([])
        return AddResult(result.frame_ids, skipped + result.skipped, result.labeled)

    def add_frame(self, item: NewFrame, clip: ClipInfo | None = None, author: str = "import") -> int:
        """Add one frame (with its predictions and label, if any); returns its id.

        Raises:
            InputError: the image is corrupt, a chord unknown, or the frame already stored (unless it was
                stored unlabeled and comes with a label: it gets the label).
        """
        result = self.add_frames([item], clip, author=author)
        return (result.frame_ids or result.labeled)[0]

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
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (frame_id, model, model_version) DO UPDATE"
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
        """A frame by id, or by its digest: ``sha:`` and a unique prefix of at least 6 hex digits.

        A number is always an id (``265602`` is frame 265602, never a digest starting 265602); a bare
        hex string that cannot be an id (it has a letter a-f) is read as a digest prefix too.

        Raises:
            InputError: no such frame, or the prefix is ambiguous.
        """
        text = str(ref).strip()
        prefix = text[len(DIGEST_MARKER):].lower() if text.lower().startswith(DIGEST_MARKER) else None
        if prefix is None and text.isdigit():
            rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.id = ?",
                                    (int(text),)).fetchall()
            if not rows:
                raise InputError(f"No frame {text} in the label store (a digest prefix is written "
                                 f"{DIGEST_MARKER}{text}).")
            return self._frame_record(rows[0])
        if prefix is None and re.fullmatch(r"[0-9a-f]{6,64}", text.lower()):
            prefix = text.lower()
        if prefix is None or not re.fullmatch(r"[0-9a-f]{6,64}", prefix):
            raise InputError(f"{ref!r} is neither a frame id nor a frame digest ({DIGEST_MARKER} and 6 to 64 hex "
                             "digits).")
        rows = self._db.execute(f"SELECT {self._FRAME_COLUMNS} {self._FRAME_JOINS} WHERE f.digest >= ? AND "
                                "f.digest < ? LIMIT 2", (prefix, prefix + "g")).fetchall()
        if not rows:
            raise InputError(f"No frame with digest {prefix}... in the label store.")
        if len(rows) > 1:
            raise InputError(f"Digest prefix {prefix!r} matches several frames; give more digits.")
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


def _read_bytes(path: Path | None, source: str) -> bytes:
    if path is None:
        raise ValueError(f"{source}: a NewFrame needs data or a path")
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}.") from error
