"""What the end-to-end tests share: a free port, an app served in its own process, headless Chromium."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
"""The project's root (``streamlit run app.py`` runs there)."""

CHROMIUM = Path("/usr/bin/chromium")
# CI (.ci/run sets CHORD_CI=1) installs Chromium: there a missing browser fails the tests instead of skipping them
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CHORD_CI"),
                                    reason=f"{CHROMIUM} is missing (Debian package chromium)")
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


FAKE_CAMERA_UI = "--use-fake-ui-for-media-stream"
"""Chromium grants the camera without asking."""


def fake_camera_args(y4m: Path) -> tuple[str, ...]:
    """Chromium's flags for a fake camera that plays ``y4m`` (see :func:`fake_camera_clip`), granted without asking."""
    return (FAKE_CAMERA_UI, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}")


def fake_camera_clip(source: Path, out: Path, fps: int = 10) -> Path:
    """``source`` (a video) as the raw Y4M that Chromium's fake camera plays (``--use-file-for-fake-video-capture``),
    at ``fps``; returns ``out``."""
    from imageio_ffmpeg import get_ffmpeg_exe

    subprocess.run([get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source), "-r", str(fps),
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(command: list[str], cwd: Path, env: dict, ready_url: str, log_path: Path, timeout: float = 90):
    """Run ``command`` until ``ready_url`` answers 200; stop it afterwards. Fails the test if it never does."""
    log = open(log_path, "w")
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{command[2] if len(command) > 2 else command} did not start:\n"
                            + Path(log_path).read_text()[-3000:])
            time.sleep(0.5)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def serve_studio(root: Path, models: list[Path] | None = None):
    """``streamlit run app.py`` on a free port, with its home, label store and log under ``root``; yields its
    URL while it runs.

    Args:
        root: a temp folder of the test.
        models: the sidebar's model folders (``CHORD_STUDIO_MODELS``); None starts with the sample model.
    """
    import sys

    env = dict(os.environ, CHORD_STUDIO_HOME=str(root / "home"), CHORD_STUDIO_DATA=str(root / "labels"),
               HF_HUB_OFFLINE="1", YOLO_OFFLINE="1")
    env.pop("CHORD_STUDIO_MODELS", None)
    if models is not None:
        env["CHORD_STUDIO_MODELS"] = os.pathsep.join(map(str, models))
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with serve(command, REPO, env, f"{url}/_stcore/health", root / "streamlit.log", timeout=60):
        yield url


def launch_chromium(playwright, profile: Path, extra_args: tuple[str, ...] = ()):
    """Headless Debian Chromium with a fresh profile (a persistent context), 1400x1000."""
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, viewport={"width": 1400, "height": 1000},
        args=CHROMIUM_ARGS + list(extra_args))


def open_studio(playwright, url: str, profile: Path, extra_args: tuple[str, ...] = ()):
    """Chromium on the studio after a warm-up load of its first page, collecting console and page errors.

    The warm-up: the first script run of the process applies app.py's media-serving fix (see
    tests/apps/test_e2e_streamlit.py); requests before it hit Streamlit 1.60's bug.

    Returns:
        (browser, page, console errors as a list that fills as the page runs).
    """
    from playwright.sync_api import expect

    browser = launch_chromium(playwright, profile, extra_args)
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.set_default_timeout(90_000)
    page.goto(url)
    expect(page.get_by_role("heading", name="Analyze a clip")).to_be_visible()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return browser, page, errors


UNPLAYABLE_JS = """async () => {
  const videos = [...document.querySelectorAll('video')];
  await Promise.all(videos.map(v => v.readyState >= 1 ? null : new Promise(done => {
    v.addEventListener('loadedmetadata', done, {once: true});
    v.addEventListener('error', done, {once: true});
    setTimeout(done, 20000);
    if (v.readyState === 0) { v.preload = 'auto'; v.load(); }
  })));
  return videos.filter(v => !(v.videoWidth > 0))
               .map(v => `${v.currentSrc || v.src || '(no source)'} error ${v.error ? v.error.code : '-'}`);
}"""
"""The videos of a page that a browser cannot show (``videoWidth`` 0 once loaded), with their error codes."""


def unplayable_videos(page) -> list[str]:
    """Every ``<video>`` on a Playwright page that shows no picture after it loads: its source and error code
    (an MPEG-4 Part 2 or HEVC stream loads with ``videoWidth`` 0 or a MEDIA_ERR in Chromium)."""
    return page.evaluate(UNPLAYABLE_JS)


def overlapping(boxes: dict[str, dict]) -> list[tuple[str, str]]:
    """Pairs of named boxes (Playwright ``bounding_box()`` dicts: x, y, width, height) that overlap."""
    names = list(boxes)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p, q = boxes[a], boxes[b]
            if (p["x"] < q["x"] + q["width"] - 0.5 and q["x"] < p["x"] + p["width"] - 0.5
                    and p["y"] < q["y"] + q["height"] - 0.5 and q["y"] < p["y"] + p["height"] - 0.5):
                pairs.append((a, b))
    return pairs
