"""Studio responsiveness: the first analysis of a 30 s clip against the CLI's, then, with models warm,
scrubbing frames, explaining them, moving between pages.

First analysis (``--first-only`` for this table alone): a 30 s 640x360 clip (the progression sample three
times, as ``bench_analyze`` builds it; ``--mpeg4`` re-encodes it as MPEG-4 Part 2) analysed at 5 fps with a
landmark model and a CNN trained on the shared real frames (trained here first, about a minute; ``--models
LANDMARK_FOLDER CNN_FOLDER`` to use trained ones), a fresh cache each time: ``python -m pipeline analyze``
timed as a command (start, models, analysis, annotated video), and the studio through the browser
(``streamlit run app.py`` on a free port, headless Chromium uploads the clip on the Analyze page; timed
from the click on Analyze until the timeline chart shows, and until the page is done, annotated video
included). The bar (issue 18): the studio within 2x the CLI.

Warm interactions: drives the real app (``app.py``) with Streamlit's AppTest: one analysis of a sample
clip warms the caches (models, analysis, frames), then each interaction is timed as the script run it
triggers, the server-side part of a response (the browser then draws what it gets). The models: the
sample landmark model (built on first use) fused with a compact CNN of the trained one's architecture and
input size (random weights: its speed, not its answers, is what counts here), so the Explain page draws
the CNN's occlusion heatmap for each new frame and reads it from the cache when scrubbing back.
Run: ``python -m benchmarks.bench_studio``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

from streamlit.testing.v1 import AppTest

from benchmarks.common import print_table
from pipeline.core.config import REPO_ROOT, SAMPLE_MEDIA_DIR

PAGES = {name: f"app_pages/{name.lower()}.py"
         for name in ("Analyze", "Explain", "Label", "Compare", "Listen", "Models")}


def timed_run(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def random_cnn(folder: Path) -> Path:
    """The compact CNN at its default architecture and input size, random weights, saved in ``folder``."""
    import torch

    from pipeline.core.chords import VOCABULARY
    from pipeline.models.cards import CNN_INPUT_SIZE, ImageModelCard
    from pipeline.models.image.cnn import CNNChordModel, cnn_module

    torch.manual_seed(0)
    card = ImageModelCard(kind="cnn", input_size=list(CNN_INPUT_SIZE), classes=list(VOCABULARY), embedding_dim=256,
                          trained_on="nothing: random weights (benchmark)", trained_from_scratch=True)
    return CNNChordModel(cnn_module(len(VOCABULARY)), card).save(folder)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def thirty_second_clip(folder: Path, mpeg4: bool = False) -> Path:
    """The progression sample three times over: 30 s of 640x360 H.264 at 25 fps; with ``mpeg4`` re-encoded
    as MPEG-4 Part 2, as many phones and cameras write it (issue 18's clip)."""
    import imageio_ffmpeg

    from pipeline.vision.video import iter_frames, probe, write_video

    clip = SAMPLE_MEDIA_DIR / "progression.mp4"
    frames = (f.image for _ in range(3) for f in iter_frames(clip, fps=None))
    h264 = write_video(folder / "progression_30s.mp4", frames, probe(clip).fps)
    if not mpeg4:
        return h264
    out = folder / "progression_30s_mpeg4.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(h264), "-c:v", "mpeg4",
                    "-q:v", "5", str(out)], check=True)
    return out


def cli_first_analysis(clip: Path, models: list[Path], home: Path) -> float:
    """Seconds of ``python -m pipeline analyze`` on ``clip`` with ``models``, a fresh ``home``."""
    env = dict(os.environ, CHORD_STUDIO_HOME=str(home), HF_HUB_OFFLINE="1", YOLO_OFFLINE="1")
    command = [sys.executable, "-m", "pipeline", "analyze", str(clip), "--model", *map(str, models),
               "--out", str(home / "out")]
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def studio_first_analysis(clip: Path, models: list[Path], home: Path) -> tuple[float, float]:
    """Seconds from the click on Analyze until the timeline shows, and until the page is done, for a fresh
    studio (its own process and cache) driven by headless Chromium with ``clip`` uploaded."""
    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, CHORD_STUDIO_HOME=str(home), CHORD_STUDIO_DATA=str(home / "labels"),
               CHORD_STUDIO_MODELS=os.pathsep.join(map(str, models)), HF_HUB_OFFLINE="1", YOLO_OFFLINE="1")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
               str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with open(home / "streamlit.log", "w") as log:
        server = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(300_000)
            expect.set_options(timeout=300_000)  # assertions have their own default (5 s)
            page.goto(url)
            expect(page.get_by_role("heading", name="Analyze a clip")).to_be_visible()
            page.get_by_test_id("stRadio").get_by_text("Upload", exact=True).click()
            page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(clip))
            button = page.get_by_role("button", name="Analyze", exact=True)
            expect(button).to_be_enabled()
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
            start = time.perf_counter()
            button.click()
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
            shown = time.perf_counter() - start
            expect(page.locator("video").first).to_be_attached()
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
            done = time.perf_counter() - start
            errors = page.get_by_test_id("stException").count()
            browser.close()
        if errors:
            raise RuntimeError(f"the studio showed an error; see {home / 'streamlit.log'}")
        return shown, done
    finally:
        server.terminate()
        server.wait(30)


def first_analysis_rows(models: list[Path] | None, repeat: int = 2, mpeg4: bool = False) -> list[list]:
    """The studio's first analysis beside the CLI's (alternately, ``repeat`` times each; medians)."""
    with tempfile.TemporaryDirectory(prefix="bench-studio-first-") as scratch:
        scratch = Path(scratch)
        if models is None:
            from benchmarks.bench_analyze import train_real_models
            from pipeline.core.config import get_settings

            landmarks, cnn = train_real_models(get_settings().real_data)
            models = [landmarks.save(scratch / "landmarks-real"), cnn.save(scratch / "cnn-real")]
        clip = thirty_second_clip(scratch, mpeg4)
        cli, shown, done = [], [], []
        for k in range(repeat):
            cli.append(cli_first_analysis(clip, models, scratch / f"cli-{k}"))
            (scratch / f"studio-{k}").mkdir()
            seen = studio_first_analysis(clip, models, scratch / f"studio-{k}")
            shown.append(seen[0])
            done.append(seen[1])
    base, shown, done = statistics.median(cli), statistics.median(shown), statistics.median(done)
    return [["CLI: python -m pipeline analyze (command, annotated video included)", base, 1.0],
            ["studio: click on Analyze until the timeline shows", shown, shown / base],
            ["studio: until the page is done (annotated video shown)", done, done / base]]


def main(repeat: int = 5) -> None:
    if "--models" in sys.argv:
        at = sys.argv.index("--models")
        models = [Path(sys.argv[at + 1]), Path(sys.argv[at + 2])]
    else:
        models = None
    before = os.getloadavg()
    rows = first_analysis_rows(models, mpeg4="--mpeg4" in sys.argv)
    load = os.getloadavg()
    print(f"load average at the start {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, at the end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, {os.cpu_count()} CPUs")
    codec = "MPEG-4 Part 2" if "--mpeg4" in sys.argv else "H.264"
    print_table(f"first analysis of a 30 s 640x360 {codec} clip at 5 fps, landmarks + CNN, fresh cache (median of 2; "
                "bar: the studio within 2x the CLI)", ["run", "seconds", "vs the CLI"], rows)
    if "--first-only" in sys.argv:
        return
    warm(repeat)


def warm(repeat: int = 5) -> None:
    """Time the warm interactions (AppTest script runs, ``repeat`` of each) and print their table."""
    scratch = tempfile.TemporaryDirectory(prefix="bench-studio-")
    os.environ["CHORD_STUDIO_MODELS"] = os.pathsep.join(["sample", str(random_cnn(Path(scratch.name) / "cnn"))])
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=600)
    at.run()
    at.selectbox(key="analyze_sample").select(SAMPLE_MEDIA_DIR / "strumming_em_d.mp4").run()
    at.button(key="analyze_run").click().run()  # warm: models, analysis, frames
    scrub = [timed_run(lambda k=k: at.slider(key="frame_index").set_value(k % 25).run()) for k in range(3, 3 + repeat)]

    def shown() -> str:
        return (f"{len(at.get('image'))} images, {len(at.get('plotly_chart'))} charts, {len(at.error)} errors; "
                f"title {at.title[0].value if at.title else '-'}")

    rows = [["scrub a frame (Analyze)", statistics.median(scrub), max(scrub), shown()]]
    for name, page in PAGES.items():
        def go(page=page):
            at.switch_page(page).run()
        go()  # first visit may fill a cache
        times = [timed_run(go) for _ in range(repeat)]
        rows.append([f"open {name}", statistics.median(times), max(times), shown()])
    # On Explain: each new frame computes the CNN's heatmap; going back to one reads the cache.
    at.switch_page(PAGES["Explain"]).run()
    frames = [(k * 7) % 30 for k in range(1, repeat + 1)]
    new = [timed_run(lambda k=k: at.slider(key="explain_index").set_value(k).run()) for k in frames]
    rows.append(["scrub to a new frame (Explain, CNN heatmap computed)", statistics.median(new), max(new), shown()])
    back = [timed_run(lambda k=k: at.slider(key="explain_index").set_value(k).run()) for k in frames]
    rows.append(["scrub back to a frame (Explain, heatmap cached)", statistics.median(back), max(back), shown()])
    scratch.cleanup()
    print_table("studio, models warm: seconds per interaction (AppTest script run; bar: under 1 s)",
                ["interaction", "median s", "max s", "what the page showed"], rows)


if __name__ == "__main__":
    main()
