"""What both apps take from the shared modules: the chord timeline figure (:mod:`pipeline.figures`),
sample clips known by their bytes (:mod:`pipeline.samples`), the fusion and synthetic-model notes
(:mod:`pipeline.text`), a model's classes from its card (:mod:`pipeline.models.catalogue`). Pure functions
on made-up analyses; the apps' own tests check that each app shows them."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from pipeline.core.timeline import Segment, Timeline
from pipeline.core.types import FusionWeights
from pipeline.figures import CHORD_COLOURS, timeline_figure
from pipeline.models.catalogue import ModelEntry, model_entry
from pipeline.samples import ground_truth, sample_clips, sample_twin
from pipeline.text import fusion_note, synthetic_note


def _frame(time: float, chord: str, covered: bool = True):
    prediction = SimpleNamespace(chord=chord if covered else "None", covered=covered,
                                 probabilities={chord: 0.8, "G": 0.2} if covered else {})
    return SimpleNamespace(time=time, chord=chord, prediction=prediction,
                           hands=SimpleNamespace(fretting=object() if covered else None))


@pytest.fixture
def analysis():
    """A made-up analysis: three segments over 4 s, three sampled frames (the last without a hand)."""
    timeline = Timeline([Segment(0.0, 1.5, "A", 0.8), Segment(1.5, 3.0, "C", 0.6), Segment(3.0, 4.0, "None", 0.5)],
                        duration=4.0)
    return SimpleNamespace(timeline=timeline, frames=[_frame(0.2, "A"), _frame(1.7, "C"), _frame(3.2, "A", False)])


TRUTH = Timeline([Segment(0.0, 2.0, "A"), Segment(2.0, 4.0, "C")], duration=4.0)


def test_the_timeline_figure_has_a_bar_per_segment_a_row_per_timeline_and_the_frames(analysis):
    fig = timeline_figure(analysis, TRUTH, selected=1.7)
    bars = [t for t in fig.data if t.type == "bar"]
    assert [(t.y[0], t.name, t.base[0], t.x[0]) for t in bars] == [
        ("recognised", "A", 0.0, 1.5), ("recognised", "C", 1.5, 1.5), ("recognised", "None", 3.0, 1.0),
        ("ground truth", "A", 0.0, 2.0), ("ground truth", "C", 2.0, 2.0)]
    assert [t.marker.color for t in bars[:3]] == [CHORD_COLOURS["A"], CHORD_COLOURS["C"], CHORD_COLOURS["None"]]
    assert [t.showlegend for t in bars] == [True, True, True, False, False]  # one legend entry per chord
    (points,) = [t for t in fig.data if t.type == "scatter"]
    assert list(points.x) == [0.2, 1.7, 3.2] and list(points.y) == [0.8, 0.8, 0.0]
    assert list(points.marker.symbol) == ["circle", "circle", "x"]  # x: no model could decide the frame
    assert points.yaxis == "y2" and fig.layout.yaxis2.domain == (0.55, 1.0)
    assert [s.x0 for s in fig.layout.shapes] == [1.7]  # the selected frame
    assert fig.layout.xaxis.range == (0, 4.0) and fig.layout.height == 280 + 40 * 2


def test_the_compact_timeline_figure_is_the_bars_alone_recognised_on_top(analysis):
    fig = timeline_figure(analysis, TRUTH, frames=False)
    assert {t.type for t in fig.data} == {"bar"} and len(fig.data) == 5
    assert list(fig.layout.yaxis.categoryarray) == ["ground truth", "recognised"]  # bottom to top
    assert fig.layout.height == 150 + 50 * 2 and not fig.layout.shapes
    alone = timeline_figure(analysis, frames=False)
    assert {t.y[0] for t in alone.data} == {"recognised"} and alone.layout.height == 150 + 50


def test_a_sample_clip_is_known_by_its_bytes_wherever_it_lies(tmp_path):
    sample = next(p for p in sample_clips() if ground_truth(p) is not None)
    assert sample_twin(sample) == sample
    copy = tmp_path / "upload" / "my clip.mp4"  # an upload or a Space example: a copy under another name
    copy.parent.mkdir()
    shutil.copyfile(sample, copy)
    assert sample_twin(copy) == sample and ground_truth(sample_twin(copy)) is not None
    # The same size with other bytes, another file, a missing file: no sample.
    data = bytearray(sample.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed = tmp_path / "changed.mp4"
    changed.write_bytes(bytes(data))
    assert sample_twin(changed) is None
    other = tmp_path / "other.mp4"
    other.write_bytes(b"not a sample")
    assert sample_twin(other) is None
    assert sample_twin(tmp_path / "missing.mp4") is None


def test_the_fusion_note_gives_each_models_share_of_the_weights():
    note = fusion_note(FusionWeights(landmarks=1.0, image=3.0))
    assert "landmarks 0.25, image 0.75" in note
    assert note == fusion_note(FusionWeights(landmarks=10.0, image=30.0))  # only the ratio counts
    assert "the image model decides alone" in note


def test_the_synthetic_note_names_the_model_and_the_apps_remedy():
    note = synthetic_note("tiny", "(Models page)")
    assert note.startswith("**tiny was trained on synthetic renders") and "not on real footage:**" in note
    assert note.endswith("train a model on real frames (Models page).")


def test_a_model_entry_lists_its_cards_classes(tmp_path):
    folder = tmp_path / "cnn"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"kind": "cnn", "classes": ["C", "Em", "None"]}))
    assert model_entry(folder).classes == ["C", "Em", "None"]
    assert ModelEntry("det", tmp_path, "detector", {}).classes == []


def test_unsure_segments_and_unfamiliar_frames_are_drawn_apart_with_a_legend_entry():
    from pipeline.figures import UNSURE_COLOUR
    from pipeline.text import UNSURE_LABEL

    timeline = Timeline([Segment(0.0, 1.0, "A", 0.9), Segment(1.0, 2.0, "A", 0.4, unsure=True),
                         Segment(2.0, 3.0, "C", 0.3, unsure=True)], duration=3.0)
    frames = [_frame(0.5, "A"), _frame(1.5, "A"), _frame(2.5, "C")]
    frames[1].familiar = frames[2].familiar = False
    fig = timeline_figure(SimpleNamespace(timeline=timeline, frames=frames))
    bars = [t for t in fig.data if t.type == "bar"]
    assert [(t.name, t.text, t.marker.color, t.marker.pattern.shape, t.showlegend, t.legendgroup) for t in bars] == [
        ("A", "A", CHORD_COLOURS["A"], None, True, "A"),
        (UNSURE_LABEL, None, UNSURE_COLOUR, "/", None, UNSURE_LABEL),  # the one legend entry, drawing nothing
        ("A (unsure)", "A?", UNSURE_COLOUR, "/", False, UNSURE_LABEL),
        ("C (unsure)", "C?", UNSURE_COLOUR, "/", False, UNSURE_LABEL)]
    assert bars[1].x == (None,)
    (points,) = [t for t in fig.data if t.type == "scatter"]
    assert list(points.marker.symbol) == ["circle", "circle-open", "circle-open"]


def test_the_unfamiliar_sentence_names_the_models_and_the_share(tmp_path):
    from pipeline.core.timeline import timeline_from_frames
    from pipeline.core.types import Analysis, FrameResult
    from pipeline.text import CLI_TRAIN_REMEDY, STUDIO_TEACH_REMEDY, unfamiliar_message

    def frame(k, familiar):
        answer = SimpleNamespace(covered=True, familiar=familiar, familiarity=None)
        return FrameResult(k, k / 5, SimpleNamespace(fretting=None), answer, "C",
                           {"image": answer, "landmarks": SimpleNamespace(covered=False, familiar=None)})

    def analysis(flags):
        frames = [frame(k, flag) for k, flag in enumerate(flags)]
        return Analysis(SimpleNamespace(path=tmp_path / "clip.mp4"), 5.0, frames,
                        timeline_from_frames([f.time for f in frames], ["C"] * len(frames), [1.0] * len(frames)),
                        ["C"])

    mostly = analysis([True] + [False] * 11)
    assert unfamiliar_message(mostly, STUDIO_TEACH_REMEDY, {"image": "cnn-real"}) == (
        "**This footage looks unlike what cnn-real learned from: 8 % of frames familiar; the chords below are "
        "guesses.** To get chords you can trust, teach it your setup on the Teach page, from one short clip "
        "per chord.")
    assert unfamiliar_message(mostly, CLI_TRAIN_REMEDY, markdown=False).startswith(
        "This footage looks unlike what the image model learned from: 8 %")
    assert unfamiliar_message(analysis([True, False]), CLI_TRAIN_REMEDY) is None  # half familiar: not mostly
    assert unfamiliar_message(analysis([None, None]), CLI_TRAIN_REMEDY) is None  # unknown: nothing said
