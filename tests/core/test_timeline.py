import json

import pytest

from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline, timeline_from_frames


def test_frames_merge_into_segments_with_mean_probability():
    times = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    chords = ["C", "C", "G", "G", "G", "None"]
    probs = [0.9, 0.7, 0.6, 0.8, 1.0, 0.0]
    timeline = timeline_from_frames(times, chords, probs, end=1.3)
    assert [(s.start, s.end, s.chord) for s in timeline.segments] == [
        (0.0, pytest.approx(0.3), "C"), (pytest.approx(0.3), pytest.approx(0.9), "G"), (pytest.approx(0.9), 1.3, "None")
    ]
    assert timeline.segments[0].probability == pytest.approx(0.8)
    assert timeline.segments[1].probability == pytest.approx(0.8)
    assert timeline.duration == 1.3
    assert timeline.chord_at(0.5) == "G" and timeline.chord_at(2.0) is None


def test_a_change_sits_half_way_between_the_frames_that_show_it():
    """A frame stands for the time nearest to it, so boundaries are not half a step late on average."""
    timeline = timeline_from_frames([0.0, 0.2, 0.4, 0.6, 0.8], ["A", "A", "D", "D", "D"], [1] * 5, end=1.0)
    # a true change anywhere between the frames at 0.2 and 0.4 s is off by at most half a step
    assert [(s.start, s.end) for s in timeline.segments] == [(0.0, pytest.approx(0.3)), (pytest.approx(0.3), 1.0)]
    # every frame still reads its own chord, whatever the steps
    uneven = [0.0, 0.1, 0.5, 0.6, 1.4]
    chords = ["A", "D", "D", "G", "A"]
    timeline = timeline_from_frames(uneven, chords, [1] * 5)
    assert [timeline.chord_at(t) for t in uneven] == chords and timeline.segments[0].start == 0.0


def test_last_segment_ends_one_step_later_without_an_end():
    timeline = timeline_from_frames([0.0, 0.5, 1.0], ["A", "A", "D"], [1, 1, 1])
    assert timeline.segments[-1].end == pytest.approx(1.5)
    assert timeline_from_frames([], [], []).segments == []


def test_json_round_trip_and_vocabulary_parsing(tmp_path):
    timeline = Timeline([Segment(0, 1, "Am", 0.5), Segment(1, 2.5, "G", 0.75)], duration=3)
    loaded = Timeline.load(timeline.save(tmp_path / "t.json"))
    assert loaded == timeline
    data = {"segments": [{"start": 0, "end": 1, "chord": "a minor"}]}
    assert Timeline.from_dict(data).segments[0].chord == "Am"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"segments": [{"start": 0, "end": 1, "chord": "H7"}]}, "Unknown chord"),
        ({"segments": [{"start": 1, "end": 1, "chord": "C"}]}, "no length"),
        ({"segments": [{"start": 0, "end": 2, "chord": "C"}, {"start": 1, "end": 3, "chord": "G"}]}, "overlap"),
        ({"duration": 1, "segments": [{"start": 0, "end": 2, "chord": "C"}]}, "past the clip"),
        ({"segments": [{"start": 0, "chord": "C"}]}, "malformed"),
        ({"chords": []}, "malformed"),
    ],
)
def test_bad_timelines_raise_input_error(data, message):
    with pytest.raises(InputError, match=message):
        Timeline.from_dict(data)


def test_bad_timeline_files(tmp_path):
    with pytest.raises(InputError, match="No timeline file"):
        Timeline.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        Timeline.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="not a chord timeline"):
        Timeline.load(tmp_path / "list.json")


def test_unsure_segments_round_trip_and_older_files_read_as_sure(tmp_path):
    timeline = timeline_from_frames([0.0, 0.2, 0.4, 0.6], ["C", "C", "C", "G"], [0.9, 0.9, 0.4, 0.8], end=0.8,
                                    unsure=[False, False, True, True])
    # a change of "unsure" starts a segment as a change of chord does
    assert [(s.chord, s.unsure) for s in timeline.segments] == [("C", False), ("C", True), ("G", True)]
    data = timeline.to_dict()
    assert "unsure" not in data["segments"][0] and data["segments"][1]["unsure"] is True
    assert Timeline.load(timeline.save(tmp_path / "t.json")) == timeline
    older = {"segments": [{"start": 0, "end": 1, "chord": "C", "probability": 0.5}]}
    assert Timeline.from_dict(older).segments == [Segment(0.0, 1.0, "C", 0.5, unsure=False)]
    with pytest.raises(InputError, match="'unsure' must be true or false"):
        Timeline.from_dict({"segments": [{"start": 0, "end": 1, "chord": "C", "unsure": "yes"}]})
    with pytest.raises(ValueError, match="same length"):
        timeline_from_frames([0.0], ["C"], [1.0], unsure=[])
