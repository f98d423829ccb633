"""What the pipeline does with per-frame familiarity (issue 15): the frame's flag, fusion weighted by each
model's reliability on the frame and never surer than the evidence, unsure stretches in the timeline,
frames.csv and timeline.json, and the familiar share and accuracy of an evaluation. The models' answers
are hand-made (tests/helpers/familiar.py); how a model computes its familiarity is tested with the models."""

import csv
import json
from dataclasses import replace

import pytest

from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.types import NOT_COVERED, ModelSet, frame_familiar
from pipeline.models.evaluation import evaluate_chord_predictions
from pipeline.timeline.analyze import analyze_clip
from pipeline.timeline.fusion import CHANCE_ODDS, TEMPER, frame_weight, fuse, prediction_from_probabilities, temper
from pipeline.timeline.smoothing import steady_flags
from tests.helpers.familiar import FamiliarityModel


def p(familiar=None, **probs):
    """A covered answer with the given probabilities and familiar flag (None: the model does not know)."""
    return replace(prediction_from_probabilities({k.replace("none", "None"): v for k, v in probs.items()}),
                   familiar=familiar)


@pytest.mark.parametrize("flags, expected", [
    ([True, True], True),
    ([True, False], False),
    ([False, None], False),
    ([True, None], True),  # a model without a familiarity reference has no say
    ([None, None], None),  # unknown stays unknown
    ([], None),
])
def test_a_frame_is_familiar_when_every_deciding_model_that_knows_says_so(flags, expected):
    assert frame_familiar([p(flag, A=1.0) for flag in flags]) is expected


def test_a_model_that_did_not_decide_has_no_say_on_familiarity():
    assert frame_familiar([replace(NOT_COVERED, familiar=False), p(True, A=1.0)]) is True


def test_weights_follow_each_models_reliability_on_the_frame():
    assert frame_weight(p(True, A=1.0), 199.0) == 199.0
    assert frame_weight(p(None, A=1.0), 199.0) == 199.0
    assert frame_weight(p(False, A=1.0), 199.0) == CHANCE_ODDS == 1.0  # out of its domain: a coin flip
    assert frame_weight(p(False, A=1.0), 0.5) == 0.5
    assert frame_weight(NOT_COVERED, 199.0) == 0.0  # no hand found: the landmark model has no say


def test_temper_moves_toward_uniform_keeps_the_order_and_respects_the_ceiling():
    assert list(temper([1.0, 0.0, 0.0], 0.75)) == pytest.approx([0.5, 0.25, 0.25])
    assert list(temper([0.9, 0.1], 0.0, ceiling=0.7)) == pytest.approx([0.7, 0.3])
    assert list(temper([0.6, 0.4], 0.0, ceiling=0.7)) == pytest.approx([0.6, 0.4])  # under the ceiling: as is


@pytest.mark.parametrize("answers, weights, chord, expected", [
    # a lone model sure on a frame it calls unfamiliar: 1.000 becomes 0.25 + 0.75 / 3
    ([p(False, A=1.0, C=0.0, G=0.0)], [1.0], "A", {"A": 0.5, "C": 0.25, "G": 0.25}),
    # the case: both models unfamiliar and sure; fused printed 1.000, now at most the most
    # confident model's tempered answer, 0.25 * 1.0 + 0.75 / 2
    ([p(False, A=0.84, C=0.16), p(False, A=1.0, C=0.0)], [15.7, 199.0], "A", {"A": 0.625, "C": 0.375}),
    # two unfamiliar models agreeing at 0.7 do not sharpen each other past 0.25 * 0.7 + 0.375
    ([p(False, A=0.7, C=0.3), p(False, A=0.7, C=0.3)], [1.0, 1.0], "A", {"A": 0.55, "C": 0.45}),
    # a familiar landmark model (odds 9) against an unfamiliar image model (odds 199, now 1) sure of C:
    # the familiar model decides; capped at the most confident evidence, the image model's tempered 0.62
    ([p(True, A=0.6, C=0.4), p(False, A=0.02, C=0.98)], [9.0, 199.0], "A", {"A": 0.62, "C": 0.38}),
])
def test_fused_answers_on_unfamiliar_frames_are_never_surer_than_the_evidence(answers, weights, chord, expected):
    fused = fuse(answers, weights)
    assert fused.chord == chord and fused.familiar is False
    assert fused.probabilities == pytest.approx(expected)
    assert fused.probability < 1.0 and fused.probability <= max(a.probability for a in answers)


def test_the_same_answers_without_familiarity_fuse_as_before():
    """Without familiarity the image model's odds (199 against 9) carry C, and agreement sharpens."""
    fused = fuse([p(None, A=0.6, C=0.4), p(None, A=0.02, C=0.98)], [9.0, 199.0])
    assert fused.chord == "C" and fused.probability == pytest.approx(0.99939626, abs=1e-7) and fused.familiar is None
    assert fuse([p(True, A=0.7, C=0.3), p(True, A=0.7, C=0.3)], [1, 1]).probability == pytest.approx(0.84482759)
    lone = p(True, A=0.7, C=0.3)
    assert fuse([NOT_COVERED, lone], [1, 1]) is lone  # a lone familiar answer comes back as it is
    assert TEMPER == 0.75


def test_short_stretches_of_a_flag_join_their_neighbours():
    times = [0.2 * k for k in range(10)]
    one_odd_frame = [False] * 4 + [True] + [False] * 5
    assert steady_flags(times, one_odd_frame, 0.4) == [False] * 10
    two_frames = [False] * 4 + [True] * 2 + [False] * 4  # 0.4 s: kept
    assert steady_flags(times, two_frames, 0.4) == two_frames
    gap = [True] * 4 + [False] + [True] * 5  # a familiar frame inside an unfamiliar stretch
    assert steady_flags(times, gap, 0.4) == [True] * 10
    assert steady_flags(times, one_odd_frame, 0.0) == one_odd_frame
    with pytest.raises(ValueError, match="same length"):
        steady_flags(times, [True], 0.4)


@pytest.fixture(scope="module")
def half_familiar(tmp_path_factory):
    """progression.mp4 (50 frames at 5 fps) analysed by a model that knows the first 25 frames only."""
    model = FamiliarityModel([True] * 25 + [False] * 25)
    analysis = analyze_clip(SAMPLE_MEDIA_DIR / "progression.mp4", ModelSet(landmarks=model), fps=5)
    return analysis, analysis.write(tmp_path_factory.mktemp("half-familiar"))


def test_an_unfamiliar_stretch_is_an_unsure_segment_in_timeline_json(half_familiar):
    analysis, written = half_familiar
    assert json.loads(written["timeline"].read_text()) == {"duration": 10.0, "segments": [
        {"start": 0.0, "end": 4.9, "chord": "C", "probability": 1.0},
        {"start": 4.9, "end": 10.0, "chord": "C", "probability": 0.5, "unsure": True}]}
    assert analysis.familiar_share == 0.5 and analysis.model_familiar_shares() == {"landmarks": 0.5}
    assert [f.unsure for f in analysis.frames] == [False] * 25 + [True] * 25


def test_frames_csv_carries_each_models_familiarity_and_the_frames_flag(half_familiar):
    _, written = half_familiar
    with open(written["frames"]) as handle:
        rows = list(csv.DictReader(handle))
    picked = [{k: rows[i][k] for k in ("time", "familiarity_landmarks", "familiar_landmarks", "familiar", "unsure",
                                       "probability", "p_C")} for i in (24, 25)]
    assert picked == [
        {"time": "4.8", "familiarity_landmarks": "0.9", "familiar_landmarks": "1", "familiar": "1", "unsure": "0",
         "probability": "1.0", "p_C": "1.0"},
        {"time": "5.0", "familiarity_landmarks": "0.1", "familiar_landmarks": "0", "familiar": "0", "unsure": "1",
         "probability": "0.5", "p_C": "0.5"}]


class NoReference(FamiliarityModel):
    """A model from before familiarity: its answers carry none."""

    def predict(self, inputs):
        return [replace(a, familiarity=None, familiar=None) for a in super().predict(inputs)]


def test_a_model_without_familiarity_leaves_the_flags_empty():
    analysis = analyze_clip(SAMPLE_MEDIA_DIR / "progression.mp4", ModelSet(landmarks=NoReference([False])), fps=5,
                            end=1.0)
    row = analysis.frame_rows()[0]
    assert (row["familiarity_landmarks"], row["familiar_landmarks"], row["familiar"], row["unsure"]) == ("", "", "", 0)
    assert analysis.familiar_share is None and analysis.model_familiar_shares() == {}
    assert [(s.chord, s.probability, s.unsure) for s in analysis.timeline.segments] == [("C", 1.0, False)]


def test_evaluation_reports_the_familiar_share_and_the_accuracy_on_familiar_frames():
    truth = ["A", "A", "C", "C", "G"]
    answers = [p(True, A=0.9, C=0.1), p(False, A=0.2, C=0.8), p(True, A=0.4, C=0.6), p(True, A=0.7, C=0.3),
               NOT_COVERED]
    report = evaluate_chord_predictions(truth, answers)
    assert report.familiar_share == 0.75  # 3 of the 4 decided frames
    assert report.familiar_accuracy == pytest.approx(2 / 3)
    assert report.accuracy == 0.4 and report.to_dict()["familiar_share"] == 0.75
    assert "familiar share    0.750" in report.format_text()
    unknown = evaluate_chord_predictions(truth, [replace(a, familiar=None) for a in answers])
    assert unknown.familiar_share is None and unknown.familiar_accuracy is None
    assert "familiar" not in unknown.format_text()
