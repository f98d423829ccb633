"""Benchmark: real-time factors of the guitar synths and of the mux, on a 30 s clip.

Run: ``python -m benchmarks.bench_audio`` (add ``--repeat N`` for more repeats).

A 30 s 640x360 25 fps clip is generated in a temp dir with :func:`pipeline.vision.video.write_video`; a
30 s timeline of 2.5 s chords (one of them ``None``) is played with the "folk" pattern. Reported:
median seconds and real-time factor (audio seconds per second of work) of the performance (MIDI),
each synth, the mux (video stream copied), the mux with burned-in labels (re-encoded), and the whole
:func:`pipeline.audio.mux.render_listen_outputs`; then FluidSynth's time over pluck's.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import median_seconds, print_table
from pipeline.audio.music import PerformanceSettings, perform
from pipeline.audio.mux import mux_audio, render_listen_outputs
from pipeline.audio.synth import fluidsynth_available, fluidsynth_unavailable_reason, render
from pipeline.core.timeline import Segment, Timeline
from pipeline.vision.video import write_video

SECONDS = 30.0
FPS = 25
SIZE = (640, 360)
PROGRESSION = ("C", "G", "Am", "F", "D", "Em", "None", "E", "Bm", "Gm", "A", "Dm")


def make_clip(path: Path) -> Path:
    """A 30 s 640x360 25 fps clip: a coloured bar sweeping across a dark frame."""
    width, height = SIZE

    def frames():
        for i in range(int(SECONDS * FPS)):
            frame = np.full((height, width, 3), 24, np.uint8)
            x = (i * 8) % width
            frame[:, x : x + 40] = (40 + i % 200, 120, 200)
            yield frame

    return write_video(path, frames(), FPS)


def make_timeline() -> Timeline:
    """12 chords of 2.5 s over 30 s."""
    step = SECONDS / len(PROGRESSION)
    return Timeline([Segment(i * step, (i + 1) * step, c) for i, c in enumerate(PROGRESSION)], SECONDS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (median reported)")
    args = parser.parse_args(argv)
    repeat = max(1, args.repeat)
    slow_repeat = max(1, min(repeat, 3))  # the re-encoding runs take seconds each

    timeline = make_timeline()
    settings = PerformanceSettings(pattern="folk")
    performance = perform(timeline, settings)
    synths = ["pluck"] + (["fluidsynth"] if fluidsynth_available() else [])
    if not fluidsynth_available():
        print(f"FluidSynth skipped: {fluidsynth_unavailable_reason()}\n")

    rows = []
    times: dict[str, float] = {}

    def measure(label: str, fn, runs: int = repeat) -> None:
        seconds = median_seconds(fn, repeat=runs, warmup=1)
        times[label] = seconds
        rows.append([label, seconds, SECONDS / seconds])

    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        tmp = Path(tmp)
        clip = make_clip(tmp / "clip.mp4")
        measure("perform (strums -> MIDI)", lambda: perform(timeline, settings).to_midi())
        for synth in synths:
            for rate in (44100, 22050):
                measure(f"synth {synth} {rate} Hz", lambda s=synth, r=rate: render(performance, synth=s, sample_rate=r))
        wav = render(performance, synth="pluck").write_wav(tmp / "guitar.wav")
        measure("mux (video copied, AAC)", lambda: mux_audio(clip, wav, tmp / "copy.mp4"))
        measure(
            "mux + burned-in labels (x264)",
            lambda: mux_audio(clip, wav, tmp / "burn.mp4", timeline=timeline, burn_labels=True),
            runs=slow_repeat,
        )
        for synth in synths:
            measure(
                f"listen outputs, {synth}",
                lambda s=synth: render_listen_outputs(
                    timeline, tmp / f"out-{s}", clip=clip, synth=s, settings=settings
                ),
                runs=slow_repeat,
            )

    print_table(
        f"Audio for a {SECONDS:.0f} s clip ({SIZE[0]}x{SIZE[1]} {FPS} fps, {len(performance.notes)} notes, "
        f"{performance.bpm:g} BPM); median of {repeat} runs ({slow_repeat} for the re-encoding ones)",
        ["step", "seconds", "x real time"],
        rows,
    )
    if "synth fluidsynth 44100 Hz" in times:
        ratios = [
            [f"fluidsynth / pluck, {rate} Hz", times[f"synth fluidsynth {rate} Hz"] / times[f"synth pluck {rate} Hz"]]
            for rate in (44100, 22050)
        ]
        print_table("Time ratios (above 1: FluidSynth is slower)", ["ratio", "value"], ratios)


if __name__ == "__main__":
    main()
