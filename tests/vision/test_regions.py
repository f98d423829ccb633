"""The classifier's region: fretboard, else hand, else frame, clipped to the frame; and the fretting-hand choice."""

import numpy as np
import pytest

from pipeline.core.hands import Hand, HandSettings, HandsResult
from pipeline.vision.detection import FretboardDetections
from pipeline.vision.regions import (
    Region,
    choose_fretting_with_fretboard,
    classifier_region,
    crop_region,
    fixed_aspect_box,
    hand_choice_box,
)

SHAPE = (360, 640, 3)


def _hand(x1, y1, x2, y2, handedness="Right", score=0.9, width=640, height=360) -> Hand:
    """A hand whose 21 landmarks spread over the box (pixels)."""
    t = np.linspace(0, 1, 21)
    xs, ys = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t[::-1]
    norm = np.stack([xs / width, ys / height, np.zeros(21)], axis=1)
    return Hand.from_normalised(norm, handedness, score, width, height)


def _hands(*hands) -> HandsResult:
    return HandsResult.from_hands(hands, 640, 360)


def _boards(*rows) -> FretboardDetections:
    rows = np.array(rows, dtype=np.float32).reshape(-1, 5)
    return FretboardDetections(rows[:, :4], rows[:, 4], np.zeros(len(rows)))


def test_fretboard_first_grown_by_the_margin():
    region = classifier_region(SHAPE, _boards([100, 100, 500, 150, 0.9], [0, 0, 50, 50, 0.3]), None, margin=0.1)
    assert region.source == "fretboard" and region.score == pytest.approx(0.9)
    assert region.box.tolist() == pytest.approx([60, 95, 540, 155])


def test_fretboard_region_takes_in_the_fretting_hand_on_it():
    hands = _hands(_hand(200, 120, 300, 320))
    region = classifier_region(SHAPE, _boards([100, 100, 500, 150, 0.9]), hands, margin=0.0)
    assert region.source == "fretboard" and region.box.tolist() == pytest.approx([100, 100, 500, 320], abs=0.01)
    alone = classifier_region(SHAPE, _boards([100, 100, 500, 150, 0.9]), hands, margin=0.0, include_hand=False)
    assert alone.box.tolist() == pytest.approx([100, 100, 500, 150])
    far = _hands(_hand(550, 250, 620, 350))  # a hand off the neck is not the neck's business
    assert classifier_region(SHAPE, _boards([100, 100, 500, 150, 0.9]), far, margin=0.0).box[3] == pytest.approx(150)


def test_hand_when_there_is_no_fretboard():
    hands = _hands(_hand(200, 100, 300, 300))
    for fretboard in (None, FretboardDetections(), _boards([100, 100, 500, 150, 0.2])):
        region = classifier_region(SHAPE, fretboard, hands, min_score=0.5, hand_scale=1.5, hand_aspect=1.0)
        assert region.source == "hand" and region.score == pytest.approx(0.9)
        assert region.width == pytest.approx(300) and region.height == pytest.approx(300)  # 1.5x of 200, square
        assert region.box.tolist() == pytest.approx([100, 50, 400, 350])  # centred on the hand (250, 200)


def test_frame_when_there_is_nothing():
    for hands in (None, _hands()):
        region = classifier_region(SHAPE, None, hands)
        assert region.source == "frame" and region.box.tolist() == [0, 0, 640, 360]
    assert classifier_region((48, 64), FretboardDetections(), None).box.tolist() == [0, 0, 64, 48]


def test_regions_stay_inside_the_frame():
    near_edge = classifier_region(SHAPE, _boards([-50, 300, 700, 400, 0.9]), None, margin=0.2)
    assert near_edge.box.tolist() == pytest.approx([0, 300 - 20, 640, 360])
    corner = classifier_region(SHAPE, None, _hands(_hand(560, 250, 640, 360)), hand_scale=2.0)
    x1, y1, x2, y2 = corner.box
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert x2 - x1 == pytest.approx(y2 - y1)  # shifted back in, not squeezed: still square
    huge = fixed_aspect_box([0, 0, 600, 350], 1.0, SHAPE)  # a square this big cannot fit: clipped
    assert huge.tolist() == pytest.approx([0, 0, 600, 360])


def test_crop_region_clips_and_resizes():
    image = np.random.default_rng(0).integers(0, 255, SHAPE, dtype=np.uint8)
    region = Region(np.array([600, 300, 700, 400]), "hand")  # runs past the frame
    piece = crop_region(image, region)
    assert piece.shape == (60, 40, 3) and np.array_equal(piece, image[300:360, 600:640])
    assert crop_region(image, region, size=(32, 16)).shape == (16, 32, 3)
    assert crop_region(image, Region(np.array([0, 0, 640, 360]), "frame")).shape == SHAPE
    with pytest.raises(ValueError, match="unknown region source"):
        Region(np.zeros(4), "elbow")


def test_fretboard_box_chooses_the_fretting_hand():
    # MediaPipe's labels say the left one frets (labelled Right); the fretboard box says the right one does
    left, right = _hand(50, 150, 150, 340, "Right", 0.9), _hand(400, 90, 500, 260, "Left", 0.95)
    hands = _hands(left, right)
    assert hands.fretting_index == 0  # handedness rule
    boards = _boards([300, 100, 640, 160, 0.8])
    box = hand_choice_box(boards, SHAPE)
    assert box.tolist() == pytest.approx([283, 85, 640, 175])  # grown, clipped
    rechosen = choose_fretting_with_fretboard(hands, boards, HandSettings())
    assert rechosen.fretting_index == 1 and rechosen.hands == hands.hands
    assert choose_fretting_with_fretboard(hands, None).fretting_index == 0
    assert choose_fretting_with_fretboard(hands, FretboardDetections()).fretting_index == 0
    assert hand_choice_box(None) is None and hand_choice_box(boards, min_score=0.9) is None
