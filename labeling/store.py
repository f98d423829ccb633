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

The store is put together from one part per concern: :mod:`labeling.database` (schema, migrations,
connection, write transactions), :mod:`labeling.frames`, :mod:`labeling.labels` (history and undo),
:mod:`labeling.snapshots` and :mod:`labeling.jobs`; what it takes and returns is in :mod:`labeling.records`.
"""

from __future__ import annotations


from labeling.jobs import JobsMixin
from labeling.labels import LabelsMixin
from labeling.records import StoreStats
from labeling.snapshots import SnapshotsMixin
from pipeline.core.chords import VOCABULARY


class LabelStore(LabelsMixin, SnapshotsMixin, JobsMixin):
    """An open label store: frames, labels, snapshots and jobs over one database.

    Opened as :class:`labeling.database.StoreDatabase` (the same arguments and errors); each concern's
    methods come from its mixin.
    """

    def stats(self) -> StoreStats:
        """Counts of frames, labels, clips and predictions."""
        db = self._db
        chords = dict(db.execute("SELECT l.chord, COUNT(*) FROM frames f JOIN labels l ON l.id = f.label_id"
                                 " GROUP BY l.chord"))
        return StoreStats(
            frames=db.execute("SELECT COUNT(*) FROM frames").fetchone()[0],
            labeled=sum(chords.values()),
            chords={c: chords[c] for c in VOCABULARY if c in chords},
            clips=db.execute("SELECT COUNT(*) FROM clips").fetchone()[0],
            predictions=dict(db.execute("SELECT model, COUNT(*) FROM predictions GROUP BY model ORDER BY model")),
            label_events=db.execute("SELECT COUNT(*) FROM labels").fetchone()[0],
            snapshots=db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0],
        )


__all__ = ["LabelStore"]
