"""Listening outputs: the rendered guitar muxed onto the clip, subtitles, and the one entry point.

:func:`render_listen_outputs` is what the command line (``python -m pipeline listen``) and the apps
call: timeline in; MIDI, WAV, SRT and VTT out, and with a clip an MP4 whose sound is the guitar (or
the guitar over the clip's own sound).

Policies, so that bad input never crashes:

- An empty timeline, or one with only ``None``: :class:`InputError` "nothing to play".
- A timeline longer than the clip: cut at the clip's end (MIDI, WAV and MP4 alike); a warning is
  logged and returned in :attr:`ListenOutputs.warnings` when more than 0.1 s is cut. A timeline that
  starts after the clip ends has nothing to play there: :class:`InputError`.
- A timeline shorter than the clip: the audio is padded with silence to the clip's length.
- A clip without an audio track: the guitar is its only sound, whatever ``mix`` says.
- A missing, corrupt or video-less clip: :class:`InputError`.

The video stream is copied, not re-encoded (fast, and no loss), when it is H.264 in yuv420p (what
browsers play); any other codec is re-encoded to that by ffmpeg, and burned-in labels by moviepy.
Audio is AAC. moviepy and the ffmpeg binary of ``imageio-ffmpeg`` do the work, so no system ffmpeg is needed.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.audio.music import PerformanceSettings, perform
from pipeline.audio.synth import render
from pipeline.core.chords import NO_CHORD, parse_chord
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline
from pipeline.vision.drawing import ChordLabelAnnotator
from pipeline.vision.video import BROWSER_SAFE_ENCODE, is_browser_safe

logger = logging.getLogger(__name__)

TRIM_WARNING_S = 0.1
"""A timeline running past the clip's end by more than this is cut with a warning."""


# --------------------------------------------------------------------------------------------
# Subtitles


def _stamp(seconds: float, separator: str) -> str:
    millis = int(round(max(seconds, 0.0) * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def subtitle_text(timeline: Timeline, fmt: str = "srt") -> str:
    """The timeline's chords as subtitles: one cue per chord segment (``None`` segments have none).

    Args:
        timeline: the chord timeline.
        fmt: ``"srt"`` (SubRip, ``00:00:01,500``) or ``"vtt"`` (WebVTT, ``00:00:01.500``).

    Returns:
        The file's text, UTF-8, ending in a newline.
    """
    if fmt not in ("srt", "vtt"):
        raise InputError(f"Unknown subtitle format {fmt!r}: use 'srt' or 'vtt'.")
    separator = "," if fmt == "srt" else "."
    cues = []
    for segment in timeline.segments:
        chord = parse_chord(segment.chord)
        if chord == NO_CHORD:
            continue
        span = f"{_stamp(segment.start, separator)} --> {_stamp(segment.end, separator)}"
        cues.append(f"{len(cues) + 1}\n{span}\n{chord}\n" if fmt == "srt" else f"{span}\n{chord}\n")
    body = "\n".join(cues)
    return body if fmt == "srt" else "WEBVTT\n\n" + body


def write_subtitles(timeline: Timeline, path: str | Path) -> Path:
    """Write the timeline as subtitles; the suffix (``.srt`` or ``.vtt``) picks the format.

    Returns:
        The path written.
    """
    path = Path(path)
    path.write_text(subtitle_text(timeline, path.suffix.lower().lstrip(".")), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# Burned-in labels


# --------------------------------------------------------------------------------------------
# Clips and muxing


@dataclass(frozen=True)
class ClipInfo:
    """What the mux needs to know about a clip.

    Attributes:
        duration: seconds.
        fps: video frames per second.
        has_audio: whether the clip has a sound track.
        video_codec: ffmpeg's name of the video codec (``"h264"``), if known.
    """

    duration: float
    fps: float
    has_audio: bool
    video_codec: str | None


def _open_clip(path: str | Path):
    """moviepy ``VideoFileClip`` of ``path``, or InputError for a missing or unreadable clip."""
    from moviepy import VideoFileClip

    path = Path(path)
    if not path.is_file():
        raise InputError(f"No clip at {path}.")
    try:
        clip = VideoFileClip(str(path))
    except (OSError, KeyError, IndexError, ValueError, AttributeError, UnicodeDecodeError) as error:
        raise InputError(f"{path.name} is not a readable video clip (corrupt, or not a video).") from error
    if not clip.duration or clip.duration <= 0 or not clip.fps:
        clip.close()
        raise InputError(f"{path.name} has no video frames.")
    return clip


def clip_info(path: str | Path) -> ClipInfo:
    """Duration, frame rate, sound track and codec of a clip.

    Raises:
        InputError: the clip is missing, corrupt, or has no video.
    """
    clip = _open_clip(path)
    try:
        codec = clip.reader.infos.get("video_codec_name")
        return ClipInfo(float(clip.duration), float(clip.fps), clip.audio is not None, codec)
    finally:
        clip.close()


def fit_timeline_to_clip(timeline: Timeline, duration: float) -> tuple[Timeline, str | None]:
    """Cut a timeline at the clip's end, and stretch its duration to the clip's.

    Args:
        timeline: the chord timeline.
        duration: the clip's length in seconds.

    Returns:
        (timeline of exactly ``duration`` seconds, warning or None). The warning says how much was
        cut when more than :data:`TRIM_WARNING_S` was.

    Raises:
        InputError: no chord of the timeline starts before the clip ends.
    """
    segments = [
        Segment(s.start, min(s.end, duration), s.chord, s.probability, s.unsure)
        for s in timeline.segments
        if s.start < duration - 1e-6
    ]
    warning = None
    end = max([s.end for s in timeline.segments] + [timeline.duration or 0.0])
    def has_chords(items: list[Segment]) -> bool:
        return any(parse_chord(s.chord) != NO_CHORD for s in items)

    if has_chords(timeline.segments) and not has_chords(segments):
        raise InputError(
            f"The timeline's chords start after the clip ends ({duration:.2f} s): nothing to play on this clip."
        )
    if end - duration > TRIM_WARNING_S:
        warning = (
            f"The timeline runs to {end:.2f} s, past the clip's {duration:.2f} s: the audio is cut at the clip's end."
        )
        logger.warning(warning)
    return Timeline(segments, float(duration)), warning


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def mux_audio(
    clip: str | Path,
    audio: str | Path,
    out_path: str | Path,
    mix: float = 0.0,
    timeline: Timeline | None = None,
    burn_labels: bool = False,
    annotator: ChordLabelAnnotator | None = None,
) -> Path:
    """Put rendered audio onto a clip, as an H.264/AAC MP4.

    Args:
        clip: the video.
        audio: the rendered guitar (WAV), as long as the clip (shorter is padded by silence, longer cut).
        out_path: the MP4 to write.
        mix: level of the clip's own sound: 0 replaces it with the guitar; 0.3 keeps it at 30 %
            under the guitar at 70 % (levels sum to one, so peaks stay in range); 1 keeps only it.
            Ignored when the clip has no sound track.
        timeline: the chords, needed for ``burn_labels``.
        burn_labels: draw the chord name onto every frame (re-encodes the video).
        annotator: how labels look; default :class:`ChordLabelAnnotator`.

    Returns:
        The path written.

    Raises:
        InputError: the clip is missing or corrupt, ``mix`` is outside 0-1, labels are asked for
            without a timeline, or ``out_path`` is the clip itself.
    """
    if not 0.0 <= mix <= 1.0:
        raise InputError(f"Mix level {mix} is out of range: use 0 (guitar only) to 1 (clip's sound only).")
    if burn_labels and timeline is None:
        raise InputError("Burning in chord labels needs the timeline.")
    out_path = Path(out_path)
    if out_path.resolve() == Path(clip).resolve():
        raise InputError(f"The output {out_path.name} would overwrite the clip it is made from; choose another path.")
    from moviepy import AudioFileClip, CompositeAudioClip

    video = _open_clip(clip)
    try:
        duration = float(video.duration)
        with tempfile.TemporaryDirectory(prefix="chord-mux-") as tmp:
            sound = Path(audio)
            if mix > 0.0 and video.audio is not None:
                guitar = AudioFileClip(str(audio))
                try:
                    mixed = CompositeAudioClip(
                        [guitar.with_volume_scaled(1.0 - mix), video.audio.with_volume_scaled(mix)]
                    ).with_duration(duration)
                    sound = Path(tmp) / "mixed.wav"
                    mixed.write_audiofile(str(sound), fps=guitar.fps, nbytes=2, codec="pcm_s16le", logger=None)
                finally:
                    guitar.close()
            elif mix > 0.0:
                logger.info("The clip has no sound track: the guitar is its only sound.")
            if not burn_labels and _copy_mux(Path(clip), sound, out_path, duration):
                return out_path
            _reencode_mux(video, sound, out_path, Path(tmp), timeline if burn_labels else None, annotator)
            return out_path
    finally:
        video.close()


def _copy_mux(clip: Path, sound: Path, out_path: Path, duration: float) -> bool:
    """Mux by copying the video stream when browsers play it (H.264, yuv420p), else re-encoding it to that
    with ffmpeg (MPEG-4 Part 2 from a phone or camera shows blank in a browser); False when ffmpeg cannot.

    Raises:
        InputError: ffmpeg finds the clip's video data cut short (a header with missing frames).
    """
    command = [
        _ffmpeg(), "-y", "-loglevel", "error", "-i", str(clip), "-i", str(sound),
        "-map", "0:v:0", "-map", "1:a:0", *(["-c:v", "copy"] if is_browser_safe(clip) else BROWSER_SAFE_ENCODE),
        "-c:a", "aac", "-b:a", "192k",
        # the audio is padded, then both streams cut, to the clip's length
        "-af", "apad", "-t", f"{duration:.3f}", "-movflags", "+faststart", str(out_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if "partial file" in result.stderr:  # the header is there but the frames run out: a cut-off upload
        out_path.unlink(missing_ok=True)
        raise InputError(f"{clip.name} is cut short or corrupt: its video data ends early.")
    if result.returncode != 0:
        logger.info("Copying the video stream failed (%s); re-encoding.", result.stderr.strip()[-300:])
        out_path.unlink(missing_ok=True)
        return False
    return True


def _reencode_mux(video, sound: Path, out_path: Path, tmp: Path, timeline: Timeline | None, annotator) -> None:
    """Mux with moviepy, re-encoding the video (libx264), with labels drawn when a timeline is given."""
    from moviepy import AudioFileClip

    if timeline is not None:
        annotator = annotator or ChordLabelAnnotator()
        video = video.transform(lambda get_frame, t: annotator.annotate(get_frame(t), timeline.chord_at(t)))
    guitar = AudioFileClip(str(sound))
    try:
        clip = video.with_audio(guitar.with_duration(min(guitar.duration, video.duration)))
        clip.write_videofile(
            str(out_path), fps=video.fps, codec="libx264", audio_codec="aac", audio_bitrate="192k",
            temp_audiofile_path=str(tmp),  # moviepy's default puts its temp file in the working directory
            pixel_format="yuv420p", ffmpeg_params=["-movflags", "+faststart"], logger=None,
        )
    except (OSError, IOError) as error:
        raise InputError(f"Could not encode {out_path.name}: {error}.") from error
    finally:
        guitar.close()


# --------------------------------------------------------------------------------------------
# The entry point


@dataclass
class ListenOutputs:
    """What :func:`render_listen_outputs` wrote, and how.

    Attributes:
        midi: the performance as a standard MIDI file.
        wav: the rendered guitar, 16-bit mono WAV.
        srt: the chords as SubRip subtitles.
        vtt: the chords as WebVTT subtitles.
        mp4: the clip with the guitar as (or over) its sound; None without a clip.
        synth: the synth that ran: ``"fluidsynth"`` or ``"pluck"``.
        bpm: the tempo played.
        duration: seconds of audio.
        warnings: things the user should know (a fallback synth, a timeline cut to the clip).
    """

    midi: Path
    wav: Path
    srt: Path
    vtt: Path
    mp4: Path | None
    synth: str
    bpm: float
    duration: float
    warnings: list[str] = field(default_factory=list)

    def files(self) -> list[Path]:
        """The files written, for download."""
        return [p for p in (self.midi, self.wav, self.mp4, self.srt, self.vtt) if p is not None]


def render_listen_outputs(
    timeline: Timeline | str | Path,
    out_dir: str | Path,
    clip: str | Path | None = None,
    settings: PerformanceSettings | None = None,
    synth: str = "auto",
    soundfont: str | Path | None = None,
    sample_rate: int = 44100,
    mix: float = 0.0,
    burn_labels: bool = False,
    name: str | None = None,
) -> ListenOutputs:
    """Play a chord timeline on guitar and write everything a musician downloads.

    Args:
        timeline: the timeline, or the path of its JSON (``timeline.json``).
        out_dir: folder for the outputs (created if missing).
        clip: the video to put the guitar onto; None writes audio, MIDI and subtitles only.
        settings: pattern, tempo, guitar, ... (:class:`pipeline.audio.music.PerformanceSettings`).
        synth: ``"auto"``, ``"fluidsynth"`` or ``"pluck"`` (see :func:`pipeline.audio.synth.render`).
        soundfont: a ``.sf2`` for FluidSynth; None for the bundled General MIDI one.
        sample_rate: 44100 or 22050 Hz.
        mix: level of the clip's own sound under the guitar, 0 (replaced) to 1 (see :func:`mux_audio`).
        burn_labels: draw chord names onto the video frames.
        name: file stem of the outputs; default the clip's stem, or ``"chords"``.

    Returns:
        The paths written, the synth that ran, the tempo and any warnings.

    Raises:
        InputError: the timeline is empty, only ``None``, has an unknown chord, or does not overlap
            the clip; the clip is missing or corrupt; the soundfont is missing or invalid; a setting
            is out of range.
    """
    if not isinstance(timeline, Timeline):
        timeline = Timeline.load(timeline)
    settings = settings or PerformanceSettings()
    if not 0.0 <= mix <= 1.0:
        raise InputError(f"Mix level {mix} is out of range: use 0 (guitar only) to 1 (clip's sound only).")
    if not timeline.segments:
        raise InputError("The timeline is empty: there is nothing to play.")
    warnings: list[str] = []
    if clip is not None:
        info = clip_info(clip)
        timeline, warning = fit_timeline_to_clip(timeline, info.duration)
        if warning:
            warnings.append(warning)

    performance = perform(timeline, settings)
    audio = render(performance, synth=synth, sample_rate=sample_rate, soundfont=soundfont)
    warnings += audio.messages

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = name or (Path(clip).stem if clip is not None else "chords")
    midi = performance.write_midi(out_dir / f"{stem}.mid")
    wav = audio.write_wav(out_dir / f"{stem}.wav")
    srt = write_subtitles(timeline, out_dir / f"{stem}.srt")
    vtt = write_subtitles(timeline, out_dir / f"{stem}.vtt")
    mp4 = None
    if clip is not None:
        target = out_dir / f"{stem}.mp4"
        if Path(clip).resolve() == target.resolve():
            target = out_dir / f"{stem}-guitar.mp4"  # never overwrite the clip being read
        mp4 = mux_audio(clip, wav, target, mix=mix, timeline=timeline, burn_labels=burn_labels)
    return ListenOutputs(midi, wav, srt, vtt, mp4, audio.synth, performance.bpm, audio.duration, warnings)
