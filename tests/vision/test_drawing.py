"""Annotators draw where they should and nowhere else, never touch their input, and chain."""

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.core.hands import FINGERS, Hand, HandsResult
from pipeline.core.timeline import Segment
from pipeline.vision.detection import FretboardDetections
from pipeline.vision.drawing import BoxAnnotator, ChordLabelAnnotator, HandAnnotator
from pipeline.vision.regions import Region

H, W = 360, 640


def _frame() -> np.ndarray:
    return np.random.default_rng(0).integers(40, 200, (H, W, 3), dtype=np.uint8)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def _outside(mask: np.ndarray, x1, y1, x2, y2) -> bool:
    """True when some pixel of ``mask`` lies outside the box."""
    inside = np.zeros_like(mask)
    inside[max(y1, 0):y2, max(x1, 0):x2] = True
    return bool((mask & ~inside).any())


def test_box_annotator_draws_the_box_and_its_label_only():
    image = _frame()
    before = image.copy()
    detections = FretboardDetections([[200, 150, 400, 220]], [0.87], [0], {0: "fretboard"})
    out = BoxAnnotator(color=(255, 0, 0), thickness=2).annotate(image, detections)
    assert np.array_equal(image, before) and out is not image and out.dtype == np.uint8
    changed = _changed(out, image)
    assert changed[150, 300] and changed[220, 300] and changed[185, 200] and changed[185, 400]  # the four sides
    assert not changed[185, 300]  # the inside of the box is untouched
    # the label sits just above the box's top-left corner; nothing far from the box changes
    assert changed[130:150, 200:260].any()
    assert not _outside(changed, 195, 100, 405, 225)
    assert np.array_equal(BoxAnnotator().annotate(image, FretboardDetections()), image)
    assert np.array_equal(BoxAnnotator().annotate(image, None), image)


def test_box_annotator_best_only_and_regions():
    image = _frame()
    detections = FretboardDetections([[10, 10, 100, 60], [400, 250, 600, 340]], [0.9, 0.4], [0, 0])
    out = BoxAnnotator(best_only=True, label=False).annotate(image, detections)
    changed = _changed(out, image)
    assert changed[10, 50] and not changed[250:, 400:].any()
    region = Region(np.array([100, 100, 300, 300]), "hand")
    changed = _changed(BoxAnnotator().annotate(image, region), image)
    assert changed[100, 200] and not _outside(changed, 95, 60, 305, 305)


def _hand(x0, y0, handedness) -> Hand:
    """A hand-like set of landmarks spread in a 100x120 box at (x0, y0)."""
    rng = np.random.default_rng(int(x0))
    px = np.column_stack([x0 + rng.uniform(10, 90, 21), y0 + rng.uniform(10, 110, 21), np.zeros(21)])
    return Hand.from_normalised(px / [W, H, W], handedness, 0.9, W, H)


def test_hand_annotator_draws_on_the_hands_and_highlights_the_fretting_one():
    image = np.zeros((H, W, 3), np.uint8)
    hands = HandsResult.from_hands([_hand(50, 50, "Left"), _hand(400, 200, "Right")], W, H)
    assert hands.fretting_index == 1
    annotator = HandAnnotator(color=(200, 200, 200), fretting_color=(0, 255, 0))
    out = annotator.annotate(image, hands)
    changed = _changed(out, image)
    assert changed[:, :320].any() and changed[:, 320:].any()
    other, fretting = out[:, :320], out[:, 320:]
    assert not _outside(changed[:, :320], 40, 40, 160, 180) and not _outside(changed[:, 320:], 70, 190, 190, 330)
    green = (fretting[..., 1] > 200) & (fretting[..., 0] < 60)
    assert green.sum() > 100 and not ((other[..., 1] > 200) & (other[..., 0] < 60)).any()
    # every landmark is drawn: the fretting hand's dots are green (or their dark rim)
    for x, y, _ in np.round(hands.fretting.landmarks_px).astype(int):
        assert changed[y, x]
    assert np.array_equal(annotator.annotate(image, HandsResult((), None, W, H)), image)
    assert np.array_equal(annotator.annotate(image, None), image)


def test_hand_skeleton_follows_the_finger_chains():
    pairs = set(HandAnnotator.connections())
    for name, chain in FINGERS.items():
        if name != "palm":
            assert (0, chain[0]) in pairs and all(p in pairs for p in zip(chain[:-1], chain[1:]))
    assert len(pairs) == 23  # 5 to the wrist, 15 along the fingers, 3 across the knuckles


def test_chord_label_sits_in_its_corner_with_the_probability():
    image = _frame()
    annotator = ChordLabelAnnotator()
    assert annotator.text(("Am", 0.934)) == "Am 93%" and annotator.text("Am") == "Am"
    assert annotator.text(Segment(0.0, 1.0, "G", 0.5)) == "G 50%"
    assert ChordLabelAnnotator(show_probability=False).text(("Am", 0.9)) == "Am"
    out = annotator.annotate(image, ("Am", 0.93))
    changed = _changed(out, image)
    assert changed[:60, :200].any() and not _outside(changed, 0, 0, W // 2, H // 3)
    assert (out[changed] == 20).all(axis=1).mean() > 0.3  # the dark box behind the text
    corner = _changed(ChordLabelAnnotator(position="bottom-right").annotate(image, "C"), image)
    assert corner[-40:, -60:].any() and not _outside(corner, W // 2, H // 2, W, H)


def test_no_chord_draws_nothing_unless_asked():
    image = _frame()
    for result in (None, "None", ("None", 0.9), Segment(0.0, 1.0, "None")):
        assert np.array_equal(ChordLabelAnnotator().annotate(image, result), image)
    assert _changed(ChordLabelAnnotator(show_none=True).annotate(image, "None"), image).any()
    with pytest.raises(InputError, match="Unknown label position"):
        ChordLabelAnnotator(position="middle")


def test_same_labels_as_the_burned_in_subtitles():
    """A chord name alone draws exactly what pipeline.audio.mux burns into videos (one implementation)."""
    from pipeline.audio import mux

    image = _frame()
    for position in ("top-left", "bottom-right"):
        ours = ChordLabelAnnotator(position=position).annotate(image, "F")
        assert np.array_equal(ours, mux.ChordLabelAnnotator(position=position).annotate(image, "F"))


def test_annotators_chain():
    image = _frame()
    detections = FretboardDetections(np.array([[0, 100, 400, 160]]), np.array([0.9]), np.array([0]))
    hands = HandsResult.from_hands([_hand(200, 120, "Right")], W, H)
    out = image
    steps = ((BoxAnnotator(), detections), (HandAnnotator(), hands), (ChordLabelAnnotator(), ("D", 0.8)))
    for annotator, result in steps:
        out = annotator.annotate(out, result)
    assert out.shape == image.shape and _changed(out, image).sum() > 500
    with pytest.raises(ValueError, match="RGB image"):
        BoxAnnotator().annotate(np.zeros((10, 10), np.uint8), detections)
