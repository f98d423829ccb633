"""The Models page trains in the page and says why a training failed (issue 18, defect 6). Before: an inline
retrain showed only "Training failed" (the reason hidden), and the page could not train from a folder of
labeled frames."""

from __future__ import annotations

import cv2
import numpy as np

from labeling.store import LabelStore
from tests.helpers.store import add_tiny
from tests.helpers.studio import assert_ok, open_app


def _models_page():
    at = open_app()
    at.switch_page("app_pages/models.py").run()
    assert_ok(at)
    return at


def _statuses(at) -> list:
    return list(at.get("status")) or [b for b in at.main.children.values() if getattr(b, "type", "") == "status"]


def test_a_failed_retrain_says_why(studio_env):
    with LabelStore(studio_env / "labels") as store:
        for frame_id in add_tiny(store, 4, size=32):
            store.set_label(frame_id, "C", author="ann")
        store.create_snapshot("v1")
    at = _models_page()
    at.button(key="models_train").click().run()
    assert_ok(at)
    labels = [s.label for s in _statuses(at)]
    assert any(label.startswith("Training failed: ") and len(label) > len("Training failed: ") + 10
               for label in labels), labels
    reason = labels[0].removeprefix("Training failed: ")
    assert any(reason in e.value for e in at.error), [e.value for e in at.error]


def test_training_from_a_folder_that_is_not_one_says_why(studio_env):
    at = _models_page()
    at.text_input(key="models_folder_folder").input(str(studio_env / "nowhere")).run()
    at.button(key="models_folder_run").click().run()
    assert_ok(at)
    labels = [s.label for s in _statuses(at)]
    assert labels and "is not a folder" in labels[0], labels
    assert any("is not a folder" in e.value for e in at.error)


def test_a_cnn_trained_from_a_folder_appears_in_the_sidebar(studio_env):
    root = studio_env / "frames"
    rng = np.random.default_rng(0)
    for chord, colour in (("C", (200, 40, 40)), ("G", (40, 40, 200))):
        (root / chord).mkdir(parents=True)
        for k in range(8):
            image = np.clip(rng.normal(colour, 20, (72, 128, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / chord / f"{k}.jpg"), image)
    at = _models_page()
    at.text_input(key="models_folder_folder").input(str(root)).run()
    at.selectbox(key="models_folder_kind").select("cnn").run()
    at.button(key="models_folder_run").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any("Trained frames-cnn" in s.value for s in at.success), [s.value for s in at.success]
    assert "frames-cnn (cnn)" in at.sidebar.multiselect(key="models").options
    assert (studio_env / "labels" / "models" / "frames-cnn").is_dir()
