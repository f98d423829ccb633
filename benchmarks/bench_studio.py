"""Studio responsiveness with models warm: scrubbing frames and moving between pages.

Drives the real app (``app.py``) with Streamlit's AppTest: one analysis of a sample clip warms the
caches (models, analysis, frames), then each interaction is timed as the script run it triggers, the
server-side part of a response (the browser then draws what it gets). Uses the sample model, built on
first use. Run: ``python -m benchmarks.bench_studio``.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("GLOG_minloglevel", "2")

from streamlit.testing.v1 import AppTest

from benchmarks.common import print_table
from pipeline.config import REPO_ROOT, SAMPLE_MEDIA_DIR

PAGES = {"Analyze": "analyze-clip", "Explain": "explain-frame", "Label": "label-frames", "Compare": "compare-models",
         "Listen": "listen-chords", "Models": "model-cards"}


def timed_run(at: AppTest, action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(repeat: int = 5) -> None:
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=600)
    at.run()
    at.selectbox(key="analyze_sample").select(SAMPLE_MEDIA_DIR / "strumming_em_d.mp4").run()
    at.button(key="analyze_run").click().run()  # warm: models, analysis, frames
    scrub = [timed_run(at, lambda k=k: at.slider(key="frame_index").set_value(k % 25).run()) for k in range(3, 3 + repeat)]
    def shown() -> str:
        return (f"{len(at.get('image'))} images, {len(at.get('plotly_chart'))} charts, {len(at.error)} errors; "
                f"title {at.title[0].value if at.title else '-'}")

    rows = [["scrub a frame (Analyze)", statistics.median(scrub), max(scrub), shown()]]
    for name, url in PAGES.items():
        def go(url=url):
            at._page_hash = calc_hash(url)
            at.run()
        go()  # first visit may fill a cache
        times = [timed_run(at, go) for _ in range(repeat)]
        rows.append([f"open {name}", statistics.median(times), max(times), shown()])
    print_table("studio, models warm: seconds per interaction (AppTest script run; bar: under 1 s)",
                ["interaction", "median s", "max s", "what the page showed"], rows)


if __name__ == "__main__":
    main()
