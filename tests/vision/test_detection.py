"""The fretboard detector: a tiny YOLO trained offline here, reloaded in a fresh process; results, crops, errors."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.models.cards import read_card
from pipeline.models.detector import train_detector
from pipeline.samples import fretboard_boxes
from pipeline.vision.detection import (
    FretboardDetections,
    FretboardDetector,
    crop,
    grow_box,
    resolve_weights,
)

REPO = Path(__file__).resolve().parents[2]


def _stray_files() -> set[Path]:
    """Files Ultralytics leaves when pointed nowhere: ./runs and downloaded yolov8n.pt, in the repo."""
    return set(REPO.glob("runs")) | set(REPO.glob("*.pt")) | set(REPO.glob("*.ttf"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(folder, frame): a detector trained one epoch on 16 synthetic 320 px frames, and a frame to test on."""
    from tools.samplegen.datasets import make_yolo_dataset
    from tools.samplegen.render import render_frame

    root = tmp_path_factory.mktemp("detector")
    data = make_yolo_dataset(root / "data", n_train=16, n_val=4, imgsz=320)
    cwd = root / "cwd"
    cwd.mkdir()
    before = _stray_files()
    lookups = []

    def no_network(host, *args, **kwargs):  # a download (font, AMP weights) starts with a name lookup
        lookups.append(host)
        raise OSError(f"no network in tests: {host}")

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)  # Ultralytics writes ./runs by default: nothing may land here
        patch.setenv("YOLO_OFFLINE", "1")
        patch.setattr(socket, "getaddrinfo", no_network)
        best = train_detector(data, root / "model", base="yolov8n.yaml", epochs=1, imgsz=320, batch=16, seed=0)
    assert lookups == [], f"training tried to reach {lookups}"
    assert list(cwd.iterdir()) == [], "training wrote into the working directory"
    assert _stray_files() == before, "training wrote runs/ or weights into the repository"
    frame, _ = render_frame("C", np.random.default_rng(5))
    return best.parent, frame, data


def test_training_writes_weights_and_card(trained):
    folder, *_ = trained
    assert (folder / "best.pt").is_file() and (folder / "results.csv").is_file()
    card = read_card(folder)
    assert card.kind == "detector" and card.base == "yolov8n.yaml"
    assert card.epochs == 1 and card.imgsz == 320 and card.freeze is None
    assert set(card.metrics) >= {"mAP50", "mAP50-95"}
    assert 0.0 <= card.metrics["mAP50"] <= 1.0 and 0.0 <= card.metrics["mAP50-95"] <= card.metrics["mAP50"]
    assert card.names == {"0": "fretboard"} and card.created and card.versions["ultralytics"]
    assert json.loads((folder / "card.json").read_text())["date"] == card.created  # the field name cards always had
    assert card.data.endswith("data.yaml")


def test_saved_weights_load_in_a_fresh_process_with_the_same_boxes(trained, tmp_path):
    folder, frame, _ = trained
    # a low threshold, so the one-epoch model returns boxes to compare
    detections = FretboardDetector(folder / "best.pt", conf=0.001, imgsz=320).detect(frame)
    assert len(detections) > 0
    np.save(tmp_path / "frame.npy", frame)
    script = (
        "import json, sys, numpy as np\n"
        "from pipeline.vision.detection import FretboardDetector\n"
        "d = FretboardDetector(sys.argv[1], conf=0.001, imgsz=320).detect(np.load(sys.argv[2]))\n"
        "print(json.dumps({'boxes': d.boxes.tolist(), 'scores': d.scores.tolist(), 'classes': d.class_ids.tolist()}))\n"
    )
    env = {**os.environ, "YOLO_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(tmp_path / "frame.npy")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    fresh = json.loads(run.stdout.strip().splitlines()[-1])
    assert np.allclose(fresh["boxes"], detections.boxes, atol=1e-2)
    assert np.allclose(fresh["scores"], detections.scores, atol=1e-4)
    assert fresh["classes"] == detections.class_ids.tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.npy"]  # predicting wrote nothing either


def test_from_ultralytics_on_a_real_result(trained):
    from ultralytics import YOLO

    folder, frame, _ = trained
    model = YOLO(str(folder / "best.pt"), task="detect")
    result = model.predict(frame[:, :, ::-1].copy(), conf=0.001, imgsz=320, verbose=False)[0]
    detections = FretboardDetections.from_ultralytics(result)
    order = np.argsort(-result.boxes.conf.numpy(), kind="stable")
    assert detections.boxes.dtype == np.float32 and detections.boxes.shape == (len(result.boxes), 4)
    assert np.allclose(detections.boxes, result.boxes.xyxy.numpy()[order])
    assert np.allclose(detections.scores, result.boxes.conf.numpy()[order])
    assert detections.class_ids.dtype == np.int64 and detections.names == {0: "fretboard"}
    assert np.array_equal(detections.best, detections.boxes[0]) and not detections.empty
    x1, y1, x2, y2 = detections.boxes.T  # pixels of the 640x360 frame, not of the 320 px network input
    assert (x1 >= 0).all() and (x2 <= 640 + 1).all() and (y2 <= 360 + 1).all() and (x2 > x1).all()


def test_detections_from_any_result_with_the_attributes():
    fake = SimpleNamespace(
        boxes=SimpleNamespace(
            xyxy=np.array([[1, 2, 3, 4], [5, 6, 7, 8]]), conf=np.array([0.2, 0.9]), cls=np.array([0.0, 0.0])
        ),
        names={0: "fretboard"},
    )
    detections = FretboardDetections.from_ultralytics(fake)
    assert detections.scores.tolist() == pytest.approx([0.9, 0.2])  # best first
    assert detections.best.tolist() == [5, 6, 7, 8] and detections.best_score == pytest.approx(0.9)
    assert len(detections.above(0.5)) == 1
    empty = FretboardDetections.from_ultralytics(SimpleNamespace(boxes=None, names={}))
    assert empty.empty and empty.best is None and empty.boxes.shape == (0, 4)
    assert FretboardDetections().empty


class _FakeModel:
    """Stands in for an Ultralytics model: records what predict saw; fails if entered by two threads at once."""

    names = {0: "fretboard"}

    def __init__(self):
        self.seen, self.inside = [], 0

    def predict(self, source, **kwargs):
        self.inside += 1
        assert self.inside == 1, "predict entered by two threads at once"
        time.sleep(0.01)
        self.seen.append(source)
        self.inside -= 1
        boxes = SimpleNamespace(xyxy=np.array([[10.0, 20, 30, 40]]), conf=np.array([0.8]), cls=np.array([0]))
        return [SimpleNamespace(boxes=boxes, names=self.names)]


def test_detect_gives_ultralytics_bgr_and_holds_a_lock(trained):
    folder, *_ = trained
    detector = FretboardDetector(folder, imgsz=320)  # a folder holding best.pt is accepted
    assert detector._model is None  # lazy: nothing loaded until the first detect
    detector._model = fake = _FakeModel()
    image = np.zeros((36, 64, 3), np.uint8)
    image[..., 0] = 200  # red in RGB
    assert detector.detect(image).best.tolist() == [10, 20, 30, 40]
    assert fake.seen[0][0, 0].tolist() == [0, 0, 200]  # BGR: red is last
    threads = [threading.Thread(target=detector.detect, args=(image,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.seen) == 5
    with pytest.raises(ValueError, match="RGB uint8"):
        detector.detect(image.astype(np.float32))


def test_missing_weights_are_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    with pytest.raises(InputError, match="yolov8n.pt is not on this machine and there is no network"):
        FretboardDetector("yolov8n.pt")
    assert time.perf_counter() - started < 5  # no waiting on a download
    with pytest.raises(InputError, match="No detector weights"):
        resolve_weights(tmp_path / "missing" / "best.pt")
    with pytest.raises(InputError, match="holds no best.pt"):
        resolve_weights(tmp_path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a YOLO detector"):
        FretboardDetector(junk).detect(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="No YOLO data set"):
        train_detector(tmp_path / "nope.yaml", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]


def test_crop_grows_by_the_margin_and_clips_to_the_frame():
    image = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3)
    piece, box = crop(image, [50, 40, 150, 60], margin=0.1)
    assert box.tolist() == [40, 38, 160, 62] and piece.shape == (24, 120, 3)
    assert np.array_equal(piece, image[38:62, 40:160])
    piece, box = crop(image, [-30, -10, 120, 90], margin=0.2)  # partly outside
    assert box.tolist() == [0, 0, 150, 100] and piece.shape == (100, 150, 3)
    piece, box = crop(image, [300, 200, 400, 300], margin=0.0)  # wholly outside: one pixel at the edge
    assert piece.shape[:2] == (1, 1) and box.tolist() == [199, 99, 200, 100]
    piece[...] = 0
    assert image[99, 199, 0] != 0  # a copy, not a view


def test_fine_tune_with_a_frozen_backbone(trained, tmp_path, monkeypatch):
    """The seed's option: fine-tune saved weights (by path) with the first 10 layers frozen."""
    from ultralytics import YOLO

    folder, _, data = trained
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    best = train_detector(data, tmp_path / "tuned", base=folder / "best.pt", epochs=1, imgsz=320, batch=16,
                          freeze=10, warmup_epochs=0)
    card = read_card(best)
    assert card.freeze == 10 and card.base == str(folder / "best.pt")
    assert card.overrides == {"warmup_epochs": 0}
    before = dict(YOLO(str(folder / "best.pt")).model.named_parameters())
    after = dict(YOLO(str(best)).model.named_parameters())
    change = {name: float((after[name].float() - p.float()).abs().max()) for name, p in before.items()}
    frozen = [c for name, c in change.items() if int(name.split(".")[1]) < 10]
    trained_layers = [c for name, c in change.items() if int(name.split(".")[1]) >= 10]
    assert frozen and max(frozen) == 0.0
    assert max(trained_layers) > 1e-3
    with pytest.raises(InputError, match="sets project"):
        train_detector(data, tmp_path / "x", project=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned"]


def test_analysis_with_a_detector_writes_boxes_and_an_annotated_video(trained, tmp_path):
    """The model-set path end to end: detector + landmark model over a sample clip, through the CLI."""
    import csv

    from pipeline.cli import main
    from pipeline.core.config import SAMPLE_MEDIA_DIR
    from pipeline.models.registry import load_model_set
    from pipeline.timeline.analyze import analyze_clip
    from pipeline.vision.drawing import write_annotated_video
    from pipeline.vision.video import probe

    folder = trained[0]
    models = load_model_set([None], detector=folder)
    assert models.detector is not None and models.landmarks is not None and models.image is None
    clip = SAMPLE_MEDIA_DIR / "strumming_em_d.mp4"
    analysis = analyze_clip(clip, models, fps=2)
    assert len(analysis.frames) == 12 and all(f.fretboard is not None for f in analysis.frames)
    assert all(set(f.by_model) == {"landmarks"} for f in analysis.frames)
    video = write_annotated_video(analysis, tmp_path / "annotated.mp4")
    assert probe(video).frame_count == 12
    assert main(["analyze", str(clip), "--detector", str(folder), "--fps", "2", "--out", str(tmp_path / "cli")]) == 0
    with open(tmp_path / "cli" / "frames.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {"fretboard_score", "fretboard_x1", "region", "landmarks_chord"} <= set(rows[0])
    assert (tmp_path / "cli" / "annotated.mp4").is_file()


def test_model_sets_refuse_what_they_cannot_fuse(trained):
    from pipeline.models.registry import load_model_set

    folder = trained[0]
    with pytest.raises(InputError, match="not a chord model"):
        load_model_set([folder])
    with pytest.raises(InputError, match="Two landmarks models"):
        load_model_set([None, None])



@pytest.mark.parametrize("bad", [[np.nan, 0, 10, 10], [0, 0, np.inf, 10], [0, 0, 10]])
def test_a_box_that_is_not_four_finite_numbers_is_refused_where_boxes_are_read(bad, tmp_path):
    """Issue 17, defect 12: a NaN box was cropped as int64 garbage; a detector's NaN row is no detection."""
    image = np.zeros((20, 30, 3), np.uint8)
    for call in (lambda: crop(image, bad), lambda: grow_box(bad, 0.1)):
        with pytest.raises(InputError, match="four finite numbers"):
            call()
    if len(bad) == 4:
        found = FretboardDetections(np.array([[0, 0, 10, 10], bad], np.float32), np.array([0.5, 0.9], np.float32),
                                    np.array([0, 0]))
        assert len(found) == 1 and found.boxes.tolist() == [[0, 0, 10, 10]]
        # a clip's fretboard.csv sidecar, as the label store reads it
        (tmp_path / "clip.fretboard.csv").write_text("frame,time,x1,y1,x2,y2\n0,0.0," + ",".join(map(str, bad)) + "\n")
        with pytest.raises(InputError, match="four finite numbers"):
            fretboard_boxes(tmp_path / "clip.mp4")
