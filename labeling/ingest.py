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

A Roboflow export zip is one of the formats above; zips are extracted to a temporary folder with
every member checked (no absolute paths, no ``..``, no links, a size cap) before a byte is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labeling.store import (
    IMAGE_EXTS,
    AddResult,
    ClipInfo,
    FrameRecord,
    LabelEvent,
    LabelStore,
    NewFrame,
    NewPrediction,
    check_name,
    check_relative,
)
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError

FORMATS = ("auto", "imagefolder", "yolo", "coco", "images")
MAX_ZIP_BYTES = 16 << 30
"""Largest total size a zip may unpack to (a zip bomb is refused before extraction)."""
JPEG_QUALITY = 95
CORRECTION_JPEG_QUALITY = 92
"""JPEG quality of a frame stored by :func:`label_analysed_frame` (what the Space has always stored: the
same frame corrected again keeps its digest)."""


@dataclass(frozen=True)
class ModelRef:
    """The model whose answers frames get as suggestions, with the name and version they are stored under.

    ``model`` is a landmark model, or a :class:`pipeline.timeline.analyze.ModelSet` (an image model, or a landmark
    and an image model fused); :meth:`of` wraps a bare image model in a set.
    """

    model: object  # pipeline.models.landmark.LandmarkChordModel or pipeline.timeline.analyze.ModelSet
    name: str
    version: str

    @classmethod
    def load(cls, spec: str | Path | None) -> ModelRef:
        """The chord model of a folder (landmarks, CNN or transformers), or the sample model for
        ``None`` / ``"sample"`` (built on first use).

        Raises:
            InputError: no model there, or not a chord model (a fretboard detector).
        """
        from pipeline.models.registry import SAMPLE_MODEL, load_model, model_kind

        spec = None if spec in (None, "sample") else Path(spec)
        if spec is not None and (kind := model_kind(spec)) not in ("landmarks", "image", "cnn"):
            raise InputError(f"{spec} is a {kind} model; suggestions need a chord model (landmarks, cnn or image).")
        model = load_model(spec)
        name = SAMPLE_MODEL if spec is None else Path(spec).resolve().name
        return cls.of(model, name)

    @classmethod
    def of(cls, model, name: str) -> ModelRef:
        """Wrap a loaded landmark model, image model or model set; the version is each chord model's
        training time and data fingerprint (joined with ``+`` for a fused pair)."""
        from pipeline.core.types import ModelSet
        from pipeline.models.landmark import LandmarkChordModel

        if not isinstance(model, (ModelSet, LandmarkChordModel)):
            model = ModelSet(image=model)
        parts = [m for m in (model.landmarks, model.image) if m is not None] if isinstance(model, ModelSet) else [model]
        version = "+".join(f"{m.card.created or 'unknown'}/{m.card.data_fingerprint[:12] or 'unknown'}" for m in parts)
        return cls(model, name, version)

    @property
    def reads_hands(self) -> bool:
        """Whether a landmark model takes part (the frames' landmarks are then cached)."""
        from pipeline.core.types import ModelSet

        return self.model.landmarks is not None if isinstance(self.model, ModelSet) else True


def predict_files(paths: Sequence[Path], digests: Sequence[str], ref: ModelRef,
                  workers: int | None = None) -> list[NewPrediction]:
    """The model's answers for image files, as Analyze decides a frame
    (:func:`pipeline.timeline.analyze.predict_image_files`; fused when ``ref`` holds two chord models).

    Args:
        paths: image files (the store's own copies).
        digests: their SHA-256 digests (the landmark cache's keys).
        ref: the model.
        workers: processes for hand detection (default: CPUs, at most 4).

    Returns:
        One prediction per path; a frame no model could decide (a landmark model alone, no hand) is
        stored as not covered, probability 0. The embedding reference is the frame's landmark cache
        entry when a landmark model took part, else None.
    """
    from pipeline.core.hands import HandSettings
    from pipeline.timeline.analyze import predict_image_files

    if not paths:
        return []
    answers, _ = predict_image_files(ref.model, list(paths), workers=workers)
    key = HandSettings().key
    return [
        NewPrediction(ref.name, ref.version, p.chord, p.probability, p.covered,
                      f"landmarks/{key}#{digest}" if ref.reads_hands else None)
        for p, digest in zip(answers, digests)
    ]


def _add(store: LabelStore, items: Sequence[NewFrame], clip: ClipInfo | None, model: ModelRef | None,
         author: str, on_duplicate: str, workers: int | None = None) -> AddResult:
    """The one path every add takes: validate and store files, predict, commit in one transaction."""
    prepared, skipped = store.prepare(items, on_duplicate)
    if model is not None and prepared:
        predictions = predict_files([p.path for p in prepared], [p.digest for p in prepared], model, workers)
        prepared = [
            dataclasses.replace(p, item=dataclasses.replace(p.item, predictions=p.item.predictions + (prediction,)))
            for p, prediction in zip(prepared, predictions)
        ]
    ids = store.commit(prepared, clip, author) if prepared else []
    return AddResult(ids, skipped)


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

    A ``<stem>.fretboard.csv`` beside the clip (as :func:`tools.samplegen.synthetic.make_clip` writes) gives
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
    from pipeline.models.datasets import file_digest
    from pipeline.vision.video import iter_frames, probe

    path = Path(path)
    info = probe(path)
    digest = file_digest(path)
    if name is None:
        taken = {clip.name for clip in store.clips()}
        name = path.stem if path.stem not in taken else f"{path.stem}-{digest[:8]}"
        name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name).lstrip("._-") or digest[:12]
    check_name(name, "Clip")
    boxes = _clip_boxes(path)
    items = []
    for frame in iter_frames(path, fps=fps, start=start, end=end):
        data = _jpeg(frame.image, f"frame {frame.index} of {path.name}", JPEG_QUALITY)
        items.append(NewFrame(source=f"{path.name}@{frame.time:.3f}s", data=data, ext=".jpg",
                              time=frame.time, frame_index=frame.index, box=boxes.get(frame.index)))
    clip = ClipInfo(name, digest, str(path.resolve()), info.fps, info.duration)
    return _add(store, items, clip, model, "import", on_duplicate, workers)


def _jpeg(image, what: str, quality: int) -> bytes:
    """An RGB uint8 (H, W, 3) image as JPEG bytes.

    Raises:
        InputError: OpenCV could not encode it (``what`` names it in the message).
    """
    import cv2

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
    data = _jpeg(image, f"frame {frame.index} of {clip}", CORRECTION_JPEG_QUALITY)
    predictions = tuple(NewPrediction(f"{author}-{slot}", author, p.chord, p.probability, p.covered)
                        for slot, p in frame.by_model.items())
    result = store.add_frames([NewFrame(source=f"{author}:{clip}@{frame.time:.3f}s", data=data, ext=".jpg",
                                        time=frame.time, frame_index=frame.index, predictions=predictions)],
                              author=author, on_duplicate="skip")
    record = store.frame(result.frame_ids[0] if result.frame_ids else hashlib.sha256(data).hexdigest())
    return record, store.set_label(record.id, chord, author=author)


def _clip_boxes(path: Path) -> dict[int, tuple[float, float, float, float]]:
    """Frame index -> fretboard box from the clip's ``<stem>.fretboard.csv``, if there is one."""
    from tools.samplegen.synthetic import read_fretboard_csv

    csv_path = path.with_name(path.stem + ".fretboard.csv")
    if not csv_path.is_file():
        return {}
    return {int(row[0]): tuple(float(v) for v in row[2:6]) for row in read_fretboard_csv(csv_path)}


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
        InputError: no images, a corrupt image, an unknown chord, a duplicate.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"No folder at {folder}.")
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
        format: one of :data:`FORMATS` ("auto" detects it).
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
    with _unpacked(path) as root:
        kind = detect_format(root) if format == "auto" else format
        reader = {"imagefolder": read_imagefolder, "yolo": read_yolo, "coco": read_coco, "images": read_plain}[kind]
        items = reader(root, path.stem if path.suffix.lower() == ".zip" else path.name)
        return _add(store, items, None, model, f"import:{path.name}", on_duplicate, workers)


@contextmanager
def _unpacked(path: Path):
    """The dataset's root folder: the folder itself, or a zip safely extracted to a temp folder."""
    if path.is_dir():
        yield _single_child(path)
        return
    if not path.is_file():
        raise InputError(f"No dataset at {path}.")
    if path.suffix.lower() != ".zip":
        raise InputError(f"{path.name} is neither a folder nor a .zip dataset export.")
    with tempfile.TemporaryDirectory(prefix="chord-studio-import-") as scratch:
        extract_zip(path, Path(scratch))
        yield _single_child(Path(scratch))


def _single_child(root: Path) -> Path:
    """Descend through folders that hold nothing but one folder (zips often wrap everything in one)."""
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        else:
            return root


def extract_zip(path: str | Path, dest: str | Path) -> list[Path]:
    """Extract a zip after checking every member: relative paths only, no ``..``, no links, a size cap.

    Args:
        path: the zip file.
        dest: folder to extract into (must exist).

    Returns:
        The files written.

    Raises:
        InputError: the zip is damaged, or a member is unsafe (nothing is extracted then).
    """
    dest = Path(dest)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError(f"{Path(path).name} is not a readable zip ({error}).") from error
    with archive:
        members = archive.infolist()
        targets = []
        for member in members:  # every member is checked before anything is written
            relative = check_relative(member.filename, f"zip member in {Path(path).name}")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise InputError(f"Zip member {member.filename!r} is a symbolic link; refusing it.")
            targets.append((member, dest / relative))
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise InputError(f"{Path(path).name} unpacks to more than {MAX_ZIP_BYTES >> 30} GiB; refusing it.")
        written = []
        for member, target in targets:
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise InputError(f"{Path(path).name}: member {member.filename!r} cannot be read ({error}).") from error
            written.append(target)
    return written


def detect_format(root: Path) -> str:
    """Which format a dataset folder is in: "yolo", "coco", "imagefolder" or "images" (plain, unlabeled)."""
    from pipeline.models.datasets import read_image_folder

    if any(root.glob("*.yaml")) or (root / "labels").is_dir() or any(root.glob("*/labels")):
        return "yolo"
    if _coco_files(root):
        return "coco"
    try:
        read_image_folder(root)
        return "imagefolder"
    except InputError:
        return "images"


def read_imagefolder(root: Path, dataset: str) -> list[NewFrame]:
    """Frames of an ImageFolder tree (``<root>[/<split>]/<chord>/*``), labeled by folder.

    Raises:
        InputError: a folder name is not a chord (see :func:`pipeline.models.datasets.read_image_folder`).
    """
    from pipeline.models.datasets import read_image_folder

    return [NewFrame(source=f"{dataset}/{image.path.relative_to(root).as_posix()}", path=image.path,
                     chord=image.chord, split=_split_name(image.split)) for image in read_image_folder(root)]


def read_plain(root: Path, dataset: str) -> list[NewFrame]:
    """Unlabeled frames of a folder of images."""
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    if not paths:
        raise InputError(f"No images, ImageFolder, YOLO or COCO data found in {dataset}.")
    return [NewFrame(source=f"{dataset}/{p.relative_to(root).as_posix()}", path=p) for p in paths]


def _split_name(name: str) -> str:
    """A dataset's split name in this project's words (Roboflow says "valid")."""
    lowered = name.lower()
    return {"valid": "val", "validation": "val", "dev": "val"}.get(lowered, lowered)


@dataclass(frozen=True)
class _ClassMap:
    """How a detection dataset's class names map to chords and the fretboard."""

    chords: dict[int, str]
    fretboard: set[int]

    @classmethod
    def from_names(cls, names: dict[int, str], dataset: str) -> _ClassMap:
        chords, fretboard = {}, set()
        for index, name in names.items():
            if any(word in str(name).lower() for word in ("fret", "neck")):
                fretboard.add(index)
                continue
            try:
                chords[index] = parse_chord(str(name).replace("_", " "))
            except InputError:
                pass  # other classes (a Roboflow super-category, "hand") say nothing about the chord
        if not chords and not fretboard:
            raise InputError(f"{dataset}: none of its classes {sorted(map(str, names.values()))[:8]} is a chord "
                             "or a fretboard; nothing to import.")
        return cls(chords, fretboard)

    def frame(self, boxes: Sequence[tuple[int, float, float, float, float]]) -> tuple[str | None, tuple | None]:
        """(chord of the largest chord box, largest fretboard box) of one image's (class, x1, y1, x2, y2) boxes."""
        def area(box):
            return (box[3] - box[1]) * (box[4] - box[2])

        chord_boxes = [b for b in boxes if b[0] in self.chords]
        fret_boxes = [b for b in boxes if b[0] in self.fretboard]
        chord = self.chords[max(chord_boxes, key=area)[0]] if chord_boxes else None
        box = tuple(float(v) for v in max(fret_boxes, key=area)[1:]) if fret_boxes else None
        return chord, box


def read_yolo(root: Path, dataset: str) -> list[NewFrame]:
    """Frames of a YOLO detection export.

    Two layouts: Ultralytics' ``images/<split>/`` + ``labels/<split>/`` and Roboflow's
    ``<split>/images/`` + ``<split>/labels/``; class names come from ``data.yaml`` (``names``). The
    yaml's own paths are not followed (Roboflow's ``../train/images`` would leave the folder); the
    label file of an image is found by swapping ``images`` for ``labels`` in its path.

    Raises:
        InputError: no yaml with names, a malformed label line, or no images.
    """
    import cv2
    import yaml

    yamls = sorted(root.glob("*.yaml"))
    if not yamls:
        raise InputError(f"{dataset}: no data.yaml with the class names.")
    try:
        config = yaml.safe_load((root / "data.yaml" if (root / "data.yaml").is_file() else yamls[0]).read_text())
        names = config["names"]
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise InputError(f"{dataset}: data.yaml has no readable class names ({error}).") from error
    names = dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    classes = _ClassMap.from_names(names, dataset)
    items = []
    for image in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and "images" in p.relative_to(root).parts):
        parts = list(image.relative_to(root).parts)
        at = len(parts) - 1 - parts[::-1].index("images")
        split = parts[at + 1] if at + 1 < len(parts) - 1 else (parts[at - 1] if at > 0 else "")
        label_path = root.joinpath(*parts[:at], "labels", *parts[at + 1:]).with_suffix(".txt")
        boxes = []
        if label_path.is_file():
            size = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)
            if size is None:
                raise InputError(f"{dataset}/{image.relative_to(root).as_posix()} is not a readable image.")
            height, width = size.shape[:2]
            for number, line in enumerate(label_path.read_text().splitlines(), start=1):
                values = line.split()
                if not values:
                    continue
                try:
                    cls, cx, cy, w, h = int(values[0]), *map(float, values[1:5])
                except (ValueError, TypeError) as error:
                    raise InputError(f"{dataset}/{label_path.relative_to(root).as_posix()} line {number} is not "
                                     "'class cx cy w h'.") from error
                boxes.append((cls, (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
        chord, box = classes.frame(boxes)
        items.append(NewFrame(source=f"{dataset}/{image.relative_to(root).as_posix()}", path=image, chord=chord,
                              box=box, split=_split_name(split)))
    if not items:
        raise InputError(f"{dataset}: no images under an images/ folder.")
    return items


def _coco_files(root: Path) -> list[Path]:
    """COCO annotation files (JSON with images, annotations and categories) up to two folders down."""
    found = []
    for candidate in sorted([*root.glob("*.json"), *root.glob("*/*.json"), *root.glob("*/*/*.json")]):
        try:
            with candidate.open() as handle:
                head = handle.read(1 << 16)
        except OSError:
            continue
        if '"images"' in head or '"annotations"' in head or '"categories"' in head:
            found.append(candidate)
    return found


def read_coco(root: Path, dataset: str) -> list[NewFrame]:
    """Frames of a COCO export (Roboflow's ``<split>/_annotations.coco.json`` or ``annotations/*.json``).

    Each image's ``file_name`` must stay inside the dataset; it is looked up beside the JSON, then in
    ``images/``. The split is the JSON's folder (Roboflow) or a split word in its name
    (``instances_train.json``).

    Raises:
        InputError: no annotation file, a malformed one, a ``file_name`` with ``..`` or an absolute
            path, or an image that is not there.
    """
    files = _coco_files(root)
    if not files:
        raise InputError(f"{dataset}: no COCO annotation JSON found.")
    items = []
    for json_path in files:
        try:
            data = json.loads(json_path.read_text())
            names = {int(c["id"]): c["name"] for c in data["categories"]}
            images = {int(i["id"]): i for i in data["images"]}
            boxes: dict[int, list] = {}
            for a in data.get("annotations", []):
                x, y, w, h = map(float, a["bbox"])
                boxes.setdefault(int(a["image_id"]), []).append((int(a["category_id"]), x, y, x + w, y + h))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise InputError(f"{dataset}/{json_path.relative_to(root).as_posix()} is not a COCO annotation file "
                             f"({type(error).__name__}: {error}).") from error
        classes = _ClassMap.from_names(names, dataset)
        split = _coco_split(json_path, root)
        for image_id, image in sorted(images.items()):
            relative = check_relative(image.get("file_name", ""), f"image file_name in {json_path.name}")
            candidates = [json_path.parent / relative, json_path.parent.parent / "images" / relative,
                          root / "images" / relative, root / relative]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise InputError(f"{dataset}: image {relative.as_posix()} named in {json_path.name} is not there.")
            chord, box = classes.frame(boxes.get(image_id, []))
            items.append(NewFrame(source=f"{dataset}/{found.relative_to(root).as_posix()}", path=found, chord=chord,
                                  box=box, split=split))
    return items


def _coco_split(json_path: Path, root: Path) -> str:
    for word in (json_path.parent.name, *json_path.stem.replace("-", "_").split("_")):
        name = _split_name(word)
        if name in ("train", "val", "test"):
            return name
    return ""


__all__ = ["FORMATS", "ModelRef", "add_clip", "add_dataset", "add_images", "detect_format", "extract_zip",
           "label_analysed_frame", "predict_files", "read_coco", "read_imagefolder", "read_yolo"]
