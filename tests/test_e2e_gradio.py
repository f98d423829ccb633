"""The Space demo in a real browser: `gradio_app.demo` served on a free port, driven by headless Chromium.

Upload a sample clip, analyse it, wait for the timeline and the annotated video, explain a frame, suggest
a correction, play the chords and wait for the audio. Screenshots go to a temp folder and to
/tmp/gradio-shots; any browser console error or uncaught page error fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_gradio_app import _free_port, tiny_space_env

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/gradio-shots")
CLIP = REPO / "sample_media" / "progression.mp4"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (Debian package chromium)")


@pytest.fixture(scope="module")
def space_url(tmp_path_factory):
    """`gradio_app.demo` in its own process with a tiny landmark model; yields its URL."""
    folder = tmp_path_factory.mktemp("gradio-e2e")
    env = {**os.environ, **tiny_space_env(folder), "GRADIO_ANALYTICS_ENABLED": "False"}
    port = _free_port()
    code = ("import gradio_app; gradio_app.get_models(); "
            f"gradio_app.demo.launch(server_name='127.0.0.1', server_port={port}, quiet=True)")
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail("the Gradio app did not start:\n" + (folder / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, folder
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _shot(page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_upload_analyse_explain_correct_and_listen_in_chromium(space_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, folder = space_url
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
            viewport={"width": 1400, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(url)
            page.locator("#analyze").wait_for(timeout=30_000)
            page.locator("#clip input[type=file]").set_input_files(str(CLIP))
            page.locator("#clip video").first.wait_for(timeout=30_000)
            page.locator("#analyze").click()
            expect(page.locator("#summary")).to_contain_text("frames sampled", timeout=60_000)
            expect(page.locator("#timeline_table")).to_contain_text("mean probability")
            expect(page.locator("#timeline_table")).to_contain_text("10")
            page.locator("#annotated video").wait_for(timeout=30_000)
            page.locator("#timeline_plot .js-plotly-plot").wait_for(timeout=30_000)
            _shot(page, tmp_path, "1-analysis")

            page.get_by_role("tab", name="Explain a frame").click()
            page.locator("#explain_button").click()
            expect(page.locator("#explain_note")).to_contain_text("Frame 0", timeout=30_000)
            page.locator("#correct_chord input").click()
            page.get_by_role("option", name="Em", exact=True).click()
            page.locator("#correct_button").click()
            expect(page.locator("#correct_note")).to_contain_text("Recorded Em", timeout=30_000)
            _shot(page, tmp_path, "2-explain")

            page.get_by_role("tab", name="Listen").click()
            page.locator("#listen_button").click()
            expect(page.locator("#listen_note")).to_contain_text("BPM", timeout=60_000)
            page.locator("#guitar_audio audio, #guitar_audio [data-testid='waveform-guitar']").first.wait_for(
                state="attached", timeout=30_000)
            page.locator("#muxed video").wait_for(timeout=30_000)
            _shot(page, tmp_path, "3-listen")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)
    from labeling.store import LabelStore

    with LabelStore(folder / "labels") as store:
        assert [f.chord for f in store.frames()] == ["Em"]
