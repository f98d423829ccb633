"""An unsure segment (unfamiliar footage: its chord is a guess) plays its chord softly."""

import numpy as np
import pytest

from pipeline.audio.music import UNSURE_VOLUME, PerformanceSettings, perform
from pipeline.core.timeline import Segment, Timeline


def test_an_unsure_segment_plays_its_chord_at_a_fraction_of_the_loudness():
    timeline = Timeline([Segment(0.0, 2.0, "C", 0.9), Segment(2.0, 4.0, "C", 0.3, unsure=True)], duration=4.0)
    played = perform(timeline, PerformanceSettings(bpm=120, pattern="down", humanize=0.0))
    sure = [n.velocity for n in played.notes if n.start < 2.0]
    unsure = [n.velocity for n in played.notes if n.start >= 2.0]
    assert len(sure) == len(unsure) > 0  # the same strums: the guess is heard
    assert np.mean(unsure) / np.mean(sure) == pytest.approx(UNSURE_VOLUME, abs=0.02)
