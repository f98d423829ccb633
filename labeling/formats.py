"""Dataset formats: ImageFolder trees, YOLO and COCO exports, plain image folders, and zips of them.

Readers turn a dataset folder into :class:`labeling.records.NewFrame` items (labels, fretboard boxes and
the dataset's own splits where the format has them); :mod:`labeling.ingest` adds them to the store.
A Roboflow export zip is one of these formats; zips are extracted to a temporary folder with every
member checked (no absolute paths, no ``..``, no links, a size cap) before a byte is written.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from labeling.frames import IMAGE_EXTS
from labeling.names import check_relative
from labeling.records import NewFrame
from pipeline.core.chords import parse_chord
from pipeline.core.errors import InputError
from pipeline.models.datasets import read_image_folder
from pipeline.vision.video import check_image_header

FORMATS = ("auto", "imagefolder", "yolo", "coco", "images")
MAX_ZIP_BYTES = 16 << 30
"""Largest total size a zip may unpack to (a zip bomb is refused before extraction)."""


@contextmanager
def unpacked_dataset(path: Path) -> Iterator[Path]:
    """The dataset's root folder: the folder itself, or a zip safely extracted to a temporary folder.

    Args:
        path: a dataset folder or a ``.zip`` of one.

    Yields:
        The folder holding the dataset (single wrapping folders descended into); a zip's folder is
        deleted when the context ends.

    Raises:
        InputError: nothing at ``path``, a file that is not a zip, or an unsafe or damaged zip.
    """
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
    """Descend through folders that hold nothing but one folder (zips often wrap everything in one).

    A lone folder named as a chord or a split is data, not a wrapper: ``<root>/C/*.jpg`` is an ImageFolder
    with one chord, and ``<root>/train/...`` keeps its split.
    """
    while True:
        entries = [p for p in root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if (len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink()
                and not _is_data_folder(entries[0].name)):
            root = entries[0]
        else:
            return root


def _is_data_folder(name: str) -> bool:
    """Whether a folder name is a split (train, val, valid, test, ...) or a chord."""
    return _split_name(name) in ("train", "val", "test") or _chord_of(name) is not None


def _chord_of(name: str) -> str | None:
    """The chord a folder name spells (``a minor``, ``A_minor``, ``Am``), or None."""
    try:
        return parse_chord(name.replace("_", " "))
    except InputError:
        return None


def imagefolder_problem(root: Path) -> str | None:
    """Why a folder laid out as an ImageFolder (some subfolders name chords) cannot be read as one, or None
    when it is not laid out as one (a plain folder of images) or reads fine.

    Looked at without reading images: the folders at ``<root>/*`` and ``<root>/<split>/*``. A tree with a
    chord folder among its folders is a labeled tree; a folder beside it that names no chord (a misspelt
    ``Gmjaor``) would have its images imported unlabeled, so it is named here instead.
    """
    def folders(path: Path) -> list[Path]:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "__MACOSX")

    top = folders(root)
    if any(_chord_of(p.name) is not None for p in top):
        bad = [p.name for p in top if _chord_of(p.name) is None]
    else:
        nested = [(split, folders(split)) for split in top]
        if not any(_chord_of(p.name) is not None for _, subs in nested for p in subs):
            return None
        bad = [f"{split.name}/{p.name}" for split, subs in nested for p in subs if _chord_of(p.name) is None]
        bad += [split.name for split, subs in nested if not subs]
    if not bad:
        return None
    return (f"{root.name} is laid out as an ImageFolder (a folder per chord), but {', '.join(map(repr, bad[:5]))}"
            f"{f' and {len(bad) - 5} more' if len(bad) > 5 else ''} {'is' if len(bad) == 1 else 'are'} not "
            "chord names; rename them (e.g. 'Am', 'G7', 'a minor') or add the images unlabeled with --format "
            "images. Nothing was added.")


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
    """Which format a dataset folder is in: "yolo", "coco", "imagefolder" or "images" (plain, unlabeled).

    Raises:
        InputError: the folder is laid out as an ImageFolder but a folder name is not a chord (its images
            would come in unlabeled; see :func:`imagefolder_problem`).
    """
    if any(root.glob("*.yaml")) or (root / "labels").is_dir() or any(root.glob("*/labels")):
        return "yolo"
    if _coco_files(root):
        return "coco"
    problem = imagefolder_problem(root)
    if problem is not None:
        raise InputError(problem)
    try:
        read_image_folder(root)
        return "imagefolder"
    except InputError:
        return "images"


def read_imagefolder(root: Path, dataset: str) -> list[NewFrame]:
    """Frames of an ImageFolder tree (``<root>[/<split>]/<chord>/*``), labeled by folder.

    Raises:
        InputError: a folder name is not a chord (see :func:`imagefolder_problem` and
            :func:`pipeline.models.datasets.read_image_folder`).
    """
    problem = imagefolder_problem(root)
    if problem is not None:
        raise InputError(problem)
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
        """Map class index -> name to chords (names that spell a chord) and fretboard classes ("fret", "neck").

        Raises:
            InputError: no class is a chord or a fretboard.
        """
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
    yamls = sorted(root.glob("*.yaml"))
    if not yamls:
        raise InputError(f"{dataset}: no data.yaml with the class names.")
    text = _text(root / "data.yaml" if (root / "data.yaml").is_file() else yamls[0], root, dataset)
    try:
        config = yaml.safe_load(text)
        names = config["names"]
        names = dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"{dataset}: data.yaml has no readable class names ({type(error).__name__}).") from error
    classes = _ClassMap.from_names(names, dataset)
    items = []
    images = sorted(p for p in root.rglob("*")
                    if p.suffix.lower() in IMAGE_EXTS and "images" in p.relative_to(root).parts)
    for image in images:
        parts = list(image.relative_to(root).parts)
        at = len(parts) - 1 - parts[::-1].index("images")
        split = parts[at + 1] if at + 1 < len(parts) - 1 else (parts[at - 1] if at > 0 else "")
        label_path = root.joinpath(*parts[:at], "labels", *parts[at + 1:]).with_suffix(".txt")
        boxes = []
        if label_path.is_file():
            width, height = check_image_header(image, f"{dataset}/{image.relative_to(root).as_posix()}")
            for number, line in enumerate(_text(label_path, root, dataset).splitlines(), start=1):
                values = line.split()
                if not values:
                    continue
                try:
                    cls, cx, cy, w, h = int(values[0]), *map(float, values[1:5])
                    if not np.isfinite([cx, cy, w, h]).all():
                        raise ValueError("not finite")
                except (ValueError, TypeError) as error:
                    raise InputError(f"{dataset}/{label_path.relative_to(root).as_posix()} line {number} is not "
                                     "'class cx cy w h'.") from error
                boxes.append((cls, (cx - w / 2) * width, (cy - h / 2) * height,
                              (cx + w / 2) * width, (cy + h / 2) * height))
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
            with candidate.open("rb") as handle:
                head = handle.read(1 << 16)
        except OSError:
            continue
        if b'"images"' in head or b'"annotations"' in head or b'"categories"' in head:
            found.append(candidate)
    return found


def _text(path: Path, root: Path, dataset: str) -> str:
    """A dataset's text file (yaml, label file, JSON) as UTF-8.

    Raises:
        InputError: it cannot be read, or is not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{dataset}/{path.relative_to(root).as_posix()} is not UTF-8 text ({error.reason} at byte "
                         f"{error.start}).") from error
    except OSError as error:
        raise InputError(f"{dataset}/{path.relative_to(root).as_posix()} cannot be read: {error.strerror}.") from error


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
            data = json.loads(_text(json_path, root, dataset))
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


def refuse_links_out(root: Path, dataset: str) -> None:
    """Refuse a folder holding a symbolic link (to a file or a folder) that leads out of it.

    Imports read every file under a dataset's folder; a link out of it would import (and copy into the
    store) whatever it points at. Links that stay inside are fine. Linked folders are not walked into.

    Raises:
        InputError: a link leads out of ``root`` (or is broken); nothing is read.
    """
    base = root.resolve()
    for folder, dirs, files in os.walk(root):  # followlinks=False: a linked folder is listed, not entered
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if not path.is_symlink():
                continue
            target = path.resolve()
            if not target.exists() or not target.is_relative_to(base):
                raise InputError(f"{dataset}/{path.relative_to(root).as_posix()} is a link to {target}, outside the "
                                 "dataset (or missing); links out of a dataset are not followed. Nothing was added.")


def read_dataset(root: Path, format: str, dataset: str) -> list[NewFrame]:
    """The frames of an unpacked dataset, read by the reader of its format.

    Args:
        root: the dataset folder (see :func:`unpacked_dataset`).
        format: one of :data:`FORMATS`; "auto" detects it (:func:`detect_format`).
        dataset: the dataset's name, the prefix of every frame's source.

    Returns:
        The frames, with labels, boxes and splits where the format gives them.

    Raises:
        InputError: the data does not fit its format (see the readers), or a link leads out of ``root``.
    """
    refuse_links_out(root, dataset)
    kind = detect_format(root) if format == "auto" else format
    reader = {"imagefolder": read_imagefolder, "yolo": read_yolo, "coco": read_coco, "images": read_plain}[kind]
    return reader(root, dataset)


__all__ = ["FORMATS", "MAX_ZIP_BYTES", "detect_format", "extract_zip", "imagefolder_problem", "read_coco",
           "read_dataset", "read_imagefolder", "read_plain", "read_yolo", "refuse_links_out", "unpacked_dataset"]
