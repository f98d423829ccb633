"""Limits of what the audio side reads (issue 17, defect 6): a timeline file can claim any length, and
playing it allocates audio for all of it, so its length is bounded by ``CHORD_STUDIO_MAX_SECONDS``."""

from __future__ import annotations

import json
import time

import pytest

from pipeline.audio.mux import render_listen_outputs
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline


def _timeline_file(tmp_path, end, **extra):
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps({"segments": [{"start": 0, "end": end, "chord": "C"}], **extra}))
    return path


def test_a_100_byte_timeline_ending_at_1e9_s_is_refused_at_once(tmp_path):
    """Before the bound it rendered for minutes (818 MB after 120 s); now one sentence, at once."""
    path = _timeline_file(tmp_path, 1e9)
    assert len(path.read_bytes()) < 100
    started = time.perf_counter()
    with pytest.raises(InputError) as raised:
        render_listen_outputs(path, tmp_path / "out", synth="pluck")
    assert time.perf_counter() - started < 5
    assert str(raised.value) == ("The timeline runs to 1000000000 s; timelines are read up to 300 s "
                                 "(CHORD_STUDIO_MAX_SECONDS, the longest clip analysed at once).")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("data", "words"), [
    ({"segments": [{"start": 0, "end": 301, "chord": "C"}]}, "runs to 301 s"),
    ({"duration": 1e6, "segments": [{"start": 0, "end": 2, "chord": "C"}]}, "runs to 1000000 s"),
    ({"segments": [{"start": 0, "end": float("inf"), "chord": "C"}]}, "not a finite"),
    ({"segments": [{"start": float("nan"), "end": 1, "chord": "C"}]}, "not a finite"),
    ({"duration": float("nan"), "segments": [{"start": 0, "end": 1, "chord": "C"}]}, "not a finite"),
])
def test_timelines_too_long_or_not_finite_are_refused(data, words):
    with pytest.raises(InputError, match=words):
        Timeline.from_dict(json.loads(json.dumps(data)))  # as json reads Infinity and NaN


def test_the_bound_follows_the_setting(monkeypatch):
    data = {"segments": [{"start": 0, "end": 500, "chord": "C"}]}
    with pytest.raises(InputError, match="up to 300 s"):
        Timeline.from_dict(data)
    monkeypatch.setenv("CHORD_STUDIO_MAX_SECONDS", "600")
    assert Timeline.from_dict(data).segments == [Segment(0.0, 500.0, "C")]
