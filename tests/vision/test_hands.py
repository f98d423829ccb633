"""Hands: zero, one and two hands on real frames; the fretting-hand rules on constructed hands."""

import numpy as np
import pytest

from pipeline.core.hands import Hand, HandSettings, HandsResult, choose_fretting_hand
from pipeline.vision.hands import HandDetector


@pytest.fixture(scope="module")
def detector():
    with HandDetector() as hands:
        yield hands


@pytest.fixture(scope="module")
def hand_frame(real_data):
    """A real frame known to show the fretting hand (RGB)."""
    import cv2

    image = cv2.imread(str(real_data / "train" / "A" / "A-102.jpg"))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def test_no_hand_gives_an_empty_result_not_an_exception(detector):
    for image in (np.zeros((360, 640, 3), np.uint8), np.full((48, 64, 3), 200, np.uint8)):
        result = detector.detect(image)
        assert not result and len(result) == 0 and result.fretting is None
        assert (result.width, result.height) == (image.shape[1], image.shape[0])


def test_one_real_hand(detector, hand_frame):
    result = detector.detect(hand_frame)
    assert len(result) == 1
    hand = result.fretting
    assert hand.landmarks_norm.shape == (21, 3) and hand.landmarks_px.shape == (21, 3)
    assert np.allclose(hand.landmarks_px[:, 0], hand.landmarks_norm[:, 0] * 640, atol=1e-3)
    assert np.allclose(hand.landmarks_px[:, 1], hand.landmarks_norm[:, 1] * 360, atol=1e-3)
    x1, y1, x2, y2 = hand.bbox
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert hand.handedness in ("Left", "Right") and 0.5 <= hand.score <= 1


def test_two_hands_and_the_fretting_one_is_chosen(hand_frame):
    # the frame beside its mirror image: two hands, MediaPipe labels the mirrored one the other way
    both = np.ascontiguousarray(np.hstack([hand_frame, hand_frame[:, ::-1]]))
    detector = HandDetector(HandSettings(max_side=1280))  # full size: shrinking 1280 to 640 loses a hand
    result = detector.detect(both)
    assert len(result) == 2
    assert {h.handedness for h in result.hands} == {"Left", "Right"}
    fretting = result.fretting
    # unmirrored camera, right-handed player: the fretting hand is the original (left half), labelled Right
    assert fretting.handedness == "Right" and fretting.bbox[2] <= 640 + 5
    # a fretboard box around the mirrored half wins over handedness
    on_right_half = detector.detect(both, fretboard_box=np.array([640, 0, 1280, 360]))
    assert on_right_half.fretting.bbox[0] >= 640 - 5


def test_large_frames_are_shrunk_but_landmarks_stay_in_frame_pixels(hand_frame):
    import cv2

    big = cv2.resize(hand_frame, (1280, 720))
    with HandDetector(HandSettings(max_side=640)) as small, HandDetector(HandSettings(max_side=0)) as full:
        a, b = small.detect(big).fretting, full.detect(big).fretting
    assert a is not None and b is not None
    assert np.abs(a.landmarks_px[:, :2] - b.landmarks_px[:, :2]).mean() < 15  # pixels of a 1280-wide frame


def test_detector_rejects_non_rgb_arrays(detector):
    with pytest.raises(ValueError, match="RGB uint8"):
        detector.detect(np.zeros((10, 10), np.uint8))


def _hand(x: float, label: str, score: float = 0.9) -> Hand:
    points = np.column_stack([np.linspace(x, x + 0.1, 21), np.linspace(0.4, 0.6, 21), np.zeros(21)])
    return Hand.from_normalised(points, label, score, 640, 360)


def test_fretting_rules():
    left, right = _hand(0.1, "Left", 0.99), _hand(0.7, "Right", 0.8)
    assert choose_fretting_hand(()) is None
    assert choose_fretting_hand((left,)) == 0  # a single hand frets, whatever its label
    assert choose_fretting_hand((left, right)) == 1  # default: the hand MediaPipe calls Right
    assert choose_fretting_hand((left, right), HandSettings(left_handed=True)) == 0
    assert choose_fretting_hand((left, right), HandSettings(mirrored=True)) == 0
    assert choose_fretting_hand((left, right), fretboard_box=np.array([0, 0, 200, 360])) == 0
    same = (_hand(0.1, "Right", 0.7), _hand(0.7, "Right", 0.95))
    assert choose_fretting_hand(same) == 1  # same labels: the higher score
    result = HandsResult.from_hands((left, right), 640, 360)
    assert result.fretting is right and bool(result)
