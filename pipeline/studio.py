"""What the Streamlit studio needs beyond the rest of the pipeline: upload checks, limits, the model list,
annotated frames and videos, and labeled sets to compare models on. No UI code here.

Limits, in one place (:class:`StudioSettings`, overridable from the environment):

    CHORD_STUDIO_MAX_UPLOAD_MB  largest upload, in MB (default 200, Streamlit's own default cap)
    CHORD_STUDIO_MAX_SECONDS    longest span of a clip analysed at once, in seconds (default 300)
    CHORD_STUDIO_MODELS         model folders the studio starts with, separated by ``os.pathsep``
                                (default: the sample model)
    CHORD_STUDIO_FPS            default sampling rate, frames per second (default 5)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.core.config import SAMPLE_MEDIA_DIR, get_settings
from pipeline.core.errors import InputError
from pipeline.core.types import VideoInfo
from pipeline.vision.video import IMAGE_SUFFIXES, SUPPORTED_SUFFIXES, VIDEO_SUFFIXES, probe

SAMPLE = "sample"
"""The name under which the studio lists the sample model."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class StudioSettings:
    """The studio's limits and defaults (see the module docstring for the environment variables).

    Attributes:
        max_upload_mb: largest accepted upload in megabytes.
        max_seconds: longest span of a clip analysed at once, in seconds.
        models: model folders chosen at start; empty means the sample model.
        fps: default frames sampled per second.
    """

    max_upload_mb: float = field(default_factory=lambda: _env_float("CHORD_STUDIO_MAX_UPLOAD_MB", 200.0))
    max_seconds: float = field(default_factory=lambda: _env_float("CHORD_STUDIO_MAX_SECONDS", 300.0))
    models: tuple[str, ...] = field(
        default_factory=lambda: tuple(p for p in os.environ.get("CHORD_STUDIO_MODELS", "").split(os.pathsep) if p)
    )
    fps: float = field(default_factory=lambda: _env_float("CHORD_STUDIO_FPS", 5.0))


def get_studio_settings() -> StudioSettings:
    """The studio settings as the environment says now."""
    return StudioSettings()


# --------------------------------------------------------------------------------------------------
# Uploads


def safe_name(name: str, fallback: str = "upload") -> str:
    """A file name that cannot leave its folder: no directories, no ``..``, only plain characters.

    Args:
        name: the name a browser sent (may hold ``../``, backslashes, odd characters).
        fallback: used when nothing usable is left.

    Returns:
        The last path component with every character outside ``[A-Za-z0-9._-]`` replaced by ``_``,
        leading dots removed, at most 100 characters, keeping the suffix.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    if len(base) > 100:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 99 - len(suffix)] + dot + suffix) if dot and len(suffix) < 10 else base[:100]
    return base or fallback


def save_upload(data: bytes, name: str, folder: str | Path, settings: StudioSettings | None = None) -> Path:
    """Check an uploaded file's size and type and store it in ``folder`` under its content hash.

    Args:
        data: the file's bytes.
        name: the name the browser gave it (sanitised with :func:`safe_name`).
        folder: the session's upload folder (created if needed).
        settings: limits (default from the environment).

    Returns:
        The stored file, ``<folder>/<sha256[:16]>/<safe name>`` (messages about it name the user's file).

    Raises:
        InputError: too large, empty, or not a supported video or image type.
    """
    settings = settings or get_studio_settings()
    safe = safe_name(name)
    size_mb = len(data) / 2**20
    if size_mb > settings.max_upload_mb:
        raise InputError(f"'{safe}' is {size_mb:.0f} MB; the studio takes files up to {settings.max_upload_mb:.0f} MB "
                         "(CHORD_STUDIO_MAX_UPLOAD_MB). Cut the clip shorter or export it smaller.")
    if Path(safe).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(f"'{safe}' is not a video or image the studio reads; upload a video "
                         f"({', '.join(VIDEO_SUFFIXES)}) or an image ({', '.join(IMAGE_SUFFIXES)}).")
    if not data:
        raise InputError(f"'{safe}' is empty (0 bytes); export or upload it again.")
    folder = Path(folder) / hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe
    if not path.exists():
        temp = path.with_name(f".{path.name}.part")
        temp.write_bytes(data)
        temp.replace(path)
    return path


def check_clip(path: str | Path, start: float | None = None, end: float | None = None,
               settings: StudioSettings | None = None) -> VideoInfo:
    """Probe a clip and check that the span to analyse is within the studio's limit.

    Args:
        path: video or image.
        start, end: the span in seconds (default the whole clip).
        settings: limits (default from the environment).

    Returns:
        The clip's :class:`~pipeline.vision.video.VideoInfo`.

    Raises:
        InputError: unreadable, not a video or image, or the span is longer than ``max_seconds``.
    """
    settings = settings or get_studio_settings()
    info = probe(path)
    if info.is_image:
        return info
    span = min(end if end else info.duration, info.duration) - (start or 0.0)
    if span > settings.max_seconds + 1e-6:
        raise InputError(
            f"'{Path(path).name}' is {_clock(info.duration)} long; the studio analyses up to "
            f"{_clock(settings.max_seconds)} at a time (CHORD_STUDIO_MAX_SECONDS). Choose a start and end "
            f"at most {settings.max_seconds:g} s apart, or run `python -m pipeline analyze` on the whole clip."
        )
    return info


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def no_hand_message(analysis) -> str | None:
    """A message for an analysis in which no sampled frame showed a hand (None when some did)."""
    if not analysis.frames or any(f.hands.fretting is not None for f in analysis.frames):
        return None
    return (f"No hand was found in any of the {len(analysis.frames)} sampled frames of "
            f"'{analysis.clip.path.name}': the chord cannot be read without the fretting hand. "
            "Use a clip where the hand on the neck is in view.")


def sample_clips() -> list[Path]:
    """The sample media (clips and stills) shipped with the project, by name."""
    if not SAMPLE_MEDIA_DIR.is_dir():
        return []
    return sorted(p for p in SAMPLE_MEDIA_DIR.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)


def sample_twin(path: str | Path) -> Path | None:
    """The sample clip a file is a copy of, by content: the same bytes as one of :func:`sample_clips`.

    Content, not folder: an upload of a sample clip and the Space's examples (copied into a request
    folder) are the sample too, and get its ground truth and fretboard boxes. Only a file of a sample's
    exact size is hashed (hashes are remembered while a file's size and time hold), so a large upload
    costs a ``stat``, not a read.

    Args:
        path: a clip or still.

    Returns:
        The sample file (in the sample media folder), or None when ``path`` is no sample's copy or
        cannot be read.
    """
    from pipeline.models.datasets import file_digest

    try:
        size = Path(path).stat().st_size
        twins = [p for p in sample_clips() if p.stat().st_size == size]
        if not twins:
            return None
        digest = file_digest(path)
        return next((p for p in twins if file_digest(p) == digest), None)
    except OSError:
        return None


def ground_truth(path: str | Path):
    """The ground-truth :class:`~pipeline.core.timeline.Timeline` beside a sample clip, or None."""
    from pipeline.core.timeline import Timeline

    truth = Path(path).with_name(Path(path).stem + ".timeline.json")
    return Timeline.load(truth) if truth.is_file() else None


def fretboard_boxes(path: str | Path) -> dict[int, np.ndarray]:
    """Frame index -> true fretboard box from a sample clip's ``<stem>.fretboard.csv`` (empty if none)."""
    from tools.samplegen.synthetic import read_fretboard_csv

    csv_path = Path(path).with_name(Path(path).stem + ".fretboard.csv")
    if not csv_path.is_file():
        return {}
    return {int(row[0]): np.asarray(row[2:6], dtype=np.float32) for row in read_fretboard_csv(csv_path)}


# --------------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class ModelEntry:
    """One model the studio can offer.

    Attributes:
        name: what the studio calls it (``"sample"`` or the folder's name).
        folder: its folder (None for the sample model before it is built).
        kind: ``"landmarks"``, ``"image"``, ``"cnn"`` or ``"detector"``.
        card: its ``card.json`` (empty for the sample model before it is built).
    """

    name: str
    folder: Path | None
    kind: str
    card: dict

    @property
    def spec(self) -> str | None:
        """What :func:`pipeline.models.registry.load_landmark_model` takes: None for the sample model."""
        return None if self.name == SAMPLE else str(self.folder)

    @property
    def key(self) -> str:
        """Changes whenever the model does (folder and card time): a cache key."""
        card = self.folder / "card.json" if self.folder else None
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
    """Describe a model folder (None or ``"sample"``: the sample model) without loading it.

    Raises:
        InputError: the folder does not exist or holds no model the studio knows.
    """
    from pipeline.models.registry import sample_model_dir

    if spec in (None, "", SAMPLE):
        folder = sample_model_dir()
        card = _read_json(folder / "card.json") if (folder / "card.json").is_file() else {}
        return ModelEntry(SAMPLE, folder, "landmarks", card)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise InputError(f"No model folder at {folder}.")
    card = _read_json(folder / "card.json") if (folder / "card.json").is_file() else {}
    if (folder / "best.pt").is_file():
        return ModelEntry(folder.name, folder, "detector", card)
    kind = card.get("kind")
    if kind not in ("landmarks", "image", "cnn"):
        raise InputError(f"{folder} is not a model folder the studio knows (it needs a card.json of a landmark "
                         "or image model, or a detector's best.pt).")
    return ModelEntry(folder.name, folder, kind, card)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def discover_models(store_root: str | Path | None = None, extra: Sequence[str | Path] = ()) -> list[ModelEntry]:
    """Every model the studio can find: the sample model, ``CHORD_STUDIO_HOME/models/*``, the label
    store's ``models/*`` (retrained from snapshots), and ``extra`` folders; each folder once.

    Folders that are not models are skipped silently (the models folder holds caches too).
    """
    entries = [model_entry(None)]
    seen = {str(entries[0].folder.resolve())}
    roots = [get_settings().models_dir] + ([Path(store_root) / "models"] if store_root else [])
    candidates = [p for root in roots if root.is_dir() for p in sorted(root.iterdir()) if p.is_dir()]
    for folder in [*candidates, *map(Path, extra)]:
        try:
            entry = model_entry(folder)
        except InputError:
            continue
        if str(Path(entry.folder).resolve()) not in seen:
            seen.add(str(Path(entry.folder).resolve()))
            entries.append(entry)
    return entries


def card_rows(card: dict) -> list[tuple[str, str]]:
    """A model card as (field, text) rows for a table, the long fields summarised."""
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


IMAGE_KINDS = ("image", "cnn")
"""Model card kinds of image chord models (a transformers backbone, or the compact CNN)."""
NONE = "(none)"
"""What the studio's model pickers offer for "no model of this kind"."""


@dataclass(frozen=True)
class ModelChoice:
    """The models of one analysis: at most one landmark model, one image model and one detector.

    With a landmark and an image model both chosen, each frame's answer is their fusion
    (:mod:`pipeline.timeline.fusion`); the detector finds the fretboard box, which also picks the fretting hand
    and, for an image model trained on regions, the part of the frame it sees.

    Attributes:
        landmarks: a ``"landmarks"`` entry, or None.
        image: an ``"image"`` or ``"cnn"`` entry, or None.
        detector: a ``"detector"`` entry, or None.

    Raises:
        InputError: no chord model, or an entry of the wrong kind in a slot.
    """

    landmarks: ModelEntry | None = None
    image: ModelEntry | None = None
    detector: ModelEntry | None = None

    def __post_init__(self) -> None:
        for slot, kinds in (("landmarks", ("landmarks",)), ("image", IMAGE_KINDS), ("detector", ("detector",))):
            entry = getattr(self, slot)
            if entry is not None and entry.kind not in kinds:
                raise InputError(f"{entry.name} is a {entry.kind} model; it cannot be the {slot} model.")
        if self.landmarks is None and self.image is None:
            raise InputError("Choose a landmark model, an image model or both: the analysis needs a chord model.")

    @classmethod
    def from_names(cls, names: dict, entries: Sequence[ModelEntry]) -> ModelChoice | None:
        """The choice named by ``{"landmarks": name, "image": name, "detector": name}`` (None or
        :data:`NONE` for an empty slot) among ``entries``; None when a named model is not among them."""
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


def fretboard_message(analysis) -> str | None:
    """A message for an analysis whose detector found no fretboard in any sampled frame (else None)."""
    ran = [f for f in analysis.frames if f.fretboard is not None]
    if not ran or any(not f.fretboard.empty for f in ran):
        return None
    seen = sorted({"whole frame" if f.region.source == "frame" else f"{f.region.source} region"
                   for f in ran if f.region is not None})
    seen = f" The image model saw the {' or the '.join(seen)} instead." if seen else ""
    return (f"The fretboard detector found no fretboard in any of the {len(ran)} sampled frames of "
            f"'{analysis.clip.path.name}'.{seen} Check that the detector was trained on footage like this clip, "
            "or analyse without it.")


# --------------------------------------------------------------------------------------------------
# Notes both apps show


def fusion_note(weights) -> str:
    """What the apps say about a fused analysis: how each frame's chord is decided, with each model's share.

    Args:
        weights: the :class:`~pipeline.timeline.fusion.FusionWeights` of the analysis (odds of being right from the
            models' cards); only their ratio matters (:func:`pipeline.timeline.fusion.fuse`), so shares summing to 1
            are shown.

    Returns:
        One markdown sentence.
    """
    total = weights.landmarks + weights.image
    return (f"Each frame's chord fuses both models' probabilities (weights from their held-out accuracy: "
            f"landmarks {weights.landmarks / total:.2f}, image {weights.image / total:.2f}); "
            "where no hand is found, the image model decides alone.")


def synthetic_note(name: str, remedy: str) -> str:
    """What the apps say beside a model trained on synthetic renders (DESIGN: an offline default is honest).

    Args:
        name: the model as the app names it (a model's name, or "This model").
        remedy: how to get a model for real clips in this app, e.g.
            ``"(Models page or `python -m pipeline train`)"``.

    Returns:
        Markdown, the warning in bold.
    """
    return (f"**{name} was trained on synthetic renders of the sample clips' scenes, not on real footage:** it "
            f"recognises the sample clips. For your own clips, train a model on real frames {remedy}.")


# --------------------------------------------------------------------------------------------------
# Drawing


def chord_keys(chords: Sequence[str]) -> dict[str, str]:
    """Keyboard shortcut per chord for the Label page: ``1``-``9``, ``0``, then ``Shift+1`` ...

    Letters are avoided: Streamlit reserves ``C`` and ``R``, and digits are one key whatever the chord.
    """
    keys = [str(d) for d in (*range(1, 10), 0)]
    keys += [f"Shift+{k}" for k in keys]
    return dict(zip(chords, keys))


def label_chords(model_classes: Sequence[str] = (), used: Sequence[str] = ()) -> list[str]:
    """The chords the Label page offers: the models' classes and chords already used, in vocabulary
    order, ``None`` last; the whole vocabulary when there are none."""
    wanted = set(model_classes) | set(used)
    chords = [c for c in VOCABULARY if c in wanted] if wanted else list(VOCABULARY)
    if NO_CHORD not in chords:
        chords.append(NO_CHORD)
    return chords
