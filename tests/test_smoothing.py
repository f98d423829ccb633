"""Smoothing per-frame chord probabilities, and scoring timelines."""

import numpy as np
import pytest

from pipeline.evaluation import score_timeline
from pipeline.smoothing import SmoothingSettings, smooth
from pipeline.timeline import Segment, Timeline

CLASSES = ["A", "C", "None"]


def noisy_two_chords(n=40, step=0.2, seed=0):
    """A for the first half, C for the second, with single-frame flips and a no-hand gap."""
    rng = np.random.default_rng(seed)
    truth = np.array([0] * (n // 2) + [1] * (n - n // 2))
    probs = np.full((n, 3), 0.1)
    probs[np.arange(n), truth] = 0.8
    flips = rng.choice(np.r_[2:n // 2 - 2, n // 2 + 2:n - 2], 4, replace=False)
    probs[flips] = probs[flips][:, [1, 0, 2]]
    covered = np.ones(n, bool)
    covered[8:10] = False
    return np.arange(n) * step, probs, covered, [CLASSES[i] for i in truth]


def changes(chords):
    return sum(a != b for a, b in zip(chords, chords[1:]))


def test_viterbi_removes_flips_and_fills_short_gaps():
    times, probs, covered, truth = noisy_two_chords()
    raw = smooth(times, probs, CLASSES, covered, SmoothingSettings(method="argmax"))
    smoothed = smooth(times, probs, CLASSES, covered)
    assert changes(raw) > 4 and changes(smoothed) == 1
    assert smoothed == truth


def test_majority_votes_in_one_second_windows():
    times = np.arange(10) * 0.2
    chords = smooth(times, np.eye(3)[[0, 0, 1, 0, 0, 1, 1, 1, 0, 1]], CLASSES, settings=SmoothingSettings(method="majority"))
    assert chords == ["A"] * 5 + ["C"] * 5


def test_a_long_absence_of_hands_reads_as_no_chord():
    times = np.arange(30) * 0.2
    probs = np.tile([0.9, 0.05, 0.05], (30, 1))
    covered = np.ones(30, bool)
    covered[10:] = False  # the hand leaves for four seconds
    chords = smooth(times, probs, CLASSES, covered)
    assert chords[:10] == ["A"] * 10 and chords[-10:] == ["None"] * 10


def test_change_penalty_is_per_second_not_per_frame():
    """The same signal sampled at 5 and at 25 fps gives the same segments."""
    def signal(fps):
        times = np.arange(0, 6, 1 / fps)
        probs = np.where((times >= 3)[:, None], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1])
        return times, probs

    for fps in (5, 25):
        times, probs = signal(fps)
        chords = smooth(times, probs, CLASSES)
        assert changes(chords) == 1 and chords[np.searchsorted(times, 3.0)] == "C"


def test_an_extreme_change_rate_means_no_smoothing_not_alternation():
    times = np.arange(10) * 0.1
    probs = np.tile([0.9, 0.05, 0.05], (10, 1))
    assert smooth(times, probs, CLASSES, settings=SmoothingSettings(change_rate=1000, min_duration=0)) == ["A"] * 10


def test_min_duration_merges_short_runs():
    times = np.arange(20) * 0.1
    probs = np.tile([0.9, 0.05, 0.05], (20, 1))
    probs[8:10] = [0.0, 1.0, 0.0]  # a confident 0.2 s C
    assert "C" in smooth(times, probs, CLASSES, settings=SmoothingSettings(change_rate=50, min_duration=0))
    assert "C" not in smooth(times, probs, CLASSES, settings=SmoothingSettings(change_rate=50, min_duration=0.4))


def test_bad_settings_and_shapes():
    with pytest.raises(ValueError, match="unknown smoothing method"):
        SmoothingSettings(method="median")
    with pytest.raises(ValueError, match="positive"):
        SmoothingSettings(change_rate=0)
    with pytest.raises(ValueError, match="probabilities must be"):
        smooth([0, 1], np.zeros((3, 3)), CLASSES)
    assert smooth([], np.zeros((0, 3)), CLASSES) == []


def test_score_timeline():
    truth = Timeline([Segment(0, 2, "A"), Segment(2, 4, "C")], 4)
    assert score_timeline(truth, truth).segment_f1 == 1 and score_timeline(truth, truth).frame_accuracy == 1
    flicker = Timeline([Segment(0, 1, "A"), Segment(1, 1.2, "C"), Segment(1.2, 2, "A"), Segment(2, 4, "C")], 4)
    score = score_timeline(flicker, truth)
    assert score.changes == 3 and score.true_changes == 1 and score.spurious_changes == 2
    assert score.frame_accuracy == pytest.approx(0.95, abs=0.011)
    # A(0-1) still matches A(0-2) at half their union; C(2-4) matches; the flicker's two pieces do not
    assert score.segment_recall == pytest.approx(1.0) and score.segment_precision == pytest.approx(0.5)
