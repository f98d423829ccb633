"""Smoothing per-frame chord probabilities, and scoring timelines."""

import numpy as np
import pytest

from pipeline.core.chords import VOCABULARY
from pipeline.core.timeline import Segment, Timeline, timeline_from_frames
from pipeline.models.evaluation import score_timeline
from pipeline.timeline.smoothing import SmoothingSettings, smooth

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


def played(steps, fps, confidence=0.8, rival=0.1):
    """Frames at ``fps`` over (chord, seconds) steps, in the whole vocabulary: each frame gives its chord
    ``confidence``, the other chords of the steps share ``rival`` and the rest of the vocabulary the rest."""
    bounds = np.cumsum([seconds for _, seconds in steps])
    times = np.arange(0, bounds[-1] - 1e-9, 1 / fps)
    played_chords = [VOCABULARY.index(chord) for chord, _ in steps]
    others = sorted(set(played_chords))
    probs = np.zeros((len(times), len(VOCABULARY)))
    for row, t in enumerate(times):
        own = played_chords[np.searchsorted(bounds, t, side="right")]
        rivals = [k for k in others if k != own]
        rest = [k for k in range(len(VOCABULARY)) if k != own and k not in rivals]
        probs[row, own] = confidence
        probs[row, rivals] = rival / max(len(rivals), 1)
        probs[row, rest] = (1 - confidence - rival * bool(rivals)) / len(rest)
    return times, probs


def timeline(times, chords, end):
    return timeline_from_frames(times, chords, [1.0] * len(chords), end=end)


def test_a_change_off_the_window_grid_is_placed_within_a_frame():
    """At 2.5 s: between the frames at 2.4 and 2.6 s, and mid-way between the majority's window edges."""
    times, probs = played([("A", 2.5), ("C", 3.5)], fps=5)
    noisy = probs * np.random.default_rng(1).uniform(0.7, 1.3, probs.shape)  # uneven confidence, no flips
    truth = Timeline([Segment(0, 2.5, "A"), Segment(2.5, 6, "C")], 6)
    ours, majority = (
        timeline(times, smooth(times, noisy, VOCABULARY, settings=SmoothingSettings(method=method)), 6.0)
        for method in ("viterbi", "majority")
    )
    assert [s.chord for s in ours.segments] == [s.chord for s in majority.segments] == ["A", "C"]
    assert ours.segments[1].start == pytest.approx(2.5)  # half-way between the frames: off by < half a step
    assert majority.segments[1].start == pytest.approx(2.9)  # the window 2-3 s votes A, 3 of 5 frames
    assert score_timeline(ours, truth).frame_accuracy > score_timeline(majority, truth).frame_accuracy


@pytest.mark.parametrize("fps", [5, 25, 30])
def test_a_flicker_goes_and_a_real_one_second_chord_stays_at_any_rate(fps):
    """One odd frame (0.2 s at 5 fps, the same 0.2 s at 25 and 30) is noise; a chord held 1 s is played."""
    times, probs = played([("A", 2), ("C", 1), ("A", 2)], fps=fps)
    chords = smooth(times, probs, VOCABULARY)
    assert changes(chords) == 2 and timeline(times, chords, 5.0).chord_at(2.5) == "C"
    flicker = played([("A", 2), ("C", 1), ("A", 2)], fps=fps, confidence=0.95, rival=0.03)[1]
    flicker[~((times >= 2.0) & (times < 2.2))] = probs[0]  # C for 0.2 s only, in whatever frames that is
    exact = SmoothingSettings(min_duration=0)  # the decoder itself, before short runs are merged
    assert smooth(times, flicker, VOCABULARY, settings=exact) == ["A"] * len(times)


@pytest.mark.parametrize("fps", [5, 25])
def test_a_short_gap_without_a_hand_is_bridged_at_any_rate(fps):
    times, probs = played([("A", 6)], fps=fps)
    short, long = np.ones(len(times), bool), np.ones(len(times), bool)
    short[(times >= 2) & (times < 2.6)] = False  # 0.6 s without a hand
    long[times >= 2] = False  # the hand leaves for good
    assert set(smooth(times, probs, VOCABULARY, short)) == {"A"}
    chords = smooth(times, probs, VOCABULARY, long)
    assert chords[0] == "A" and timeline(times, chords, 6.0).chord_at(3.0) == "None"


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
    with pytest.raises(ValueError, match="positive"):
        SmoothingSettings(resolution=0)
    with pytest.raises(ValueError, match="probabilities must be"):
        smooth([0, 1], np.zeros((3, 3)), CLASSES)
    assert smooth([], np.zeros((0, 3)), CLASSES) == []


def test_score_timeline():
    truth = Timeline([Segment(0, 2, "A"), Segment(2, 4, "C")], 4)
    assert score_timeline(truth, truth).segment_f1 == 1 and score_timeline(truth, truth).frame_accuracy == 1
    flicker = Timeline([Segment(0, 1, "A"), Segment(1, 1.2, "C"), Segment(1.2, 2, "A"), Segment(2, 4, "C")], 4)
    score = score_timeline(flicker, truth)
    assert score.changes == 3 and score.true_changes == 1 and score.spurious_changes == 2  # there and back
    assert score.missed_changes == 0 and score.change_precision == pytest.approx(1 / 3) and score.change_recall == 1
    assert score.frame_accuracy == pytest.approx(0.95, abs=0.011)
    # A(0-1) still matches A(0-2) at half their union; C(2-4) matches; the flicker's two pieces do not
    assert score.segment_recall == pytest.approx(1.0) and score.segment_precision == pytest.approx(0.5)


@pytest.mark.parametrize(
    "late, spurious, missed",
    [(0.3, 0, 0), (0.5, 0, 0), (0.7, 1, 1)],
)
def test_a_late_change_is_spurious_only_beyond_the_tolerance(late, spurious, missed):
    truth = Timeline([Segment(0, 2, "A"), Segment(2, 4, "C")], 4)
    predicted = Timeline([Segment(0, 2 + late, "A"), Segment(2 + late, 4, "C")], 4)
    score = score_timeline(predicted, truth)
    assert (score.spurious_changes, score.missed_changes) == (spurious, missed)
    assert score.change_f1 == (1.0 if not spurious else 0.0)
    # the right time with the wrong chord is a matched change; the chord error shows in the other scores
    wrong = score_timeline(Timeline([Segment(0, 2, "A"), Segment(2, 4, "G")], 4), truth)
    assert wrong.spurious_changes == 0 and wrong.frame_accuracy == pytest.approx(0.5, abs=0.011)
