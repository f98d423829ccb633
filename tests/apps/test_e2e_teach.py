"""The studio's Teach page in a real browser (issue 16): `streamlit run app.py` with only the sample model,
driven by headless Chromium.

- Uploads: clips named after their chords; a clip without a chord name (its chord picker is there, and an error
  names it; the chord chosen for it leaves with it when it is removed), a clip with no hand, a chord with too few
  frames each give a clear error in view and teach nothing; then the pair is taught (3 CNN epochs), its held-out
  scores shown, it becomes the sidebar's models, and Analyze reads a later clip of the same setup with the taught
  chords at the right times (the downloaded timeline's values).
- Camera takes, with Chromium's fake camera playing a clip of a G chord: a take recorded for a chosen chord is
  listed as an H.264 clip whose frames are the camera's picture, a second take is removed, and the take is taught
  with an uploaded clip.
Every video the page shows plays; no exception box, no console error.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.vision.video import iter_frames, video_codec
from tests.helpers.browser import (fake_camera_args, fake_camera_clip, needs_chromium, open_studio, serve_studio,
                                   unplayable_videos)
from tools.samplegen.clips import make_clip

TAKE_SECONDS = 3

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A running studio with only the sample model; yields (URL, temp root)."""
    root = tmp_path_factory.mktemp("e2e-teach")
    with serve_studio(root) as url:
        yield url, root


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """G.mp4, C.mp4 (2 s each), take1.mp4 (Am, no chord in its name), D.mp4 (0.4 s: too few frames), later.mp4
    (G for 2 s, then C for 2 s), all of one synthetic setup; and no_hand.mp4 from the sample media."""
    root = tmp_path_factory.mktemp("teach-clips")
    for name, chords in (("G", [("G", 2.0)]), ("C", [("C", 2.0)]), ("take1", [("Am", 2.0)]), ("D", [("D", 0.4)]),
                         ("later", [("G", 2.0), ("C", 2.0)]), ("camera", [("G", 4.0)])):
        make_clip(root / f"{name}.mp4", chords, fps=15, seed=1, shake=4.0, quality=35)
    shutil.copy(SAMPLE_MEDIA_DIR / "no_hand.mp4", root / "no_hand.mp4")
    return root


class Studio:
    """A Playwright page on the studio, with the steps these tests take."""

    def __init__(self, page, shots: Path):
        self.page, self.shots = page, shots

    def settle(self) -> None:
        """Wait for the rerun to end; no exception box, and every video shown plays."""
        from playwright.sync_api import expect

        self.page.wait_for_timeout(300)
        expect(self.page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=180_000)
        exceptions = self.page.get_by_test_id("stException")
        assert exceptions.count() == 0, exceptions.first.inner_text()
        assert not unplayable_videos(self.page), unplayable_videos(self.page)

    def go(self, title: str) -> None:
        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
        self.settle()

    def choose(self, label: str, option: str) -> None:
        self.page.get_by_test_id("stSelectbox").filter(has_text=label).click()
        self.page.keyboard.type(option)  # the list is long: filter it to the option
        self.page.get_by_role("option", name=option, exact=True).click()
        self.settle()

    def number(self, label: str, value: int) -> None:
        box = self.page.get_by_label(label)
        box.fill(str(value))
        box.press("Enter")
        self.settle()

    def upload(self, *paths: Path) -> None:
        uploader = self.page.get_by_test_id("stFileUploader").first
        uploader.locator("input[type=file]").set_input_files([str(p) for p in paths])
        for path in paths:
            self.uploaded(path.name).wait_for()
        self.settle()

    def uploaded(self, name: str):
        return self.page.get_by_test_id("stFileChip").filter(has_text=name)

    def remove_upload(self, name: str) -> None:
        self.uploaded(name).get_by_role("button", name=f"Remove {name}").click()
        self.uploaded(name).wait_for(state="detached")
        self.settle()

    def teach(self) -> None:
        self.page.get_by_role("button", name="Teach", exact=True).click()
        self.settle()

    def error(self, pattern: str):
        from playwright.sync_api import expect

        alert = self.page.get_by_test_id("stAlertContentError").filter(has_text=re.compile(pattern))
        expect(alert).to_be_visible(timeout=120_000)
        return alert.inner_text()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def _open(playwright, url: str, tmp_path: Path, args: tuple[str, ...] = ()):
    """Chromium on the studio's Teach page after a warm-up load; returns (browser, Studio, console errors)."""
    from playwright.sync_api import expect

    browser, page, errors = open_studio(playwright, url, tmp_path / "profile", args)
    (tmp_path / "shots").mkdir()
    studio = Studio(page, tmp_path / "shots")
    studio.go("Teach")
    expect(page.get_by_role("heading", name="Teach it your guitar")).to_be_visible()
    return browser, studio, errors


def _real_errors(errors: list[str]) -> list[str]:
    """Console errors less Streamlit's own late range requests for media files of a finished rerun (see
    tests/apps/test_e2e_streamlit.py; every video shown is checked to play)."""
    stale_media = re.compile(r"status of 404 .*/media/[0-9a-f]+\.mp4\)$")
    return [e for e in errors if not stale_media.search(e)]


def test_teach_from_uploads_with_clear_errors_then_analyze_with_the_taught_pair(studio, clips, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, root = studio
    models = root / "home" / "models"
    with sync_playwright() as playwright:
        browser, app, errors = _open(playwright, url, tmp_path)
        page = app.page
        app.number("CNN epochs", 3)
        # a clip without a chord in its name: its chord picker is there, and the error names the clip
        app.upload(clips / "take1.mp4")
        app.upload(clips / "G.mp4", clips / "C.mp4")
        expect(page.get_by_test_id("stSelectbox").filter(has_text="Chord of take1.mp4")).to_be_visible()
        app.teach()
        assert "Cannot tell the chord of 'take1.mp4'" in app.error(r"Cannot tell the chord")
        app.shot("1-no-chord-name")
        # a chord chosen for it goes with it when it is removed (the clip after it keeps its own choice)
        app.choose("Chord of take1.mp4", "Am")
        app.remove_upload("take1.mp4")
        expect(page.get_by_role("combobox", name="Chord of G.mp4")).to_have_value("(from the file name)")
        # a chord with too few frames (0.4 s of D), named with its counts
        app.upload(clips / "D.mp4")
        app.teach()
        assert re.search(r"Too few frames for D \(\d+ usable of \d+ sampled", app.error(r"Too few frames for D"))
        app.remove_upload("D.mp4")
        # a clip with no hand at all, its chord chosen beside it
        app.upload(clips / "no_hand.mp4")
        app.choose("Chord of no_hand.mp4", "Am")
        app.teach()
        assert "No hand found in no_hand.mp4" in app.error(r"No hand found")
        app.shot("2-no-hand")
        assert not models.exists() or not any(models.iterdir())  # nothing was taught
        app.remove_upload("no_hand.mp4")

        # G and C: taught, scored on the held-out end of each clip, made the sidebar's models
        app.teach()
        expect(page.get_by_text("is now the active pair of models")).to_be_visible(timeout=180_000)
        summary = page.get_by_text(re.compile(r"Taught from \d+ frames in \d+ s; on the held-out end")).inner_text()
        scores = dict(re.findall(r"(landmarks|CNN|fused) (\d+)%", summary))
        assert set(scores) == {"landmarks", "CNN", "fused"} and int(scores["fused"]) >= 50, summary
        assert page.get_by_test_id("stAlertContentError").count() == 0
        assert {p.name for p in (models / "my-guitar").iterdir()} >= {"landmarks", "cnn"}
        app.shot("3-taught")

        # Analyze a later clip: the sidebar's models are the taught pair, and its chords are the taught ones
        app.go("Analyze")
        page.get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
        uploader = page.get_by_test_id("stFileUploader")
        expect(uploader).to_be_visible()  # the radio's rerun drew it: a file set before that would be lost
        app.settle()
        uploader.locator("input[type=file]").set_input_files(str(clips / "later.mp4"))
        expect(uploader).to_contain_text("later.mp4")
        app.settle()
        run = page.get_by_role("button", name="Analyze", exact=True)
        try:  # enabled once the upload is saved and a model set is chosen
            expect(run).to_be_enabled(timeout=120_000)
        except AssertionError as error:  # say what the page shows instead
            raise AssertionError(page.get_by_test_id("stMain").inner_text()[:2000]) from error
        run.click()
        heading = page.get_by_role("heading", name=re.compile(r"^later\.mp4 with "))
        expect(heading).to_be_visible(timeout=180_000)
        assert "my-guitar/landmarks" in heading.inner_text() and "my-guitar/cnn" in heading.inner_text()
        app.settle()
        app.shot("4-analyze-later")
        with page.expect_download() as download:
            page.get_by_role("button", name="Timeline (JSON)").click()
        timeline = json.loads(Path(download.value.path()).read_text())
        browser.close()
    segments = [(s["chord"], s["start"], s["end"]) for s in timeline["segments"]]
    # G for the first 2 s, C for the last 2 s: the share of time with the right chord
    right = sum(max(0.0, min(end, 2.0) - start) if chord == "G" else
                max(0.0, end - max(start, 2.0)) if chord == "C" else 0.0 for chord, start, end in segments)
    assert segments[0][0] == "G" and segments[-1][0] == "C" and right / timeline["duration"] >= 0.8, segments
    assert not _real_errors(errors), errors


# The camera component's record button and message (in its shadow root).
CAMERA_JS = """() => {
  for (const host of document.querySelectorAll('*')) {
    const root = host.shadowRoot && host.shadowRoot.querySelector('.live');
    if (root) {
      const video = root.querySelector('video'), button = root.querySelector('button.record');
      return {videoWidth: video.videoWidth, button: button.textContent, disabled: button.disabled,
              shown: button.style.display !== 'none', message: root.querySelector('.message').textContent};
    }
  }
  return null;
}"""


PLAYERS_JS = "() => document.querySelectorAll('video').length"
"""The page's video players (the camera's live picture is in the component's shadow root, not counted)."""


def _record(app, chord: str) -> None:
    """Record a take of ``chord`` with the camera's button."""
    app.choose("Chord of the next take", chord)
    app.page.wait_for_function(
        f"""() => {{ const s = ({CAMERA_JS})(); return s && s.videoWidth > 0 && !s.disabled
                     && s.button === 'Record {TAKE_SECONDS} s of {chord}'; }}""", timeout=60_000)
    app.page.locator(".live button.record").click()


def _frames(path: Path) -> list[np.ndarray]:
    return [frame.image for frame in iter_frames(path, None)]


def test_record_camera_takes_and_teach_with_them(studio, clips, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, _ = studio
    camera_file = fake_camera_clip(clips / "camera.mp4", tmp_path / "camera.y4m")
    with sync_playwright() as playwright:
        browser, app, errors = _open(playwright, url, tmp_path, fake_camera_args(camera_file))
        page = app.page
        page.get_by_text("Record takes with the camera").click()
        app.settle()
        app.number("Seconds per take", TAKE_SECONDS)
        _record(app, "G")
        expect(page.get_by_text("Camera take G-take1.mp4: G")).to_be_visible(timeout=90_000)
        app.settle()
        page.wait_for_function(f"() => ({CAMERA_JS})().message === ''", timeout=10_000)  # no "Saving the take..."
        _record(app, "Am")
        expect(page.get_by_text("Camera take Am-take2.mp4: Am")).to_be_visible(timeout=90_000)
        app.settle()  # both takes play
        assert page.evaluate(PLAYERS_JS) == 2
        app.shot("1-takes")
        # the take as the page serves it: an H.264 clip of the camera's picture
        source = page.evaluate("() => document.querySelector('video').currentSrc")
        take = tmp_path / "take.mp4"
        take.write_bytes(page.request.get(source).body())
        page.get_by_role("button", name="Remove").nth(1).click()
        expect(page.get_by_text("Camera take Am-take2.mp4: Am")).to_have_count(0)
        app.settle()
        assert page.evaluate(PLAYERS_JS) == 1

        # taught with an uploaded clip of another chord: a model, or a clear error naming what is missing
        app.upload(clips / "C.mp4")
        app.number("CNN epochs", 3)
        page.get_by_label("Name of your setup").fill("my-camera")
        page.get_by_label("Name of your setup").press("Enter")
        app.settle()
        app.teach()
        outcome = page.get_by_text("is now the active pair of models").or_(
            page.get_by_test_id("stAlertContentError"))
        expect(outcome.first).to_be_visible(timeout=180_000)
        said = outcome.first.inner_text()
        app.shot("2-taught-takes")
        browser.close()
    assert "my-camera" in said and "frames were added to the label store" in said, said
    assert not _real_errors(errors), errors

    assert video_codec(take) == ("h264", "yuv420p")
    recorded = _frames(take)
    assert len(recorded) == TAKE_SECONDS * 15 and recorded[0].shape == (360, 640, 3)
    # each recorded frame is one the camera played: its nearest frame of the source (G) differs by a grey level or
    # two (JPEG and H.264; measured 1.4), the nearest of the same setup holding C by far more (measured 7.7 to 8.4)
    def nearest(frame: np.ndarray, clip: Path) -> float:
        return min(np.abs(frame.astype(np.int16) - other).mean() for other in _frames(clip))

    for frame in recorded[::15]:
        assert nearest(frame, clips / "camera.mp4") < 3 and nearest(frame, clips / "C.mp4") > 6
