"""Fusing the landmark and the image model per frame."""

import pytest

from pipeline.fusion import FusionWeights, fuse, fuse_frames, prediction_from_probabilities
from pipeline.landmark_model import NOT_COVERED


def p(**probs):
    return prediction_from_probabilities({k.replace("none", "None"): v for k, v in probs.items()})


def test_no_hand_leaves_the_image_model_alone():
    image = p(A=0.7, C=0.2, none=0.1)
    fused = fuse([NOT_COVERED, image], [1, 1])
    assert fused.chord == "A" and fused.probability == pytest.approx(0.7)


def test_agreement_sharpens_and_a_confident_model_outweighs_an_unsure_one():
    agree = fuse([p(A=0.7, C=0.3), p(A=0.7, C=0.3)], [1, 1])
    assert agree.chord == "A" and agree.probability > 0.7
    split = fuse([p(A=0.95, C=0.05), p(A=0.4, C=0.6)], [1, 1])
    assert split.chord == "A"
    assert sum(split.probabilities.values()) == pytest.approx(1)


def test_weights_and_disjoint_classes():
    landmarks, image = p(A=0.6, C=0.4), p(A=0.3, C=0.7)
    assert fuse([landmarks, image], [1, 0]).chord == "A"
    assert fuse([landmarks, image], [0.2, 1]).chord == "C"
    only_image_knows = fuse([p(A=0.5, C=0.5), p(A=0.2, C=0.2, G=0.6)], [1, 1])
    assert set(only_image_knows.probabilities) == {"A", "C", "G"}  # vocabulary order, no veto


def test_nobody_decides_and_frame_alignment():
    assert fuse([NOT_COVERED, NOT_COVERED], [1, 1]) == NOT_COVERED
    assert prediction_from_probabilities({}) == NOT_COVERED
    frames = fuse_frames([NOT_COVERED, p(G=1.0)], [p(C=1.0), NOT_COVERED], FusionWeights())
    assert [f.chord for f in frames] == ["C", "G"]
    with pytest.raises(ValueError, match="same frames"):
        fuse_frames([NOT_COVERED], [], FusionWeights())
