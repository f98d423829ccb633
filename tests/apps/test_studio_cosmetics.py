"""What the studio's charts and frame browser look like (issue 18, defect 9). Before: plotly toolbars over
legends and titles, cramped probability charts, a frame slider saying 22 where the caption said frame 110,
model names cut short in the sidebar."""

from __future__ import annotations

import json

from pipeline.figures import answers_figure, probability_figure
from tests.helpers.studio import analyze_sample, assert_ok, open_app


def test_charts_show_the_toolbar_on_hover_and_the_slider_matches_the_caption(studio_env):
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    at.slider(key="frame_index").set_value(7).run()
    assert_ok(at)
    charts = at.get("plotly_chart")
    assert charts
    for chart in charts:
        config = json.loads(chart.proto.config)
        assert config.get("displayModeBar") == "hover", config
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["margin"]["t"] >= 40 and layout.get("legend", {}).get("x", 0) == 0, layout.get("legend")
    caption = at.get("image")[0].captions[0]
    assert caption.startswith("sampled frame 7 of "), caption
    assert at.slider(key="frame_index").label == "Sampled frame"
    assert any("Chosen: `tiny`" in c.value for c in at.sidebar.caption)


def test_probability_charts_are_not_cramped():
    probabilities = {"A": 0.1, "C": 0.7, "G": 0.2}
    assert probability_figure(probabilities, "C").layout.height >= 300
    figure = answers_figure({"tiny (landmarks)": ("landmarks", probabilities)}, list(probabilities))
    assert figure.layout.height >= 340 and figure.layout.legend.x == 0 and figure.layout.margin.t >= 40


def test_a_click_on_a_segment_or_a_frame_seeks_there():
    """Seeking: a segment's bar carries its start, a frame's marker its time (Streamlit's selection points)."""
    from pipeline.figures import selected_time

    assert selected_time(None) is None and selected_time({"selection": {"points": []}}) is None
    assert selected_time({"selection": {"points": [{"x": 1.5, "customdata": [3.25, 5.0]}]}}) == 3.25
    assert selected_time({"selection": {"points": [{"x": 2.4, "customdata": ["C", "C", "hand"]}]}}) == 2.4


def test_segment_bars_carry_their_start_and_the_video_starts_at_a_seek(studio_env):
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = [t for t in chart["data"] if t.get("type") == "bar" and t.get("customdata")]
    assert bars and all(t["customdata"][0][0] == t["base"][0] for t in bars)
    assert at.get("plotly_chart")[0].proto.selection_mode  # clicks select points: a rerun seeks
    at.session_state["_video_start"] = 2.0  # what a click on a segment starting at 2 s sets
    at.run()
    video = at.get("video")[0]
    assert video.proto.start_time == 2, video.proto
