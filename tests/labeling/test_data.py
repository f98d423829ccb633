"""Adding frames (clip, ImageFolder, YOLO, COCO, Roboflow-style zip), the review queue, exports,
background training and the command line."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from labeling.cli import main
from labeling.export import assign_splits, export_snapshot
from labeling.formats import extract_zip
from labeling.ingest import ModelRef, add_clip, add_dataset, add_images, label_analysed_frame
from labeling.queue import review_queue
from labeling.records import NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandsResult
from pipeline.models.datasets import dataset_fingerprint, read_image_folder
from pipeline.models.landmark import train_landmark_model
from pipeline.text import label_unfamiliar_note
from tests.helpers.store import add_tiny, snapshot_of_tables, tiny_png
from tools.samplegen.datasets import make_image_folder, make_yolo_dataset


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "store") as opened:
        yield opened


@pytest.fixture(scope="module")
def tiny_model():
    """A landmark model fitted in the test on made-up hands: real code path, no download, no training set."""
    rng = np.random.default_rng(0)
    results, labels = [], []
    for chord, centre in (("C", 0.3), ("G", 0.6)):
        for _ in range(12):
            points = np.clip(rng.normal(centre, 0.05, (21, 3)), 0, 1)
            results.append(HandsResult.from_hands([Hand.from_normalised(points, "Right", 0.9, 640, 360)], 640, 360))
            labels.append(chord)
    return ModelRef.of(train_landmark_model(results, labels, estimators=("svm",), feature_versions=("raw63",), folds=3),
                       "tiny")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic") / "chords"
    make_image_folder(root, 8, seed=3, chords=["C", "G"])
    return root


def test_a_clip_comes_in_with_times_boxes_and_predictions(store, tiny_model):
    result = add_clip(store, SAMPLE_MEDIA_DIR / "progression.mp4", fps=1.0, model=tiny_model)
    frames = store.frames(result.frame_ids)
    assert len(frames) == 10 and [f.time for f in frames[:3]] == [0.0, 1.0, 2.0]
    assert all(f.clip == "progression" and f.box is not None and f.path.is_file() for f in frames)
    predictions = [store.predictions(f.id) for f in frames]
    assert all(len(p) == 1 and p[0].model == "tiny" for p in predictions)
    assert sum(p[0].covered for p in predictions) >= 5  # MediaPipe finds the rendered hand in most frames
    assert all(p[0].embedding.endswith(f.digest) for p, f in zip(predictions, frames))
    # hands fitted on made-up points: the rendered hands are unlike them, and the Label page says so
    assert result.familiar_share is not None and result.familiar_share < 0.5
    note = label_unfamiliar_note(result.familiar_share)
    assert note.startswith(f"The suggesting models find {result.familiar_share:.0%} of these frames familiar")
    assert "Teach page" in note
    assert label_unfamiliar_note(0.5) is None and label_unfamiliar_note(None) is None
    with pytest.raises(InputError, match="already in the label store"):
        add_clip(store, SAMPLE_MEDIA_DIR / "progression.mp4", fps=1.0)
    # without a model: frames only
    assert len(add_clip(store, SAMPLE_MEDIA_DIR / "no_hand.mp4", fps=1.0).frame_ids) == 3


def test_an_analysed_frame_is_stored_once_with_its_models_answers_and_each_correction(store):
    from pipeline.core.types import NOT_COVERED, ChordPrediction, FrameResult
    from pipeline.vision.video import read_frame

    image = read_frame(SAMPLE_MEDIA_DIR / "progression.mp4", 1.2).image
    fused = ChordPrediction("C", 0.7, {"C": 0.7, "G": 0.3})
    frame = FrameResult(index=36, time=1.2, hands=HandsResult.from_hands([], 640, 360), prediction=fused, chord="C",
                        by_model={"landmarks": NOT_COVERED, "image": fused})
    with pytest.raises(InputError):  # an unknown chord: nothing is stored
        label_analysed_frame(store, image, frame, "H7", clip="progression.mp4", author="space")
    assert store.frames() == []

    record, event = label_analysed_frame(store, image, frame, "em", clip="progression.mp4", author="space")
    assert (event.chord, event.author, event.frame_id) == ("Em", "space", record.id)
    assert (record.source, record.time, record.frame_index) == ("space:progression.mp4@1.200s", 1.2, 36)
    assert record.path.suffix == ".jpg" and cv2.imread(str(record.path)).shape == image.shape
    stored = sorted((p.model, p.model_version, p.chord, p.covered) for p in store.predictions(record.id))
    assert stored == [("space-image", "space", "C", True), ("space-landmarks", "space", "None", False)]

    # The same frame corrected again: the same stored frame, a new label, the old one in its history.
    again, second = label_analysed_frame(store, image, frame, "D", clip="progression.mp4", author="space")
    assert again.id == record.id and again.digest == record.digest
    assert [f.chord for f in store.frames()] == ["D"]
    assert [e.chord for e in store.history(record.id)] == ["Em", "D"] and second.chord == "D"


def test_queue_puts_disagreement_then_least_sure_first_and_filters(store):
    ids = add_tiny(store, 6, size=32)
    a, b, c, d, labeled_c, labeled_g = ids
    store.add_predictions([
        (a, NewPrediction("m1", "1", "C", 0.95)), (a, NewPrediction("m2", "1", "G", 0.9)),
        (b, NewPrediction("m1", "1", "C", 0.3)), (c, NewPrediction("m1", "1", "D", 0.9)),
        (labeled_c, NewPrediction("m1", "1", "G", 0.8)), (labeled_g, NewPrediction("m1", "1", "G", 0.8)),
    ])
    store.set_label(labeled_c, "C", author="ann")
    store.set_label(labeled_g, "G", author="ann")
    order = [item.frame_id for item in review_queue(store)]
    assert order == [a, d, b, c]  # models disagree; nothing known; p=0.3; p=0.9
    assert review_queue(store)[0].disagreement and review_queue(store)[0].predicted == {"C": 0.95, "G": 0.9}
    assert [i.frame_id for i in review_queue(store, model="m2")] == [a]
    assert [i.frame_id for i in review_queue(store, chord="D")] == [c]
    assert [i.frame_id for i in review_queue(store, status="conflict")] == [labeled_c]
    assert {i.frame_id for i in review_queue(store, status="labeled")} == {labeled_c, labeled_g}
    assert len(review_queue(store, status="all")) == 6 and len(review_queue(store, limit=2)) == 2
    assert review_queue(store, clip="nope") == []
    # a re-encoded copy of a labeled frame is a near-duplicate: skipped, unless asked for all
    image = cv2.imdecode(np.frombuffer(tiny_png(4, 32), np.uint8), cv2.IMREAD_COLOR)
    image[0, 0] = image[0, 0] // 2 + 1
    copy = store.add_frame(NewFrame(source="copy", data=cv2.imencode(".png", image)[1].tobytes(), ext=".png"))
    assert copy not in [i.frame_id for i in review_queue(store)]
    assert copy in [i.frame_id for i in review_queue(store, near_duplicate_bits=-1)]
    with pytest.raises(InputError, match="status"):
        review_queue(store, status="maybe")


def test_imagefolder_import_and_export_round_trip_with_hugging_face(store, image_folder, tmp_path):
    result = add_dataset(store, image_folder)
    assert len(result.frame_ids) == 16 and store.stats().chords == {"C": 8, "G": 8}
    snapshot = store.create_snapshot("v1")
    assert snapshot.fingerprint == dataset_fingerprint(read_image_folder(image_folder))
    out = export_snapshot(store, "v1", tmp_path / "export")
    exported = read_image_folder(out.path)
    assert len(exported) == 16 and dataset_fingerprint(exported) == snapshot.fingerprint
    assert {image.path.name for image in exported} == {p.name for p in image_folder.rglob("*.jpg")}
    import datasets

    loaded = datasets.load_dataset("imagefolder", data_dir=str(out.path), cache_dir=str(tmp_path / "hf"))
    assert sum(len(split) for split in loaded.values()) == 16
    assert set(loaded["train"].features["label"].names) <= {"C", "G"}
    with pytest.raises(InputError, match="not empty"):
        export_snapshot(store, "v1", out.path)


def test_export_splits_by_clip_deterministically(store, tmp_path):
    for group in range(12):
        folder = tmp_path / f"g{group}"
        folder.mkdir()
        for i in range(4):
            (folder / f"{i}.png").write_bytes(tiny_png(1000 + 10 * group + i))
        add_images(store, folder, clip=f"take-{group}", chord="C" if group % 2 else "G")
    store.create_snapshot("v1")
    frames = [f for f, _ in store.snapshot_frames("v1")]
    splits = assign_splits(frames)
    by_clip = {}
    for frame in frames:
        by_clip.setdefault(frame.clip, set()).add(splits[frame.id])
    assert all(len(s) == 1 for s in by_clip.values())  # no clip straddles splits
    assert len({next(iter(s)) for s in by_clip.values()}) >= 2
    first = export_snapshot(store, "v1", tmp_path / "a")
    second = export_snapshot(store, "v1", tmp_path / "b")
    def listing(root):
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))

    assert listing(first.path) == listing(second.path) and first.counts == second.counts
    rows = list(csv.DictReader(open(export_snapshot(store, "v1", tmp_path / "v1.csv", "csv").path)))
    assert len(rows) == 48 and {r["clip"] for r in rows} == {f"take-{g}" for g in range(12)}
    assert all(Path(r["file"]).is_file() and r["label_origin"] == "import" for r in rows)


def test_yolo_import_and_export_keep_the_fretboard_boxes(store, tmp_path):
    make_yolo_dataset(tmp_path / "yolo", 4, 2, seed=1, imgsz=320)
    result = add_dataset(store, tmp_path / "yolo")
    frames = store.frames(result.frame_ids)
    assert len(frames) == 6 and all(f.box is not None and f.chord is None for f in frames)
    assert sorted(f.split for f in frames) == ["train"] * 4 + ["val"] * 2
    for frame in frames:  # label "0 fretboard" boxes, labeled so they enter a snapshot
        store.set_label(frame.id, "C", author="ann")
    store.create_snapshot("boxes")
    out = export_snapshot(store, "boxes", tmp_path / "yolo-out", "yolo")
    assert out.counts == {"train": 4, "val": 2}
    original = (tmp_path / "yolo" / "labels" / "train" / "0.txt").read_text().split()
    frame = next(f for f in frames if f.source.endswith("images/train/0.jpg"))
    written = (out.path / "labels" / "train" / f"{frame.digest[:16]}.txt").read_text().split()
    assert written[0] == "0"
    assert np.allclose([float(v) for v in written[1:]], [float(v) for v in original[1:]], atol=1e-4)
    assert "names:" in (out.path / "data.yaml").read_text()


def _coco_export(root: Path, file_name: str = "frame.jpg") -> None:
    split = root / "train"
    split.mkdir(parents=True)
    cv2.imwrite(str(split / "frame.jpg"), np.full((90, 160, 3), 90, np.uint8))
    cv2.imwrite(str(split / "other.jpg"), np.full((90, 160, 3), 200, np.uint8))
    (split / "_annotations.coco.json").write_text(json.dumps({
        "categories": [{"id": 0, "name": "guitar-chords"}, {"id": 1, "name": "Am"}, {"id": 2, "name": "fretboard"}],
        "images": [{"id": 1, "file_name": file_name, "width": 160, "height": 90},
                   {"id": 2, "file_name": "other.jpg", "width": 160, "height": 90}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 30]},
                        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 20, 150, 40]}],
    }))


def test_a_roboflow_style_coco_zip_is_imported(store, tmp_path):
    _coco_export(tmp_path / "coco")
    archive = tmp_path / "chords.v1i.coco.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted((tmp_path / "coco").rglob("*")):
            handle.write(path, path.relative_to(tmp_path / "coco").as_posix())
    result = add_dataset(store, archive)
    frames = store.frames(result.frame_ids)
    assert [(f.chord, f.split, f.box) for f in frames] == [("Am", "train", (0.0, 20.0, 150.0, 60.0)),
                                                            (None, "train", None)]
    assert store.history(frames[0].id)[0].author == "import:chords.v1i.coco.zip"


@pytest.mark.parametrize("member", ["../evil.jpg", "/abs/evil.jpg", "ok/../../evil.jpg"])
def test_a_zip_with_an_escaping_member_is_refused_before_extraction(store, tmp_path, member):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("train/A/fine.png", tiny_png(1))
        handle.writestr(member, tiny_png(2))
    before = snapshot_of_tables(store)
    with pytest.raises(InputError, match="outside its folder"):
        add_dataset(store, archive)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(InputError):
        extract_zip(archive, dest)
    assert list(dest.iterdir()) == [] and not (tmp_path / "evil.jpg").exists()
    assert snapshot_of_tables(store) == before


def test_a_coco_file_name_with_dotdot_is_refused(store, tmp_path):
    _coco_export(tmp_path / "coco", file_name="../frame.jpg")
    with pytest.raises(InputError, match="outside its folder"):
        add_dataset(store, tmp_path / "coco")
    assert store.stats().frames == 0


def test_an_imagefolder_with_an_unknown_chord_folder_changes_nothing(store, tmp_path):
    for chord in ("C", "Hsus9"):
        (tmp_path / "bad" / chord).mkdir(parents=True)
        (tmp_path / "bad" / chord / "x.png").write_bytes(tiny_png(len(chord)))
    with pytest.raises(InputError):
        add_dataset(store, tmp_path / "bad", format="imagefolder")
    assert store.stats().frames == 0


def test_a_background_job_trains_the_landmark_model_and_records_the_snapshot(store, image_folder):
    from labeling.train import start_job, train_from_snapshot, wait_job
    from pipeline.models.landmark import LandmarkChordModel

    add_dataset(store, image_folder)
    store.create_snapshot("v1")
    job = start_job(store, "v1", "landmarks", extra_args=["--estimators", "svm", "--features", "raw63", "--folds", "2"])
    foreground = train_from_snapshot(store, "v1", split=None, folds=2)  # meanwhile, in seconds
    assert "label snapshot v1" in foreground.card.trained_on and foreground.card.n_images == 16
    done = wait_job(store, job.id, timeout=90)
    assert done.status == "done", (done.progress, Path(done.log).read_text()[-2000:])
    card = LandmarkChordModel.load(done.out).card
    assert card.trained_on.startswith("label snapshot v1") and "cross-validated" in Path(done.log).read_text()


def test_cli_runs_the_labeling_loop_and_exits_2_on_bad_input(tmp_path, capsys):
    root = str(tmp_path / "cli-store")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.png").write_bytes(tiny_png(500 + i, 16))
    assert main(["--store", root, "add", str(folder), "--format", "images"]) == 0
    assert main(["--store", root, "queue", "--json"]) == 0
    queue = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert len(queue) == 3
    assert main(["--store", root, "label", str(queue[0]["frame_id"]), "em", "--by", "ann"]) == 0
    assert main(["--store", root, "label", str(queue[1]["frame_id"]), "D", "--by", "ann"]) == 0
    assert main(["--store", root, "undo", "--by", "ann"]) == 0
    assert main(["--store", root, "snapshot", "create", "v1"]) == 0
    assert main(["--store", root, "export", "v1", "--out", str(tmp_path / "out.csv"), "--format", "csv"]) == 0
    capsys.readouterr()
    assert main(["--store", root, "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["labeled"] == 1
    for argv, reason in [
        (["label", "1", "Q#"], "Unknown chord"),
        (["snapshot", "create", "../up"], "not allowed"),
        (["add", str(tmp_path / "missing.mp4")], "Nothing at"),
        (["add", str(folder), "--format", "images"], "already in the label store"),
        (["export", "nope", "--out", str(tmp_path / "x")], "No snapshot"),
        (["history", "77"], "No frame"),
    ]:
        assert main(["--store", root, *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and reason in err and err.count("\n") == 1, (argv, err)
    with LabelStore(root) as store:
        assert store.stats().labeled == 1 and store.stats().chords == {"Em": 1}


def test_cli_suggests_with_an_image_model_and_refuses_a_detector(tmp_path, capsys):
    import cv2

    from pipeline.models.image.loading import load_image_model
    from tests.helpers.tiny_models import tiny_cnn, untrained_detector

    root, folder = str(tmp_path / "store"), tmp_path / "imgs"
    folder.mkdir()
    for i in range(2):
        (folder / f"{i}.png").write_bytes(tiny_png(700 + i, 32))
    cnn = tiny_cnn(tmp_path / "cnn")
    assert main(["--store", root, "add", str(folder), "--format", "images", "--model", str(cnn)]) == 0
    assert "predicted by cnn" in capsys.readouterr().out
    images = [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in sorted(folder.glob("*.png"))]
    expected = sorted((p.chord, round(p.probability, 5)) for p in load_image_model(cnn).predict(images))
    assert main(["--store", root, "queue", "--json"]) == 0
    queue = json.loads(capsys.readouterr().out)
    suggested = sorted((chord, round(p, 5)) for item in queue for chord, p in item["predicted"].items())
    assert suggested == expected, (suggested, expected)
    detector = untrained_detector(tmp_path / "det")
    assert main(["--store", root, "add", str(folder), "--model", str(detector)]) == 2
    assert "suggestions need a chord model" in capsys.readouterr().err
