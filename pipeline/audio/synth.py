"""Synthesis: a :class:`~pipeline.audio.music.Performance` rendered to guitar audio.

Two synths:

- ``"fluidsynth"``: FluidSynth plays the performance's MIDI with a General MIDI soundfont, by default
  the ``TimGM6mb.sf2`` that the pretty_midi wheel carries (or a user's ``.sf2``). Needs the system
  library (Debian ``libfluidsynth3``) and pyfluidsynth.
- ``"pluck"``: a plucked-string synth of our own, always available. Extended Karplus-Strong: each
  string has its own decay time and loop brightness, the pick position shapes the excitation (a
  comb filter), a velocity-dependent excitation brightness, a fractional delay that tunes every
  note exactly, and a guitar-body filter (low resonances) on the mix.

``synth="auto"`` takes FluidSynth when it imports and falls back to ``"pluck"`` otherwise, or when
FluidSynth fails at run time; the fallback is logged as a warning on this module's logger and kept
in :attr:`Audio.messages` for the apps to show. It never crashes for want of FluidSynth.

Output is mono float32 normalised to a peak of -1 dBFS (no clipping), at 44100 or 22050 Hz, and
:meth:`Audio.write_wav` writes 16-bit PCM WAV.

Why the pluck synth is fast: a string's sound is linear in its excitation, so each distinct
(string, pitch) is synthesised once per render, for a soft and a hard excitation in two takes at once
(rows of one array), and every note is a velocity-weighted blend of the two, cut to its length with a
short damping ramp and added in place. The Karplus-Strong recursion needs only samples one period
back, so it runs one whole period per numpy step rather than one sample per Python step.
"""

from __future__ import annotations

import functools
import logging
import math
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.audio.music import Performance, StringNote
from pipeline.core.errors import InputError

logger = logging.getLogger(__name__)

SYNTHS = ("auto", "fluidsynth", "pluck")
"""Accepted values of ``synth``."""
SAMPLE_RATES = (44100, 22050)
"""Accepted output sample rates in Hz."""
PEAK_DBFS = -1.0
"""Peak level of the normalised output."""
TAKES = 2
"""Pluck synth: recorded-like takes per (string, pitch), used in turn."""


@dataclass(frozen=True)
class PluckSettings:
    """Voice of the plucked-string synth; per-string tuples run from string 6 (low E) to 1 (high E).

    Attributes:
        decay_s: time for a string to fall by 60 dB (T60) at its fundamental, seconds.
        brightness: loop-filter brightness per string, 0.5 (dull, plain Karplus-Strong average) to
            just under 1 (bright, slow loss of high partials). Wound bass strings are duller.
        pick_position: where the pick strikes, as a fraction of the string length from the bridge;
            it notches the harmonics that have a node there.
        release_s: how fast a string is damped when a note ends (fretting hand, or the next strike).
        body: add the guitar-body resonances.
        seed: seed of the excitation noise (renders are repeatable).
    """

    decay_s: tuple[float, ...] = (4.5, 4.0, 3.5, 3.0, 2.6, 2.2)
    brightness: tuple[float, ...] = (0.58, 0.62, 0.66, 0.72, 0.76, 0.8)
    pick_position: float = 0.13
    release_s: float = 0.025
    body: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.decay_s) != 6 or len(self.brightness) != 6:
            raise InputError("Pluck settings need six decay times and six brightness values, low E first.")
        if min(self.decay_s) <= 0:
            raise InputError("String decay times must be positive.")
        if not all(0.5 <= b < 1.0 for b in self.brightness):
            raise InputError("String brightness must be from 0.5 to just under 1.")
        if not 0.02 <= self.pick_position <= 0.5:
            raise InputError("Pick position must be from 0.02 to 0.5 of the string length.")


@dataclass
class Audio:
    """Rendered audio.

    Attributes:
        samples: mono float32, shape (n,), peak at about -1 dBFS (all zeros if silent).
        sample_rate: samples per second.
        synth: the synth that actually ran: ``"fluidsynth"`` or ``"pluck"``.
        messages: things the user should know (a fallback from FluidSynth to pluck).
    """

    samples: np.ndarray
    sample_rate: int
    synth: str
    messages: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def write_wav(self, path: str | Path) -> Path:
        """Write 16-bit PCM mono WAV; returns the path."""
        return write_wav(path, self.samples, self.sample_rate)


def default_soundfont() -> Path:
    """The General MIDI soundfont that the pretty_midi wheel carries (``TimGM6mb.sf2``)."""
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        raise InputError("pretty_midi is not installed, so there is no bundled soundfont.")
    return Path(spec.origin).parent / "TimGM6mb.sf2"


@functools.lru_cache(maxsize=1)
def fluidsynth_unavailable_reason() -> str | None:
    """Why FluidSynth cannot run here, or None when it can (pyfluidsynth imports its library)."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth loads libfluidsynth when imported)
    except (ImportError, OSError) as error:
        return f"FluidSynth is not available ({error}); install the system library libfluidsynth3"
    return None


def fluidsynth_available() -> bool:
    """True when FluidSynth can render here."""
    return fluidsynth_unavailable_reason() is None


def check_soundfont(path: str | Path) -> Path:
    """Check that ``path`` is a readable SoundFont 2 file (RIFF ``sfbk``).

    Raises:
        InputError: the file is missing, unreadable, or not a SoundFont.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"No soundfont file at {path}.")
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        raise InputError(f"Cannot read the soundfont {path}: {error}.") from error
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise InputError(f"{path.name} is not a SoundFont 2 (.sf2) file.")
    return path


def render(
    performance: Performance,
    synth: str = "auto",
    sample_rate: int = 44100,
    soundfont: str | Path | None = None,
    pluck: PluckSettings | None = None,
) -> Audio:
    """Render a performance to guitar audio.

    Args:
        performance: what to play (see :func:`pipeline.audio.music.perform`).
        synth: ``"auto"`` (FluidSynth when available, else pluck, with a logged warning),
            ``"fluidsynth"`` or ``"pluck"``.
        sample_rate: 44100 or 22050 Hz.
        soundfont: a ``.sf2`` for FluidSynth; None uses pretty_midi's bundled General MIDI one.
        pluck: voice of the plucked-string synth.

    Returns:
        Audio of exactly ``performance.duration`` seconds, normalised to -1 dBFS peak.

    Raises:
        InputError: unknown synth or sample rate; a soundfont that is missing, not a SoundFont, or
            has no sound for the guitar program; ``synth="fluidsynth"`` where FluidSynth is absent.
    """
    if synth not in SYNTHS:
        raise InputError(f"Unknown synth {synth!r}: use one of {', '.join(SYNTHS)}.")
    if sample_rate not in SAMPLE_RATES:
        raise InputError(f"Sample rate {sample_rate} Hz is not supported: use 44100 or 22050.")
    if soundfont is not None:
        soundfont = check_soundfont(soundfont)  # a bad path is an error whichever synth runs
    length = int(round(performance.duration * sample_rate))
    messages: list[str] = []

    if synth in ("auto", "fluidsynth"):
        reason = fluidsynth_unavailable_reason()
        if reason is None:
            try:
                samples = render_fluidsynth(performance, sample_rate, soundfont)
                return Audio(normalize(_fit(samples, length)), sample_rate, "fluidsynth", messages)
            except InputError:
                raise
            except Exception as error:  # a library failure at run time: auto falls back, below
                if synth == "fluidsynth":
                    raise
                reason = f"FluidSynth failed ({type(error).__name__}: {error})"
        elif synth == "fluidsynth":
            raise InputError(f"{reason}, or choose the 'pluck' synth.")
        message = f"{reason}: rendering with the built-in plucked-string synth instead."
        logger.warning(message)
        messages.append(message)

    samples = render_pluck(performance.notes, performance.duration, sample_rate, pluck)
    return Audio(normalize(_fit(samples, length)), sample_rate, "pluck", messages)


def render_fluidsynth(
    performance: Performance, sample_rate: int = 44100, soundfont: str | Path | None = None
) -> np.ndarray:
    """Render with FluidSynth through ``pretty_midi.PrettyMIDI.fluidsynth``.

    Args:
        performance: what to play.
        sample_rate: output rate in Hz.
        soundfont: ``.sf2`` path; None for pretty_midi's bundled ``TimGM6mb.sf2``.

    Returns:
        Mono float32 samples, shape (n,), normalised to -1 dBFS; n covers the notes plus pretty_midi's
        one second of tail (``render`` cuts it to the performance's duration).

    Raises:
        ImportError: FluidSynth is not available.
        InputError: the soundfont cannot be loaded or has no sound for the guitar's program.
    """
    import fluidsynth

    path = check_soundfont(soundfont if soundfont is not None else default_soundfont())
    midi = performance.to_midi()
    synthesizer = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        sfid = synthesizer.sfload(str(path))
        if sfid < 0:
            raise InputError(f"FluidSynth could not load the soundfont {path.name}.")
        # normalize=False: pretty_midi's own normalisation divides by zero on silence
        samples = midi.fluidsynth(fs=sample_rate, synthesizer=synthesizer, sfid=sfid, normalize=False)
    finally:
        synthesizer.delete()
    if performance.notes and not np.any(samples):
        program = performance.settings.program
        raise InputError(f"The soundfont {path.name} has no sound for General MIDI program {program} (guitar).")
    return normalize(np.asarray(samples, dtype=np.float64))


def render_pluck(
    notes: list[StringNote],
    duration: float,
    sample_rate: int = 44100,
    settings: PluckSettings | None = None,
) -> np.ndarray:
    """Render plucked strings with the extended Karplus-Strong synth.

    Args:
        notes: the strings to pluck (onset, end, pitch, velocity, string number 6..1).
        duration: output length in seconds; notes past it are cut.
        sample_rate: output rate in Hz.
        settings: the synth's voice; defaults to :class:`PluckSettings`.

    Returns:
        Mono float32 samples, shape (round(duration * sample_rate),), normalised to -1 dBFS.
    """
    settings = settings or PluckSettings()
    length = int(round(duration * sample_rate))
    out = np.zeros(length, dtype=np.float64)
    rng = np.random.default_rng(settings.seed)
    release = max(1, int(settings.release_s * sample_rate))
    ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, release))

    # Longest sounding time per (string, pitch): each is synthesised once, that long.
    wanted: dict[tuple[int, int], int] = {}
    for note in notes:
        start = int(round(note.start * sample_rate))
        if start >= length:
            continue
        span = min(int(round(note.end * sample_rate)), length) - start + release
        key = (note.string, note.pitch)
        wanted[key] = max(wanted.get(key, 0), span)
    templates = {
        key: _pluck_string(key[1], 6 - key[0], span, sample_rate, settings, rng) for key, span in sorted(wanted.items())
    }

    strikes: dict[tuple[int, int], int] = {}
    for note in notes:
        start = int(round(note.start * sample_rate))
        if start >= length:
            continue
        key = (note.string, note.pitch)
        strikes[key] = strikes.get(key, -1) + 1
        # alternate between the takes, so that repeated strums are not identical copies
        soft, hard = templates[key][strikes[key] % len(templates[key])]
        ring = min(int(round(note.end * sample_rate)), length) - start
        stop = min(ring + release, len(soft), length - start)
        level = note.velocity / 127.0
        hardness = level**1.5  # harder picking excites more high partials
        voice = (1.0 - hardness) * soft[:stop] + hardness * hard[:stop]
        voice *= level**1.6  # loudness grows faster than velocity, as on the instrument
        if ring < stop:  # damped: the fretting hand (or the next strike) stops the string
            tail = voice[ring:stop]
            tail *= ramp[: len(tail)]
        out[start : start + stop] += voice

    if settings.body:
        out = _body_filter(out, sample_rate)
    return normalize(out)


def _pluck_string(
    pitch: int, string_index: int, length: int, sample_rate: int, settings: PluckSettings, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """One string plucked softly and hard, in :data:`TAKES` takes: (soft, hard) arrays of ``length`` samples.

    Takes differ in their noise and pick position (a little nearer the neck each), as real strikes do.

    The loop ``y[n] = x[n] + g (a0 y[n-N] + a1 y[n-N-1] + a2 y[n-N-2])`` combines the brightness
    low-pass ``[s, 1 - s]`` with a linear-interpolation fractional delay, so that the loop's total
    delay ``N + (1 - s) + frac`` equals the period exactly; ``g`` sets the string's T60. Each step
    reads only samples one period back, so a whole period (N samples) is computed per numpy step.
    """
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    period = sample_rate / f0
    s = settings.brightness[string_index]
    n = int(math.floor(period - (1.0 - s)))
    frac = period - (1.0 - s) - n
    taps = np.array([s * (1 - frac), s * frac + (1 - s) * (1 - frac), (1 - s) * frac])
    omega = 2.0 * np.pi / period
    lowpass_gain = abs(taps @ np.exp(-1j * omega * np.arange(3)))
    t60 = settings.decay_s[string_index]
    g = min(0.99995, 10.0 ** (-3.0 / (t60 * f0)) / lowpass_gain)
    a0, a1, a2 = g * taps

    # Excitation: the string's shape at release, one period long. A pick pulls the string into a
    # triangle with its apex at the pick position (harmonics fall as sin(k pi beta) / k^2, so the
    # fundamental leads); a hard pick adds a scrape of noise, a soft one is rounded off.
    burst = max(2, int(round(period)))
    phase = np.arange(burst) / burst
    rows = []
    for take in range(TAKES):
        beta = min(0.5, settings.pick_position * (1.0 + 0.15 * take))
        triangle = np.where(phase < beta, phase / beta, (1.0 - phase) / (1.0 - beta))
        soft = np.empty_like(triangle)
        acc = triangle[0]
        for i, v in enumerate(triangle):  # one-pole low-pass; a period is at most ~540 samples
            acc = 0.7 * acc + 0.3 * v
            soft[i] = acc
        rows += [soft, triangle + 0.12 * rng.uniform(-1.0, 1.0, burst)]
    excitation = np.stack(rows)
    excitation -= excitation.mean(axis=1, keepdims=True)
    excitation /= np.abs(excitation).max(axis=1, keepdims=True) + 1e-12

    pad = n + 2
    total = pad + length
    y = np.zeros((len(rows), total))
    y[:, pad : pad + min(burst, length)] = excitation[:, : min(burst, length)]
    for start in range(pad, total, n):
        stop = min(start + n, total)
        back = start - n  # one period back
        y[:, start:stop] += (
            a0 * y[:, back : stop - n] + a1 * y[:, back - 1 : stop - n - 1] + a2 * y[:, back - 2 : stop - n - 2]
        )
    return [(y[2 * take, pad:], y[2 * take + 1, pad:]) for take in range(TAKES)]


def _body_filter(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """A guitar body: air and top-plate resonances (peaks near 100 and 200 Hz), a soft top cut.

    Also removes DC and sub-audio rumble (high-pass at 40 Hz), which the resonances would otherwise
    amplify.
    """
    from scipy import signal

    sections = [
        _peaking(105.0, 5.0, 4.0, sample_rate),
        _peaking(210.0, 3.0, 3.0, sample_rate),
        _peaking(2800.0, -3.0, 0.8, sample_rate),
        signal.butter(2, 40.0, "highpass", fs=sample_rate, output="sos")[0],
    ]
    return signal.sosfilt(np.array(sections), samples)


def _peaking(freq: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """RBJ peaking-EQ biquad as one second-order section [b0, b1, b2, 1, a1, a2]."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp])
    return np.concatenate([b / a[0], a / a[0]])


def normalize(samples: np.ndarray, peak_dbfs: float = PEAK_DBFS) -> np.ndarray:
    """Scale to a peak of ``peak_dbfs`` (silence stays silent).

    Args:
        samples: audio, shape (n,).
        peak_dbfs: the peak level wanted, in dB relative to full scale.

    Returns:
        float32 samples, shape (n,).
    """
    samples = np.asarray(samples, dtype=np.float64)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0:
        samples = samples * (10.0 ** (peak_dbfs / 20.0) / peak)
    return samples.astype(np.float32)


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono 16-bit PCM WAV.

    Args:
        path: output file.
        samples: float audio in [-1, 1], shape (n,); values beyond are clipped.
        sample_rate: samples per second.

    Returns:
        The path written.
    """
    path = Path(path)
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(int(sample_rate))
        handle.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV written by :func:`write_wav`.

    Returns:
        (samples, sample_rate): float32 samples in [-1, 1] of shape (n,) (channels averaged), and Hz.

    Raises:
        InputError: the file is missing or not 16-bit PCM WAV.
    """
    try:
        with wave.open(str(path), "rb") as handle:
            if handle.getsampwidth() != 2:
                raise InputError(f"{Path(path).name} is not 16-bit PCM WAV.")
            channels, rate = handle.getnchannels(), handle.getframerate()
            data = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    except (FileNotFoundError, wave.Error, EOFError) as error:
        raise InputError(f"Cannot read the WAV file {path}: {error}.") from error
    samples = data.reshape(-1, channels).mean(axis=1) / 32768.0
    return samples.astype(np.float32), rate


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut or pad with silence to ``length`` samples (float32)."""
    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - len(samples), dtype=np.float32)])
