"""The studio in a real browser: `streamlit run app.py` on a free port, driven by headless Chromium.

Analyze a sample clip with a landmark model and a CNN (fused), explain one frame (the CNN's occlusion
heatmap), correct two labels in the review queue with the keyboard
(and see them survive a reload), compare models, play the audio. A screenshot of each page goes to a
temp folder and to /tmp/studio-shots; any Streamlit exception box or browser console error fails it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline.core.chords import VOCABULARY
from pipeline.models.catalogue import chord_keys, label_chords
from pipeline.models.landmark import train_landmark_model
from tests.helpers.browser import launch_chromium, needs_chromium, overlapping, serve_studio, unplayable_videos
from tests.helpers.hands import chord_hands
from tests.helpers.tiny_models import tiny_cnn

SHOTS = Path("/tmp/studio-shots")

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A running studio with a tiny landmark model and a tiny CNN; yields its URL."""
    root = tmp_path_factory.mktemp("e2e")
    results, labels = chord_hands(8, seed=1)
    model = train_landmark_model(results, labels, folds=3, estimators=("svm",), feature_versions=("raw63",),
                                 trained_on="constructed hands (test)")
    folders = [model.save(root / "tiny"), tiny_cnn(root / "cnn")]
    with serve_studio(root, folders) as url:
        yield url, root


def test_studio_in_a_browser(studio, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, root = studio
    shots = tmp_path / "shots"
    shots.mkdir()
    console_errors: list[str] = []

    with sync_playwright() as playwright:
        # A fresh profile each run (Playwright passes it as --user-data-dir).
        browser = launch_chromium(playwright, tmp_path / "profile", ("--autoplay-policy=no-user-gesture-required",))
        page = browser.pages[0] if browser.pages else browser.new_page()
        # Warm-up load: the first script run of the process applies app.py's media-serving fix
        # (app_pages.ui.media.fix_media_serving); requests before it (the favicon) hit Streamlit 1.60's bug.
        page.goto(url)
        expect(page.get_by_role("heading", name="Analyze a clip")).to_be_visible()
        page.on("console", lambda msg: console_errors.append(f"{msg.text} ({msg.location.get('url')})")
                if msg.type == "error" else None)
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.set_default_timeout(90_000)

        def settle() -> None:
            """Wait until Streamlit has finished the rerun, then check for exception boxes."""
            page.wait_for_timeout(300)
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
            exceptions = page.get_by_test_id("stException")
            assert exceptions.count() == 0, exceptions.first.inner_text()

        def shot(name: str) -> None:
            settle()
            # every video the page shows plays: a picture once loaded (issue 18: MPEG-4 Part 2 showed none)
            assert not unplayable_videos(page), (name, unplayable_videos(page))
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        def choose(label: str, option: str) -> None:
            page.get_by_test_id("stSelectbox").filter(has_text=label).click()
            page.get_by_role("option", name=option, exact=True).click()
            settle()

        def go(title: str) -> None:
            page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
            settle()

        # 1. Analyze a sample clip with the landmark model and the CNN, fused.
        page.goto(url)
        expect(page.get_by_role("heading", name="Analyze a clip")).to_be_visible()
        choose("Sample clip", "strumming_em_d.mp4")
        page.get_by_role("button", name="Analyze", exact=True).click()
        expect(page.get_by_text("Frames sampled")).to_be_visible(timeout=120_000)
        expect(page.get_by_role("heading", name="strumming_em_d.mp4 with tiny + cnn (fused)")).to_be_visible()
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        expect(page.locator("video").first).to_be_attached()
        shot("1-analyze")
        # the frame browser: the frame with its hand, and each model's and the fused probabilities
        fused = page.get_by_text("Each frame's chord fuses both models' probabilities")
        fused.scroll_into_view_if_needed()
        expect(fused).to_be_visible()
        shot("1b-frame-browser")

        # 2. The explanation of one frame: the CNN's occlusion heatmap over the frame, with its legend.
        page.get_by_role("button", name="Explain this frame").click()
        expect(page.get_by_role("heading", name="Explain a frame")).to_be_visible()
        expect(page.get_by_text("Target chord")).to_be_visible()
        heatmap = page.get_by_test_id("stImage").filter(has_text="cnn: occlusion heatmap of p(")
        # the tiny CNN's evidence may be too small to draw: then the page says so instead (issue 18)
        said = page.get_by_text("nothing to draw")
        expect(heatmap.or_(said).first).to_be_visible(timeout=120_000)
        shot("2-explain")
        if heatmap.count():
            heatmap.scroll_into_view_if_needed()
            expect(heatmap.locator("img")).to_be_visible()
            # the picture loaded: a 640x360 frame drawn at its natural size
            assert heatmap.locator("img").evaluate("img => img.complete && img.naturalWidth") == 640
            heatmap.screenshot(path=str(shots / "2-heatmap.png"))
        shot("2b-explain-heatmap")

        # 3. Correct two labels in the review queue with the keyboard; they survive a reload.
        go("Label")
        expect(page.get_by_role("heading", name="Label frames")).to_be_visible()
        choose("Clip", "progression.mp4")
        page.get_by_role("button", name="Add frames").click()
        expect(page.get_by_text("Added 10 frames")).to_be_visible(timeout=120_000)
        settle()
        # a button per chord of either model (the CNN knows them all), its shortcut from chord_keys; at 1400 px
        # they sit side by side inside the window, none over another (issue 18: F/Fm/G/Gm were outside)
        keys = chord_keys(label_chords(VOCABULARY))
        buttons = {chord: page.locator(f".st-key-label_chord_{chord} button").bounding_box()
                   for chord in label_chords(VOCABULARY)}
        assert all(box is not None for box in buttons.values()), buttons
        assert not overlapping(buttons), overlapping(buttons)
        width = page.viewport_size["width"]
        assert all(0 <= box["x"] and box["x"] + box["width"] <= width for box in buttons.values()), buttons
        page.get_by_role("heading", name="Label frames").click()  # focus the page, not a widget
        page.keyboard.press(keys["G"])
        expect(page.get_by_text("labeled G.")).to_be_visible()
        settle()
        page.get_by_role("heading", name="Label frames").click()
        page.keyboard.press(keys["A"])
        expect(page.get_by_text("labeled A.")).to_be_visible()
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("2 of 10")
        page.reload()
        expect(page.get_by_role("heading", name="Label frames")).to_be_visible()
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("2 of 10")
        shot("3-label")

        # 4. The comparison.
        go("Compare")
        page.get_by_role("button", name="Compare", exact=True).click()
        expect(page.get_by_role("heading", name="Embeddings")).to_be_visible(timeout=120_000)
        expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
        shot("4-compare")

        # 5. Play the audio.
        go("Listen")
        page.get_by_text("a sample clip's ground truth").click()
        settle()
        choose("Sample clip", "strumming_em_d.mp4")
        page.get_by_role("button", name="Render").click()
        audio = page.locator("audio").first
        expect(audio).to_be_attached(timeout=120_000)
        settle()
        audio.evaluate("a => a.play()")
        page.wait_for_function("() => { const a = document.querySelector('audio'); return a && a.currentTime > 0.2; }",
                               timeout=30_000)
        shot("5-listen")

        go("Models")
        expect(page.get_by_role("heading", name="Models")).to_be_visible()
        shot("6-models")
        browser.close()

    SHOTS.mkdir(exist_ok=True)
    for png in shots.glob("*.png"):
        shutil.copy(png, SHOTS / png.name)
    # On a reload at a page's URL, Streamlit's frontend first probes <page>/_stcore/{health,host-config}
    # for a base path (404), then the root: its own probe, not an error of the studio.
    probe = re.compile(r"status of 404 .*/[\w-]+/_stcore/(?:health|host-config)\)$")
    # Streamlit forgets a page's media files when the script reruns or the page changes; a video element
    # still fetching a byte range of the old file then gets a 404. Every video shown is checked to play
    # (videoWidth > 0) at each step above, so such a late range request is not a blank video.
    stale_media = re.compile(r"status of 404 .*/media/[0-9a-f]+\.mp4\)$")
    errors = [e for e in console_errors if not probe.search(e) and not stale_media.search(e)]
    assert not errors, errors
