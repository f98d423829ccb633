"""pipeline.compare: maps keep frames in order, separation scores, tiny sets, models without embeddings,
and the self-contained HTML report. Synthetic frames and a tiny untrained CNN; no network, no MediaPipe."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.compare.comparison import top_k
from pipeline.compare.embeddings import frame_embeddings
from pipeline.compare.maps import embedding_map, safe_perplexity, separation_scores
from pipeline.compare.report import compare_models
from pipeline.core.hands import Hand, HandsResult
from pipeline.core.types import ChordPrediction
from pipeline.models.datasets import LabeledImage
from pipeline.models.image.inputs import read_rgb

CHORDS = ["A", "C", "G"]
COLOURS = {"A": (220, 40, 40), "C": (40, 200, 40), "G": (40, 40, 220)}


def _frames(root: Path, per_chord: int) -> list[LabeledImage]:
    import cv2

    rng = np.random.default_rng(0)
    frames = []
    for chord in CHORDS:
        folder = root / chord
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(per_chord):
            image = np.clip(np.array(COLOURS[chord]) + rng.normal(0, 10, (36, 64, 3)), 0, 255).astype(np.uint8)
            path = folder / f"{chord}-{k}.png"
            cv2.imwrite(str(path), image[:, :, ::-1])
            frames.append(LabeledImage(path, chord))
    return frames


class ColourModel:
    """A fake image chord model: embeds a frame as its mean colour, answers the nearest chord colour."""

    def __init__(self) -> None:
        self.card = SimpleNamespace(kind="image", mode="linear-probe-free", input_region="frame",
                                    architecture={"model_type": "colour"}, classes=list(CHORDS))
        self.input_size = (36, 64)
        self.classes = list(CHORDS)

    def probabilities_and_embeddings(self, images):
        X = np.stack([np.asarray(i, np.float32).mean(axis=(0, 1)) for i in images])
        centres = np.array([COLOURS[c] for c in CHORDS], np.float32)
        d = -((X[:, None] - centres[None]) ** 2).sum(-1) / 500.0
        e = np.exp(d - d.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True), X

    # the rest of the image chord model contract (pipeline.core.types.ImageChordModel)
    lock = threading.Lock()

    def predict_proba(self, images):
        return self.probabilities_and_embeddings(images)[0]

    def predict(self, images):
        return [ChordPrediction.from_row(row, self.classes) for row in self.predict_proba(images)]

    def embed(self, images):
        return self.probabilities_and_embeddings(images)[1]

    def save(self, folder):
        raise NotImplementedError


class NoEmbedModel:
    """A classifier without ``embed``."""

    card = SimpleNamespace(kind="mystery")

    def predict(self, images):
        return []


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> list[LabeledImage]:
    return _frames(tmp_path_factory.mktemp("compare-frames"), 6)


@pytest.fixture(scope="module")
def tiny_cnn():
    import torch

    from pipeline.models.cards import ImageModelCard
    from pipeline.models.image.cnn import CNNChordModel, cnn_module

    torch.manual_seed(0)
    card = ImageModelCard(kind="cnn", classes=list(CHORDS), input_size=[36, 64], embedding_dim=32,
                          architecture={"stem": 8, "widths": [8, 16, 32], "dropout": 0.0})
    return CNNChordModel(cnn_module(len(CHORDS), 8, [8, 16, 32], 0.0), card)


def _hand_frames(n: int, missing: set[int]) -> list[HandsResult]:
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        if i in missing:
            out.append(HandsResult((), None, 64, 36))
            continue
        hand = Hand.from_normalised(rng.uniform(0.2, 0.8, (21, 3)), "Left", 0.9, 64, 36)
        out.append(HandsResult((hand,), 0, 64, 36))
    return out


def test_safe_perplexity_is_below_a_third_and_at_least_two():
    assert safe_perplexity(3000) == 30.0
    assert safe_perplexity(30) < 10 and safe_perplexity(30) >= 2
    assert safe_perplexity(5) == 2.0 and safe_perplexity(5) < 5


def test_maps_keep_frame_order_and_nan_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 12))
    X[[3, 17]] = np.nan
    for method in ("tsne", "pca"):
        Y = embedding_map(X, method, seed=0)
        assert Y.shape == (40, 2)
        assert np.isnan(Y[[3, 17]]).all() and not np.isnan(np.delete(Y, [3, 17], axis=0)).any()
    # PCA of permuted rows is the permuted map: rows stay with their frames
    order = rng.permutation(40)
    Y = embedding_map(X, "pca")
    Yp = embedding_map(X[order], "pca")
    ok = ~np.isnan(Y).any(1)
    assert np.allclose(np.abs(Yp), np.abs(Y[order]), equal_nan=True) and ok.sum() == 38
    # t-SNE with a fixed seed is reproducible
    assert np.allclose(embedding_map(X, "tsne", seed=3), embedding_map(X, "tsne", seed=3), equal_nan=True)


def test_separable_toy_set_gives_knn_accuracy_one():
    rng = np.random.default_rng(0)
    labels = np.repeat(CHORDS, 10)
    centres = {"A": [0, 0, 0], "C": [50, 0, 0], "G": [0, 50, 0]}
    X = np.array([centres[c] for c in labels], float) + rng.normal(0, 0.5, (30, 3))
    s = separation_scores(X, labels)
    assert s.knn_accuracy == 1.0 and s.silhouette > 0.9 and s.n == 30


def test_compare_keeps_frames_labels_and_order(frames, tiny_cnn, tmp_path):
    hands = _hand_frames(len(frames), missing={0, 7})
    c = compare_models([("colour", ColourModel()), ("cnn", tiny_cnn), "features:raw63"], frames,
                       hands=hands, cache_folder=tmp_path / "emb")
    assert [f.path for f in c.frames] == [f.path for f in frames]
    assert list(c.labels) == [f.chord for f in frames]
    for m in c.models:
        assert set(m.maps) == {"tsne", "pca"}
        assert all(Y.shape == (len(frames), 2) for Y in m.maps.values())
    colour = c.model("colour")
    assert colour.report.accuracy == 1.0 and colour.separation.knn_accuracy == 1.0
    assert colour.embedding.dim == 3
    cnn = c.model("cnn")
    assert cnn.embedding.dim == 32 and cnn.report.n == len(frames)
    feats = c.model("features:raw63")
    # frames without a hand keep their place, marked as having no embedding
    assert feats.embedding.n_embedded == len(frames) - 2 and not feats.embedding.has_embedding[[0, 7]].any()
    assert np.isnan(feats.maps["tsne"][[0, 7]]).all() and feats.report is None
    assert "without a hand" in feats.embedding.note
    # second run reads the embedding cache
    again = frame_embeddings([("cnn", tiny_cnn)], frames, cache_folder=tmp_path / "emb")
    assert again[0].cache_hits == len(frames) and again[0].cache_misses == 0
    assert np.allclose(again[0].vectors, cnn.embedding.vectors, atol=1e-5)
    tops = top_k(c, 1)
    assert set(tops) == {"colour", "cnn"} and len(tops["colour"]) == 3


def test_an_image_model_runs_once_per_uncached_frame(frames, tiny_cnn, tmp_path, monkeypatch):
    seen = []
    forward = tiny_cnn.logits_and_embedding

    def counted(x):
        seen.append(len(x))
        return forward(x)

    monkeypatch.setattr(tiny_cnn, "logits_and_embedding", counted)
    cold = frame_embeddings([("cnn", tiny_cnn)], frames, cache_folder=tmp_path / "emb")[0]
    assert sum(seen) == len(frames)  # probabilities and embedding from the same forward pass
    assert cold.predictions == tiny_cnn.predict([read_rgb(f.path) for f in frames])
    seen.clear()
    frame_embeddings([("cnn", tiny_cnn)], frames, cache_folder=tmp_path / "emb")
    assert seen == []  # a second comparison reads both from the cache


def test_five_frames_still_work(frames, tmp_path):
    five = [frames[i] for i in (0, 1, 6, 7, 12)]
    c = compare_models([("colour", ColourModel())], five, tmp_path / "five.html", cache_folder=tmp_path / "emb")
    m = c.models[0]
    assert m.maps["tsne"].shape == (5, 2) and not np.isnan(m.maps["tsne"]).any()
    assert (tmp_path / "five.html").is_file()


def test_model_without_embeddings_is_reported_not_crashed(frames, tmp_path):
    c = compare_models([("colour", ColourModel()), ("mystery", NoEmbedModel()), tmp_path / "no-such-model"],
                       frames, tmp_path / "r.html", cache_folder=tmp_path / "emb")
    mystery, missing = c.model("mystery"), c.model("no-such-model")
    assert mystery.embedding.vectors is None and "no embeddings" in mystery.embedding.note
    assert missing.embedding.vectors is None and "not compared" in missing.embedding.note
    assert mystery.maps == {} and np.isnan(mystery.separation.knn_accuracy)
    rows = {r["model"]: r for r in c.metrics_rows()}
    assert rows["mystery"]["note"] and rows["colour"]["accuracy"] == 1.0
    assert "mystery" in (tmp_path / "r.html").read_text()


def test_report_is_self_contained_with_plotly_once_and_every_model(frames, tiny_cnn, tmp_path):
    import plotly.graph_objects as go

    hands = _hand_frames(len(frames), missing={2})
    out = tmp_path / "report" / "compare.html"
    c = compare_models([("colour", ColourModel()), ("tiny cnn", tiny_cnn), "features:centred"], frames, out,
                       hands=hands, cache_folder=tmp_path / "emb")
    assert c.html_path == out and out.is_file()
    text = out.read_text()
    marker = "plotly.js v"
    once = go.Figure().to_html(include_plotlyjs=True).count(marker)
    assert once >= 1 and text.count(marker) == once
    assert '<script src="http' not in text and 'src="https://cdn' not in text
    for name in ("colour", "tiny cnn", "features:centred"):
        assert name in text
    assert "Teaching view" in text and "k-NN accuracy" in text and "data:image/jpeg;base64," in text
