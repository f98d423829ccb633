"""Adding frames: from a clip, from a folder of images, from ImageFolder, YOLO and COCO exports, and one
analysed frame with the chord a person says it shows (:func:`label_analysed_frame`).

Every add validates the whole batch before it writes anything, and commits its rows in one
transaction: a corrupt image, an unknown chord folder or a path that leaves its dataset changes
nothing. Imported files are stored byte for byte, so a frame keeps the SHA-256 it had in its dataset
(landmark caches keyed by content still hit, and fingerprints match the source folder's).

Predictions are optional. With a model, frames get its answer: a landmark model's, an image model's,
or a landmark and an image model fused (a :class:`pipeline.timeline.analyze.ModelSet`), each frame decided as
Analyze decides it. Where a landmark model reads the frame, the hand landmarks go into
:class:`pipeline.models.datasets.LandmarkCache` under the frame's digest (the prediction's embedding
reference), so retraining on these frames later reads landmarks instead of detecting them again.

Reading the dataset formats (and unpacking zips safely) is :mod:`labeling.formats`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from labeling.formats import FORMATS, read_dataset, refuse_links_out, unpacked_dataset
from labeling.frames import DIGEST_MARKER, IMAGE_EXTS
from labeling.names import check_name, clip_name
from labeling.records import AddResult, ClipInfo, FrameRecord, LabelEvent, NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError
from pipeline.core.types import ModelSet
from pipeline.models.cards import model_kind
from pipeline.models.datasets import file_digest
from pipeline.models.landmark import LandmarkChordModel
from pipeline.models.registry import SAMPLE_MODEL, load_model
from pipeline.samples import fretboard_boxes
from pipeline.timeline.analyze import hand_settings_for, predict_image_files
from pipeline.vision.video import iter_frames, probe

JPEG_QUALITY = 95
CORRECTION_JPEG_QUALITY = 92
"""JPEG quality of a frame stored by :func:`label_analysed_frame` (what the Space has always stored: the
same frame corrected again keeps its digest)."""


@dataclass(frozen=True)
class ModelRef:
    """The model whose answers frames get as suggestions, with the name and version they are stored under.

    ``model`` is a landmark model, or a :class:`pipeline.timeline.analyze.ModelSet` (an image model, or a landmark
    and an image model fused); :meth:`of` wraps a bare image model in a set. ``members``, for a fused pair, names
    the landmark and the image model: each one's own answer is stored too, so the review queue sees the frames
    where the two disagree.
    """

    model: object  # pipeline.models.landmark.LandmarkChordModel or pipeline.timeline.analyze.ModelSet
    name: str
    version: str
    members: tuple[str, ...] = ()

    @classmethod
    def load(cls, spec: str | Path | None) -> ModelRef:
        """The chord model of a folder (landmarks, CNN or transformers), or the sample model for
        ``None`` / ``"sample"`` (built on first use).

        Raises:
            InputError: no model there, or not a chord model (a fretboard detector).
        """
        spec = None if spec in (None, "sample") else Path(spec)
        if spec is not None and (kind := model_kind(spec)) not in ("landmarks", "image", "cnn"):
            raise InputError(f"{spec} is a {kind} model; suggestions need a chord model (landmarks, cnn or image).")
        model = load_model(spec)
        name = SAMPLE_MODEL if spec is None else Path(spec).resolve().name
        return cls.of(model, name)

    @classmethod
    def of(cls, model, name: str, members: Sequence[str] = ()) -> ModelRef:
        """Wrap a loaded landmark model, image model or model set; the version is each chord model's
        training time and data fingerprint (joined with ``+`` for a fused pair). ``members``: the names of a
        fused pair's landmark and image model (ignored for one model), to store their own answers under."""
        if not isinstance(model, (ModelSet, LandmarkChordModel)):
            model = ModelSet(image=model)
        parts = [m for m in (model.landmarks, model.image) if m is not None] if isinstance(model, ModelSet) else [model]
        version = "+".join(_version(m) for m in parts)
        return cls(model, name, version, tuple(members) if len(parts) == 2 and len(members) == 2 else ())

    @property
    def reads_hands(self) -> bool:
        """Whether a landmark model takes part (the frames' landmarks are then cached)."""
        return self.model.landmarks is not None if isinstance(self.model, ModelSet) else True


def _version(model) -> str:
    return f"{model.card.created or 'unknown'}/{model.card.data_fingerprint[:12] or 'unknown'}"


def predict_files(paths: Sequence[Path], digests: Sequence[str], ref: ModelRef,
                  workers: int | None = None) -> tuple[list[tuple[NewPrediction, ...]], float | None]:
    """The model's answers for image files, as Analyze decides a frame
    (:func:`pipeline.timeline.analyze.predict_image_files`; fused when ``ref`` holds two chord models).

    Args:
        paths: image files (the store's own copies).
        digests: their SHA-256 digests (the landmark cache's keys).
        ref: the model.
        workers: processes for hand detection (default: CPUs, at most 4).

    Returns:
        (the predictions of each path: with ``ref.members``, the landmark model's and the image model's own
        answers under their names, then the pair's (stored last, so listed first: the suggestion); else the
        model's answer alone. A frame no model could decide (a landmark model alone, no hand) is stored as not
        covered, probability 0. The embedding reference is the frame's landmark cache entry when a landmark
        model took part, else None; the share of frames the models call familiar, None when unknown).
    """
    if not paths:
        return [], None
    answers, by_model = predict_image_files(ref.model, list(paths), workers=workers)
    key = hand_settings_for(ref.model).key
    members = list(zip(ref.members, ("landmarks", "image")))
    rows = []
    for k, (p, digest) in enumerate(zip(answers, digests)):
        landmarks = f"landmarks/{key}#{digest}"
        own = tuple(NewPrediction(name, _version(getattr(ref.model, slot)), by_model[slot][k].chord,
                                  by_model[slot][k].probability, by_model[slot][k].covered,
                                  landmarks if slot == "landmarks" else None) for name, slot in members)
        rows.append(own + (NewPrediction(ref.name, ref.version, p.chord, p.probability, p.covered,
                                         landmarks if ref.reads_hands else None),))
    familiar = [p.familiar for p in answers if p.familiar is not None]
    return rows, (sum(familiar) / len(familiar) if familiar else None)


def _add(store: LabelStore, items: Sequence[NewFrame], clip: ClipInfo | None, model: ModelRef | None,
         author: str, on_duplicate: str, workers: int | None = None) -> AddResult:
    """The one path every add takes: validate and store files, predict, commit in one transaction."""
    prepared, skipped = store.prepare(items, on_duplicate)
    familiar_share = None
    if model is not None and prepared:
        predictions, familiar_share = predict_files([p.path for p in prepared], [p.digest for p in prepared], model,
                                                    workers)
        prepared = [
            dataclasses.replace(p, item=dataclasses.replace(p.item, predictions=p.item.predictions + answers))
            for p, answers in zip(prepared, predictions)
        ]
    result = store.commit(prepared, clip, author, on_duplicate) if prepared else AddResult([])
    return AddResult(result.frame_ids, skipped + result.skipped, result.labeled, familiar_share)


# --------------------------------------------------------------------------------------------------
# Clips and image folders


def add_clip(
    store: LabelStore,
    path: str | Path,
    *,
    fps: float = 1.0,
    start: float | None = None,
    end: float | None = None,
    model: ModelRef | None = None,
    name: str | None = None,
    on_duplicate: str = "error",
    workers: int | None = None,
) -> AddResult:
    """Sample a clip's frames into the store (JPEG), with a model's predictions if one is given.

    A ``<stem>.fretboard.csv`` beside the clip (as :func:`tools.samplegen.clips.make_clip` writes) gives
    the frames their fretboard boxes.

    Args:
        store: the label store.
        path: a video file.
        fps: frames sampled per second.
        start, end: the part of the clip, in seconds.
        model: predict each frame with this model; None adds frames without predictions.
        name: the clip's name in the store (default the file's stem, made unique with its digest).
        on_duplicate: "error" or "skip" for frames already stored.
        workers: processes for hand detection.

    Returns:
        The new frame ids.

    Raises:
        InputError: the clip cannot be read, was added before, or the arguments do not fit it.
    """
    path = Path(path)
    info = probe(path)
    digest = file_digest(path)
    if name is None:
        name = clip_name(path.stem, digest, {clip.name for clip in store.clips()})
    check_name(name, "Clip")
    boxes = _clip_boxes(path)
    items = []
    for frame in iter_frames(path, fps=fps, start=start, end=end):
        data = encode_jpeg(frame.image, f"frame {frame.index} of {path.name}", JPEG_QUALITY)
        items.append(NewFrame(source=f"{path.name}@{frame.time:.3f}s", data=data, ext=".jpg",
                              time=frame.time, frame_index=frame.index, box=boxes.get(frame.index)))
    clip = ClipInfo(name, digest, str(path.resolve()), info.fps, info.duration)
    return _add(store, items, clip, model, "import", on_duplicate, workers)


def encode_jpeg(image, what: str, quality: int) -> bytes:
    """An RGB uint8 (H, W, 3) image as JPEG bytes.

    Raises:
        InputError: OpenCV could not encode it (``what`` names it in the message).
    """
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InputError(f"Could not encode {what}.")
    return encoded.tobytes()


def label_analysed_frame(store: LabelStore, image, frame, chord: str, *, clip: str,
                         author: str) -> tuple[FrameRecord, LabelEvent]:
    """Store one analysed frame with its models' answers, and label it with the chord it really shows.

    What a suggested correction does (the Space's "Suggest a correction"): the frame goes in as JPEG with
    each model's answer for it as a prediction, then gets the label. The same frame corrected again (the
    same bytes) is not added twice: it gets the new label, and the old one stays in its history.

    Args:
        store: the label store.
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`pipeline.timeline.analyze.FrameResult` (time, index, each model's prediction).
        chord: the right chord (any spelling :func:`pipeline.core.chords.parse_chord` reads).
        clip: the clip's name, in the frame's source ``<author>:<clip>@<time>s``.
        author: who suggests it: the label's author, and the prefix of the stored predictions' model
            names (``<author>-<slot>``, version ``<author>``).

    Returns:
        (the frame as stored before this label, the new label event).

    Raises:
        InputError: an unknown chord (nothing is stored), or an image that cannot be encoded.
    """
    chord = parse_chord(chord)
    data = encode_jpeg(image, f"frame {frame.index} of {clip}", CORRECTION_JPEG_QUALITY)
    predictions = tuple(NewPrediction(f"{author}-{slot}", author, p.chord, p.probability, p.covered)
                        for slot, p in frame.by_model.items())
    result = store.add_frames([NewFrame(source=f"{author}:{clip}@{frame.time:.3f}s", data=data, ext=".jpg",
                                        time=frame.time, frame_index=frame.index, predictions=predictions)],
                              author=author, on_duplicate="skip")
    # Stored by this call, or by anyone before (another person correcting the same frame at the same moment).
    record = store.frame(result.frame_ids[0] if result.frame_ids else DIGEST_MARKER + hashlib.sha256(data).hexdigest())
    return record, store.set_label(record.id, chord, author=author)


def _clip_boxes(path: Path) -> dict[int, tuple[float, float, float, float]]:
    """Frame index -> fretboard box from the clip's ``<stem>.fretboard.csv``, if there is one."""
    return {index: tuple(float(v) for v in box) for index, box in fretboard_boxes(path).items()}


def add_images(
    store: LabelStore,
    folder: str | Path,
    *,
    clip: str | None = None,
    chord: str | None = None,
    model: ModelRef | None = None,
    on_duplicate: str = "error",
    workers: int | None = None,
) -> AddResult:
    """Add every image under a folder (recursively, sorted), unlabeled unless ``chord`` is given.

    Args:
        store: the label store.
        folder: the folder.
        clip: put the images in a named group, so that exports keep them in one split (use it for
            frames of one recording).
        chord: label them all with this chord.
        model: predict each frame with this model.
        on_duplicate: "error" or "skip".
        workers: processes for hand detection.

    Raises:
        InputError: no images, a corrupt image, an unknown chord, a duplicate, a link out of the folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"No folder at {folder}.")
    refuse_links_out(folder, folder.name)
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not paths:
        raise InputError(f"No images ({', '.join(IMAGE_EXTS)}) under {folder}.")
    chord = parse_chord(chord) if chord is not None else None
    items = [NewFrame(source=f"{folder.name}/{p.relative_to(folder).as_posix()}", path=p, chord=chord) for p in paths]
    group = ClipInfo(check_name(clip, "Clip")) if clip else None
    return _add(store, items, group, model, "import", on_duplicate, workers)


# --------------------------------------------------------------------------------------------------
# Datasets


def add_dataset(
    store: LabelStore,
    path: str | Path,
    *,
    format: str = "auto",
    model: ModelRef | None = None,
    on_duplicate: str = "error",
    workers: int | None = None,
) -> AddResult:
    """Import a labeled dataset: an ImageFolder tree, a YOLO or COCO export, or a zip of one (Roboflow).

    Labels come in with origin "import" and author ``import:<dataset name>``; a dataset's own splits
    are kept (exports reuse them). YOLO and COCO classes that name a chord label the frame (the
    largest such box wins); a class whose name contains "fret" or "neck" gives the fretboard box.

    Args:
        store: the label store.
        path: a folder or a ``.zip``.
        format: one of :data:`labeling.formats.FORMATS` ("auto" detects it).
        model: predict each frame with this model.
        on_duplicate: "error" or "skip".
        workers: processes for hand detection.

    Returns:
        The new frame ids.

    Raises:
        InputError: the path is missing, the zip unsafe, the format not recognised, a file corrupt,
            a chord unknown or a path leaves the dataset.
    """
    if format not in FORMATS:
        raise InputError(f"Unknown dataset format {format!r}; use one of {', '.join(FORMATS)}.")
    path = Path(path)
    with unpacked_dataset(path) as root:
        items = read_dataset(root, format, path.stem if path.suffix.lower() == ".zip" else path.name)
        return _add(store, items, None, model, f"import:{path.name}", on_duplicate, workers)


__all__ = ["ModelRef", "add_clip", "add_dataset", "add_images", "label_analysed_frame", "predict_files"]
