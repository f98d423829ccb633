"""Photometric augmentation of image-model batches: light and colour change, nothing moves."""

from dataclasses import replace

import numpy as np
import torch

from pipeline.models.image.inputs import Augmentation, augment_batch, photometric_batch


def _scene(n: int = 300) -> torch.Tensor:
    """n copies of a coloured block left of centre on a grey-green background, uint8 (n, 3, 60, 100)."""
    image = np.zeros((3, 60, 100), np.uint8)
    image[:] = np.array([60, 90, 70], np.uint8).reshape(3, 1, 1)
    image[:, 15:45, 20:45] = np.array([220, 160, 90], np.uint8).reshape(3, 1, 1)
    return torch.from_numpy(np.repeat(image[None], n, axis=0))


def _centroids(profile: np.ndarray, split: int) -> np.ndarray:
    """Sub-pixel place of the strongest change in ``profile`` (n, m) before and after ``split``: the
    centroid of |difference| within 3 samples of each half's peak. (n, 2)."""
    change = np.abs(np.diff(profile, axis=1))
    places = []
    for low, high in ((0, split), (split, change.shape[1])):
        peak = low + change[:, low:high].argmax(1)
        found = []
        for row, centre in zip(change, peak):
            window = np.arange(max(low, centre - 3), min(high, centre + 4))
            found.append((window * row[window]).sum() / row[window].sum())
        places.append(found)
    return np.array(places).T


def _edges(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The block's left and right edges (columns) and top and bottom edges (rows), sub-pixel, per image.
    Profiles are averaged over the block's span first, so noise averages out."""
    grey = x.mean(1)
    return _centroids(grey[:, 15:45].mean(1), 32), _centroids(grey[:, :, 20:45].mean(2), 30)


def test_photometric_changes_light_and_colour_but_moves_nothing():
    batch = _scene()
    out = photometric_batch(batch, torch.Generator().manual_seed(0)).numpy()
    original = batch.float().numpy() / 255
    assert out.shape == original.shape and out.min() >= 0 and out.max() <= 1
    change = np.abs(out - original).mean((1, 2, 3))
    assert np.median(change) > 0.03  # strong: a typical image moves by more than 3 % of the range
    columns, rows = _edges(out)
    edge_column, edge_row = (v[0] for v in _edges(original[:1]))
    # the block's centre stays (blur and noise may widen its edges a little, symmetrically)
    for found, truth in ((columns, edge_column), (rows, edge_row)):
        assert np.abs(found.mean(1) - truth.mean()).max() < 0.25
        assert np.abs(np.diff(found, axis=1) - np.diff(truth)).max() < 1.5
    np.testing.assert_allclose(edge_column, [19, 44]) and np.testing.assert_allclose(edge_row, [14, 44])
    # every kind of change happens: colour casts (channel ratios vary), grey images, blur, noise
    ratios = out[:, 0, 30, 30] / np.maximum(out[:, 2, 30, 30], 1e-3)
    assert ratios.std() > 0.1
    assert (change > 0).all() and not np.allclose(out[0], out[1])


def test_each_photometric_change_on_its_own():
    batch = _scene(8)
    generator = torch.Generator().manual_seed(1)
    off = Augmentation(brightness=0, contrast=0, saturation=0, colour=0, grayscale=0, blur=0, noise=0)
    same = photometric_batch(batch, generator, off).numpy()
    np.testing.assert_allclose(same, batch.float().numpy() / 255, atol=1e-6)
    grey = photometric_batch(batch, generator, replace(off, grayscale=1.0)).numpy()
    np.testing.assert_allclose(grey[:, 0], grey[:, 2], atol=1e-6)
    blurred = photometric_batch(batch, generator, replace(off, blur=1.0, blur_sigma=1.5)).numpy()
    sharp_step = np.abs(np.diff(same[:, :, 30], axis=2)).max()
    steps = np.abs(np.diff(blurred[:, :, 30], axis=2)).max((1, 2))  # sigma is drawn from 0.3 to 1.5 per image
    assert (steps < 0.99 * sharp_step).all() and steps.mean() < 0.7 * sharp_step
    np.testing.assert_allclose(blurred[:, :, 30, 60:].mean(), same[:, :, 30, 60:].mean(), atol=1e-4)  # flat: as is
    noisy = photometric_batch(batch, generator, replace(off, noise=0.04)).numpy()
    assert 0 < np.abs(noisy - same).mean() < 0.04


def test_augment_batch_without_geometry_is_the_photometric_part():
    batch = _scene(16)
    still = Augmentation(degrees=0.0, scale=(1.0, 1.0), translate=0.0)
    a = augment_batch(batch, torch.Generator().manual_seed(3), still).numpy()
    columns, rows = _edges(a)
    edge_column, edge_row = (v[0] for v in _edges(batch[:1].float().numpy()))
    # the block's centre stays (blur and noise may widen its edges a little, symmetrically)
    for found, truth in ((columns, edge_column), (rows, edge_row)):
        assert np.abs(found.mean(1) - truth.mean()).max() < 0.25
        assert np.abs(np.diff(found, axis=1) - np.diff(truth)).max() < 1.5
    np.testing.assert_allclose(edge_column, [19, 44]) and np.testing.assert_allclose(edge_row, [14, 44])
    assert np.abs(a - batch.float().numpy() / 255).mean() > 0.02
