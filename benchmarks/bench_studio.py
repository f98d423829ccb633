"""Studio responsiveness with models warm: scrubbing frames, explaining them, moving between pages.

Drives the real app (``app.py``) with Streamlit's AppTest: one analysis of a sample clip warms the
caches (models, analysis, frames), then each interaction is timed as the script run it triggers, the
server-side part of a response (the browser then draws what it gets). The models: the sample landmark
model (built on first use) fused with a compact CNN of the trained one's architecture and input size
(random weights: its speed, not its answers, is what counts here), so the Explain page draws the CNN's
occlusion heatmap for each new frame and reads it from the cache when scrubbing back.
Run: ``python -m benchmarks.bench_studio``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
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


def main(repeat: int = 5) -> None:
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
