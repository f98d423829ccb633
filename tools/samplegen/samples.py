"""The committed sample media: which clips and still ``python -m tools.samplegen --out sample_media`` writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.samplegen.clips import make_clip
from tools.samplegen.datasets import write_jpeg
from tools.samplegen.render import render_frame
from tools.samplegen.scene import Scene


@dataclass(frozen=True)
class SampleClip:
    """One committed sample clip: its file name, progression, seed and options.

    ``scene_seed`` films the clip in the scene of another sample clip's seed (None: its own scene). The
    sample model is trained on the sample scenes, so a clip in a known scene leaves that model as it is.
    """

    name: str
    progression: tuple[tuple[str, float], ...]
    seed: int
    hand: bool = True
    shake: float = 1.0
    scene_seed: int | None = None

    @property
    def scene(self) -> Scene:
        """The scene the clip is filmed in, as ``make_clip`` draws it from the seed."""
        seed = self.seed if self.scene_seed is None else self.scene_seed
        return Scene.random(np.random.default_rng(seed))


SAMPLE_CLIPS = (
    SampleClip(
        "progression.mp4", (("C", 2.0), ("G", 2.0), ("Am", 2.0), ("None", 1.0), ("F", 2.0), ("C", 1.0)), seed=11
    ),
    SampleClip("strumming_em_d.mp4", (("Em", 1.5), ("D", 1.5), ("Em", 1.5), ("D", 1.5)), seed=23, shake=2.0),
    SampleClip("no_hand.mp4", (("None", 3.0),), seed=5, hand=False),
    # 108 BPM in 4/4, bars and half bars: changes at 2.22, 4.44, 5.56, 6.67 and 8.89 s, off the whole
    # seconds and off the 0.2 s sampling grid, as in real playing (the clips above change on whole seconds).
    SampleClip(
        "progression_108bpm.mp4",
        (("G", 20 / 9), ("D", 20 / 9), ("Em", 10 / 9), ("C", 10 / 9), ("G", 20 / 9), ("D", 10 / 9)),
        seed=31, scene_seed=11,
    ),
)
"""The clips ``python -m tools.samplegen --out sample_media`` writes."""
SAMPLE_STILL = ("chord_G.jpg", "G", 7)
"""The still frame: file name, chord and seed."""


def sample_scenes() -> list[Scene]:
    """The scenes (camera, guitar, player) of the sample clips that show a hand, as ``make_clip`` draws them.

    A clip filmed in another clip's scene (``scene_seed``) adds none.
    """
    return [clip.scene for clip in SAMPLE_CLIPS if clip.hand and clip.scene_seed is None]

_SAMPLE_README = """\
# Sample media

Synthetic renders made by this project's own generator, `tools/samplegen/`. Regenerate them
(deterministically) with:

    python -m tools.samplegen --out sample_media

Nothing here is real footage: a guitar neck and a shaded hand are drawn with numpy and OpenCV, with the
fingertips on the strings and frets of each chord's voicing (`pipeline.core.chords.VOICINGS`).

| file | what it is |
| --- | --- |
{rows}

Ground truth beside each clip:

- `<clip>.timeline.json`: the chords held, as a `pipeline.core.timeline.Timeline`
  (`{{"duration": s, "segments": [{{"start", "end", "chord", "probability"}}]}}`). A change sits at the
  middle of the hand's move from one shape to the next (the move takes about 0.3 s).
- `<clip>.fretboard.csv`: the fretboard's box per frame (`frame, time, x1, y1, x2, y2` in pixels of the
  640x360 frame): the playing surface from the nut to where it leaves the frame. The camera drifts by a
  pixel or two, so the box does too.

All clips are 640x360 H.264 MP4 at 25 fps.

Licence: made by the project and released under the project's licence; no third-party material.
"""


def write_sample_media(out: str | Path) -> list[Path]:
    """Regenerate the committed sample media into ``out`` (see ``sample_media/README.md``).

    Args:
        out: folder to write into (created).

    Returns:
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    for clip in SAMPLE_CLIPS:
        truth = make_clip(
            out / clip.name, clip.progression, fps=25, seed=clip.seed, hand=clip.hand, shake=clip.shake, quality=24,
            scene=None if clip.scene_seed is None else clip.scene,  # None: drawn from the seed, as always
        )
        written += [truth.video, truth.timeline_path, truth.fretboard_path]
        steps = " ".join(f"{c} ({s:.3g} s)" for c, s in clip.progression)
        what = "the neck alone, no hand in view" if not clip.hand else f"a hand playing {steps}"
        rows.append(f"| `{clip.name}` | {truth.duration:g} s: {what} |")
    name, chord, seed = SAMPLE_STILL
    frame, _ = render_frame(chord, np.random.default_rng(seed))
    write_jpeg(out / name, frame, quality=92)
    written.append(out / name)
    rows.append(f"| `{name}` | a still frame of a hand holding {chord} |")
    readme = out / "README.md"
    readme.write_text(_SAMPLE_README.format(rows="\n".join(rows)))
    written.append(readme)
    return written
