"""Fusing the landmark and the image model per frame."""

import pytest

from pipeline.core.types import NOT_COVERED, FusionWeights
from pipeline.timeline.fusion import fuse, fuse_frames, prediction_from_probabilities


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


def test_weights_from_held_out_accuracy_stop_a_weaker_model_vetoing():
    """The case seen on real frames: the landmark model wrong and sure, the image model right."""
    from types import SimpleNamespace

    landmarks = SimpleNamespace(card=SimpleNamespace(cv_accuracy=0.94, metrics={}))
    image = SimpleNamespace(card=SimpleNamespace(metrics={"holdout_accuracy": 1.0}))
    weights = FusionWeights.from_models(landmarks, image)
    assert weights.image / weights.landmarks == pytest.approx((0.995 / 0.005) / (0.94 / 0.06))
    wrong_and_sure, right = p(A=0.002, Am=0.96, C=0.038), p(A=0.95, Am=0.04, C=0.01)
    assert fuse([wrong_and_sure, right], [1, 1]).chord == "Am"  # equal say: the veto
    assert fuse([wrong_and_sure, right], [weights.landmarks, weights.image]).chord == "A"
    # scaled to average 1: the answer is readable, not 1.000 whatever the models say
    fused = fuse([p(A=0.3, C=0.7), p(A=0.8, C=0.2)], [weights.landmarks, weights.image])
    assert fused.chord == "A" and 0.8 < fused.probability < 0.95
    assert fuse([p(A=0.6, C=0.4), p(A=0.6, C=0.4)], [5, 5]).probability == pytest.approx(
        fuse([p(A=0.6, C=0.4), p(A=0.6, C=0.4)], [1, 1]).probability)
    plain = FusionWeights.from_models(None, None)  # no card: accuracy 0.9 each, an equal say
    assert plain.landmarks == plain.image == pytest.approx(9.0)
