"""Explanations: occlusion maps find the region a model reads, the fast paths agree with plain Captum,
bad settings are refused, finger attributions find the deciding finger, and the overlays draw.

Every model is built here: a hand-written model that reads one square, a tiny random DINOv2, a random CNN
and a landmark model whose answer depends on the index finger alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.core.errors import InputError
from pipeline.core.hands import Hand
from pipeline.explain.attribution import map_correlation
from pipeline.explain.checks import DEFAULT_REFINE
from pipeline.explain.service import explain_frame, explain_landmarks, explain_path, untrained_like
from pipeline.models.cards import ImageModelCard
from pipeline.models.image.base import TorchImageModel
from pipeline.vision.overlays import FingerAnnotator, HeatmapAnnotator, side_by_side

torch.set_num_threads(2)

SQUARE = (20, 40, 60, 90)  # rows 20:40, columns 60:90 of the 72x128 frame


class SquareModel(TorchImageModel):
    """Chord "C" when the square (in the model's 36x64 input: rows 10:20, columns 30:45) is bright."""

    def __init__(self) -> None:
        self.card = ImageModelCard(kind="cnn", input_size=[36, 64], classes=["C", "G"], mean=[0, 0, 0],
                                   std=[1, 1, 1], embedding_dim=1)

    def logits_and_embedding(self, x):
        evidence = x[:, :, 10:20, 30:45].mean((1, 2, 3))
        logits = torch.stack([8 * evidence, torch.full_like(evidence, 3.0)], dim=1)
        return logits, evidence[:, None]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    image = rng.integers(60, 100, (72, 128, 3), dtype=np.uint8)
    r0, r1, c0, c1 = SQUARE
    image[r0:r1, c0:c1] = 240
    return image


@pytest.fixture(scope="module")
def tiny_vit():
    from transformers import Dinov2Config, Dinov2Model

    from pipeline.models.image.transformer import TransformerChordModel

    torch.manual_seed(0)
    backbone = Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                        intermediate_size=64, image_size=56, patch_size=14))
    card = ImageModelCard(kind="image", mode="fine-tune", input_size=[56, 56], classes=["A", "C", "G"],
                          embedding_dim=64)
    return TransformerChordModel(backbone, None, torch.nn.Linear(64, 3), card)


def _inside(peak, box) -> bool:
    r0, r1, c0, c1 = box
    return r0 <= peak[0] < r1 and c0 <= peak[1] < c1


@pytest.mark.parametrize("method", ["plain", "batched", "adaptive"])
@pytest.mark.parametrize("baseline", ["zero", "mean", "blur"])
def test_the_heatmap_is_highest_on_the_region_the_model_reads(frame, method, baseline):
    model = SquareModel()
    result = explain_frame(frame, model, window=16, stride=8, baseline=baseline, method=method)
    assert result.map.shape == (72, 128) and result.map.dtype == np.float32
    assert result.target == "C" and result.probability > 0.5
    r0, r1, c0, c1 = SQUARE
    assert _inside(result.peak, (r0 - 8, r1 + 8, c0 - 8, c1 + 8)), result.peak
    inside = result.map[r0:r1, c0:c1].mean()
    assert inside > 5 * abs(np.delete(result.map, np.s_[r0 - 16:r1 + 16], axis=0)).mean()
    assert result.settings["method"] == method and result.settings["baseline"] == baseline
    assert result.seconds > 0


def test_a_chosen_target_is_explained_and_unknown_ones_are_refused(frame):
    model = SquareModel()
    result = explain_frame(frame, model, target="G", window=16, stride=8)
    assert result.target == "G" and result.map[SQUARE[0]:SQUARE[1], SQUARE[2]:SQUARE[3]].mean() < 0
    with pytest.raises(InputError, match="Unknown target chord 'Bb'"):
        explain_frame(frame, model, target="Bb")
    with pytest.raises(InputError, match="Unknown target"):
        explain_frame(frame, model, target=7)


def test_batched_computes_what_plain_captum_computes(frame):
    model = SquareModel()
    small = frame[::2, ::2].copy()  # already the model's input size: no resize, the same windows
    plain = explain_frame(small, model, window=8, stride=4, method="plain")
    batched = explain_frame(small, model, window=8, stride=4, method="batched", batch_size=32)
    np.testing.assert_allclose(batched.map, plain.map, atol=1e-5)
    # on the full frame the batched path resizes the frame once and only the occlusion mask per pass
    for window, stride in ((16, 8), ((15, 21), (7, 9))):
        plain = explain_frame(frame, model, window=window, stride=stride, method="plain")
        batched = explain_frame(frame, model, window=window, stride=stride, method="batched")
        assert batched.settings["passes"] == plain.settings["passes"]
        assert map_correlation(plain.map, batched.map) >= 0.99


def test_the_token_path_agrees_with_plain_captum_on_a_vit(tiny_vit):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
    plain = explain_frame(image, tiny_vit, window=28, stride=28, method="plain")
    tokens = explain_frame(image, tiny_vit, window=28, stride=28, method="tokens")
    batched = explain_frame(image, tiny_vit, window=28, stride=28, method="batched")
    assert tokens.settings["units"] == "patches" and tokens.settings["window_used"] == [1, 1]
    assert tokens.settings["passes"] == 16 and tokens.target == plain.target
    assert map_correlation(plain.map, tokens.map) >= 0.95
    assert map_correlation(plain.map, batched.map) >= 0.95
    # the default slides plain Captum's windows on a ViT too (not patches): every window gives batched's numbers
    exact = explain_frame(image, tiny_vit, window=28, stride=14, method="adaptive", refine=0)
    captum = explain_frame(image, tiny_vit, window=28, stride=14, method="batched")
    assert exact.settings["units"].startswith("frame pixels")
    assert exact.settings["passes"] == exact.settings["windows"] == captum.settings["passes"] == 49
    np.testing.assert_allclose(exact.map, captum.map, atol=1e-6)
    auto = explain_frame(image, tiny_vit)
    assert auto.settings["method"] == "adaptive" and auto.settings["units"].startswith("frame pixels")
    assert auto.map.shape == (112, 112)


def test_adaptive_with_every_window_is_captum_and_by_default_evaluates_fewer(frame):
    model = SquareModel()
    captum = explain_frame(frame, model, window=12, stride=4, method="batched")
    exact = explain_frame(frame, model, window=12, stride=4, method="adaptive", refine=0)
    assert exact.settings["passes"] == exact.settings["windows"] == captum.settings["passes"] == 16 * 30
    np.testing.assert_allclose(exact.map, captum.map, atol=1e-6)
    default = explain_frame(frame, model, window=12, stride=4)
    assert default.settings["method"] == "adaptive" and default.settings["refine"] == DEFAULT_REFINE
    assert default.settings["lattice_step"] == [3, 3]  # 12 px windows every 4 px: every third one tiles
    assert default.settings["passes"] < 0.6 * default.settings["windows"]
    assert map_correlation(captum.map, default.map) >= 0.98
    coarse = explain_frame(frame, model, window=12, stride=4, refine=1.0)  # the tiling, grown along the peak only
    assert coarse.settings["passes"] < default.settings["passes"]


def test_default_window_is_the_seeds_scaled_to_the_frame():
    from pipeline.explain.checks import SEED_STRIDE, SEED_WINDOW, window_and_stride

    assert window_and_stride((360, 640), None, None) == ((SEED_WINDOW, SEED_WINDOW), (SEED_STRIDE, SEED_STRIDE))
    assert window_and_stride((180, 540), None, None) == ((30, 30), (10, 10))


def test_coarse_to_fine_interpolates_quiet_windows_and_evaluates_around_the_peak():
    from pipeline.explain.adaptive import coarse_to_fine

    ramp = np.add.outer(np.linspace(0, 0.01, 9), np.linspace(0, 0.02, 11))  # bilinear: interpolated exactly
    truth = ramp.copy()
    truth[4, 6] += 1.0  # a peak on the every-other lattice
    truth[3:6, 5:8] += 0.5  # and its neighbourhood, which only refinement sees
    asked = []

    def evaluate(positions):
        asked.extend(positions)
        return [truth[i, j] for i, j in positions]

    grid, evaluated = coarse_to_fine(evaluate, truth.shape, refine=0.1)
    assert evaluated == len(asked) == len(set(asked)) < truth.size
    assert {(3, 5), (3, 6), (5, 7)} <= set(asked) and (1, 1) not in asked
    np.testing.assert_allclose(grid, truth, atol=1e-12)  # refined where it matters, the ramp elsewhere
    full, n = coarse_to_fine(evaluate, truth.shape, refine=0.0)
    assert n == truth.size and np.array_equal(full, truth)


def test_coarse_to_fine_grows_along_the_evidence_from_a_tiling_lattice():
    from pipeline.explain.adaptive import coarse_to_fine

    truth = np.zeros((10, 19))
    truth[6, 3:16] = np.linspace(1.0, 0.5, 13)  # a ridge between lattice rows 3 and 6, seen at one end
    asked = []

    def evaluate(positions):
        asked.extend(positions)
        return [truth[i, j] for i, j in positions]

    grid, evaluated = coarse_to_fine(evaluate, truth.shape, refine=0.3, step=(3, 3))
    lattice = {(i, j) for i in (0, 3, 6, 9) for j in (0, 3, 6, 9, 12, 15, 18)}
    assert lattice <= set(asked) and evaluated == len(set(asked)) < truth.size
    assert {(6, j) for j in range(3, 16)} <= set(asked)  # followed to its far end, one step at a time
    np.testing.assert_allclose(grid[5:8, 2:17], truth[5:8, 2:17])  # the ridge and its sides, evaluated
    assert (1, 1) not in asked and (7, 10) in asked and (8, 10) not in asked  # one step beside the ridge, no more
    # strength decides, not the raw value: a strength that ignores the ridge leaves the lattice alone
    asked.clear()
    coarse_to_fine(evaluate, truth.shape, refine=0.3, step=(3, 3), strength=lambda v: np.ones_like(np.asarray(v)))
    assert len(asked) == truth.size  # every value equally strong: everything is evaluated


def test_bad_parameters_raise_a_clear_input_error(frame, tiny_vit):
    model = SquareModel()
    with pytest.raises(InputError, match="larger than the 72x128 image"):
        explain_frame(frame, model, window=100)
    with pytest.raises(InputError, match="larger than"):
        explain_frame(frame, model, window=(10, 200))
    with pytest.raises(InputError, match="stride must be at least 1"):
        explain_frame(frame, model, stride=0)
    with pytest.raises(InputError, match="window must be at least 1"):
        explain_frame(frame, model, window=(0, 8))
    with pytest.raises(InputError, match="whole number"):
        explain_frame(frame, model, window=2.5)
    with pytest.raises(InputError, match="Unknown baseline"):
        explain_frame(frame, model, baseline="noise")
    with pytest.raises(InputError, match="Unknown explanation method"):
        explain_frame(frame, model, method="fast")
    with pytest.raises(InputError, match="refine must be between 0"):
        explain_frame(frame, model, refine=-0.5)
    with pytest.raises(InputError, match="tokens method needs a ViT"):
        explain_frame(frame, model, method="tokens")
    with pytest.raises(InputError, match="RGB image"):
        explain_frame(frame[..., 0], model)


class IndexFingerModel:
    """An estimator whose chord is decided by the index fingertip's x alone (raw63 column 8 * 3)."""

    classes_ = np.array(["C", "G"])

    def predict_proba(self, features):
        x = np.asarray(features)[:, 8 * 3]
        p = 1 / (1 + np.exp(-40 * (x - 0.6)))
        return np.stack([p, 1 - p], axis=1)


def _hand() -> Hand:
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(0.35, 0.5, 21), rng.uniform(0.3, 0.6, 21), np.zeros(21)])
    points[8, 0] = 0.8  # the index fingertip far to the right: chord C
    return Hand.from_normalised(points, "Right", 0.99, 640, 360)


@pytest.mark.parametrize("method", ["ablation", "shapley"])
def test_finger_attribution_finds_the_finger_that_decides(method):
    from pipeline.models.cards import LandmarkCard
    from pipeline.models.landmark import LandmarkChordModel

    model = LandmarkChordModel(IndexFingerModel(), LandmarkCard(estimator="test", classes=["C", "G"]))
    result = explain_landmarks(_hand(), model, method=method, n_samples=10)
    assert result.target == "C" and result.probability > 0.9
    assert result.decisive == "index", result.scores
    assert set(result.scores) == {"thumb", "index", "middle", "ring", "little", "palm"}
    others = [abs(v) for k, v in result.scores.items() if k != "index"]
    assert result.scores["index"] > 0.5 and max(others) < 1e-6
    picture = FingerAnnotator().annotate(np.zeros((360, 640, 3), np.uint8), result)
    assert picture.shape == (360, 640, 3) and picture.any()
    with pytest.raises(InputError, match="No hand"):
        explain_landmarks(None, model)
    with pytest.raises(InputError, match="Unknown method"):
        explain_landmarks(_hand(), model, method="lime")


def test_overlays_blend_a_legend_and_sit_side_by_side(frame):
    model = SquareModel()
    result = explain_frame(frame, model, window=16, stride=8)
    before = frame.copy()
    overlay = HeatmapAnnotator(alpha=0.6, colormap="inferno").annotate(frame, result)
    assert np.array_equal(frame, before) and overlay.shape == frame.shape
    r0, r1, c0, c1 = SQUARE
    changed = np.abs(overlay.astype(int) - frame.astype(int)).sum(2)
    assert changed[r0:r1, c0:c1].mean() > changed[50:, :40].mean()
    no_legend = HeatmapAnnotator(legend=False, signed=True).annotate(frame, result.map)
    assert no_legend.shape == frame.shape
    inside = np.s_[r0:r1, c0:c1]
    assert np.abs(no_legend[inside].astype(int) - frame[inside].astype(int)).mean() > 5  # coloured on the square
    # Target "G" is negative on the square: the signed overlay colours it, the unsigned one clips it away.
    against = explain_frame(frame, model, target="G", window=16, stride=8).map
    signed = HeatmapAnnotator(legend=False, signed=True).annotate(frame, against)
    unsigned = HeatmapAnnotator(legend=False).annotate(frame, against)
    assert np.abs(signed[inside].astype(int) - unsigned[inside].astype(int)).mean() > 5
    assert np.abs(signed[inside].astype(int) - frame[inside].astype(int)).mean() > 5
    assert np.array_equal(HeatmapAnnotator().annotate(frame, None), frame)
    pair = side_by_side(frame, [result, explain_frame(frame, model, target="G", window=16, stride=8)],
                        titles=["trained", "other chord"], gap=4)
    assert pair.shape == (72, 2 * 128 + 4, 3)
    with pytest.raises(InputError):
        HeatmapAnnotator(colormap="rainbow-ish")


def test_linear_probe_heads_run_in_torch_like_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pipeline.explain.forward import torch_probe

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    for names in (["C", "G", "None"], ["C", "G"]):
        y = np.array(names * 30)[:60]
        head = make_pipeline(StandardScaler(), LogisticRegression()).fit(X + (y == "C")[:, None], y)
        fake = type("Probe", (), {"head": head, "classes": list(reversed(names))})()
        got = torch_probe(fake)(torch.from_numpy(X)).numpy()
        want = head.predict_proba(X)[:, [list(head.classes_).index(c) for c in fake.classes]]
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_explain_path_writes_a_png_for_a_still_image(tmp_path):
    import cv2

    from pipeline.core.config import SAMPLE_MEDIA_DIR
    from pipeline.models.image.cnn import CNNChordModel, cnn_module

    torch.manual_seed(0)
    card = ImageModelCard(kind="cnn", input_size=[36, 64], classes=["C", "G"],
                          architecture={"stem": 8, "widths": [8, 16], "dropout": 0.0})
    cnn = CNNChordModel(cnn_module(2, 8, (8, 16), 0.0), card)
    result, out = explain_path(SAMPLE_MEDIA_DIR / "chord_G.jpg", cnn, tmp_path / "sub" / "explain.png", target="G")
    written = cv2.imread(str(out))
    assert written is not None and written.shape[:2] == result.map.shape and result.target == "G"
    untrained = untrained_like(cnn, seed=1)
    assert type(untrained) is CNNChordModel and untrained.card.trained_on.startswith("untrained")
    assert not torch.equal(untrained.net.classifier.weight, cnn.net.classifier.weight)
