"""The synthetic footage generator (tools.samplegen): geometry, determinism, clips and their truth, data sets, the
committed sample media, and that MediaPipe finds the rendered hands."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml

from pipeline.core.chords import CHORDS, NO_CHORD, VOICINGS
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.errors import InputError
from pipeline.core.timeline import Timeline
from pipeline.samples import read_fretboard_csv
from tools.samplegen.backdrop import render_backdrop
from tools.samplegen.cli import main
from tools.samplegen.clips import make_clip
from tools.samplegen.datasets import make_image_folder, make_yolo_dataset
from tools.samplegen.pose import FINGER_JOINTS, FINGERINGS, chord_pose, fingering_frets
from tools.samplegen.render import render_frame
from tools.samplegen.samples import SAMPLE_CLIPS, SAMPLE_STILL
from tools.samplegen.scene import (
    HEIGHT,
    NUT_HALF_WIDTH,
    SCALE_LENGTH,
    WIDTH,
    Scene,
    fret_position,
    neck_half_width,
    string_offset,
)


def _clip_frames(path) -> tuple[int, float]:
    """Frame count and fps of a clip, counted by decoding (OpenCV)."""
    capture = cv2.VideoCapture(str(path))
    assert capture.isOpened(), f"OpenCV cannot open {path}"
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count, fps


def _merged(progression) -> list[str]:
    chords = []
    for chord, _ in progression:
        if not chords or chords[-1] != chord:
            chords.append(chord)
    return chords


# ---------------------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("chord", CHORDS)
def test_fingering_presses_the_voicing(chord):
    assert fingering_frets(chord) == tuple(fret or 0 for fret in VOICINGS[chord].frets)


def test_frets_get_closer_towards_the_body():
    gaps = np.diff([fret_position(n) for n in range(13)])
    assert np.all(gaps > 0) and np.all(np.diff(gaps) < 0)
    assert fret_position(12) == pytest.approx(SCALE_LENGTH / 2)
    # string 6 (low E) is on top, string 1 at the bottom, all inside the fretboard
    offsets = [string_offset(s, 50.0) for s in range(6, 0, -1)]
    assert np.all(np.diff(offsets) > 0) and max(map(abs, offsets)) < neck_half_width(50.0)


def test_same_seed_gives_the_same_frame():
    a, truth_a = render_frame("C", np.random.default_rng(3))
    b, truth_b = render_frame("C", np.random.default_rng(3))
    c, _ = render_frame("C", np.random.default_rng(4))
    assert a.shape == (HEIGHT, WIDTH, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert np.array_equal(truth_a.fretboard_box, truth_b.fretboard_box)
    assert np.array_equal(truth_a.landmarks, truth_b.landmarks)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("seed", range(4))
def test_truth_box_lies_on_the_drawn_neck(seed):
    rng = np.random.default_rng(seed)
    scene = Scene.random(rng)
    backdrop = render_backdrop(scene)
    x1, y1, x2, y2 = box = backdrop.fretboard_box
    assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
    # the box's right edge is the nut
    nut = scene.project(np.array([[0.0, 0.0]]))[0]
    # (the tilted nut's corner may reach a little further right than its centre)
    slack = 2 * scene.scale * NUT_HALF_WIDTH * np.sin(np.radians(abs(scene.angle))) + 1
    assert x2 == pytest.approx(nut[0], abs=slack)
    # the neck fills most of its (axis-aligned, so partly off-neck) box, and little neck lies outside it
    ix1, iy1, ix2, iy2 = np.round(box).astype(int)
    inside = backdrop.neck_mask[iy1:iy2, ix1:ix2].mean()
    assert inside > 0.5
    # every fretted fingertip sits on the fretboard, inside the box
    frame, truth = render_frame("G", rng, scene=scene)
    for finger, string, fret in FINGERINGS["G"][0]:
        tip = truth.landmarks[FINGER_JOINTS[finger][3], :2]
        assert x1 <= tip[0] <= x2 and y1 <= tip[1] <= y2
        assert backdrop.neck_mask[int(tip[1]), int(tip[0])]
    assert truth.hand_box is not None and truth.chord == "G"


def test_no_hand_frame_has_no_hand_truth():
    frame, truth = render_frame("None", np.random.default_rng(1), hand=False)
    assert truth.chord == NO_CHORD and truth.hand_box is None and truth.landmarks is None
    assert frame.shape == (HEIGHT, WIDTH, 3)


def test_chord_shapes_differ():
    """Each chord puts the fingertips in its own places (same scene, no jitter)."""
    scene = Scene.random(np.random.default_rng(0))
    tips = {c: chord_pose(c, scene, np.random.default_rng(0), variation=0.0)[[8, 12, 16, 20], :2] for c in CHORDS}
    for a in CHORDS:
        for b in CHORDS:
            if a < b:
                assert np.abs(tips[a] - tips[b]).max() > 5.0, (a, b)  # mm


def test_unknown_chord_is_an_input_error():
    with pytest.raises(InputError):
        render_frame("H7", np.random.default_rng(0))


# ------------------------------------------------------------------------------------------- clips


def test_make_clip_writes_video_and_truth(tmp_path):
    progression = [("C", 0.6), ("G", 0.6), ("G", 0.2), ("None", 0.4), ("Am", 0.4)]
    truth = make_clip(tmp_path / "clip.mp4", progression, fps=10, seed=2)
    assert truth.video.exists() and truth.frame_count == 22
    assert truth.timeline_path.name == "clip.timeline.json" and truth.fretboard_path.name == "clip.fretboard.csv"

    count, fps = _clip_frames(truth.video)
    assert count == truth.frame_count and fps == pytest.approx(10)

    timeline = Timeline.load(truth.timeline_path)
    assert [s.chord for s in timeline.segments] == ["C", "G", "None", "Am"]
    assert timeline.segments[0].start == 0.0
    assert timeline.segments[-1].end == pytest.approx(timeline.duration) == pytest.approx(count / fps)
    assert timeline.segments[1].start == pytest.approx(0.6) and timeline.segments[1].end == pytest.approx(1.4)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(timeline.segments, timeline.segments[1:]))

    rows = read_fretboard_csv(truth.fretboard_path)
    assert rows.shape == (count, 6)
    assert np.array_equal(rows[:, 0], np.arange(count))
    boxes = rows[:, 2:]
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1])
    assert boxes.min() >= 0 and boxes[:, [0, 2]].max() <= WIDTH and boxes[:, [1, 3]].max() <= HEIGHT


def test_make_clip_is_deterministic(tmp_path):
    a = make_clip(tmp_path / "a.mp4", [("D", 0.3), ("Dm", 0.3)], fps=10, seed=9)
    b = make_clip(tmp_path / "b.mp4", [("D", 0.3), ("Dm", 0.3)], fps=10, seed=9)
    assert a.timeline_path.read_text() == b.timeline_path.read_text()
    assert a.fretboard_path.read_text() == b.fretboard_path.read_text()


@pytest.mark.parametrize("progression", [[], [("C", 0.0)], [("C", 1.0), ("H", 1.0)]])
def test_make_clip_rejects_bad_progressions(tmp_path, progression):
    with pytest.raises(InputError):
        make_clip(tmp_path / "bad.mp4", progression)


# ---------------------------------------------------------------------------------------- data sets


def test_make_yolo_dataset_labels_and_yaml(tmp_path):
    data = make_yolo_dataset(tmp_path / "yolo", n_train=3, n_val=2, seed=1)
    config = yaml.safe_load(data.read_text())
    assert config["names"] == {0: "fretboard"}
    assert config["train"] == "images/train" and config["val"] == "images/val"
    root = tmp_path / "yolo"
    assert (root / config["train"]).is_dir() and str(root.resolve()) == config["path"]
    for split, count in (("train", 3), ("val", 2)):
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == len(labels) == count
        assert [p.stem for p in images] == [p.stem for p in labels]
        for label in labels:
            lines = label.read_text().strip().splitlines()
            assert len(lines) == 1
            cls, *values = lines[0].split()
            cx, cy, w, h = map(float, values)
            assert cls == "0"
            assert 0 < w <= 1 and 0 < h <= 1
            assert 0 <= cx - w / 2 + 1e-6 and cx + w / 2 <= 1 + 1e-6
            assert 0 <= cy - h / 2 + 1e-6 and cy + h / 2 <= 1 + 1e-6
    image = cv2.imread(str(images[0]))
    assert image.shape == (360, 640, 3)


def test_make_image_folder_layout(tmp_path):
    written = make_image_folder(tmp_path / "frames", per_class=2, seed=0, chords=("C", "Em", "None"))
    assert len(written) == 6
    for chord in ("C", "Em", "None"):
        files = sorted((tmp_path / "frames" / chord).glob("*.jpg"))
        assert [p.name for p in files] == ["0.jpg", "1.jpg"]
        assert cv2.imread(str(files[0])).shape == (360, 640, 3)


def test_cli_writes_a_yolo_set_and_refuses_no_target(tmp_path, capsys):
    assert main(["--yolo", str(tmp_path / "y"), "--train", "1", "--val", "1"]) == 0
    assert (tmp_path / "y" / "data.yaml").exists()
    with pytest.raises(SystemExit):
        main([])


# ---------------------------------------------------------------------------------- sample media


def test_sample_media_match_the_generator():
    """The committed samples are what ``python -m tools.samplegen --out sample_media`` documents."""
    readme = (SAMPLE_MEDIA_DIR / "README.md").read_text()
    assert "python -m tools.samplegen --out sample_media" in readme and "Licence" in readme
    total = 0
    for clip in SAMPLE_CLIPS:
        video = SAMPLE_MEDIA_DIR / clip.name
        stem = video.with_suffix("").name
        timeline_path = SAMPLE_MEDIA_DIR / f"{stem}.timeline.json"
        csv_path = SAMPLE_MEDIA_DIR / f"{stem}.fretboard.csv"
        assert video.exists() and timeline_path.exists() and csv_path.exists(), clip.name
        assert clip.name in readme
        count, fps = _clip_frames(video)
        assert fps == pytest.approx(25)
        timeline = Timeline.load(timeline_path)
        length = sum(seconds for _, seconds in clip.progression)
        assert timeline.duration == pytest.approx(count / fps) == pytest.approx(length, abs=1 / fps)
        assert [s.chord for s in timeline.segments] == _merged(clip.progression)
        assert timeline.segments[-1].end == pytest.approx(timeline.duration)
        assert len(read_fretboard_csv(csv_path)) == count
        capture = cv2.VideoCapture(str(video))
        ok, frame = capture.read()
        capture.release()
        assert ok and frame.shape == (360, 640, 3)
        total += video.stat().st_size
    still = SAMPLE_MEDIA_DIR / SAMPLE_STILL[0]
    assert cv2.imread(str(still)).shape == (360, 640, 3) and still.name in readme
    total += sum(p.stat().st_size for p in SAMPLE_MEDIA_DIR.iterdir() if p.suffix != ".mp4")
    assert total < 3 * 2**20


# -------------------------------------------------------------------------------------- MediaPipe


def test_mediapipe_finds_rendered_hands():
    """The point of the shading: MediaPipe's palm detector must fire on rendered fretting hands."""
    from pipeline.vision import hands
    rng = np.random.default_rng(2024)
    found, errors = 0, []
    with hands.HandDetector() as detector:
        for i in range(20):
            chord = CHORDS[i % len(CHORDS)]
            frame, truth = render_frame(chord, rng)
            result = detector.detect(frame, fretboard_box=truth.fretboard_box)
            if result:
                found += 1
                errors.append(np.abs(result.fretting.landmarks_px[:, :2] - truth.landmarks[:, :2]).mean())
        empty = detector.detect(render_frame("None", rng, hand=False)[0])
    assert found / 20 >= 0.75, f"MediaPipe found a hand in {found} of 20 rendered chord frames"
    # and where it finds one, its landmarks lie on the drawn joints (within about a finger's width)
    assert np.median(errors) < 25.0
    assert not empty
