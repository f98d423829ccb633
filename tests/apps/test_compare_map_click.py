"""Compare: a click on a point of an embedding map shows that point's frame beside the maps (issue 18,
"What users expect": hover or click a point of a t-SNE map and see its frame).

AppTest cannot click a plotly chart, so the click is checked in two halves: the selection Streamlit hands
back is read into a frame index (:func:`pipeline.figures.selected_map_frame`, on the customdata the maps
really carry), and the page, given that index, shows that frame's pixels, true chord and each model's
answer. tests/apps/test_e2e_live_compare.py clicks a point in a real browser.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labeling.sets import SAMPLE_SET, load_labeled_set
from pipeline.compare.comparison import frame_answers
from pipeline.compare.report import compare_models
from pipeline.figures import maps_figure, selected_map_frame
from pipeline.models.registry import load_model
from pipeline.text import MAP_CLICK_HINT
from pipeline.vision.video import read_image
from tests.helpers.studio import assert_ok, decoded_image, open_app, page_images


def test_selection_of_a_map_point_is_its_frame_index(tiny_model, tmp_path):
    frames = load_labeled_set(SAMPLE_SET)
    comparison = compare_models([("tiny", load_model(tiny_model))], frames.images, hands=frames.hands,
                                thumbnails=False, methods=("tsne",), cache_folder=tmp_path)
    figure = maps_figure(comparison)
    n = len(comparison.frames)
    # every point of every trace carries its own frame index first: a click on it picks that frame
    seen = set()
    for trace in figure.data:
        for point_number, custom in enumerate(trace.customdata):
            event = {"selection": {"points": [{"curve_number": 0, "point_number": point_number,
                                               "x": 0.0, "y": 0.0, "customdata": list(custom)}],
                                   "point_indices": [point_number], "box": [], "lasso": []}}
            picked = selected_map_frame(event, n)
            assert picked == custom[0]
            assert comparison.frames[picked].chord == custom[1]  # its true chord, as the point's hover says
            seen.add(picked)
    assert seen == {i for i in range(n) if not np.isnan(comparison.models[0].maps["tsne"][i]).any()}
    # nothing selected, or nothing usable: no frame
    for empty in (None, {}, {"selection": {"points": []}}, {"selection": {"points": [{"x": 1.0}]}},
                  {"selection": {"points": [{"customdata": [n]}]}}, {"selection": {"points": [{"customdata": ["a"]}]}},
                  {"selection": {"points": [{"customdata": [True]}]}}):
        assert selected_map_frame(empty, n) is None, empty


@pytest.mark.parametrize("number", [0, 23])
def test_compare_page_shows_the_clicked_frame(studio_env, tiny_model, shown_images, number):
    at = open_app()
    at.switch_page("app_pages/compare.py").run()
    at.button(key="compare_run").click().run()
    at.button(key="compare_maps").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert any(c.value == MAP_CLICK_HINT for c in at.caption)  # before a click: the hint, no frame
    assert not page_images(at)

    at.session_state["compare_frame"] = number  # what the page stores from the click's selection
    at.run()
    assert_ok(at)
    images = page_images(at)
    assert len(images) == 1, list(images)
    caption, url = next(iter(images.items()))
    frames = load_labeled_set(SAMPLE_SET)
    path, truth = frames.paths[number], frames.truth[number]
    assert caption == f"Frame {number} ({Path(path).name}): true chord {truth}"
    # the frame itself, pixel for pixel
    assert np.array_equal(decoded_image(shown_images, url), read_image(path))
    # each model's answer beside it, as the maps' comparison has it
    answer = frame_answers(compare_models([("tiny", load_model(tiny_model))], frames.images[number:number + 1],
                                          hands=frames.hands[number:number + 1], thumbnails=False, methods=()),
                           0)["tiny"]
    text = "\n".join(m.value for m in at.markdown)
    expected = (f"- tiny: **{answer.chord}** (p = {answer.probability:.3f}" if answer.covered
                else "- tiny: no prediction (no hand found)")
    assert expected in text, text
