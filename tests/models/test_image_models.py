"""Image chord models: tiny transformers backbones through from_pretrained(tmp), the linear probe and its
embedding cache, fine-tuning with the best checkpoint kept, the CNN from scratch, augmentation without
flips, save / load in a fresh process, bad folders, and a short CNN run on the real frames.

Everything is built here: no network, no pretrained weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.core.config import REPO_ROOT
from pipeline.core.errors import InputError
from pipeline.models.datasets import read_image_folder
from pipeline.models.image.cnn import CNN_WEIGHTS
from pipeline.models.image.inputs import augment_batch, read_rgb
from pipeline.models.image.loading import load_image_model
from pipeline.models.image.training import EarlyStopping, train_image_model
from tests.helpers.tiny_models import square_folder, tiny_backbone

THREADS = 2
CHORDS = ("C", "G", "None")


@pytest.fixture(scope="module")
def squares(tmp_path_factory):
    return read_image_folder(square_folder(tmp_path_factory.mktemp("squares"), 16))


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """Synthetic renders of three chords in the sample clips' scenes (the class is visible)."""
    from tools.samplegen.datasets import make_image_folder
    from tools.samplegen.samples import sample_scenes

    root = tmp_path_factory.mktemp("renders")
    make_image_folder(root, 12, seed=3, chords=CHORDS, scenes=sample_scenes())
    return read_image_folder(root)


@pytest.fixture(scope="module")
def dinov2(tmp_path_factory):
    return tiny_backbone(tmp_path_factory.mktemp("tiny-dinov2"), "dinov2")


@pytest.fixture(scope="module")
def probe(renders, dinov2, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "probe"
    model = train_image_model(renders, kind="image", backbone=str(dinov2), mode="linear-probe", out=out,
                              seed=0, threads=THREADS)
    return model, out


@pytest.fixture(scope="module")
def cnn(squares, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "cnn"
    seen = []
    model = train_image_model(squares, kind="cnn", epochs=6, input_size=(48, 80), out=out, seed=0,
                              threads=THREADS, holdout_fraction=0.2, patience=10,
                              progress=lambda epoch, metrics: seen.append((epoch, metrics)))
    return model, out, seen


def test_tiny_backbones_load_through_the_hub_path(dinov2, tmp_path):
    """Both families go through AutoModel / AutoImageProcessor.from_pretrained(folder), as a hub id would."""
    from pipeline.models.image.transformer import load_backbone

    vit = tiny_backbone(tmp_path / "vit", "vit")
    frames = [np.full((360, 640, 3), v, np.uint8) for v in (30, 200)]
    for folder, size in ((dinov2, [56, 56]), (vit, [48, 48])):
        model, processor = load_backbone(folder)
        assert processor is not None and type(model).__name__.endswith("Model")
    squares = read_image_folder(square_folder(tmp_path / "sq", 3))
    model = train_image_model(squares, kind="image", backbone=str(vit), threads=THREADS)
    assert model.card.input_size == [48, 48] and model.card.backbone == str(vit)
    assert model.embed(frames).shape == (2, 64)  # CLS and mean-pooled tokens, 32 each
    probabilities = model.predict_proba(frames)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(1), 1, atol=1e-5)


def test_linear_probe_learns_a_visible_class_and_the_cache_is_hit_the_second_time(probe, renders, dinov2):
    model, _ = probe
    assert model.card.mode == "linear-probe" and model.card.kind == "image"
    assert model.classes == list(CHORDS)
    assert model.card.metrics["embedding_cache_misses"] == len(renders)
    assert model.card.metrics["cv_accuracy"] > 0.6  # chance is 1/3
    frames = [read_rgb(image.path) for image in renders]
    predicted = [p.chord for p in model.predict(frames)]
    assert np.mean([p == image.chord for p, image in zip(predicted, renders)]) > 0.8
    again = train_image_model(renders, kind="image", backbone=str(dinov2), mode="linear-probe", threads=THREADS)
    assert again.card.metrics["embedding_cache_hits"] == len(renders)
    assert again.card.metrics["embedding_cache_misses"] == 0
    np.testing.assert_allclose(again.predict_proba(frames), model.predict_proba(frames), atol=1e-5)


def test_fine_tune_changes_weights_and_keeps_the_best_checkpoint(squares, dinov2, tmp_path):
    from pipeline.models.image.transformer import load_backbone

    before, _ = load_backbone(dinov2)
    model = train_image_model(squares, kind="image", backbone=str(dinov2), mode="fine-tune", epochs=1,
                              out=tmp_path / "ft", threads=THREADS, unfreeze_blocks=1, holdout_fraction=0.2)
    after = model.backbone.state_dict()
    changed = [k for k, v in before.state_dict().items() if not torch.equal(v, after[k])]
    assert any("layer.1." in k for k in changed), "the last block did not train"
    assert not any("layer.0." in k for k in changed), "a frozen block changed"
    card = json.loads((tmp_path / "ft" / "card.json").read_text())
    assert card["mode"] == "fine-tune" and card["epochs_run"] == 1 and card["best_epoch"] == 1
    assert card["recipe"]["horizontal_flip"] is False
    assert (tmp_path / "ft" / "backbone" / "config.json").is_file()
    assert (tmp_path / "ft" / "backbone" / "preprocessor_config.json").is_file()


def test_early_stopping_keeps_the_best_weights_and_stops_after_patience():
    net = torch.nn.Linear(2, 2)
    stopper = EarlyStopping(patience=2)
    weights = {}
    for epoch, (accuracy, loss) in enumerate([(0.5, 1.0), (0.8, 0.5), (0.8, 0.7), (0.6, 0.9)], start=1):
        with torch.no_grad():
            net.weight.fill_(epoch)
        weights[epoch] = net.weight.clone()
        stop = stopper.update(epoch, accuracy, loss, net)
        if stop:
            break
    assert stop and epoch == 4 and stopper.best_epoch == 2
    assert torch.equal(stopper.best_state["weight"], weights[2])


def test_cnn_trains_from_scratch_and_beats_chance(cnn, squares):
    model, out, seen = cnn
    card = model.card
    assert card.kind == "cnn" and card.mode == "from-scratch" and card.trained_from_scratch is True
    assert [epoch for epoch, _ in seen] == list(range(1, card.epochs_run + 1))
    assert card.history[card.best_epoch - 1]["holdout_accuracy"] == card.metrics["holdout_accuracy"]
    assert card.metrics["holdout_accuracy"] == max(row["holdout_accuracy"] for row in card.history)
    frames = [read_rgb(image.path) for image in squares]
    accuracy = np.mean([p.chord == image.chord for p, image in zip(model.predict(frames), squares)])
    assert accuracy > 0.6, accuracy  # chance is 1/3
    assert model.embed(frames[:4]).shape == (4, card.embedding_dim)
    saved = json.loads((out / "card.json").read_text())
    for key in ("kind", "backbone", "mode", "input_size", "classes", "data_fingerprint", "metrics", "created",
                "versions", "trained_from_scratch", "synthetic"):
        assert key in saved
    assert len(saved["data_fingerprint"]) == 64 and "torch" in saved["versions"]


def test_evaluate_counts_a_label_outside_the_models_vocabulary_as_wrong(cnn, squares):
    from pipeline.models.datasets import LabeledImage

    model, _, _ = cnn
    known = squares[:6]
    # "D" is a chord the model was not trained on; "Dsus4" is not in the vocabulary at all
    strangers = [LabeledImage(squares[0].path, "D"), LabeledImage(squares[1].path, "Dsus4")]
    report = model.evaluate(known + strangers)
    assert report.n == 8 and report.accuracy == pytest.approx(model.evaluate(known).accuracy * 6 / 8)
    assert report.per_class_accuracy["D"] == 0.0 and report.per_class_accuracy["Dsus4"] == 0.0
    assert report.labels[-1] == "Dsus4"


def test_a_model_loads_in_a_fresh_process_with_the_same_probabilities(cnn, probe, squares, tmp_path):
    frames = np.stack([read_rgb(image.path) for image in squares[::4]])
    np.save(tmp_path / "frames.npy", frames)
    folders = {"cnn": cnn[1], "probe": probe[1]}
    script = (
        "import json, sys, numpy as np, torch\n"
        f"torch.set_num_threads({THREADS})\n"
        "from pipeline.models.image.loading import load_image_model\n"
        "frames = list(np.load(sys.argv[1]))\n"
        "for name, folder in json.loads(sys.argv[2]).items():\n"
        "    np.save(f'{sys.argv[3]}/{name}.npy', load_image_model(folder).predict_proba(frames))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "frames.npy"),
                    json.dumps({k: str(v) for k, v in folders.items()}), str(tmp_path)],
                   check=True, cwd=REPO_ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    with torch.inference_mode():
        torch.set_num_threads(THREADS)
        for name, model in (("cnn", cnn[0]), ("probe", probe[0])):
            here = model.predict_proba(list(frames))
            there = np.load(tmp_path / f"{name}.npy")
            np.testing.assert_allclose(there, here, atol=1e-6, err_msg=name)
            assert load_image_model(folders[name]).classes == model.classes


def test_augmentation_never_mirrors_an_asymmetric_image():
    image = np.zeros((1, 3, 60, 100), np.uint8)
    image[:, :, 10:50, 5:35] = 255  # a block at the left
    image[:, 0, 40:55, 80:95] = 200  # a red mark at the bottom right
    batch = torch.from_numpy(np.repeat(image, 200, axis=0))
    generator = torch.Generator().manual_seed(0)
    out = augment_batch(batch, generator).numpy()
    original = batch.float().numpy() / 255
    mirrored = original[..., ::-1]
    brightness = out.mean(1)
    assert (brightness[:, :, :50].mean((1, 2)) > brightness[:, :, 50:].mean((1, 2))).all()
    for sample in range(len(out)):
        # nearer the original than its mirror, in shape (colour jitter aside)
        a, o, m = (v.mean(0).ravel() for v in (out[sample], original[sample], mirrored[sample]))
        assert np.corrcoef(a, o)[0, 1] > np.corrcoef(a, m)[0, 1]
    assert not np.allclose(out[0], out[1])  # it does transform


def test_bad_folders_raise_input_error(tmp_path, cnn):
    with pytest.raises(InputError, match="No image model folder"):
        load_image_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="card.json"):
        load_image_model(tmp_path / "empty")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "card.json").write_text("{not json")
    with pytest.raises(InputError, match="not a valid model card"):
        load_image_model(corrupt)
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    (unknown / "card.json").write_text(json.dumps({"kind": "landmarks", "classes": ["C", "G"]}))
    with pytest.raises(InputError, match="not an image model"):
        load_image_model(unknown)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "card.json").write_text((cnn[1] / "card.json").read_text())
    (broken / CNN_WEIGHTS).write_bytes(b"not weights")
    with pytest.raises(InputError, match="weights"):
        load_image_model(broken)
    with pytest.raises(InputError, match="backbone"):
        train_image_model(_few(tmp_path), kind="image", backbone=str(tmp_path / "no-such-backbone"))
    with pytest.raises(InputError, match="kind"):
        train_image_model(_few(tmp_path / "again"), kind="yolo")


def _few(tmp_path: Path):
    return read_image_folder(square_folder(tmp_path / "few", 2))


@pytest.mark.real_data
def test_cnn_on_real_frames_short_schedule(real_data):
    """A short schedule on a subset of train, scored on EVERY val frame (None and no-hand frames included).

    The full recipe (all of train, 72x128, 6 epochs: 99.7-100 % of val over three seeds) runs in the
    benchmark; this is the affordable version: a third of train, 8 epochs. Seeds 0-2 on one and two threads
    measured 0.918-0.947 here (a quarter of train and 6 epochs ranged 0.75-0.86 and failed CI once); floor 0.85.
    """
    train = read_image_folder(real_data, "train")
    val = read_image_folder(real_data, "val")
    subset = [image for k, image in enumerate(train) if k % 3 == 0]
    model = train_image_model(subset, kind="cnn", epochs=8, input_size=(64, 112), threads=THREADS, seed=0,
                              val_images=val)
    accuracy = model.card.metrics["val_accuracy"]
    print(f"real val accuracy {accuracy:.3f} over {model.card.metrics['val_n']} frames, "
          f"{model.card.metrics['train_seconds']:.0f} s")
    assert model.card.metrics["val_n"] == len(val) == 340
    assert accuracy >= 0.85


def test_image_models_say_which_frames_are_familiar(cnn, probe, squares, renders, tmp_path):
    from pipeline.models.familiarity import COSINE, FAMILIARITY_FILE
    from tests.helpers.tiny_models import tiny_cnn

    rng = np.random.default_rng(0)
    for (model, out), data in ((cnn[:2], squares), (probe, renders)):
        entry = model.card.familiarity
        assert entry["method"] == COSINE and entry["threshold"] == model.familiarity.threshold
        assert entry["domains"] and entry["n_reference"] > 0 and (out / FAMILIARITY_FILE).is_file()
        frames = [read_rgb(image.path) for image in data]
        predictions = model.predict(frames)
        assert np.mean([p.familiar for p in predictions]) >= 0.85
        assert all(p.familiar == (p.familiarity >= entry["threshold"]) for p in predictions)
        noise = [rng.integers(0, 256, frames[0].shape, dtype=np.uint8) for _ in range(12)]
        strangers = model.predict(noise)
        assert not any(p.familiar for p in strangers)
        assert max(p.familiarity for p in strangers) < np.median([p.familiarity for p in predictions])
        again = load_image_model(out).predict(frames[:4])
        np.testing.assert_allclose([p.familiarity for p in again], [p.familiarity for p in predictions[:4]],
                                   atol=1e-5)
    untrained = load_image_model(tiny_cnn(tmp_path / "old"))  # no familiarity entry: unknown, nothing breaks
    assert [(p.familiarity, p.familiar) for p in untrained.predict(noise[:2])] == [(None, None)] * 2
