"""Snapshots: immutable, named versions of the labels (triggers refuse any change), and their differences."""

from __future__ import annotations

import hashlib
import json

from labeling.database import now
from labeling.frames import FramesMixin
from labeling.names import check_name
from labeling.records import FrameRecord, Snapshot, SnapshotDiff
from pipeline.core.chords import VOCABULARY
from pipeline.core.errors import InputError


class SnapshotsMixin(FramesMixin):
    """The snapshot methods of :class:`labeling.store.LabelStore`: create, list, read and compare."""

    def create_snapshot(self, name: str, note: str = "") -> Snapshot:
        """Freeze the current labels as an immutable, named dataset version.

        Raises:
            InputError: the name is not allowed or taken, or no frame is labeled.
        """
        check_name(name, "Snapshot")
        stamp = now()
        with self._write() as db:
            if db.execute("SELECT 1 FROM snapshots WHERE name = ?", (name,)).fetchone():
                raise InputError(f"A snapshot named {name!r} exists already; "
                                 "snapshots never change, choose a new name.")
            rows = db.execute("SELECT f.digest, l.chord FROM frames f JOIN labels l ON l.id = f.label_id").fetchall()
            if not rows:
                raise InputError("No frame is labeled yet; label some frames before taking a snapshot.")
            counts = _counts(chord for _, chord in rows)
            fingerprint = hashlib.sha256("\n".join(sorted(f"{d}:{c}" for d, c in rows)).encode()).hexdigest()
            snapshot_id = db.execute(
                "INSERT INTO snapshots (name, created_at, note, n_frames, counts, fingerprint)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, stamp, note, len(rows), json.dumps(counts), fingerprint),
            ).lastrowid
            db.execute("INSERT INTO snapshot_frames (snapshot_id, frame_id, chord, label_id)"
                       " SELECT ?, f.id, l.chord, l.id FROM frames f JOIN labels l ON l.id = f.label_id",
                       (snapshot_id,))
        return Snapshot(snapshot_id, name, stamp, note, len(rows), counts, fingerprint)

    def snapshots(self) -> list[Snapshot]:
        """All snapshots, oldest first."""
        rows = self._db.execute("SELECT id, name, created_at, note, n_frames, counts, fingerprint"
                                " FROM snapshots ORDER BY id")
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
        chords_of = "SELECT frame_id, chord FROM snapshot_frames WHERE snapshot_id = ?"
        chords_a = dict(self._db.execute(chords_of, (first.id,)))
        chords_b = dict(self._db.execute(chords_of, (second.id,)))
        relabeled = sorted((f, chords_a[f], chords_b[f]) for f in chords_a.keys() & chords_b.keys()
                           if chords_a[f] != chords_b[f])
        names = [c for c in VOCABULARY if c in first.counts or c in second.counts]
        return SnapshotDiff(a, b, sorted(chords_b.keys() - chords_a.keys()), sorted(chords_a.keys() - chords_b.keys()),
                            relabeled, {c: (first.counts.get(c, 0), second.counts.get(c, 0)) for c in names})


def _counts(chords) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chord in chords:
        counts[chord] = counts.get(chord, 0) + 1
    return {c: counts[c] for c in VOCABULARY if c in counts}
