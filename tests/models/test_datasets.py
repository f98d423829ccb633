"""ImageFolder reading and the landmark cache."""

import shutil

import cv2
import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.core.hands import Hand, HandSettings, HandsResult
from pipeline.models.datasets import (
    LandmarkCache,
    dataset_fingerprint,
    extract_landmarks,
    file_digest,
    read_image_folder,
)


def _image(path, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((36, 64, 3), value, np.uint8))


def test_flat_tree_maps_folder_names_through_the_vocabulary(tmp_path):
    for folder, n in [("a minor", 2), ("C", 1), ("none", 1), ("Am", 1)]:
        for i in range(n):
            _image(tmp_path / folder / f"{i}.jpg", i)
    (tmp_path / "C" / "notes.txt").write_text("not an image")
    images = read_image_folder(tmp_path)
    assert [(i.chord, i.split, i.path.name) for i in images] == [
        ("Am", "", "0.jpg"), ("Am", "", "0.jpg"), ("Am", "", "1.jpg"), ("C", "", "0.jpg"), ("None", "", "0.jpg")
    ]  # "Am" and "a minor" are one class, in vocabulary order


def test_split_tree_and_split_selection(tmp_path):
    _image(tmp_path / "train" / "G" / "1.png")
    _image(tmp_path / "train" / "A_minor" / "1.png")
    _image(tmp_path / "val" / "G" / "2.png")
    assert {(i.split, i.chord) for i in read_image_folder(tmp_path)} == {("train", "G"), ("train", "Am"), ("val", "G")}
    assert [i.split for i in read_image_folder(tmp_path, "val")] == ["val"]
    with pytest.raises(InputError, match="no split 'test'"):
        read_image_folder(tmp_path, "test")


def test_bad_trees(tmp_path):
    with pytest.raises(InputError, match="No dataset folder"):
        read_image_folder(tmp_path / "missing")
    _image(tmp_path / "cats" / "dogs" / "1.jpg")
    with pytest.raises(InputError, match="neither chords nor splits"):
        read_image_folder(tmp_path)
    empty = tmp_path / "empty"
    (empty / "C").mkdir(parents=True)
    with pytest.raises(InputError, match="No images"):
        read_image_folder(empty)


def test_fingerprint_follows_content_and_labels_not_names(tmp_path):
    _image(tmp_path / "a" / "C" / "x.jpg", 10)
    _image(tmp_path / "a" / "G" / "y.jpg", 20)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    (tmp_path / "b" / "C" / "x.jpg").rename(tmp_path / "b" / "C" / "renamed.jpg")
    first, renamed = read_image_folder(tmp_path / "a"), read_image_folder(tmp_path / "b")
    assert dataset_fingerprint(first) == dataset_fingerprint(renamed)
    (tmp_path / "b" / "C" / "renamed.jpg").rename(tmp_path / "b" / "G" / "renamed.jpg")
    assert dataset_fingerprint(first) != dataset_fingerprint(read_image_folder(tmp_path / "b"))
    assert file_digest(tmp_path / "a" / "C" / "x.jpg") == file_digest(tmp_path / "b" / "G" / "renamed.jpg")


def test_second_extraction_reads_the_cache(tmp_path):
    for i in range(3):
        _image(tmp_path / "C" / f"{i}.jpg", 40 * i)
    paths = [i.path for i in read_image_folder(tmp_path)]
    cache = LandmarkCache(folder=tmp_path / "cache")
    totals = []
    first = extract_landmarks(paths, cache=cache, progress=lambda done, total: totals.append(total))
    second = extract_landmarks(paths, cache=cache, progress=lambda done, total: totals.append(total))
    assert totals[0] == 3 and totals[-1] == 0  # nothing left to detect the second time
    assert len(first) == len(second) == 3 and not any(first) and not any(second)


def test_cache_round_trip_keeps_every_field(tmp_path):
    points = np.random.default_rng(0).random((21, 3)).astype(np.float32)
    hands = [Hand.from_normalised(points, "Right", 0.75, 640, 360), Hand.from_normalised(points * 0.5, "Left", 0.5, 640, 360)]
    original = HandsResult.from_hands(hands, 640, 360)
    cache = LandmarkCache(HandSettings(), folder=tmp_path)
    cache.put("d1", original)
    restored = cache.get_many(["d1", "missing"])
    assert list(restored) == ["d1"]
    back = restored["d1"]
    assert back.fretting_index == original.fretting_index and (back.width, back.height) == (640, 360)
    for a, b in zip(back.hands, original.hands):
        assert np.array_equal(a.landmarks_norm, b.landmarks_norm) and a.handedness == b.handedness
        assert a.score == pytest.approx(b.score) and np.allclose(a.bbox, b.bbox)


def test_unreadable_image_is_a_clear_error(tmp_path):
    bad = tmp_path / "C" / "broken.jpg"
    bad.parent.mkdir()
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(InputError, match="broken.jpg is not a readable image"):
        extract_landmarks([bad], cache=LandmarkCache(folder=tmp_path / "cache"))


@pytest.mark.real_data
def test_cached_landmarks_equal_fresh_ones_on_real_frames(real_data, tmp_path):
    paths = [p for i, p in enumerate(sorted((real_data / "val" / "C").glob("*.jpg"))) if i < 10]
    cache = LandmarkCache(folder=tmp_path)
    fresh = extract_landmarks(paths, cache=cache, workers=2)
    cached = extract_landmarks(paths, cache=cache)
    assert sum(bool(r) for r in fresh) >= 3
    for a, b in zip(fresh, cached):
        assert len(a) == len(b)
        if a:
            assert np.allclose(a.fretting.landmarks_px, b.fretting.landmarks_px)
