"""The models the apps offer, described without loading them: the sample model, models trained on this
machine, models retrained from the label store, and folders named in the settings; the choice of one
analysis (a landmark model, an image model and a detector); the chords the Label page offers for them.

Loading is the registry's job (:mod:`pipeline.models.registry`); this module reads folders and cards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.core.config import get_settings
from pipeline.core.errors import InputError
from pipeline.core.types import ModelKind
from pipeline.models.cards import CARD_FILE, model_kind, read_card
from pipeline.models.registry import sample_model_dir

SAMPLE = "sample"
"""The name under which the apps list the sample model."""
IMAGE_KINDS = (ModelKind.IMAGE, ModelKind.CNN)
"""Model card kinds of image chord models (a transformers backbone, or the compact CNN)."""
NONE = "(none)"
"""What the studio's model pickers offer for "no model of this kind"."""
TEACH_FILE = "teach.json"
"""The file that marks a taught folder (``python -m pipeline teach``) and names its model subfolders."""


@dataclass(frozen=True)
class ModelEntry:
    """One model the apps can offer.

    Attributes:
        name: what the apps call it (``"sample"`` or the folder's name).
        folder: its folder (None for the sample model before it is built).
        kind: landmarks, image, cnn or detector.
        card: its ``card.json`` (empty for the sample model before it is built).
    """

    name: str
    folder: Path | None
    kind: ModelKind
    card: dict

    @property
    def spec(self) -> str | None:
        """What :func:`pipeline.models.registry.load_landmark_model` takes: None for the sample model."""
        return None if self.name == SAMPLE else str(self.folder)

    @property
    def key(self) -> str:
        """Changes whenever the model does (folder and card time): a cache key."""
        card = self.folder / CARD_FILE if self.folder else None
        stamp = card.stat().st_mtime_ns if card is not None and card.is_file() else 0
        return f"{self.name}|{self.folder}|{stamp}"

    @property
    def synthetic(self) -> bool:
        """Trained on synthetic renders (the sample model always is)."""
        return self.name == SAMPLE or bool(self.card.get("synthetic"))

    @property
    def classes(self) -> list[str]:
        """The chords it answers, as its card lists them (empty for a detector, and for the sample model
        before it is built)."""
        return [str(c) for c in self.card.get("classes") or []]


def model_entry(spec: str | Path | None) -> ModelEntry:
    """Describe a model folder without loading it.

    Args:
        spec: a model folder; None, ``""`` or ``"sample"`` for the sample model.

    Returns:
        Its :class:`ModelEntry` (a folder holding ``best.pt`` is a detector; else its card's kind).

    Raises:
        InputError: the folder does not exist or holds no model the apps know.
    """
    if spec in (None, "", SAMPLE):
        folder = sample_model_dir()
        return ModelEntry(SAMPLE, folder, ModelKind.LANDMARKS, card_fields(folder))
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise InputError(f"No model folder at {folder}.")
    try:
        kind = model_kind(folder)
    except InputError:
        kind = None
    if kind not in (ModelKind.LANDMARKS, ModelKind.DETECTOR, *IMAGE_KINDS):
        raise InputError(f"{folder} is not a model folder the studio knows (it needs a card.json of a landmark "
                         "or image model, or a detector's best.pt).")
    return ModelEntry(folder.name, folder, kind, card_fields(folder))


def taught_model_folders(folder: str | Path) -> list[Path]:
    """The model folders of a taught folder (the ``models`` its ``teach.json`` names, landmarks first);
    empty when the folder is not a taught one or its ``teach.json`` does not read."""
    record = Path(folder) / TEACH_FILE
    try:
        names = json.loads(record.read_text(encoding="utf-8"))["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [Path(folder) / str(names[slot]) for slot in ("landmarks", "image") if slot in names]


def card_fields(folder: Path) -> dict:
    """The fields of a folder's card (:func:`pipeline.models.cards.read_card`) as ``card.json`` spells them,
    for listing; empty when the folder has no card that reads (a detector's ``best.pt`` alone, the sample
    model before it is built).

    Args:
        folder: a model folder.

    Returns:
        Field -> value, as :meth:`pipeline.models.cards.ModelCard.to_json` gives them.
    """
    try:
        return read_card(folder).to_json()
    except InputError:
        return {}


def discover_models(store_root: str | Path | None = None, extra: Sequence[str | Path] = ()) -> list[ModelEntry]:
    """Every model the apps can find, each folder once.

    Folders that are not models are skipped silently (the models folder holds caches too).

    Args:
        store_root: the label store's folder, whose ``models/*`` are retrained from snapshots (None: none).
        extra: more model folders (from the settings or the sidebar).

    Returns:
        The sample model first, then ``CHORD_STUDIO_HOME/models/*``, the store's ``models/*`` and
        ``extra``, in that order; a taught folder (:func:`taught_model_folders`) gives its two models,
        named ``<folder>/<model>``.
    """
    entries = [model_entry(None)]
    seen = {str(entries[0].folder.resolve())}
    roots = [get_settings().models_dir] + ([Path(store_root) / "models"] if store_root else [])
    candidates = [p for root in roots if root.is_dir() for p in sorted(root.iterdir()) if p.is_dir()]
    for folder in [part for p in [*candidates, *map(Path, extra)] for part in (taught_model_folders(p) or [p])]:
        try:
            entry = model_entry(folder)
        except InputError:
            continue
        if (folder.parent / TEACH_FILE).is_file():
            entry = ModelEntry(f"{folder.parent.name}/{folder.name}", entry.folder, entry.kind, entry.card)
        if str(Path(entry.folder).resolve()) not in seen:
            seen.add(str(Path(entry.folder).resolve()))
            entries.append(entry)
    return entries


def card_rows(card: dict) -> list[tuple[str, str]]:
    """A model card as rows for a table, the long fields summarised.

    Args:
        card: a model's ``card.json``.

    Returns:
        (field, text) per card field, in the card's order.
    """
    rows = []
    for key, value in card.items():
        if key in ("history", "versions") and value:
            value = f"{len(value)} entries" if key == "history" else ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.4g}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        rows.append((key, str(value)))
    return rows


@dataclass(frozen=True)
class ModelChoice:
    """The models of one analysis: at most one landmark model, one image model and one detector.

    With a landmark and an image model both chosen, each frame's answer is their fusion
    (:mod:`pipeline.timeline.fusion`); the detector finds the fretboard box, which also picks the fretting
    hand and, for an image model trained on regions, the part of the frame it sees.

    Attributes:
        landmarks: a landmarks entry, or None.
        image: an image or cnn entry, or None.
        detector: a detector entry, or None.

    Raises:
        InputError: no chord model, or an entry of the wrong kind in a slot.
    """

    landmarks: ModelEntry | None = None
    image: ModelEntry | None = None
    detector: ModelEntry | None = None

    def __post_init__(self) -> None:
        for slot, kinds in (("landmarks", (ModelKind.LANDMARKS,)), ("image", IMAGE_KINDS),
                            ("detector", (ModelKind.DETECTOR,))):
            entry = getattr(self, slot)
            if entry is not None and entry.kind not in kinds:
                raise InputError(f"{entry.name} is a {entry.kind} model; it cannot be the {slot} model.")
        if self.landmarks is None and self.image is None:
            raise InputError("Choose a landmark model, an image model or both: the analysis needs a chord model.")

    @classmethod
    def from_names(cls, names: dict, entries: Sequence[ModelEntry]) -> ModelChoice | None:
        """The choice that names the models of each slot.

        Args:
            names: ``{"landmarks": name, "image": name, "detector": name}``; None or :data:`NONE` for an
                empty slot.
            entries: the models to pick from.

        Returns:
            The choice, or None when a named model is not among ``entries`` or the slots do not make a
            valid choice.
        """
        by_name = {e.name: e for e in entries}
        slots = {}
        for slot in ("landmarks", "image", "detector"):
            name = names.get(slot)
            if name in (None, NONE):
                slots[slot] = None
            elif name in by_name:
                slots[slot] = by_name[name]
            else:
                return None
        try:
            return cls(**slots)
        except InputError:
            return None

    @property
    def names(self) -> dict[str, str | None]:
        """Slot -> model name (None for an empty slot); what :meth:`from_names` takes back."""
        return {slot: e.name if e else None for slot, e in self.slots.items()}

    @property
    def slots(self) -> dict[str, ModelEntry | None]:
        """Slot -> entry, the three slots in order."""
        return {"landmarks": self.landmarks, "image": self.image, "detector": self.detector}

    @property
    def chord_models(self) -> list[ModelEntry]:
        """The chosen chord models (landmarks first)."""
        return [e for e in (self.landmarks, self.image) if e is not None]

    @property
    def fused(self) -> bool:
        """Whether two chord models are fused."""
        return self.landmarks is not None and self.image is not None

    @property
    def key(self) -> str:
        """Changes whenever one of the models does: a cache key."""
        return "||".join(e.key if e else "-" for e in self.slots.values())

    @property
    def chord_label(self) -> str:
        """The chord models: ``"tiny + cnn (fused)"``, or the one model's name."""
        return " + ".join(e.name for e in self.chord_models) + (" (fused)" if self.fused else "")

    @property
    def label(self) -> str:
        """A short description: ``"tiny + cnn (fused), fretboard: det"``."""
        return self.chord_label + (f", fretboard: {self.detector.name}" if self.detector else "")


# The chords offered for labeling follow from the chosen models' classes (ModelEntry.classes), so they
# live with the catalogue rather than with an app.


def label_chords(model_classes: Sequence[str] = (), used: Sequence[str] = ()) -> list[str]:
    """The chords the Label page offers.

    Args:
        model_classes: the chosen models' classes.
        used: chords already used as labels in the store.

    Returns:
        Those chords in vocabulary order, ``None`` last; the whole vocabulary when there are none.
    """
    wanted = set(model_classes) | set(used)
    chords = [c for c in VOCABULARY if c in wanted] if wanted else list(VOCABULARY)
    if NO_CHORD not in chords:
        chords.append(NO_CHORD)
    return chords


def chord_keys(chords: Sequence[str]) -> dict[str, str]:
    """Keyboard shortcut per chord for the Label page: ``1``-``9``, ``0``, then ``Q``, ``W``, ``E``, ``T`` ...

    Plain keys only (Shift+digit gives another character on many keyboard layouts); after the digits come
    letters of the top row, skipping ``C`` and ``R`` (Streamlit's) and ``Z`` (undo).

    Args:
        chords: the chords offered, in order (:func:`label_chords`).

    Returns:
        Chord -> shortcut, for the first 20 chords.
    """
    keys = [str(d) for d in (*range(1, 10), 0)]
    keys += list("QWETYUIOPA")
    return dict(zip(chords, keys))
