"""The fast pipeline decides every frame as a plain per-frame loop of the same models does
(``benchmarks.bench_analyze.plain_set_loop``, the loop its speed is measured against), and gives its image
model the torch threads hand detection leaves free."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.bench_analyze import plain_set_loop
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.hands import CASCADE_HANDS
from pipeline.core.types import ChordPrediction, ModelSet
from pipeline.models.landmark import train_landmark_model
from pipeline.models.registry import load_model_set
from pipeline.timeline.analyze import analyze_clip, image_threads
from tests.helpers.hands import chord_hands
from tests.helpers.tiny_models import tiny_cnn

CLIP = SAMPLE_MEDIA_DIR / "progression.mp4"


def test_pipeline_answers_equal_a_plain_per_frame_loop(tmp_path):
    results, labels = chord_hands(8, seed=1)
    landmarks = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                     trained_on="constructed hands (test)", hand_settings=CASCADE_HANDS)
    models = load_model_set([landmarks.save(tmp_path / "landmarks"), tiny_cnn(tmp_path / "cnn")])
    plain = plain_set_loop(CLIP, models, 5)
    analysis = analyze_clip(CLIP, models, fps=5, hand_workers=2)  # hands in 2 processes, the CNN in batches
    assert len(analysis.frames) == len(plain) == 50
    assert analysis.hand_share > 0.5
    for frame, (answers, fused) in zip(analysis.frames, plain):
        assert set(frame.by_model) == set(answers) == {"landmarks", "image"}
        for name, answer in answers.items():
            assert frame.by_model[name].chord == answer.chord, (frame.time, name)
            got = frame.by_model[name].probabilities
            assert got.keys() == answer.probabilities.keys()
            # a batched forward pass may round differently in the last bits from a single-image one
            np.testing.assert_allclose(list(got.values()), list(answer.probabilities.values()), atol=1e-5)
        assert frame.prediction.chord == fused.chord


class ThreadsSeen:
    """An image chord model that answers 'C' and records torch's thread count at each call."""

    classes = ["C", "G"]

    def __init__(self) -> None:
        self.card = type("Card", (), {"input_region": "frame"})()
        self.threads: list[int] = []

    def predict(self, images):
        self.threads.append(torch.get_num_threads())
        return [ChordPrediction.from_row(np.array([1.0, 0.0]), self.classes) for _ in images]


@pytest.mark.parametrize(("cores", "torch_default", "hand_workers", "find_hands", "expected"), [
    (5, 8, 2, True, 3),  # two hand processes busy
    (5, 8, 1, True, 4),  # hands found in this process
    (5, 8, 2, False, 4),  # no MediaPipe: every core but this process's own (it decodes)
    (2, 8, 2, True, 1),
    (5, 1, 2, True, 1),  # never more than torch's setting (OMP_NUM_THREADS=1 in a batch's workers)
])
def test_image_model_gets_the_cores_hand_detection_leaves(monkeypatch, cores, torch_default, hand_workers,
                                                          find_hands, expected):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    before = torch.get_num_threads()
    torch.set_num_threads(torch_default)
    try:
        assert image_threads(hand_workers if find_hands else 0) == expected
        model = ThreadsSeen()
        analysis = analyze_clip(CLIP, ModelSet(image=model), fps=2, end=9, hand_workers=hand_workers,
                                find_hands=find_hands)
        assert [f.chord for f in analysis.frames] == ["C"] * 18
        assert model.threads and set(model.threads) == {expected}
        assert torch.get_num_threads() == torch_default  # torch's setting is given back
    finally:
        torch.set_num_threads(before)
