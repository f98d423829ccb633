"""Guitar audio from a chord timeline: performance (MIDI), both synths, the mux, and bad input.

The audio checks listen to the result rather than trusting the code: a chroma folded from the FFT
of each rendered chord must have that chord's triad as its three strongest pitch classes, and
onsets found by spectral flux must sit on the strums the MIDI says. FluidSynth tests skip only when
libfluidsynth cannot be imported (CI installs Debian libfluidsynth3, so there they run).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.music import PATTERNS, PerformanceSettings, estimate_bpm, perform
from pipeline.audio.mux import (
    ChordLabelAnnotator,
    clip_info,
    fit_timeline_to_clip,
    mux_audio,
    render_listen_outputs,
    subtitle_text,
)
from pipeline.audio.synth import (
    default_soundfont,
    fluidsynth_available,
    fluidsynth_unavailable_reason,
    read_wav,
    render,
)
from pipeline.core.chords import CHORDS, NO_CHORD, chord_pitch_classes, voicing
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline
from pipeline.vision.video import write_video

needs_fluidsynth = pytest.mark.skipif(
    not fluidsynth_available(), reason=f"libfluidsynth is not importable here: {fluidsynth_unavailable_reason()}"
)
SYNTHS = ["pluck", pytest.param("fluidsynth", marks=needs_fluidsynth)]

# A timeline with off-grid changes and a muted stretch: the strums at its boundaries are checked.
CHANGES = Timeline(
    [
        Segment(0.5, 2.0, "C"), Segment(2.0, 3.3, "G"), Segment(3.3, 4.1, NO_CHORD), Segment(4.1, 5.7, "Am"),
        Segment(5.7, 7.2, "Fm"), Segment(7.2, 8.0, "E"), Segment(8.0, 9.4, "Bm"),
    ],
    10.0,
)


# --------------------------------------------------------------------------------------------
# Audio analysis used by the tests


def chroma(samples: np.ndarray, sample_rate: int, fmin: float = 60.0, fmax: float = 1000.0) -> np.ndarray:
    """Energy per pitch class (0 = C), from one Hann-windowed FFT, bins from fmin to fmax Hz.

    The limits keep the guitar's fundamentals (E2 82 Hz to G4 392 Hz) and their first few partials,
    and leave out the rumble below and the high partials that land on other pitch classes.
    """
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / sample_rate)
    keep = (freqs >= fmin) & (freqs <= fmax)
    pitch_class = (np.round(12 * np.log2(freqs[keep] / 440.0)).astype(int) + 9) % 12
    return np.bincount(pitch_class, weights=spectrum[keep], minlength=12)


def onset_times(samples: np.ndarray, sample_rate: int, hop: int = 256, win: int = 1024) -> np.ndarray:
    """Onsets in seconds by spectral flux with an adaptive threshold, each traced back to its rise.

    Log-compressed magnitudes (50 Hz - 5 kHz) of centred frames; the positive frame-to-frame
    difference, summed and lightly smoothed; peaks above a running median (0.5 s) by 0.15 of the
    maximum, at least 0.1 s apart. A strum spreads over 50-100 ms, so each peak is walked back to where
    the flux first rose above 30 % of its height: the first string, not the loudest one.
    """
    from scipy.ndimage import median_filter

    x = np.concatenate([np.zeros(win // 2), samples, np.zeros(win // 2)])
    count = 1 + (len(x) - win) // hop
    index = np.arange(win)[None, :] + hop * np.arange(count)[:, None]
    spectrum = np.abs(np.fft.rfft(x[index] * np.hanning(win)[None, :], axis=1))
    freqs = np.fft.rfftfreq(win, 1.0 / sample_rate)
    spectrum = spectrum[:, (freqs >= 50) & (freqs <= 5000)]
    magnitude = np.log1p(1000 * spectrum / (spectrum.max() + 1e-12))
    flux = np.concatenate([[0.0], np.maximum(np.diff(magnitude, axis=0), 0).sum(axis=1)])
    flux = np.convolve(flux, np.ones(5) / 5, mode="same")
    flux /= flux.max() + 1e-12
    base = median_filter(flux, size=int(0.5 * sample_rate / hop) | 1, mode="nearest")
    gap = int(0.1 * sample_rate / hop)
    peaks: list[int] = []
    for i in range(1, len(flux) - 1):
        if flux[i] >= flux[i - 1] and flux[i] > flux[i + 1] and flux[i] > base[i] + 0.15:
            if peaks and i - peaks[-1] < gap:
                if flux[i] > flux[peaks[-1]]:
                    peaks[-1] = i
                continue
            peaks.append(i)
    starts = []
    for i in peaks:
        level = base[i] + 0.3 * (flux[i] - base[i])
        j = i
        while j > 0 and i - j < int(0.12 * sample_rate / hop) and flux[j - 1] > level:
            j -= 1
        starts.append(j)
    return np.array(starts) * hop / sample_rate  # frame j is centred on sample j * hop


def decoded_audio_seconds(path: Path) -> float:
    """Seconds of the first audio stream of a media file, decoded by the bundled ffmpeg."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a:0",
               "-f", "s16le", "-ac", "1", "-ar", "8000", "-"]
    pcm = subprocess.run(command, capture_output=True, check=True).stdout
    return len(pcm) / 2 / 8000


def make_clip(path: Path, seconds: float, fps: int = 10, size: tuple[int, int] = (160, 120)) -> Path:
    """A small silent test clip (a bar sweeping across), written by the pipeline's own writer."""
    width, height = size

    def frames():
        for i in range(int(round(seconds * fps))):
            frame = np.full((height, width, 3), 30, np.uint8)
            frame[:, (i * 5) % width :][:, :8] = (200, 120, 40)
            yield frame

    return write_video(path, frames(), fps)


# --------------------------------------------------------------------------------------------
# Performance and MIDI


def test_midi_program_strum_spacing_and_direction(tmp_path):
    performance = perform(CHANGES, PerformanceSettings(pattern="folk", bpm=96, humanize=1.0))
    path = performance.write_midi(tmp_path / "song.mid")
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(path))
    assert [i.program for i in midi.instruments] == [25]
    assert len(midi.instruments[0].notes) == len(performance.notes)
    nylon = perform(CHANGES, PerformanceSettings(guitar="nylon", bpm=96)).to_midi()
    assert nylon.instruments[0].program == 24

    by_onset = sorted(performance.notes, key=lambda n: n.start)
    directions = {s.direction for s in performance.strums}
    assert directions == {"down", "up"}
    for strum, following in zip(performance.strums, performance.strums[1:] + [None]):
        stop = following.time if following else float("inf")
        notes = [n for n in by_onset if strum.time - 1e-9 <= n.start < stop - 1e-9]
        assert notes and notes[0].start == pytest.approx(strum.time)
        gaps_ms = np.diff([n.start for n in notes]) * 1000
        assert np.all((gaps_ms >= 8 - 1e-6) & (gaps_ms <= 30 + 1e-6)), gaps_ms
        pitches = [n.pitch for n in notes]
        chord_pitches = voicing(strum.chord).midi_pitches()
        assert set(pitches) <= set(chord_pitches)
        if strum.direction == "down":  # low to high, every string (unless cut by a change)
            assert pitches == sorted(pitches) and pitches[0] == chord_pitches[0]
        else:  # high to low, only the treble strings
            assert pitches == sorted(pitches, reverse=True) and len(pitches) <= 4
            assert pitches[0] == chord_pitches[-1]
    # the MIDI file keeps the spacing (960 ticks per beat)
    reloaded = sorted(midi.instruments[0].notes, key=lambda n: (n.start, n.pitch))
    original = sorted(performance.notes, key=lambda n: (n.start, n.pitch))
    assert max(abs(a.start - b.start) for a, b in zip(reloaded, original)) < 0.001


def test_changes_on_boundaries_ring_and_mute():
    performance = perform(CHANGES, PerformanceSettings(pattern="eighths", bpm=110))
    strums = {s.time: s for s in performance.strums}
    for segment in CHANGES.segments:
        if segment.chord == NO_CHORD:
            assert not any(segment.start <= s.time < segment.end for s in performance.strums)
            # muted: nothing sounds in a None segment
            assert not any(n.start < segment.end and n.end > segment.start for n in performance.notes)
            continue
        assert strums[segment.start].chord == segment.chord and strums[segment.start].direction == "down"
        inside = [n for n in performance.notes if segment.start <= n.start < segment.end]
        assert min(n.start for n in inside) == segment.start
        assert all(n.end <= segment.end + 1e-9 for n in inside)  # never rings into the next chord
    # a string rings until it is struck again (or its segment ends), never overlapping itself
    for string in range(1, 7):
        notes = sorted((n for n in performance.notes if n.string == string), key=lambda n: n.start)
        for a, b in zip(notes, notes[1:]):
            assert a.end <= b.start + 1e-9
            segment_end = next(s.end for s in CHANGES.segments if s.start <= a.start < s.end)
            assert a.end == pytest.approx(min(b.start, segment_end))


def test_velocities_accent_beats():
    settings = PerformanceSettings(pattern="eighths", bpm=120, humanize=0)
    performance = perform(Timeline([Segment(0.0, 4.0, "G")], 4.0), settings)
    first = {}
    for note in sorted(performance.notes, key=lambda n: n.start):
        first.setdefault(round(note.start * 4) / 4, note.velocity)  # first string of each strum
    downbeat, beat, offbeat = first[0.0], first[0.5], first[0.25]
    assert downbeat > beat > offbeat


def test_estimate_bpm_fits_boundaries():
    beat = 60.0 / 90
    segments, t = [], 0.2
    for n in (4, 4, 2, 6, 4, 8, 4):
        segments.append(Segment(round(t, 3), round(t + n * beat, 3), "C"))
        t += n * beat
    assert estimate_bpm(Timeline(segments)) == pytest.approx(90, abs=0.5)
    assert estimate_bpm(Timeline([Segment(0, 5, "C")])) == 100.0  # nothing to fit: the default
    performance = perform(Timeline(segments), PerformanceSettings(pattern="down"))
    assert performance.bpm == pytest.approx(90, abs=0.5)


# --------------------------------------------------------------------------------------------
# Synthesis: chroma, onsets, speed, level


@pytest.mark.parametrize("synth", SYNTHS)
@pytest.mark.parametrize("chord", CHORDS)
def test_chroma_top3_is_the_triad(chord, synth):
    timeline = Timeline([Segment(0.0, 1.2, chord)], 1.2)
    audio = render(perform(timeline, PerformanceSettings(pattern="down", bpm=60)), synth=synth)
    assert audio.synth == synth
    energy = chroma(audio.samples[: audio.sample_rate], audio.sample_rate)
    assert set(np.argsort(energy)[-3:]) == set(chord_pitch_classes(chord))


@pytest.mark.parametrize("synth", SYNTHS)
@pytest.mark.parametrize("pattern", ["down", "folk"])
def test_onsets_on_the_strums(synth, pattern):
    performance = perform(CHANGES, PerformanceSettings(pattern=pattern, bpm=90))
    audio = render(performance, synth=synth)
    onsets = onset_times(audio.samples, audio.sample_rate)
    for segment in CHANGES.segments:  # every chord change is heard within 50 ms of its strum
        if segment.chord != NO_CHORD:
            assert np.min(np.abs(onsets - segment.start)) < 0.05, (segment, onsets)
    strums = np.array([s.time for s in performance.strums])
    # nothing is heard where no strum is (the muted stretch stays quiet)
    assert all(np.min(np.abs(strums - t)) < 0.05 for t in onsets), onsets
    if pattern == "down":  # plain down strums: every one of them is heard
        assert all(np.min(np.abs(onsets - t)) < 0.05 for t in strums)


@pytest.mark.parametrize("synth", SYNTHS)
def test_renders_the_whole_timeline_with_every_chord_heard(synth):
    # speed is measured by benchmarks/bench_audio.py, not asserted here
    segments = [Segment(i * 1.25, (i + 1) * 1.25, CHORDS[(3 * i) % len(CHORDS)]) for i in range(8)]
    performance = perform(Timeline(segments, 10.0), PerformanceSettings(pattern="eighths", bpm=120))
    audio = render(performance, synth=synth)
    assert audio.duration == pytest.approx(10.0) and len(audio.samples) == round(10.0 * audio.sample_rate)
    assert np.isfinite(audio.samples).all()
    for segment in segments:  # no chord falls silent
        part = audio.samples[round(segment.start * audio.sample_rate):round(segment.end * audio.sample_rate)]
        assert np.sqrt(np.mean(part ** 2)) > 0.01, segment


@pytest.mark.parametrize("synth", SYNTHS)
@pytest.mark.parametrize("rate", [44100, 22050])
def test_level_and_wav(synth, rate, tmp_path):
    audio = render(perform(CHANGES, PerformanceSettings(bpm=100)), synth=synth, sample_rate=rate)
    assert audio.sample_rate == rate and len(audio.samples) == round(10.0 * rate)
    peak_db = 20 * np.log10(np.max(np.abs(audio.samples)))
    assert peak_db == pytest.approx(-1.0, abs=0.05)  # normalised, never clipped
    path = audio.write_wav(tmp_path / "a.wav")
    with wave.open(str(path)) as handle:
        assert (handle.getsampwidth(), handle.getnchannels(), handle.getframerate()) == (2, 1, rate)
    samples, read_rate = read_wav(path)
    assert read_rate == rate and np.max(np.abs(samples - audio.samples)) < 1e-4


def test_auto_falls_back_to_pluck_without_fluidsynth(monkeypatch, caplog):
    import pipeline.audio.synth as synth_module

    monkeypatch.setattr(synth_module, "fluidsynth_unavailable_reason", lambda: "FluidSynth is not available (test)")
    performance = perform(Timeline([Segment(0, 1, "C")], 1.0))
    with caplog.at_level(logging.WARNING, logger="pipeline.audio.synth"):
        audio = render(performance, synth="auto")
    assert audio.synth == "pluck" and "plucked-string" in audio.messages[0]
    assert any("plucked-string" in r.getMessage() for r in caplog.records)
    with pytest.raises(InputError, match="pluck"):
        render(performance, synth="fluidsynth")


@needs_fluidsynth
def test_auto_prefers_fluidsynth_and_survives_its_failure(monkeypatch):
    import pipeline.audio.synth as synth_module

    performance = perform(Timeline([Segment(0, 1, "C")], 1.0))
    assert render(performance).synth == "fluidsynth"

    def broken(*args, **kwargs):
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(synth_module, "render_fluidsynth", broken)
    audio = render(performance, synth="auto")
    assert audio.synth == "pluck" and "driver exploded" in audio.messages[0]


@needs_fluidsynth
def test_user_soundfont_is_used(tmp_path):
    copy = tmp_path / "mine.sf2"
    copy.write_bytes(default_soundfont().read_bytes())
    audio = render(perform(Timeline([Segment(0, 1, "G")], 1.0)), synth="fluidsynth", soundfont=copy)
    assert audio.synth == "fluidsynth" and np.any(audio.samples)


# --------------------------------------------------------------------------------------------
# Mux, subtitles and the entry point


def test_subtitles():
    timeline = Timeline([Segment(0.0, 1.5, "C"), Segment(1.5, 2.0, NO_CHORD), Segment(2.0, 3661.25, "a minor")])
    assert subtitle_text(timeline, "srt") == (
        "1\n00:00:00,000 --> 00:00:01,500\nC\n\n2\n00:00:02,000 --> 01:01:01,250\nAm\n"
    )
    assert subtitle_text(timeline, "vtt") == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nC\n\n00:00:02.000 --> 01:01:01.250\nAm\n"
    )


def test_listen_outputs_with_a_silent_clip(tmp_path):
    clip = make_clip(tmp_path / "take.mp4", 4.0)
    assert clip_info(clip).has_audio is False
    timeline = Timeline([Segment(0.0, 1.5, "G"), Segment(1.5, 2.5, NO_CHORD), Segment(2.5, 3.5, "D")], 3.5)
    settings = PerformanceSettings(bpm=100)
    out = render_listen_outputs(timeline, tmp_path / "out", clip=clip, synth="pluck", settings=settings)
    assert out.synth == "pluck" and out.bpm == 100 and out.warnings == []
    assert {p.name for p in out.files()} == {"take.mid", "take.wav", "take.mp4", "take.srt", "take.vtt"}
    # the audio is padded to the clip's 4 s, and the mp4's audio stream lasts as long as its video
    assert out.duration == pytest.approx(4.0)
    assert decoded_audio_seconds(out.mp4) == pytest.approx(4.0, abs=0.05)
    info = clip_info(out.mp4)
    assert info.has_audio and info.duration == pytest.approx(4.0, abs=0.05) and info.video_codec == "h264"
    assert out.srt.read_text() == "1\n00:00:00,000 --> 00:00:01,500\nG\n\n2\n00:00:02,500 --> 00:00:03,500\nD\n"
    assert out.vtt.read_text().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nG\n")


def test_mix_onto_a_clip_with_sound_and_burned_labels(tmp_path):
    timeline = Timeline([Segment(0.0, 1.0, "E"), Segment(1.0, 2.0, "A")], 2.0)
    first = render_listen_outputs(timeline, tmp_path / "a", clip=make_clip(tmp_path / "clip.mp4", 2.0), synth="pluck")
    assert clip_info(first.mp4).has_audio
    out = render_listen_outputs(timeline, tmp_path / "b", clip=first.mp4, synth="pluck", mix=0.4, burn_labels=True)
    assert decoded_audio_seconds(out.mp4) == pytest.approx(2.0, abs=0.05)
    from moviepy import VideoFileClip

    with VideoFileClip(str(out.mp4)) as video:
        labelled = video.get_frame(0.5)
    plain = ChordLabelAnnotator().annotate(np.zeros((120, 160, 3), np.uint8), None)
    assert not plain.any()  # no chord, no label
    corner = labelled[5:25, 5:40].astype(int)
    assert corner.max() > 200  # white label text on its dark box, top left
    with pytest.raises(InputError, match="Mix level"):
        mux_audio(first.mp4, first.wav, tmp_path / "x.mp4", mix=1.5)
    with pytest.raises(InputError, match="overwrite"):
        mux_audio(first.mp4, first.wav, first.mp4)


def test_nothing_written_to_the_working_directory(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    clip = make_clip(tmp_path / "c.mp4", 1.0)
    timeline = Timeline([Segment(0, 1, "C")], 1.0)
    render_listen_outputs(timeline, tmp_path / "o", clip=clip, synth="pluck", burn_labels=True)
    assert list(work.iterdir()) == []


def test_heavy_libraries_load_lazily():
    """Playing a timeline loads no audio or video library until it is used; muxing draws chord labels
    (:mod:`pipeline.vision.drawing`, which needs OpenCV at import), so only OpenCV comes with it."""
    heavy = "('pretty_midi', 'moviepy', 'fluidsynth', 'scipy', 'cv2')"
    code = (
        "import sys, pipeline.audio.music, pipeline.audio.synth; "
        f"print(sorted(m for m in {heavy} if m in sys.modules)); "
        "import pipeline.audio.mux; "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.split("\n")[:2] == ["[]", "['cv2']"]


# --------------------------------------------------------------------------------------------
# Bad input


def test_empty_or_chordless_timeline_has_nothing_to_play(tmp_path):
    with pytest.raises(InputError, match="nothing to play"):
        perform(Timeline([], 3.0))
    with pytest.raises(InputError, match="nothing to play"):
        render_listen_outputs(Timeline([Segment(0, 2, NO_CHORD)], 2.0), tmp_path)
    with pytest.raises(InputError, match="nothing to play"):
        render_listen_outputs(Timeline([]), tmp_path)


def test_unknown_chord_name(tmp_path):
    with pytest.raises(InputError, match="Unknown chord name 'H7'"):
        perform(Timeline([Segment(0, 1, "H7")]))
    path = tmp_path / "timeline.json"
    path.write_text('{"duration": 1, "segments": [{"start": 0, "end": 1, "chord": "Q#"}]}')
    with pytest.raises(InputError, match="Unknown chord name"):
        render_listen_outputs(path, tmp_path / "out")


def test_bad_soundfont(tmp_path):
    timeline = Timeline([Segment(0, 1, "C")], 1.0)
    with pytest.raises(InputError, match="No soundfont file"):
        render(perform(timeline), soundfont=tmp_path / "missing.sf2")
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"not a soundfont at all")
    with pytest.raises(InputError, match="not a SoundFont"):
        render(perform(timeline), synth="pluck", soundfont=fake)
    with pytest.raises(InputError, match="No soundfont file"):
        render_listen_outputs(timeline, tmp_path / "out", soundfont="/nowhere/gm.sf2")


def test_bad_clips(tmp_path):
    timeline = Timeline([Segment(0, 1, "C")], 1.0)
    with pytest.raises(InputError, match="No clip"):
        render_listen_outputs(timeline, tmp_path / "o", clip=tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match="not a readable video"):
        render_listen_outputs(timeline, tmp_path / "o", clip=junk)
    good = make_clip(tmp_path / "good.mp4", 10.0, size=(320, 240))
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[:1000])  # cut inside the header (faststart puts it first)
    with pytest.raises(InputError, match="not a readable video"):
        render_listen_outputs(timeline, tmp_path / "o", clip=truncated)
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])  # header whole, frames cut
    with pytest.raises(InputError, match="cut short"):
        render_listen_outputs(timeline, tmp_path / "o", clip=truncated)


def test_timeline_longer_than_clip_is_cut_with_a_warning(tmp_path, caplog):
    clip = make_clip(tmp_path / "short.mp4", 2.0)
    timeline = Timeline([Segment(0.0, 1.5, "C"), Segment(1.5, 4.0, "G"), Segment(4.0, 6.0, "D")], 6.0)
    with caplog.at_level(logging.WARNING, logger="pipeline.audio.mux"):
        out = render_listen_outputs(timeline, tmp_path / "o", clip=clip, synth="pluck")
    assert out.duration == pytest.approx(2.0) and "cut at the clip's end" in out.warnings[0]
    assert any("cut at the clip's end" in r.getMessage() for r in caplog.records)
    assert decoded_audio_seconds(out.mp4) == pytest.approx(2.0, abs=0.05)
    assert "G" in out.srt.read_text() and "D" not in out.srt.read_text()
    fitted, warning = fit_timeline_to_clip(timeline, 2.0)
    assert [s.chord for s in fitted.segments] == ["C", "G"] and fitted.segments[-1].end == 2.0 and warning
    with pytest.raises(InputError, match="after the clip ends"):
        fit_timeline_to_clip(Timeline([Segment(0, 3, NO_CHORD), Segment(3, 5, "C")]), 2.0)


def test_bad_settings():
    with pytest.raises(InputError, match="strumming pattern"):
        PerformanceSettings(pattern="polka")
    with pytest.raises(InputError, match="String gap"):
        PerformanceSettings(string_gap_ms=40)
    with pytest.raises(InputError, match="guitar"):
        PerformanceSettings(guitar="banjo")
    performance = perform(Timeline([Segment(0, 1, "C")], 1.0))
    with pytest.raises(InputError, match="Unknown synth"):
        render(performance, synth="moog")
    with pytest.raises(InputError, match="Sample rate"):
        render(performance, sample_rate=48000)
    assert set(PATTERNS) >= {"down", "folk", "waltz"}
