"""Analyze keeps its controls and its result together (issue 18, defect 4). Before: after leaving and coming
back the clip and the model pickers reset while the old result stayed underneath; a failed upload left the
stale result below its error; a browser reload lost the analysis."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.helpers.studio import APP, TIMEOUT, analyze_sample, assert_ok, open_app


def _shown_clip(at) -> str | None:
    return next((h.value for h in at.subheader if " with " in h.value), None)


def test_coming_back_to_analyze_shows_what_produced_the_result(studio_env):
    at = open_app()
    at.number_input(key="analyze_start").set_value(1.0)
    analyze_sample(at, "strumming_em_d.mp4")
    models = {slot: at.selectbox(key=f"analyze_{slot}").value for slot in ("landmarks", "image", "detector")}
    assert _shown_clip(at).startswith("strumming_em_d.mp4")
    at.switch_page("app_pages/models.py").run()
    at.switch_page("app_pages/analyze.py").run()
    assert_ok(at)
    assert _shown_clip(at).startswith("strumming_em_d.mp4")
    assert at.radio(key="analyze_source").value == "Sample clip"
    assert at.selectbox(key="analyze_sample").value.name == "strumming_em_d.mp4"
    assert at.number_input(key="analyze_start").value == 1.0
    assert {slot: at.selectbox(key=f"analyze_{slot}").value for slot in models} == models
    assert not at.warning or all("default value" not in w.value for w in at.warning)


def test_a_failed_upload_clears_the_stale_result(studio_env):
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    assert _shown_clip(at)
    at.radio(key="analyze_source").set_value("Upload").run()
    at.get("file_uploader")[0].set_value(("notes.txt", b"not a video at all", "text/plain")).run()
    assert_ok(at)
    assert any("notes.txt" in e.value for e in at.error), [e.value for e in at.error]
    assert _shown_clip(at) is None, _shown_clip(at)
    assert "analysis" not in at.query_params


def test_a_damaged_upload_that_fails_to_analyze_clears_the_stale_result(studio_env):
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    at.radio(key="analyze_source").set_value("Upload").run()
    at.get("file_uploader")[0].set_value(("broken.mp4", b"not a video at all", "video/mp4")).run()
    at.button(key="analyze_run").click().run()
    assert_ok(at)
    assert at.error, "the analysis's error"
    assert _shown_clip(at) is None, _shown_clip(at)


def test_a_reload_brings_the_last_analysis_back(studio_env):
    at = analyze_sample(open_app(), "strumming_em_d.mp4")
    key = at.query_params.get("analysis")
    assert key, at.query_params
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a new browser session on the same URL
    fresh.query_params["analysis"] = key[0] if isinstance(key, list) else key
    fresh.run()
    assert_ok(fresh)
    assert _shown_clip(fresh) and _shown_clip(fresh).startswith("strumming_em_d.mp4"), _shown_clip(fresh)
    assert fresh.selectbox(key="analyze_sample").value.name == "strumming_em_d.mp4"
    assert fresh.get("plotly_chart")
