"""Hand-detection processes started ahead of the first clip (:func:`pipeline.vision.hands.start_hand_workers`)."""

from __future__ import annotations

import multiprocessing
import sys
import time
import types

from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.hands import CASCADE_HANDS
from pipeline.vision.hands import HandDetector, detect_stream, start_hand_workers
from pipeline.vision.video import iter_frames


def test_workers_start_in_the_background_once_and_then_detect(tmp_path, monkeypatch):
    # the caller's main script, as `streamlit run app.py` has it: the workers must not run it again
    script, ran = tmp_path / "app.py", tmp_path / "ran"
    script.write_text(f"open({str(ran)!r}, 'a').write('ran')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    before = {p.pid for p in multiprocessing.active_children()}
    start_hand_workers(1)  # one worker is this process: nothing starts
    assert {p.pid for p in multiprocessing.active_children()} == before
    began = time.perf_counter()
    start_hand_workers(3)  # a count no other test uses: its pool is new
    returned = time.perf_counter() - began
    started = {p.pid for p in multiprocessing.active_children()} - before
    assert len(started) == 3
    assert returned < 5.0  # spawned, not waited for (importing MediaPipe takes each a few seconds)
    start_hand_workers(3)
    assert {p.pid for p in multiprocessing.active_children()} - before == started  # no second pool
    frames = [(f.index, f.image, None) for f in iter_frames(SAMPLE_MEDIA_DIR / "progression.mp4", fps=1)]
    with HandDetector(CASCADE_HANDS) as detector:
        expected = [detector.detect(image) for _, image, _ in frames]
    got = list(detect_stream(iter(frames), CASCADE_HANDS, workers=3))
    assert {p.pid for p in multiprocessing.active_children()} - before == started  # the started ones did the work
    assert [tag for tag, _ in got] == [index for index, _, _ in frames]
    for (_, hands), want in zip(got, expected):
        assert [h.landmarks_norm.tolist() for h in hands.hands] == [h.landmarks_norm.tolist() for h in want.hands]
    assert not ran.exists()
    assert sys.modules["__main__"] is main


def test_a_killed_worker_fails_one_clip_and_the_next_clip_gets_a_fresh_pool():
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    import pytest

    frames = [(f.index, f.image, None) for f in iter_frames(SAMPLE_MEDIA_DIR / "progression.mp4", fps=1)][:4]
    before = {p.pid for p in multiprocessing.active_children()}
    start_hand_workers(5)  # a count no other test uses: its pool is new
    victims = {p.pid for p in multiprocessing.active_children()} - before
    assert len(victims) == 5
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    with pytest.raises(BrokenProcessPool):
        list(detect_stream(iter(frames), CASCADE_HANDS, workers=5))
    again = list(detect_stream(iter(frames), CASCADE_HANDS, workers=5))  # not the broken pool
    with HandDetector(CASCADE_HANDS) as detector:
        expected = [detector.detect(image) for _, image, _ in frames]
    assert [len(hands.hands) for _, hands in again] == [len(want.hands) for want in expected]
    assert [tag for tag, _ in again] == [index for index, _, _ in frames]
