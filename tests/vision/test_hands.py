"""Hands: zero, one and two hands on real frames; the fretting-hand rules on constructed hands."""

from dataclasses import replace

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


@pytest.fixture(scope="module")
def edge_cut_frame():
    """The sample still's fretting hand cut by the frame's left edge (about a third of it cropped away)."""
    import cv2

    image = cv2.cvtColor(cv2.imread("sample_media/chord_G.jpg"), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image[:, 257:])  # the whole hand spans x 217-333 in the still


def test_the_cascade_finds_a_hand_cut_by_the_frame_edge(edge_cut_frame):
    from pipeline.core.hands import CASCADE_HANDS

    low = HandSettings(min_detection_confidence=0.1, min_tracking_confidence=0.1)
    with HandDetector(HandSettings()) as plain, HandDetector(low) as low_plain:
        assert not plain.detect(edge_cut_frame) and not low_plain.detect(edge_cut_frame)
    with HandDetector(CASCADE_HANDS) as cascade:
        found = cascade.detect(edge_cut_frame)
    assert len(found) == 1
    height, width = edge_cut_frame.shape[:2]
    assert (found.width, found.height) == (width, height)
    hand = found.fretting
    x1, y1, x2, y2 = hand.bbox
    assert x1 < 5 and 40 < x2 < 110 and 80 < y1 < y2 < 340  # at the cut edge, where the hand is
    # the bordered pass's landmarks, mapped back by hand: the same frame inside a 25 % black border
    dy, dx = round(0.25 * height), round(0.25 * width)
    import cv2

    bordered = cv2.copyMakeBorder(edge_cut_frame, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    # (MediaPipe reads the tracking confidence in image mode too: the landmark model's hand presence)
    with HandDetector(replace(low, max_side=0)) as detector:
        direct = detector.detect(bordered).fretting
    expected = direct.landmarks_px[:, :2] - np.array([dx, dy], np.float32)
    np.testing.assert_allclose(hand.landmarks_px[:, :2], expected, atol=0.05)
    np.testing.assert_allclose(hand.landmarks_norm[:, 2] * width, direct.landmarks_norm[:, 2] * bordered.shape[1],
                               rtol=1e-4, atol=1e-4)


def test_cascade_passes_only_where_no_hand_was_found(hand_frame):
    from pipeline.core.hands import CASCADE_HANDS

    assert HandSettings().passes == ((1, 0.0),)
    assert CASCADE_HANDS.passes == ((1, 0.0), (1, 0.25), (0, 0.25))
    # a frame the first pass sees: the cascade's answer is the first pass's, untouched by the border
    low = HandSettings(min_detection_confidence=0.1, min_tracking_confidence=0.1)
    with HandDetector(low) as plain, HandDetector(CASCADE_HANDS) as cascade:
        a, b = plain.detect(hand_frame).fretting, cascade.detect(hand_frame).fretting
    np.testing.assert_array_equal(a.landmarks_norm, b.landmarks_norm)
