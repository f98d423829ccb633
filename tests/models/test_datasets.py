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
    hands = [Hand.from_normalised(points, "Right", 0.75, 640, 360),
             Hand.from_normalised(points * 0.5, "Left", 0.5, 640, 360)]
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


def _tree(root, files, groups=None):
    """A tiny ImageFolder tree of 36x64 images (``files``: relative paths), with ``groups.csv`` when given."""
    for k, name in enumerate(files):
        _image(root / name, value=k % 250)
    if groups is not None:
        (root / "groups.csv").write_text("file,group\n" + "".join(f"{f},{g}\n" for f, g in groups.items()))
    return root


def test_several_datasets_union_their_chords_and_split_grouped_ones_by_group(tmp_path):
    from pipeline.models.datasets import read_datasets

    real = _tree(tmp_path / "real", [f"{s}/{c}/{c}-{i}.jpg" for s, n in (("train", 4), ("val", 2))
                                     for c in ("Am", "None") for i in range(n)])
    # the mixed tree's train and val folders hold the same four groups: its split must come from them
    files = [f"{s}/{c}/{c}-{s}{i}.jpg" for s in ("train", "val") for c in ("Am", "Fm") for i in range(5)]
    groups = {f: str(int(f.split("-")[-1][-5]) % 2 + 2 * ("Fm" in f)) for f in files}
    mixed = _tree(tmp_path / "mixed", files, groups)
    train = read_datasets([real, mixed], "train", held_out=0.3, seed=1)
    val = read_datasets([real, mixed], "val", held_out=0.3, seed=1)
    every = read_datasets([real, mixed])
    assert len(every) == len(train) + len(val) == 12 + 20
    assert {i.chord for i in every} == {"Am", "Fm", "None"}
    assert {i.domain for i in train} == {"real", "mixed"} and {i.domain for i in val} == {"real", "mixed"}
    # the tree without groups keeps its folders
    assert sorted(i.path.name for i in val if i.domain == "real") == sorted(
        p.name for p in (real / "val").rglob("*.jpg"))
    # the grouped tree: whole groups on one side, never a group on both; files' folders ignored
    mixed_train = {i.group for i in train if i.domain == "mixed"}
    mixed_val = {i.group for i in val if i.domain == "mixed"}
    assert mixed_val and mixed_train and not mixed_train & mixed_val
    assert all(i.group == groups[i.path.relative_to(mixed).as_posix()] for i in every if i.domain == "mixed")
    assert sum(i.domain == "mixed" for i in val) <= 0.3 * 20
    assert any(i.path.parent.parent.name == "train" for i in val if i.domain == "mixed")
    # the same seed holds out the same groups; the split asked for must exist
    assert read_datasets([mixed], "val", held_out=0.3, seed=1) == [i for i in val if i.domain == "mixed"]
    with pytest.raises(InputError, match="No images in split 'val'"):
        read_datasets([_tree(tmp_path / "flat", ["Am/a.jpg", "C/c.jpg"])], "val")


def test_groups_csv_without_its_columns_is_a_clear_error(tmp_path):
    from pipeline.models.datasets import read_datasets

    root = _tree(tmp_path / "set", ["Am/a.jpg", "C/c.jpg"])
    (root / "groups.csv").write_text("name,cluster\nAm/a.jpg,1\n")
    with pytest.raises(InputError, match="groups.csv needs the columns file,group"):
        read_datasets([root])


def test_hand_settings_round_trip_through_the_card_and_change_the_cache_key(tmp_path):
    from pipeline.core.hands import CASCADE_HANDS
    from pipeline.models.cards import read_card
    from pipeline.models.landmark import train_landmark_model
    from tests.helpers.hands import chord_hands

    results, labels = chord_hands(6, seed=3)
    model = train_landmark_model(results, labels, estimators=("svm",), folds=3, hand_settings=CASCADE_HANDS,
                                 domains=["real", "mixed"])
    card = read_card(model.save(tmp_path / "m"))
    assert card.hand_settings == CASCADE_HANDS and card.domains == ["real", "mixed"]
    assert card.hand_settings.cascade and card.hand_settings.min_detection_confidence == 0.1
    old = card.to_json()
    del old["hands"]
    assert type(card).from_json(old).hand_settings == HandSettings()  # older cards: MediaPipe's defaults
    keys = {s.key for s in (HandSettings(), CASCADE_HANDS, HandSettings(min_detection_confidence=0.1),
                            HandSettings(min_detection_confidence=0.1, min_tracking_confidence=0.1))}
    assert len(keys) == 4
    assert HandSettings().key == "mp0.10.21-n2-c1-d0.5-s640"  # caches written before stay valid
    plain, cascade = LandmarkCache(HandSettings(), tmp_path), LandmarkCache(CASCADE_HANDS, tmp_path)
    try:
        assert plain.path != cascade.path
    finally:
        plain.close()
        cascade.close()


def test_analysis_finds_hands_as_the_landmark_model_learned_them():
    from pipeline.core.hands import CASCADE_HANDS
    from pipeline.core.types import ModelSet
    from pipeline.models.cards import LandmarkCard
    from pipeline.models.landmark import LandmarkChordModel
    from pipeline.timeline.analyze import hand_settings_for

    old = LandmarkChordModel(None, LandmarkCard())
    new = LandmarkChordModel(None, LandmarkCard(hands=CASCADE_HANDS.to_json()))
    assert hand_settings_for(old) == HandSettings() and hand_settings_for(ModelSet(landmarks=new)) == CASCADE_HANDS
    assert hand_settings_for(ModelSet(image=object())) == CASCADE_HANDS


def test_one_stray_hand_among_none_frames_does_not_stop_training():
    # the cascade finds a hand in 1 of the real set's 150 'None' training frames: one example cannot
    # teach "no chord" (nor be cross-validated), so it is left out instead of failing the training
    from pipeline.models.landmark import train_landmark_model
    from tests.helpers.hands import chord_hands

    results, labels = zip(*[(r, c) for r, c in zip(*chord_hands(6, seed=3)) if c != "None"])
    empty = HandsResult((), None, 640, 360)
    model = train_landmark_model(list(results) + [results[0], empty, empty], list(labels) + ["None"] * 3,
                                 estimators=("svm",), folds=3)
    assert "None" not in model.classes and model.card.n_covered == len(results)
