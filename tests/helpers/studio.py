"""What the studio's AppTest tests share: the app, tiny models and their environments, page helpers.

Its fixtures reach the app tests through tests/apps/conftest.py.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.models.image.loading import load_image_model
from pipeline.models.landmark import train_landmark_model
from pipeline.vision.video import read_frame
from tests.helpers.hands import chord_hands
from tests.helpers.tiny_models import tiny_cnn

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"
TIMEOUT = 180


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A landmark SVM trained on constructed hands (A, C, G, None), saved once per test module."""
    results, labels = chord_hands(8, seed=1)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="constructed hands (test)")
    return model.save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def studio_env(tiny_model, tmp_path, monkeypatch):
    """The studio starts with the tiny landmark model and a label store in this test's temp folder."""
    monkeypatch.setenv("CHORD_STUDIO_MODELS", str(tiny_model))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))
    return tmp_path


def open_app() -> AppTest:
    """The studio (``app.py``) after its first run, checked free of exceptions."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    """Fail with the messages of any exception the last run raised."""
    assert not at.exception, [e.message for e in at.exception]


def analyze_sample(at: AppTest, sample: str) -> AppTest:
    """Analyze the sample clip named ``sample`` on the Analyze page; returns ``at``."""
    at.selectbox(key="analyze_sample").select(SAMPLES / sample).run()
    at.button(key="analyze_run").click().run()
    assert_ok(at)
    return at


def video_frame(data: bytes, time: float, folder: Path) -> np.ndarray:
    """The frame shown at ``time`` seconds of an MP4 given as bytes, RGB (H, W, 3)."""
    path = folder / "shown.mp4"
    path.write_bytes(data)
    capture = cv2.VideoCapture(str(path))
    try:
        index = round(time * capture.get(cv2.CAP_PROP_FPS))
        for _ in range(index + 1):
            ok, image = capture.read()
            assert ok, f"the video ends before {time} s"
    finally:
        capture.release()
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def image_models(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """The tiny landmark model and two random-weight CNNs over the whole vocabulary."""
    root = tmp_path_factory.mktemp("image-models")
    return {"tiny": tiny_model, "cnn": tiny_cnn(root / "cnn"), "cnn2": tiny_cnn(root / "cnn2", seed=1)}


def use_models(monkeypatch, tmp_path, folders) -> None:
    """The studio starts with the model ``folders`` and a label store in ``tmp_path``."""
    monkeypatch.setenv("CHORD_STUDIO_MODELS", os.pathsep.join(str(f) for f in folders))
    monkeypatch.setenv("CHORD_STUDIO_DATA", str(tmp_path / "labels"))


@pytest.fixture
def image_env(image_models, tmp_path, monkeypatch):
    """The studio starts with the tiny landmark model and both CNNs; yields their folders by name."""
    use_models(monkeypatch, tmp_path, image_models.values())
    return image_models


@pytest.fixture
def shown_images(monkeypatch) -> dict[str, bytes]:
    """Media file id -> bytes of everything the app hands to Streamlit's media storage (st.image).

    AppTest drops its media storage after each run; this keeps the bytes so a test can decode an image
    by the file id at the end of its URL."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        seen[file_id] = self._files_by_id[file_id].content
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return seen


def shown_media(shown: dict[str, bytes], url: str) -> bytes:
    """The bytes of the media file at ``url`` (``shown``: the :func:`shown_images` fixture)."""
    return shown[url.rsplit("/", 1)[1].split(".")[0]]


def decoded_image(shown: dict[str, bytes], url: str) -> np.ndarray:
    """The image at ``url`` decoded, RGB uint8 (H, W, 3) (``shown``: the :func:`shown_images` fixture)."""
    data = shown_media(shown, url)
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def page_images(at: AppTest) -> dict[str, str]:
    """Caption -> URL of every image on the page."""
    return {c: u for image in at.get("image") for c, u in zip(image.captions, image.value)}


def heatmap_of(at: AppTest, model: str) -> tuple[str, str, float]:
    """(URL, target, probability) of the heatmap whose caption starts with ``model``."""
    found = [(c, u) for c, u in page_images(at).items() if c.startswith(f"{model}: occlusion heatmap")]
    assert len(found) == 1, list(page_images(at))
    caption, url = found[0]
    match = re.match(rf"{model}: occlusion heatmap of p\((\w+)\) = ([0-9.]+)", caption)
    assert match, caption
    return url, match.group(1), float(match.group(2))


def cnn_answer(folder: Path, clip: Path, time: float):
    """(the CNN in ``folder``'s prediction, the frame) on the clip's frame at ``time`` seconds."""
    frame = read_frame(clip, time).image
    return load_image_model(folder).predict([frame])[0], frame


