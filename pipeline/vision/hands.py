"""Hand landmarks with MediaPipe (0.10.21, ``mp.solutions.hands``).

:class:`HandDetector` turns an RGB frame into a :class:`pipeline.core.hands.HandsResult` (the hands as
data, and the rules that choose the fretting hand, live there). A frame with no hand gives an empty
result, never an exception.

With ``HandSettings.cascade`` a frame without a hand is looked at again: inside a black border (a hand
cut by the frame's edge, or filling a close-up, is then whole and smaller), then with the light
landmark model too (:attr:`pipeline.core.hands.HandSettings.passes`). The landmarks of a bordered pass
are mapped back to the frame's own coordinates.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.core.hands import Hand, HandSettings, HandsResult


@dataclass
class HandDetector:
    """MediaPipe hands, created lazily, safe to share between threads (a lock guards ``process``).

    Args:
        settings: detection settings.
        video: track hands across consecutive frames (MediaPipe's video mode: faster, and steadier
            landmarks); False treats every frame on its own, which datasets and caches need because
            a frame's result must not depend on the frames before it.
    """

    settings: HandSettings = field(default_factory=HandSettings)
    video: bool = False

    def __post_init__(self) -> None:
        self._graphs: dict[tuple[int, bool], object] = {}
        self._lock = threading.Lock()

    def _model(self, complexity: int, tracking: bool):
        """MediaPipe's graph for this landmark model; ``tracking`` only for the first pass of video mode
        (a bordered frame has another size, and must not disturb the tracked one)."""
        key = (complexity, tracking)
        if key not in self._graphs:
            import mediapipe as mp

            self._graphs[key] = mp.solutions.hands.Hands(
                static_image_mode=not tracking,
                max_num_hands=self.settings.max_num_hands,
                model_complexity=complexity,
                min_detection_confidence=self.settings.min_detection_confidence,
                min_tracking_confidence=self.settings.min_tracking_confidence,
            )
        return self._graphs[key]

    def detect(self, image: np.ndarray, fretboard_box=None) -> HandsResult:
        """Find the hands in one frame.

        Args:
            image: RGB uint8 array (H, W, 3).
            fretboard_box: optional (4,) x1, y1, x2, y2 pixels of the fretboard, to pick the fretting hand.

        Returns:
            The hands in this frame's pixel coordinates; empty when there is none.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        small = np.ascontiguousarray(_shrink(image, self.settings.max_side))
        for step, (complexity, border) in enumerate(self.settings.passes):
            tracking = self.video and step == 0
            with self._lock:
                results = self._model(complexity, tracking).process(_with_border(small, border))
            if results.multi_hand_landmarks:
                break
        # Landmarks are normalised, so the shrunk frame's result holds for the original size as is.
        found = HandsResult.from_mediapipe(results, width, height, self.settings, fretboard_box)
        if not found or not border:
            return found
        hands = [_unbordered(hand, border, small.shape, width, height) for hand in found.hands]
        return HandsResult.from_hands(hands, width, height, self.settings, fretboard_box)

    def close(self) -> None:
        """Free MediaPipe's graphs; the detector can be used again (it re-creates them)."""
        with self._lock:
            for graph in self._graphs.values():
                graph.close()
            self._graphs.clear()

    def __enter__(self) -> HandDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the longest side is at most ``max_side`` (keeps aspect); 0 or small images unchanged."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if not max_side or longest <= max_side:
        return image
    scale = max_side / longest
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def _with_border(image: np.ndarray, border: float) -> np.ndarray:
    """The image inside a black border of ``border`` times its width (left, right) and height (top, bottom)."""
    if not border:
        return image
    height, width = image.shape[:2]
    dy, dx = round(border * height), round(border * width)
    return cv2.copyMakeBorder(image, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _unbordered(hand: Hand, border: float, shape: tuple[int, ...], width: int, height: int) -> Hand:
    """A hand found in the bordered version of a detected image of ``shape``, in the frame's own
    coordinates (``width`` x ``height``): x' = (x * padded width - left border) / width, the same for y;
    z is in units of the width, so it scales by padded width / width."""
    small_h, small_w = shape[:2]
    dy, dx = round(border * small_h), round(border * small_w)
    grow = np.array([(small_w + 2 * dx) / small_w, (small_h + 2 * dy) / small_h, (small_w + 2 * dx) / small_w],
                    np.float32)
    shift = np.array([dx / small_w, dy / small_h, 0.0], np.float32)
    return Hand.from_normalised(hand.landmarks_norm * grow - shift, hand.handedness, hand.score, width, height)


HAND_CHUNK = 4
"""Frames per task handed to a detection process (fewer round trips; small enough to keep all busy)."""

_pools: dict[int, object] = {}
_pools_lock = threading.Lock()
_worker_detectors: dict[HandSettings, HandDetector] = {}


def default_hand_workers() -> int:
    """Processes for one clip's hand detection: the machine's cores, at most 4 (1 on a single core)."""
    import os

    return max(1, min(4, os.cpu_count() or 1))


def _pool(workers: int):
    """A process pool of ``workers``, started once per process and kept (starting one costs seconds): its
    processes start now, importing MediaPipe in the background (:func:`start_hand_workers`)."""
    with _pools_lock:
        if workers not in _pools:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: MediaPipe's graph and threads do not survive a fork.
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            with _main_hidden():
                # Each submit starts a process while none is idle yet: all of them start here, none later
                # when the caller's main module is back in place.
                for _ in range(workers):
                    pool.submit(_import_mediapipe)
            _pools[workers] = pool
        return _pools[workers]


@contextlib.contextmanager
def _main_hidden():
    """While processes are spawned: a bare ``__main__`` module, so they do not re-run the caller's main script
    (``streamlit run`` executes app.py as ``__main__``: each worker would run the whole app again). The
    workers only ever run this module's functions, which they import by name."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = main


def _import_mediapipe() -> None:
    """Worker: import MediaPipe (seconds), so the first frames handed over do not wait for it."""
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    import mediapipe  # noqa: F401


def start_hand_workers(workers: int) -> None:
    """Start the processes :func:`detect_stream` will use, in the background, and return at once: they import
    MediaPipe while the caller does other work (an app waiting for an upload, the CLI loading models), so
    the first clip does not wait for them. Calling it again costs nothing.

    Args:
        workers: processes (as :func:`detect_stream`'s ``workers``); 1 or fewer starts nothing.
    """
    if workers > 1:
        _pool(workers)


def _detect_chunk(settings: HandSettings, chunk: list[tuple[np.ndarray, object]]) -> list[HandsResult]:
    """Worker: the hands of a few frames, each alone (image mode), with this process's own MediaPipe."""
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    if settings not in _worker_detectors:
        _worker_detectors[settings] = HandDetector(settings)
    detector = _worker_detectors[settings]
    return [detector.detect(image, fretboard_box=box) for image, box in chunk]


def detect_stream(items, settings: HandSettings, workers: int = 1):
    """The hands of a stream of frames, detected in ``workers`` processes, yielded in the stream's order.

    Every frame is detected on its own (MediaPipe's image mode, as :class:`HandDetector` with
    ``video=False``), so the results equal a serial loop's whatever the split. At most ``2 * workers``
    chunks of :data:`HAND_CHUNK` frames are in flight, so a clip is never held in memory.

    Args:
        items: iterable of ``(tag, image, fretboard_box)``: ``tag`` stays in this process and comes back
            with the frame's hands; ``image`` RGB uint8 (H, W, 3); ``fretboard_box`` (4,) or None.
        settings: detection settings.
        workers: processes; 1 detects in this process.

    Yields:
        ``(tag, HandsResult)`` per item, in order.
    """
    if workers <= 1:
        with HandDetector(settings) as detector:
            for tag, image, box in items:
                yield tag, detector.detect(image, fretboard_box=box)
        return
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(workers)
    try:
        yield from _detect_in_pool(pool, items, settings, workers)
    except BrokenProcessPool:
        # a process died (killed, out of memory): forget the pool, so the next clip starts a fresh one
        with _pools_lock:
            if _pools.get(workers) is pool:
                del _pools[workers]
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _detect_in_pool(pool, items, settings: HandSettings, workers: int):
    """:func:`detect_stream`'s work in a process pool."""
    from collections import deque

    pending: deque = deque()

    def drain(limit: int):
        while len(pending) > limit:
            tags, future = pending.popleft()
            yield from zip(tags, future.result())

    tags, chunk = [], []
    for tag, image, box in items:
        tags.append(tag)
        chunk.append((image, box))
        if len(chunk) == HAND_CHUNK:
            pending.append((tags, pool.submit(_detect_chunk, settings, chunk)))
            tags, chunk = [], []
            yield from drain(2 * workers)
    if chunk:
        pending.append((tags, pool.submit(_detect_chunk, settings, chunk)))
    yield from drain(0)
