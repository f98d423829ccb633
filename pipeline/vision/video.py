"""Video in and out: probe a clip, stream its frames at a chosen rate, write frames to a clip.

Frames are RGB ``uint8`` arrays of shape (height, width, 3) everywhere in the pipeline; OpenCV's BGR
stays inside this module. Frames come out upright: a phone's rotation tag is applied.

Time model: frame ``i`` of a clip is at ``i / fps`` seconds, with ``fps`` the container's average rate
(as OpenCV's frame-based seeking assumes). A still image is a one-frame clip at time 0.

What OpenCV 4.11 does with these containers, as seen here (most of it pinned by tests/test_video.py):

- Seeking with ``CAP_PROP_POS_FRAMES`` is frame-accurate for mp4, mov, avi, webm and mkv written to a
  file (B-frames, open GOPs, an audio track and 29.97 fps included). A webm/mkv written as a live
  stream (a browser recording) has no index: the seek silently lands on frame 0, so every seek here
  is checked and falls back to reopening and grabbing.
- ``CAP_PROP_FRAME_COUNT`` is a hint only: webm/mkv estimate it from the duration (one frame too many
  seen here), a streamed recording reports about -2.3e17, an mp4 cut with an edit list or truncated
  reports more frames than decode. :func:`probe` therefore counts the tail itself.
- ``CAP_PROP_ORIENTATION_AUTO`` is off by default in this build, so it is switched on for every clip.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.config import get_studio_settings
from pipeline.core.errors import InputError
from pipeline.core.types import VideoInfo

# FFmpeg inside OpenCV prints its complaints about damaged files straight to stderr; this module turns
# them into InputError instead. OpenCV reads the variable once, when its FFmpeg backend first opens a
# file, so it is set at import. setdefault: a user's own value wins (16 shows FFmpeg's errors again).
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
SUPPORTED_SUFFIXES = VIDEO_SUFFIXES + IMAGE_SUFFIXES

_MAX_PLAUSIBLE_FPS = 500.0  # browser recordings can report their 1 ms time base as 1000 fps
_LOG_SILENT = 0  # cv2.utils.logging.LOG_LEVEL_SILENT; the constant is not exported by the wheel
_log_lock = threading.Lock()


@dataclass(frozen=True, eq=False)  # eq would compare arrays elementwise and fail
class Frame:
    """One decoded frame.

    Attributes:
        index: the frame's index in the source clip (0 for a still image).
        time: its time in seconds, ``index / fps``.
        image: RGB uint8 array of shape (height, width, 3), upright.
    """

    index: int
    time: float
    image: np.ndarray


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a clip's or image's size, rate, length and rotation, and check that it decodes.

    Decodes the first frame, then the last second or so to find the true frame count. Where the
    container keeps no usable count or index (a webm/mkv recorded as a live stream, a truncated or
    edit-listed mp4) every frame is decoded once instead: about 0.5 ms a frame at 640x360 here, so a
    few seconds for a minute of 1080p. Results are cached per file path, size and modification time.

    Args:
        path: a video (``VIDEO_SUFFIXES``) or still image (``IMAGE_SUFFIXES``).

    Returns:
        The clip's :class:`VideoInfo`.

    Images and video frames larger than ``CHORD_STUDIO_MAX_PIXELS`` are refused from their header, before
    anything is decoded (a 400 KB PNG can declare 20000 x 20000 pixels). A clip that decodes fewer
    frames than its container declares (a truncated upload) is read as far as it goes, with
    :attr:`VideoInfo.warning` saying so.

    Raises:
        InputError: the path is missing, a folder, empty, of an unsupported type, unreadable, too
            large in pixels, or holds no frames.
    """
    path = _checked_path(path)
    stat = path.stat()
    return _probe_cached(path, stat.st_size, stat.st_mtime_ns, get_studio_settings().max_pixels)


def check_pixels(width: int, height: int, name: str, max_pixels: float | None = None) -> None:
    """Refuse an image or frame of more than ``max_pixels`` pixels (default ``CHORD_STUDIO_MAX_PIXELS``).

    Raises:
        InputError: ``width * height`` is over the limit; the message names ``name`` and the setting.
    """
    limit = get_studio_settings().max_pixels if max_pixels is None else max_pixels
    if width * height > limit:
        raise InputError(
            f"'{name}' is {width} x {height} pixels ({width * height / 1e6:.3g} MP); images and video frames "
            f"are read up to {limit / 1e6:g} MP, at most {limit:.0f} pixels (CHORD_STUDIO_MAX_PIXELS); "
            "scale it down first."
        )


def check_image_header(source: str | os.PathLike | bytes, name: str | None = None) -> tuple[int, int]:
    """An image's (width, height) from its header alone, refused when over ``CHORD_STUDIO_MAX_PIXELS``.

    Call it before decoding any image that came from outside (a file or uploaded bytes): only the
    header is read, so a decompression bomb costs nothing.

    Args:
        source: an image file, or its bytes.
        name: how messages name it (default the file's name, or "the image").

    Returns:
        (width, height) as the header declares them.

    Raises:
        InputError: the header cannot be read as an image, or declares too many pixels.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    if name is None:
        name = "the image" if isinstance(source, (bytes, bytearray)) else Path(source).name
    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with Image.open(handle) as image:  # lazy: reads the header only
            width, height = image.size
    except Image.DecompressionBombError:  # Pillow's own refusal, past 2 x 89 MP: more than any cap allows
        limit = get_studio_settings().max_pixels
        raise InputError(f"'{name}' declares over {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} MP; images and video "
                         f"frames are read up to {limit / 1e6:g} MP, at most {limit:.0f} pixels "
                         "(CHORD_STUDIO_MAX_PIXELS); scale it down first.") from None
    # ImportError too: once Ultralytics is imported it patches Image.open to try pi_heif on a file
    # Pillow cannot identify, and that plugin is not installed
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, ImportError):
        kind = "an image" if isinstance(source, (bytes, bytearray)) else f"a {Path(source).suffix.lower()} file"
        raise InputError(f"'{name}' could not be read as an image: it is damaged, incomplete or not really "
                         f"{kind}; export or upload it again.") from None
    check_pixels(width, height, name)
    return width, height


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to RGB uint8 (H, W, 3), upright (EXIF orientation applied), after checking
    its header against ``CHORD_STUDIO_MAX_PIXELS`` (:func:`check_image_header`).

    Raises:
        InputError: the file cannot be read as an image, or is too large in pixels.
    """
    path = Path(path)
    check_image_header(path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies the EXIF orientation, so photos are upright
    if image is None:
        raise InputError(
            f"'{path.name}' could not be read as an image: it is damaged, incomplete or not really a "
            f"{path.suffix.lower()} file; export or upload it again."
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def difference_hash(gray: np.ndarray, side: int = 16) -> bytes:
    """A perceptual hash of a grayscale image: ``side`` x ``side`` brighter-than-right-neighbour bits of a
    ``(side + 1) x side`` area-averaged thumbnail, packed (``side * side / 8`` bytes). Near-identical frames
    differ in a few bits; compare with the Hamming distance.

    Args:
        gray: uint8 (H, W) image.
        side: bits per row and rows (8: a 64-bit hash; 16: 256 bits, which still tells chords apart where
            the hand is small in the frame).
    """
    small = cv2.resize(gray, (side + 1, side), interpolation=cv2.INTER_AREA).astype(np.int16)
    return np.packbits((small[:, 1:] > small[:, :-1]).reshape(-1)).tobytes()


def iter_frames(
    path: str | os.PathLike, fps: float | None = 5.0, start: float | None = None, end: float | None = None
) -> Iterator[Frame]:
    """Stream frames sampled at ``fps`` per second between ``start`` and ``end``.

    A generator: nothing is opened or checked until the first ``next()``, which raises any error
    before a frame is yielded. At most one frame is held at a time. For each target time
    ``start + k / fps`` (``k = 0, 1, ...``, before ``end``) it yields the nearest source frame, each
    source frame at most once (so an ``fps`` above the clip's rate yields every frame). Frames in
    between are skipped with ``grab()``, which decodes but skips the colour conversion; a start more
    than a second in (or a gap over 250 frames) is reached with a seek, checked, else by grabbing.

    Args:
        path: a video or still image; a still image yields one frame at time 0 whatever ``start``
            and ``end`` are (a photo has no timeline).
        fps: samples per second; None for every frame.
        start: first time in seconds (default 0); must be before the end of the clip.
        end: time in seconds to stop before (default, or past the end: the end of the clip).

    Yields:
        :class:`Frame` objects with RGB images of shape (height, width, 3), in time order.

    Raises:
        InputError: ``fps`` not a finite number above 0, ``start < 0``, ``start >= end``, ``start`` at or
            past the end of the clip, or any error of :func:`probe`.
    """
    name = Path(path).name
    if fps is not None and not (fps > 0 and math.isfinite(fps)):
        raise InputError(
            f"Cannot sample '{name}' at {fps} frames per second; choose a finite fps above 0, or None for every frame."
        )
    start = 0.0 if start is None else start
    if not start >= 0:
        raise InputError(f"Start time {start} s for '{name}' is negative; choose 0 or later.")
    if end is not None and not start < end:
        raise InputError(
            f"Start time {start} s for '{name}' is not before the end time {end} s; choose an earlier start."
        )
    info = probe(path)
    if info.is_image:
        yield Frame(0, 0.0, read_image(info.path))
        return
    if start >= info.duration:
        raise InputError(
            f"Start time {start:g} s is beyond the end of '{name}', which is {info.duration:.2f} s long; "
            "choose an earlier start."
        )
    end = info.duration if end is None else min(end, info.duration)
    step = 1.0 / (fps or info.fps)
    cap = _open(info.path)
    try:
        # A clip whose rate had to be estimated (see _probe_cached) must not be seeked: OpenCV turns
        # frame numbers into timestamps with the rate it reports.
        can_seek = math.isclose(cap.get(cv2.CAP_PROP_FPS), info.fps)
        position = 0  # index of the frame the next grab() returns
        previous = -1
        for k in range(int(math.ceil((end - start) / step)) + 1):
            target = start + k * step
            if target >= end:
                break
            index = min(int(math.floor(target * info.fps + 0.5)), info.frame_count - 1)
            if index <= previous:
                continue
            # A seek decodes from the keyframe before its target. Worth it for the jump to start; between
            # samples only past 250 frames, x264's default keyframe interval, so it never costs more.
            if can_seek and index - position > (info.fps if previous < 0 else 250):
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                if round(cap.get(cv2.CAP_PROP_POS_FRAMES)) == index:
                    position = index
                else:  # no index in the container: the seek went elsewhere; start over and grab
                    cap.release()
                    cap, can_seek, position = _open(info.path), False, 0
            while position <= index:
                if not cap.grab():
                    return
                position += 1
            ok, bgr = cap.retrieve()
            if not ok:
                return
            previous = index
            yield Frame(index, index / info.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()


def read_frame(path: str | os.PathLike, time: float) -> Frame:
    """The single frame nearest ``time`` seconds (a still image: the image, whatever ``time``).

    Args:
        path: a video or still image.
        time: seconds from the start, from 0 to the clip's duration.

    Returns:
        The :class:`Frame`, RGB uint8 of shape (height, width, 3).

    Raises:
        InputError: ``time`` is negative or past the end, or any error of :func:`probe`.
    """
    info = probe(path)
    if not 0 <= time <= info.duration and not info.is_image:
        raise InputError(
            f"Time {time:g} s is outside '{info.path.name}', which is {info.duration:.2f} s long; "
            f"choose a time from 0 to {info.duration:.2f} s."
        )
    last = 0.0 if info.is_image else (info.frame_count - 1) / info.fps
    with closing(iter_frames(info.path, fps=None, start=min(max(time, 0.0), last))) as frames:
        return next(frames)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float, quality: int = 23) -> Path:
    """Encode RGB frames as an H.264 MP4 that browsers play (yuv420p, even size, faststart).

    Streams: frames are encoded as they come, never all held. Uses the ffmpeg binary that the
    ``imageio-ffmpeg`` wheel carries, so no system ffmpeg is needed.

    Args:
        path: output file; its suffix decides the container (``.mp4`` recommended).
        frames: RGB uint8 arrays of one shape (height, width, 3).
        fps: frames per second.
        quality: x264 CRF, 0 (lossless) to 51 (worst); 23 is x264's default.

    Returns:
        The path written.

    Raises:
        InputError: no frames were given, or a frame's shape differs from the first.
    """
    import imageio_ffmpeg

    path = Path(path)
    writer = None
    size = None
    try:
        for frame in frames:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            if writer is None:
                height, width = frame.shape[:2]
                size = (width - width % 2, height - height % 2)  # yuv420p needs even sides
                writer = imageio_ffmpeg.write_frames(
                    str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
                    output_params=["-crf", str(quality), "-movflags", "+faststart"], macro_block_size=1,
                )
                writer.send(None)
            if frame.ndim != 3 or (frame.shape[1] - frame.shape[1] % 2, frame.shape[0] - frame.shape[0] % 2) != size:
                raise InputError(f"Frame of shape {frame.shape} differs from the first frame's size {size}.")
            writer.send(np.ascontiguousarray(frame[: size[1], : size[0], :3]))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InputError("No frames to write.")
    return path


BROWSER_SAFE_ENCODE = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "23",
                       "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-movflags", "+faststart"]
"""ffmpeg output options that make a video stream every browser plays: H.264, yuv420p, even sides."""


def video_codec(path: str | Path) -> tuple[str | None, str | None]:
    """The first video stream's codec and pixel format as ffmpeg names them (``("h264", "yuv420p")``).

    Reads the header with the ffmpeg binary of ``imageio-ffmpeg``; (None, None) when it names no video.
    """
    import re
    import subprocess

    import imageio_ffmpeg

    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True)
    match = re.search(r"Stream #\S+.*?: Video: (\w+)[^,]*, (\w+)", result.stderr)
    return (match.group(1), match.group(2)) if match else (None, None)


def is_browser_safe(path: str | Path) -> bool:
    """Whether a clip's video is H.264 in yuv420p, which every browser's <video> element decodes."""
    return video_codec(path) == ("h264", "yuv420p")


def browser_safe_video(path: str | Path, out_path: str | Path) -> Path:
    """A copy of a clip that browsers play: ``path`` itself when it is H.264/yuv420p already, else the clip
    re-encoded to H.264 (yuv420p, faststart; the sound as AAC) at ``out_path``.

    MPEG-4 Part 2, HEVC, VP9 in mp4 and the like show as a blank or "not playable" video in a browser.

    Raises:
        InputError: ffmpeg cannot read or re-encode the clip.
    """
    import subprocess

    import imageio_ffmpeg

    path, out_path = Path(path), Path(out_path)
    if path.suffix.lower() in (".mp4", ".m4v") and is_browser_safe(path):
        return path
    if out_path.resolve() == path.resolve():
        raise InputError(f"Re-encoding {path.name} would overwrite it; choose another output path.")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
               "-map", "0:a:0?", *BROWSER_SAFE_ENCODE, "-c:a", "aac", str(out_path)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        out_path.unlink(missing_ok=True)
        raise InputError(f"'{path.name}' could not be re-encoded for the browser: {result.stderr.strip()[-200:]}")
    return out_path


def _checked_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    name = path.name or str(path)
    if not path.exists():
        raise InputError(f"'{name}' was not found; check the path or upload the file again.")
    if path.is_dir():
        raise InputError(f"'{name}' is a folder, not a video or image; choose a file inside it.")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"'{name}' is not a supported file type; use a video ({', '.join(VIDEO_SUFFIXES)}) "
            f"or an image ({', '.join(IMAGE_SUFFIXES)})."
        )
    if path.stat().st_size == 0:
        raise InputError(f"'{name}' is empty (0 bytes); export or upload it again.")
    return path


@lru_cache(maxsize=64)
def _probe_cached(path: Path, size: int, mtime_ns: int, max_pixels: float) -> VideoInfo:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        height, width = read_image(path).shape[:2]
        return VideoInfo(path, 0.0, 1, width, height, 0.0, 0, True)
    cap = _open(path)
    try:
        # The stored size, before the first frame is decoded (a frame of a huge size is the bomb).
        check_pixels(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), path.name,
                     max_pixels)
        ok, first = cap.read()
        if not ok:
            raise InputError(f"'{path.name}' contains no readable video frames; export or upload it again.")
        height, width = first.shape[:2]
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
        fps = cap.get(cv2.CAP_PROP_FPS)
        reported = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        count = _count_tail(cap, reported, fps)
    finally:
        cap.release()
    if count is None or not 0 < fps < _MAX_PLAUSIBLE_FPS:
        count, last_time = _count_all(path)
        if not 0 < fps < _MAX_PLAUSIBLE_FPS:
            if count < 2 or not last_time > 0:
                raise InputError(f"'{path.name}' has no usable frame rate; re-encode it at a constant frame rate.")
            fps = (count - 1) / last_time
    return VideoInfo(path, fps, count, width, height, count / fps, rotation, False,
                     _truncation_warning(path.name, count, reported, fps))


def _truncation_warning(name: str, count: int, reported: float, fps: float) -> str | None:
    """A sentence when fewer frames decode than the container declares, beyond its usual slack (webm and
    mkv estimate one frame too many, edit lists a few): a cut-off upload or a damaged file."""
    if not (math.isfinite(reported) and 0 < reported < 1e8) or reported - count <= max(2, 0.02 * reported):
        return None
    declared = round(reported)
    return (f"'{name}' holds {count} of the {declared} frames its container declares (it looks cut off): only "
            f"the first {count / fps:.1f} s of {declared / fps:.1f} s is analysed; export or upload it again "
            "for the whole clip.")


def _count_tail(cap: cv2.VideoCapture, reported: float, fps: float) -> int | None:
    """Frames in the clip, found by seeking to a second before the reported count and grabbing to the
    end; None when the reported count or the seek cannot be trusted. ``cap`` stands after frame 0."""
    if not (math.isfinite(reported) and 0 < reported < 1e8 and 0 < fps < _MAX_PLAUSIBLE_FPS):
        return None
    tail = max(1, int(reported) - max(16, round(fps)))
    if tail > 1:
        cap.set(cv2.CAP_PROP_POS_FRAMES, tail)
        if round(cap.get(cv2.CAP_PROP_POS_FRAMES)) != tail:
            return None
    grabbed = 0
    while cap.grab():
        grabbed += 1
    # Nothing after a seek means the count overshot (a truncated or edit-listed clip): count it all.
    return tail + grabbed if grabbed or tail == 1 else None


def _count_all(path: Path) -> tuple[int, float]:
    """Frames that decode, by grabbing every one, and the last one's timestamp in seconds."""
    cap = _open(path)
    count, last_time = 0, 0.0
    try:
        while cap.grab():
            count += 1
            last_time = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
    finally:
        cap.release()
    return count, last_time


def _open(path: Path) -> cv2.VideoCapture:
    # OpenCV warns on stderr for every file it cannot open; silence that, scoped to the open and
    # locked because the level is process-wide (Streamlit runs sessions in threads).
    with _log_lock:
        level = cv2.getLogLevel()
        cv2.setLogLevel(_LOG_SILENT)
        try:
            cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        finally:
            cv2.setLogLevel(level)
    if not cap.isOpened():
        raise InputError(
            f"'{path.name}' could not be read as a video: it is damaged, incomplete or not really a "
            f"{path.suffix.lower()} file; export or upload it again."
        )
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # phone clips store frames sideways plus a rotation tag
    return cap

