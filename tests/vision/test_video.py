"""pipeline.vision.video on tiny clips of every container, each frame showing its own index in binary.

Clips are made with the ffmpeg binary that the imageio-ffmpeg wheel carries (no system ffmpeg), or
with ``write_video``. A frame's index is drawn as 8 black/white blocks (bit b at columns 8b..8b+7),
which survives any codec; a red block marks the top-left corner so rotation and RGB order show.
"""

from __future__ import annotations

import inspect
import math
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.vision.video import (
    IMAGE_SUFFIXES,
    SUPPORTED_SUFFIXES,
    VIDEO_SUFFIXES,
    Frame,
    VideoInfo,
    iter_frames,
    probe,
    read_frame,
    write_video,
)

FPS, COUNT, WIDTH, HEIGHT = 25, 50, 64, 48
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
X264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-bf", "3"]  # keyframes to seek between
VP9 = ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "30", "-deadline", "realtime", "-cpu-used", "8", "-g", "10"]


def make_frame(index: int) -> np.ndarray:
    """RGB (HEIGHT, WIDTH, 3): grey, the index's 8 bits as blocks, a red top-left marker."""
    image = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    for bit in range(8):
        image[16:40, 8 * bit : 8 * bit + 8] = 255 if index >> bit & 1 else 0
    image[:8, :16] = (255, 0, 0)
    return image


def frame_index(image: np.ndarray) -> int:
    columns = image[16:40].astype(float).mean(axis=(0, 2))
    return sum(1 << bit for bit in range(8) if columns[8 * bit + 2 : 8 * bit + 6].mean() > 128)


def ffmpeg(*args: str, frames: int = COUNT, rate: str = str(FPS)) -> bytes:
    """Run the bundled ffmpeg with ``frames`` test frames on stdin; returns its stdout."""
    raw = b"".join(make_frame(i).tobytes() for i in range(frames))
    source = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", rate, "-i", "-"]
    cmd = [FFMPEG, "-y", "-loglevel", "error", *source, *args]
    return subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """25 fps, 2 s, 64x48 clips by kind, made once per session (about 0.5 s)."""
    root = tmp_path_factory.mktemp("clips")
    made = {"mp4": write_video(root / "clip.mp4", (make_frame(i) for i in range(COUNT)), FPS)}
    for kind, args in {
        "mov": X264,
        "mkv": X264,
        "avi": ["-c:v", "mjpeg", "-q:v", "3"],
        "webm": VP9,
    }.items():
        made[kind] = root / f"clip.{kind}"
        ffmpeg(*args, str(made[kind]))
    # As a browser's MediaRecorder writes it: a live stream, with no index and no frame count.
    made["webm_stream"] = root / "stream.webm"
    made["webm_stream"].write_bytes(ffmpeg("-c:v", "libvpx", "-b:v", "1M", "-g", "10", "-f", "webm", "-"))
    # A phone clip held upright: stored landscape, tagged to be turned 90 degrees clockwise.
    # (ffmpeg's -display_rotation counts counter-clockwise; the old "-metadata rotate" is ignored now.)
    made["rotated"] = root / "rotated.mp4"
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", "-display_rotation", "270", "-i", str(made["mp4"]),
                    "-c", "copy", str(made["rotated"])], check=True)
    # NTSC rate with B-frames, open GOPs and an audio track; mkv estimates its count from the duration.
    made["mkv_2997"] = root / "ntsc.mkv"
    ffmpeg("-f", "lavfi", "-i", "sine=d=5", "-shortest", *X264, "-x264-params", "open-gop=1", "-c:a", "libvorbis",
           str(made["mkv_2997"]), frames=150, rate="30000/1001")
    for suffix in (".jpg", ".png"):
        made[suffix] = root / f"still{suffix}"
        cv2.imwrite(str(made[suffix]), cv2.cvtColor(make_frame(7), cv2.COLOR_RGB2BGR))
    return made


FORMATS = ["mp4", "mov", "avi", "webm", "mkv", "webm_stream"]


class CountingCapture:
    """Wraps a real cv2.VideoCapture and counts calls, to see what iter_frames decodes."""

    calls: dict[str, int] = {}

    def __init__(self, *args):
        self._cap = _REAL_CAPTURE(*args)

    def __getattr__(self, name):
        return getattr(self._cap, name)

    def _count(self, name, *args):
        CountingCapture.calls[name] = CountingCapture.calls.get(name, 0) + 1
        return getattr(self._cap, name)(*args)

    def grab(self):
        return self._count("grab")

    def retrieve(self):
        return self._count("retrieve")

    def read(self):
        return self._count("read")


_REAL_CAPTURE = cv2.VideoCapture


@pytest.fixture
def counting(monkeypatch) -> dict[str, int]:
    CountingCapture.calls = {}
    monkeypatch.setattr(cv2, "VideoCapture", CountingCapture)
    return CountingCapture.calls


def test_suffix_lists():
    assert set(VIDEO_SUFFIXES) == {".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v"}
    assert set(IMAGE_SUFFIXES) == {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
    assert set(SUPPORTED_SUFFIXES) == set(VIDEO_SUFFIXES) | set(IMAGE_SUFFIXES)


@pytest.mark.parametrize("kind", FORMATS)
def test_probe_and_sample_each_format(clips, kind):
    info = probe(clips[kind])
    assert info == VideoInfo(clips[kind], FPS, COUNT, WIDTH, HEIGHT, 2.0, 0, False)

    frames = list(iter_frames(clips[kind], fps=5))
    assert [f.index for f in frames] == list(range(0, COUNT, 5))
    assert [f.time for f in frames] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8])
    assert [frame_index(f.image) for f in frames] == [f.index for f in frames]
    image = frames[0].image
    assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.uint8
    assert image[3, 3, 0] > 200 and image[3, 3, 2] < 60  # RGB order: the marker is red


@pytest.mark.parametrize("kind", FORMATS)
def test_start_and_end_seek_to_the_right_frames(clips, kind):
    # start 1.2 s jumps more than a second, so it seeks (the stream webm cannot and falls back).
    frames = list(iter_frames(clips[kind], fps=5, start=1.2, end=1.8))
    assert [(f.index, frame_index(f.image)) for f in frames] == [(30, 30), (35, 35), (40, 40)]
    assert [f.time for f in frames] == pytest.approx([1.2, 1.4, 1.6])


def test_start_seeks_instead_of_decoding_everything(clips, counting):
    probe(clips["mkv"])  # cached, so its decoding is not counted below
    counting.clear()
    frames = list(iter_frames(clips["mkv"], fps=5, start=1.6))
    assert [frame_index(f.image) for f in frames] == [40, 45]
    assert counting["grab"] < 20  # from the keyframe at 40, not 46 grabs from the start
    assert counting["retrieve"] == 2


def test_every_frame_and_rates_above_the_source(clips):
    frames = list(iter_frames(clips["mp4"], fps=None))
    assert [frame_index(f.image) for f in frames] == list(range(COUNT))
    assert [f.index for f in iter_frames(clips["mp4"], fps=None, start=0.4, end=0.8)] == list(range(10, 20))
    assert [f.index for f in iter_frames(clips["mp4"], fps=60)] == list(range(COUNT))  # each frame once


def test_odd_rate_with_audio_counts_real_frames(clips):
    path = clips["mkv_2997"]
    decoded = 0
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    while cap.grab():
        decoded += 1
    cap.release()
    info = probe(path)
    assert info.frame_count == decoded  # not the container's estimate, which is one more here
    assert info.warning is None  # one frame short of the estimate is no truncation
    assert info.fps == pytest.approx(30000 / 1001)
    assert info.duration == pytest.approx(decoded * 1001 / 30000)
    frames = list(iter_frames(path, fps=2, start=3.0))
    expected = [round((3.0 + k / 2) * 30000 / 1001) for k in range(len(frames))]
    assert [f.index for f in frames] == [frame_index(f.image) for f in frames] == expected
    assert frames[-1].time < info.duration


def test_iter_frames_is_lazy_and_decodes_only_what_it_yields(clips, counting, tmp_path):
    gen = iter_frames(tmp_path / "missing.mp4", fps=0)  # nothing is checked until the first next()
    assert inspect.isgenerator(gen)
    with pytest.raises(InputError, match="fps above 0"):
        next(gen)

    probe(clips["mp4"])
    counting.clear()
    gen = iter_frames(clips["mp4"], fps=5)
    assert counting == {}
    first = next(gen)
    assert isinstance(first, Frame) and first.index == 0
    assert counting["retrieve"] == 1
    rest = list(gen)
    assert len(rest) == 9 and counting["retrieve"] == 10 and counting.get("read", 0) == 0


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_still_image_is_a_one_frame_clip(clips, suffix):
    path = clips[suffix]
    assert probe(path) == VideoInfo(path, 0.0, 1, WIDTH, HEIGHT, 0.0, 0, True)
    for frames in (list(iter_frames(path)), list(iter_frames(path, fps=None, start=5.0))):
        assert len(frames) == 1
        assert (frames[0].index, frames[0].time, frame_index(frames[0].image)) == (0, 0.0, 7)
        assert frames[0].image.shape == (HEIGHT, WIDTH, 3) and frames[0].image[3, 3, 0] > 200
    assert frame_index(read_frame(path, 0.0).image) == 7


def test_rotation_metadata_gives_upright_frames(clips):
    info = probe(clips["rotated"])
    assert (info.rotation, info.width, info.height, info.frame_count) == (90, HEIGHT, WIDTH, COUNT)
    for frame in (next(iter_frames(clips["rotated"])), read_frame(clips["rotated"], 1.6)):
        assert frame.image.shape == (info.height, info.width, 3)
        assert frame.image[3, -4, 0] > 200 and frame.image[3, 3, 0] < 200  # red marker turned to top-right
        upright = np.rot90(frame.image)  # turning back counter-clockwise restores the stored frame
        assert frame_index(upright) == frame.index


def test_read_frame_picks_the_nearest(clips):
    path = clips["mov"]
    assert [read_frame(path, t).index for t in (0.0, 0.99, 1.0, 1.61, 1.99, 2.0)] == [0, 25, 25, 40, 49, 49]
    frame = read_frame(path, 1.0)
    assert frame.time == pytest.approx(1.0) and frame_index(frame.image) == 25
    for bad in (-0.1, 2.5, math.nan):
        with pytest.raises(InputError, match=r"outside 'clip.mov'.*2\.00 s long"):
            read_frame(path, bad)


def _write(data: bytes):
    return lambda path: path.write_bytes(data)


BAD_FILES = {
    # name: (how to make it, words the message must hold)
    "missing.mp4": (None, ["'missing.mp4'", "not found"]),
    "folder.mp4": (lambda p: p.mkdir(), ["'folder.mp4'", "is a folder"]),
    "empty.mp4": (_write(b""), ["'empty.mp4'", "empty (0 bytes)"]),
    "notes.txt": (_write(b"C G Am F"), ["'notes.txt'", "not a supported", ".mp4", ".webm", ".jpg", ".png"]),
    "clip": (_write(b"x" * 100), ["'clip'", "not a supported"]),
    "random.mp4": (_write(np.random.default_rng(0).bytes(5000)), ["'random.mp4'", "could not be read as a video"]),
    "text.mov": (_write(b"this is not a video\n" * 20), ["'text.mov'", "not really a .mov file"]),
    "cut_index.mp4": ("mov", ["'cut_index.mp4'", "could not be read as a video"]),  # index at the end, cut off
    "cut_frames.mp4": ("mp4", ["'cut_frames.mp4'", "no readable video frames"]),  # index first, frames cut
    "random.jpg": (_write(np.random.default_rng(1).bytes(3000)), ["'random.jpg'", "could not be read as an image"]),
    "cut.jpg": (".jpg", ["'cut.jpg'", "could not be read as an image"]),
    "zero_frames.avi": ("zero", ["'zero_frames.avi'", "no readable video frames"]),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_raise_one_clear_sentence(clips, tmp_path, name):
    make, words = BAD_FILES[name]
    path = tmp_path / name
    if make == "zero":
        ffmpeg("-frames:v", "0", "-c:v", "mjpeg", str(path))
    elif isinstance(make, str):
        data = clips[make].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif make is not None:
        make(path)
    for call in (lambda: probe(path), lambda: next(iter_frames(path)), lambda: read_frame(path, 0.0)):
        with pytest.raises(InputError) as raised:
            call()
        message = str(raised.value)
        assert all(word in message for word in words), message
        assert message.count(". ") == 0 and "\n" not in message and str(tmp_path) not in message


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"fps": 0}, ["0 frames per second", "above 0"]),
        ({"fps": -5.0}, ["-5.0 frames per second"]),
        ({"fps": math.nan}, ["nan frames per second"]),
        ({"fps": math.inf}, ["inf frames per second", "finite"]),
        ({"start": -1.0}, ["-1.0 s", "negative"]),
        ({"start": 1.0, "end": 1.0}, ["not before the end time 1.0 s"]),
        ({"end": 0.0}, ["not before the end time 0.0 s"]),
        ({"start": 2.0}, ["beyond the end", "2.00 s long"]),
        ({"start": 7.5, "end": 9.0}, ["Start time 7.5 s is beyond the end", "2.00 s long"]),
    ],
)
def test_bad_arguments_raise_on_first_next(clips, kwargs, words):
    gen = iter_frames(clips["mp4"], **kwargs)
    with pytest.raises(InputError) as raised:
        next(gen)
    assert "'clip.mp4'" in str(raised.value) and all(word in str(raised.value) for word in words)


def test_implausible_reported_rate_is_measured(clips, tmp_path, monkeypatch):
    """Browser recordings can report 1000 fps and no count; probe measures both from the frames."""

    class BrowserLike(CountingCapture):
        # As OpenCV does with such a rate: frame numbers become timestamps at 1000 fps, so a seek
        # lands far too early while the position read back is the one asked for.
        def get(self, prop):
            if prop == cv2.CAP_PROP_FPS:
                return 1000.0
            if prop == cv2.CAP_PROP_POS_FRAMES:
                return self._asked if hasattr(self, "_asked") else self._cap.get(prop)
            return -2.3e17 if prop == cv2.CAP_PROP_FRAME_COUNT else self._cap.get(prop)

        def set(self, prop, value):
            if prop == cv2.CAP_PROP_POS_FRAMES:
                self._asked = value
                return self._cap.set(prop, round(value * FPS / 1000))
            return self._cap.set(prop, value)

    monkeypatch.setattr(cv2, "VideoCapture", BrowserLike)
    path = shutil.copy(clips["mkv"], tmp_path / "recording.mkv")  # a new file: not in probe's cache
    info = probe(path)
    assert (info.frame_count, info.fps, info.duration) == pytest.approx((COUNT, FPS, 2.0), rel=1e-3)
    frames = list(iter_frames(path, fps=5, start=1.2))  # no seeking with the reported rate
    assert [(f.index, frame_index(f.image)) for f in frames] == [(i, i) for i in range(30, 50, 5)]


def test_damaged_files_do_not_spam_the_console(clips, tmp_path):
    """FFmpeg and OpenCV stay quiet; only the InputError reaches the user (own process, fresh OpenCV)."""
    data = clips["mp4"].read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # FFmpeg: "Invalid NAL unit size", ...
    (tmp_path / "cut.mov").write_bytes(data[: len(data) // 10])  # FFmpeg: "error reading header"
    (tmp_path / "text.mov").write_text("not a video\n")  # OpenCV: "can't be used to capture by name"
    code = (
        "import sys; from pipeline.core.errors import InputError; from pipeline.vision.video import probe\n"
        "for path in sys.argv[1:]:\n"
        "    try: probe(path)\n"
        "    except InputError: print('raised')\n"
    )
    paths = [str(tmp_path / name) for name in ("cut.mp4", "cut.mov", "text.mov")]
    done = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.stdout.split() == ["raised"] * 3 and done.stderr == ""


# --------------------------------------------------------------------------------------------------
# Limits: decompression bombs and truncated clips (issue 17, defects 5 and 12)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> Path:
    """A valid 389 KB grey PNG declaring 20000 x 20000 pixels (1.2 GB decoded as BGR), made in about 1 s."""
    side = 20000
    packer = zlib.compressobj(9)
    rows = (b"\0" * (side + 1)) * 1000  # filter byte + a row of zeros, 1000 rows at a time
    data = b"".join(packer.compress(rows) for _ in range(side // 1000)) + packer.flush()
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))
    return path


BOMB_READERS = {
    "probe": "from pipeline.vision.video import probe as read",
    "iter_frames": "from pipeline.vision.video import iter_frames\nread = lambda p: next(iter_frames(p))",
    "read_rgb": "from pipeline.models.image.inputs import read_rgb as read",
    "label store": "from pathlib import Path\nfrom labeling.frames import decode_image\n"
                   "read = lambda p: decode_image(Path(p).read_bytes(), Path(p).name)",
}


@pytest.mark.parametrize("reader", BOMB_READERS)
def test_an_image_declaring_too_many_pixels_is_refused_from_its_header(bomb, reader):
    """Refused with the limit named, before decoding: the process's peak memory grows by under 200 MB (own
    process, so the peak is this call's; before the cap it decoded 1.2 GB, 2.3 GB peak, in 10 s)."""
    code = (
        "import resource, sys\n" + BOMB_READERS[reader] + "\n"
        "from pipeline.core.errors import InputError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    read(sys.argv[1]); print('read')\n"
        "except InputError as error:\n    print(error)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    message, grown_mb = done.stdout.strip().splitlines()
    # Pillow itself refuses to open past 179 MP (2 x its own 89 MP warning), before our cap: it says so
    assert message == ("'bomb.png' declares over 179 MP; images and video frames are read up to 50 MP, at most "
                       "50000000 pixels (CHORD_STUDIO_MAX_PIXELS); scale it down first.")
    assert int(grown_mb) < 200, done.stdout


def test_an_image_over_the_cap_but_under_pillows_own_limit_is_refused_with_its_size(tmp_path, monkeypatch):
    path = tmp_path / "wide.png"
    cv2.imwrite(str(path), np.zeros((30, 200, 3), np.uint8))
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "5000")
    for call in (lambda: probe(path), lambda: next(iter_frames(path)), lambda: read_frame(path, 0.0)):
        with pytest.raises(InputError) as raised:
            call()
        assert str(raised.value) == ("'wide.png' is 200 x 30 pixels (0.006 MP); images and video frames are read up to "
                                     "0.005 MP, at most 5000 pixels (CHORD_STUDIO_MAX_PIXELS); scale it down first.")
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "6000")
    assert probe(path).width == 200


def test_a_video_whose_frames_exceed_the_pixel_cap_is_refused_by_probe(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "3000")  # the clips are 64 x 48 = 3072 pixels
    path = shutil.copy(clips["mp4"], tmp_path / "big.mp4")
    for call in (lambda: probe(path), lambda: next(iter_frames(path))):
        with pytest.raises(InputError, match=r"'big.mp4' is 64 x 48 pixels .*at most 3000 pixels"):
            call()
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "4000")
    assert probe(path).width == WIDTH


def test_a_truncated_clip_is_read_with_a_warning(tmp_path):
    """An upload cut off: the container says 50 frames, 27 decode; the clip is read, and says so (not the
    whole clips of every container, tested above)."""
    noise = np.random.default_rng(0)
    whole = write_video(tmp_path / "whole.mp4", (noise.integers(0, 255, (HEIGHT, WIDTH, 3), np.uint8)
                                                 for _ in range(COUNT)), FPS)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    info = probe(cut)
    assert 0 < info.frame_count < COUNT - 10
    assert info.warning and f"'cut.mp4' holds {info.frame_count} of the {COUNT} frames" in info.warning
    assert probe(whole).warning is None
    assert len(list(iter_frames(cut, fps=None))) == info.frame_count


def test_difference_hash_bits_follow_the_horizontal_gradient():
    from pipeline.vision.video import difference_hash

    rising = np.tile(np.arange(0, 240, 3, dtype=np.uint8), (60, 1))  # brighter to the right everywhere
    assert difference_hash(rising, side=8) == b"\xff" * 8
    assert difference_hash(rising[:, ::-1].copy()) == bytes(32)  # 256 bits, darker to the right: none set
    half = rising.copy()
    half[30:] = rising[30:, ::-1]  # bottom half falls: its rows' bits clear
    assert difference_hash(half, side=8) == b"\xff" * 4 + bytes(4)
