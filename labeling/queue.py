"""The review queue: which frames a person should look at next.

Order: frames on which the stored predictions disagree come first, then by how sure the least sure
prediction is (frames no model has seen, or where no hand was found, count as not sure at all), then
by clip and time. SQLite ranks every frame that passes the filters in one query; the walk down that
ranking then skips near-duplicates (a 256-bit difference hash within 10 bits) of frames already
labeled and of frames already chosen, so a person is not shown the same still shot twice (the seed
chose diverse frames with nearest neighbours; a hash does the same for near-identical frames at a
fraction of the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeling.store import LabelStore
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError

STATUSES = ("unlabeled", "labeled", "conflict", "all")
"""Which frames a queue holds: unlabeled; labeled; labeled but a prediction says otherwise; all."""




@dataclass(frozen=True)
class QueueItem:
    """One frame to review.

    Attributes:
        frame_id: the frame.
        disagreement: distinct chords among its predictions (and its label, for labeled frames) > 1.
        confidence: the lowest top probability among its predictions (0 with none).
        predicted: chord -> the highest probability any prediction gave it.
        label: its current label, or None.
        clip, time: where it comes from.
    """

    frame_id: int
    disagreement: bool
    confidence: float
    predicted: dict[str, float]
    label: str | None
    clip: str | None
    time: float | None


def hash_array(blobs) -> np.ndarray:
    """Stack 32-byte difference hashes into an (n, 4) uint64 array."""
    blobs = list(blobs)
    if not blobs:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(b"".join(blobs), dtype=np.uint64).reshape(len(blobs), 4)


def hamming(values: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Bits that differ between each row of ``values`` (n, 4) uint64 and one hash ``value`` (4,)."""
    x = np.bitwise_xor(values, value)
    # SWAR popcount: numpy 1.26 has no bit-count ufunc, and this is a few passes over n x 32 bytes.
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((x * np.uint64(0x0101010101010101)) >> np.uint64(56)).sum(axis=1)


def review_queue(
    store: LabelStore,
    *,
    limit: int = 50,
    status: str = "unlabeled",
    clip: str | None = None,
    chord: str | None = None,
    model: str | None = None,
    near_duplicate_bits: int = 10,
) -> list[QueueItem]:
    """The next frames to review, most useful first.

    Args:
        store: the label store.
        limit: most frames to return.
        status: one of :data:`STATUSES`.
        clip: only frames of this clip (name).
        chord: only frames labeled or predicted as this chord.
        model: only this model's predictions count (and only frames it predicted).
        near_duplicate_bits: frames within this many bits of a labeled or already chosen frame are
            skipped; a negative value keeps them all.

    Returns:
        Up to ``limit`` items.

    Raises:
        InputError: unknown status or chord, or a limit below 1.
    """
    if status not in STATUSES:
        raise InputError(f"Unknown queue status {status!r}; use one of {', '.join(STATUSES)}.")
    if limit < 1:
        raise InputError(f"The queue limit must be 1 or more, got {limit}.")
    where, args = [], []
    if status == "unlabeled":
        where.append("f.label_id IS NULL")
    elif status in ("labeled", "conflict"):
        where.append("f.label_id IS NOT NULL")
    if clip is not None:
        where.append("f.clip_id = (SELECT id FROM clips WHERE name = ?)")
        args.append(clip)
    prediction_filter = ""
    if model is not None:
        prediction_filter = "AND p.model = ?"
        where.append("EXISTS (SELECT 1 FROM predictions q WHERE q.frame_id = f.id AND q.model = ?)")
    if chord is not None:
        chord = parse_chord(chord)
        where.append("(l.chord = ? OR EXISTS (SELECT 1 FROM predictions q WHERE q.frame_id = f.id AND q.chord = ?"
                     f"{' AND q.model = ?' if model is not None else ''}))")
    # Positional arguments in the order their ? appear: join condition first, then the WHERE parts.
    params = ([model] if model is not None else []) + args
    if model is not None:
        params.append(model)
    if chord is not None:
        params += [chord, chord] + ([model] if model is not None else [])
    having = "HAVING conflicts > 0" if status == "conflict" else ""
    # conflicts: covered predictions that differ from the frame's label (NULL <> x is NULL: 0 unlabeled).
    sql = f"""
        SELECT f.id, f.phash, l.chord, c.name, f.time,
               COUNT(DISTINCT CASE WHEN p.covered THEN p.chord END) AS n_chords,
               COALESCE(SUM(p.covered AND p.chord <> l.chord), 0) AS conflicts,
               COALESCE(MIN(CASE WHEN p.covered THEN p.probability ELSE 0 END), 0) AS confidence,
               GROUP_CONCAT(CASE WHEN p.covered THEN p.chord || ':' || p.probability END) AS answers
        FROM frames f
        LEFT JOIN labels l ON l.id = f.label_id
        LEFT JOIN clips c ON c.id = f.clip_id
        LEFT JOIN predictions p ON p.frame_id = f.id {prediction_filter}
        {'WHERE ' + ' AND '.join(where) if where else ''}
        GROUP BY f.id
        {having}
        ORDER BY (n_chords > 1 OR conflicts > 0) DESC, confidence ASC, f.clip_id, f.time, f.id
    """
    cursor = store.query(sql, params)
    labeled = (hash_array(r[0] for r in store.query("SELECT phash FROM frames WHERE label_id IS NOT NULL"))
               if near_duplicate_bits >= 0 and status == "unlabeled" else hash_array([]))
    chosen: list[bytes] = []
    items: list[QueueItem] = []
    for frame_id, phash, label, clip_name, time, n_chords, conflicts, confidence, answers in cursor:
        if near_duplicate_bits >= 0:
            value = hash_array([phash])[0]
            if len(labeled) and hamming(labeled, value).min() <= near_duplicate_bits:
                continue
            if chosen and hamming(hash_array(chosen), value).min() <= near_duplicate_bits:
                continue
            chosen.append(phash)
        predicted: dict[str, float] = {}
        for answer in (answers or "").split(","):
            if answer:
                name, probability = answer.rsplit(":", 1)
                predicted[name] = max(predicted.get(name, 0.0), float(probability))
        items.append(QueueItem(frame_id, n_chords > 1 or conflicts > 0, float(confidence), predicted, label,
                               clip_name, time))
        if len(items) >= limit:
            break
    cursor.close()
    return items


__all__ = ["QueueItem", "STATUSES", "hamming", "review_queue"]
