"""The sample model's shipped training data: what the generator and MediaPipe give today, and a build
from it without rendering (a Space restarts on a fresh disk)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.errors import InputError
from pipeline.models import registry
from tools.samplegen import sample_landmarks


def test_shipped_landmarks_are_the_renders_hands(tmp_path):
    """What ``python -m tools.samplegen.sample_landmarks`` would write today is what ships."""
    from pipeline.models.datasets import extract_landmarks, read_image_folder
    from tools.samplegen.datasets import make_image_folder
    from tools.samplegen.samples import sample_scenes

    results, chords, _ = registry.read_sample_landmarks()
    assert len(results) == len(chords) == 15 * registry.SAMPLE_IMAGES_PER_CHORD
    make_image_folder(tmp_path, registry.SAMPLE_IMAGES_PER_CHORD, seed=registry.SAMPLE_SEED, scenes=sample_scenes())
    images = read_image_folder(tmp_path)
    assert chords == [image.chord for image in images]
    # Not the frames' bytes: they differ between CPUs (OpenCV picks its SIMD paths by CPU, and the
    # fingerprint of these renders differs between this project's machines), while the hands that
    # MediaPipe finds in them, which are what ships, agree to 1e-5 below.
    # MediaPipe again on one frame per chord (all of them would take a minute): the same hands
    picked = [next(i for i, image in enumerate(images) if image.chord == chord) for chord in dict.fromkeys(chords)]
    fresh = extract_landmarks([images[i].path for i in picked], workers=1)
    for i, again in zip(picked, fresh):
        shipped = results[i]
        assert len(shipped.hands) == len(again.hands), images[i].path
        for a, b in zip(shipped.hands, again.hands):
            np.testing.assert_allclose(a.landmarks_norm, b.landmarks_norm, atol=1e-5)
            assert a.handedness == b.handedness
        assert (shipped.fretting is None) == (again.fretting is None)


def test_the_sample_model_builds_from_the_shipped_landmarks_in_seconds(tmp_path, monkeypatch):
    def no_renders(*args, **kwargs):
        raise AssertionError("rendered and ran MediaPipe at run time")

    monkeypatch.setattr(sample_landmarks, "render_and_detect", no_renders)
    model = registry.build_sample_model(tmp_path / "sample")  # training alone: about 3 s here
    assert model.card.data_fingerprint == registry.read_sample_landmarks()[2] and model.card.synthetic
    assert (tmp_path / "sample" / "card.json").is_file()
    # other settings than the shipped ones: the run-time registry never renders, it names the command
    assert registry.read_sample_landmarks(per_chord=registry.SAMPLE_IMAGES_PER_CHORD + 1) is None
    with pytest.raises(InputError, match="python -m tools.samplegen.sample_landmarks"):
        registry.build_sample_model(tmp_path / "other", per_chord=registry.SAMPLE_IMAGES_PER_CHORD + 1)
    assert not (tmp_path / "other").exists()


def test_forget_models_drops_only_the_folders_below(tmp_path):
    """A Space session's taught pair leaves the process's cache when its folder goes; others stay."""
    from tests.helpers.tiny_models import tiny_cnn, tiny_landmark_model

    session = tiny_landmark_model(tmp_path / "req-1" / "landmarks")
    kept = tiny_cnn(tmp_path / "other")
    first, other = registry.load_model(session), registry.load_model(kept)
    assert registry.load_model(session) is first  # cached
    assert registry.forget_models(tmp_path / "req-1") == 1
    assert registry.load_model(session) is not first  # loaded afresh
    assert registry.load_model(kept) is other
    assert registry.forget_models(tmp_path / "nothing-here") == 0
