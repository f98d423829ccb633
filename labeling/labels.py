"""Labels with authorship and undo: setting a label adds a history row, undo marks one undone.

Label history is append-only: undo never deletes a row, and ``frames.label_id`` (the current label) is
updated in the same transaction as the history (see :mod:`labeling.store`).
"""

from __future__ import annotations

import getpass

from labeling.database import now
from labeling.frames import FramesMixin
from labeling.records import LabelEvent
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError


def default_author() -> str:
    """The name labels are written under when none is given: the login name."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "anonymous"


class LabelsMixin(FramesMixin):
    """The label methods of :class:`labeling.store.LabelStore`: set, accept a prediction, undo, history."""

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
                "INSERT INTO labels (frame_id, chord, author, created_at, origin, prediction_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
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

        Raises:
            InputError: ``author`` is not a name (empty, or over 100 characters).
        """
        author = _check_author(author) if author is not None else None
        stamp = now()
        with self._write() as db:
            where, args = ("AND author = ?", (author,)) if author is not None else ("", ())
            row = db.execute(f"SELECT id, frame_id FROM labels WHERE undone_at IS NULL {where}"
                             " ORDER BY id DESC LIMIT 1", args).fetchone()
            if row is None:
                return None
            db.execute("UPDATE labels SET undone_at = ? WHERE id = ?", (stamp, row[0]))
            db.execute("UPDATE frames SET label_id = (SELECT MAX(id) FROM labels"
                       " WHERE frame_id = ? AND undone_at IS NULL) WHERE id = ?", (row[1], row[1]))
            event = db.execute("SELECT id, frame_id, chord, author, created_at, origin, prediction_id, undone_at"
                               " FROM labels WHERE id = ?", (row[0],)).fetchone()
        return LabelEvent(*event)

    def history(self, frame: int | str) -> list[LabelEvent]:
        """Every label change of a frame, oldest first (undone ones included, with ``undone_at``)."""
        frame_id = self.frame(frame).id
        rows = self._db.execute("SELECT id, frame_id, chord, author, created_at, origin, prediction_id, undone_at"
                                " FROM labels WHERE frame_id = ? ORDER BY id", (frame_id,))
        return [LabelEvent(*row) for row in rows]


def _check_author(author: str | None) -> str:
    author = default_author() if author is None else author
    if not isinstance(author, str) or not author.strip() or len(author) > 100:
        raise InputError(f"Author {author!r} must be a name of 1 to 100 characters.")
    return author.strip()
