"""Compare chord models on the same labeled frames: embeddings, 2-D maps, metrics and a teaching view,
written as one self-contained HTML file (plotly's JS inlined once).

Entry point: :func:`compare_models`. The embeddings come from :mod:`pipeline.compare.embeddings`, the maps and
separation scores from :mod:`pipeline.compare.maps`, the figures from :mod:`pipeline.figures`.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pipeline.compare.comparison import Comparison, ModelComparison, default_teach_frame, thumbnail_uri
from pipeline.compare.embeddings import comparison_frames, frame_embeddings
from pipeline.compare.maps import Separation, embedding_map, separation_scores
from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.figures import confusion_figure, maps_figure, teaching_figure
from pipeline.models.datasets import LabeledImage
from pipeline.models.evaluation import evaluate_chord_predictions


def compare_models(
    model_folders_or_objects,
    data_dir_or_images: str | Path | Sequence[LabeledImage],
    out_html: str | Path | None = None,
    *,
    split: str | None = None,
    limit: int | None = None,
    methods: Sequence[str] = ("tsne", "pca"),
    seed: int = 0,
    teach_frame: int | None = None,
    thumbnails: bool = True,
    cache_folder: str | Path | None = None,
    workers: int | None = None,
    hands: Sequence | None = None,
    title: str = "Chord model comparison",
    progress: Callable[[str], None] | None = None,
) -> Comparison:
    """Compare chord models on the same labeled frames, optionally writing an HTML report.

    Args:
        model_folders_or_objects: model folders (landmark, CNN, image), ``"features:raw63"`` /
            ``"features:centred"`` (landmark features without a classifier), loaded model objects, or
            ``(name, folder_or_object)`` pairs; a dict name -> folder_or_object works too.
        data_dir_or_images: an ImageFolder root (``<root>/<split>/<chord>/*.jpg`` or
            ``<root>/<chord>/*.jpg``) or a list of :class:`~pipeline.models.datasets.LabeledImage`.
        out_html: write the self-contained report here when given.
        split: split of an ImageFolder with splits (default "val" when there is one, else all frames).
        limit: use at most this many frames (evenly spread over the list, which is sorted by chord).
        methods: maps to draw ("tsne", "pca").
        seed: seed of the maps and the k-NN folds.
        teach_frame: index of the frame of the teaching view (default: the first frame where the
            models disagree, else frame 0).
        thumbnails: make hover thumbnails (about 1 KB per frame in the report).
        cache_folder: embedding cache folder (default ``<cache_dir>/embeddings``).
        workers: hand detection processes for frames not in the landmark cache.
        hands: the frames' hand landmarks when the caller has them (in frame order, before ``limit``).
        title: the report's title.
        progress: called with a short message per stage.

    Returns:
        The :class:`Comparison` (``html_path`` set when a report was written).

    Raises:
        InputError: no frames, or the data folder is not an ImageFolder tree. Models that fail are
        reported in the comparison, never raised.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    frames = comparison_frames(data_dir_or_images, split)
    if limit is not None and 0 < limit < len(frames):
        picks = np.unique(np.linspace(0, len(frames) - 1, int(limit)).round().astype(int))
        frames = [frames[i] for i in picks]
        hands = [hands[i] for i in picks] if hands is not None else None
    labels = np.array([f.chord for f in frames])
    embeddings = frame_embeddings(model_folders_or_objects, frames, cache_folder=cache_folder, workers=workers,
                                  hands=hands, progress=progress)
    seconds["embed"] = time.perf_counter() - started

    t = time.perf_counter()
    if progress:
        progress("maps")
    models = []
    for e in embeddings:
        maps = {m: embedding_map(e.vectors, m, seed=seed) for m in methods} if e.vectors is not None else {}
        models.append(ModelComparison(e, maps))
    seconds["maps"] = time.perf_counter() - t

    t = time.perf_counter()
    for m in models:
        e = m.embedding
        if e.predictions is not None:
            m.report = evaluate_chord_predictions(labels, e.predictions)
        if e.vectors is not None:
            m.separation = separation_scores(e.vectors, labels, seed=seed)
        else:
            m.separation = Separation(note="no embedding")
    seconds["metrics"] = time.perf_counter() - t

    t = time.perf_counter()
    thumbs = [thumbnail_uri(f.path) for f in frames] if thumbnails else []
    seconds["thumbnails"] = time.perf_counter() - t
    comparison = Comparison(frames, labels, models, thumbs, seconds)
    if out_html is not None:
        t = time.perf_counter()
        if progress:
            progress("report")
        write_report(comparison, out_html, title=title, teach_frame=teach_frame)
        seconds["report"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    return comparison


def _fmt(value) -> str:
    """A table cell: floats to 3 decimals (NaN as a dash), anything else escaped."""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def metrics_table_html(comparison: Comparison) -> str:
    """The metrics table and the per-class F1 table.

    Args:
        comparison: the comparison.

    Returns:
        HTML: two ``<table class='metrics'>`` elements.
    """
    rows = comparison.metrics_rows()
    cols = [("model", "model"), ("kind", "kind"), ("embedding", "embedding"), ("dim", "dim"),
            ("embedded", "frames embedded"), ("accuracy", "accuracy"), ("macro_f1", "macro F1"),
            ("coverage", "coverage"), ("covered_accuracy", "covered accuracy"), ("knn_accuracy", "k-NN accuracy (CV)"),
            ("silhouette", "silhouette"), ("note", "note")]
    out = ["<table class='metrics'><thead><tr>" + "".join(f"<th>{h}</th>" for _, h in cols) + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_fmt(row[k])}</td>" for k, _ in cols) + "</tr>")
    out.append("</tbody></table>")
    chords = [c for c in VOCABULARY if c in set(comparison.labels)] + sorted(set(comparison.labels) - set(VOCABULARY))
    out.append("<h3>Per-class F1</h3><table class='metrics'><thead><tr><th>model</th>"
               + "".join(f"<th>{html.escape(c)}</th>" for c in chords) + "</tr></thead><tbody>")
    for row in rows:
        f1 = row["per_class_f1"]
        cells = "".join(f"<td>{_fmt(f1.get(c, float('nan')))}</td>" for c in chords)
        out.append(f"<tr><td>{_fmt(row['model'])}</td>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_HOVER_SCRIPT = """
<div id="thumb"
  style="position:fixed;display:none;pointer-events:none;z-index:10;border:1px solid #888;background:#fff"></div>
<script>
(function () {
  var THUMBS = %s;
  var box = document.getElementById('thumb');
  document.addEventListener('mousemove', function (e) {
    box.style.left = (e.clientX + 16) + 'px'; box.style.top = (e.clientY + 16) + 'px';
  });
  function attach() {
    document.querySelectorAll('.js-plotly-plot.chord-map').forEach(function (div) {
      if (div._thumbs) return; div._thumbs = true;
      div.on('plotly_hover', function (d) {
        var p = d.points[0]; var i = p.customdata ? p.customdata[0] : null;
        if (i === null || !THUMBS[i]) return;
        box.innerHTML = '<img src="' + THUMBS[i] + '" width="192">'; box.style.display = 'block';
      });
      div.on('plotly_unhover', function () { box.style.display = 'none'; });
    });
  }
  if (document.readyState === 'complete') attach(); else window.addEventListener('load', attach);
})();
</script>
"""


def _model_confusion(model: ModelComparison):
    """A model's confusion heatmap for the report (None when it does not classify)."""
    r = model.report
    if r is None:
        return None
    return confusion_figure(r, f"{model.name}: confusion (accuracy {r.accuracy:.3f}, coverage {r.coverage:.3f})",
                            width=480)


def write_report(comparison: Comparison, out_html: str | Path, *, title: str = "Chord model comparison",
                 teach_frame: int | None = None) -> Path:
    """Write the comparison as one self-contained HTML file (plotly JS inlined once, no network needed).

    Contents: the metrics table and per-class F1, the grid of maps (thumbnail on hover), one confusion
    heatmap per classifying model, the teaching view of one frame, and the models not compared.

    Args:
        comparison: from :func:`compare_models`.
        out_html: the file to write (folders are created).
        title: page title.
        teach_frame: frame of the teaching view (default :func:`default_teach_frame`).

    Returns:
        The path written.
    """
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    frame = default_teach_frame(comparison) if teach_frame is None else int(teach_frame)
    frame = min(max(frame, 0), len(comparison.frames) - 1)
    figures = [("maps", maps_figure(comparison), "chord-map")]
    figures += [(f"confusion {m.name}", _model_confusion(m), "") for m in comparison.models]
    figures.append(("teaching", teaching_figure(comparison, frame), ""))
    divs = []
    first = True
    for label, fig, css in figures:
        if fig is None:
            continue
        div = fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False},
                          div_id=f"fig-{len(divs)}")
        divs.append(div.replace('class="plotly-graph-div"', f'class="plotly-graph-div {css}"'))
        first = False
    # the maps' div gets the class the hover script looks for
    maps_div = divs[0] if divs else ""
    confusion_divs = [d for d in divs[1:-1]]
    teaching_div = divs[-1] if len(divs) > 1 else ""
    missing = [m for m in comparison.models if m.embedding.vectors is None or m.embedding.note]
    notes = "".join(f"<li><b>{html.escape(m.name)}</b>: {html.escape(m.embedding.note or 'no embedding')}</li>"
                    for m in missing)
    model_list = ", ".join(html.escape(m.name) for m in comparison.models)
    thumbs = json.dumps(comparison.thumbnails)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table.metrics {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
table.metrics th, table.metrics td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }}
table.metrics th {{ background: #f3f3f3; }}
.confusions {{ display: flex; flex-wrap: wrap; gap: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(comparison.frames)} labeled frames; models: {model_list}. Every model sees the same frames in the same order.
Accuracy counts every frame (a frame a model cannot decide counts as {NO_CHORD}); k-NN accuracy (cross-validated)
and silhouette measure how well each embedding separates the true chords, on the frames that have one.</p>
<h2>Metrics</h2>
{metrics_table_html(comparison)}
{"<h3>Notes</h3><ul>" + notes + "</ul>" if notes else ""}
<h2>Maps</h2>
<p>Hover a point for the frame, its true and predicted chord and the probability.</p>
{maps_div}
<h2>Confusion matrices</h2>
<div class="confusions">{"".join(confusion_divs)}</div>
<h2>Teaching view</h2>
{teaching_div}
{_HOVER_SCRIPT % thumbs}
</body></html>
"""
    out_html.write_text(page, encoding="utf-8")
    comparison.html_path = out_html
    return out_html


__all__ = ["compare_models", "metrics_table_html", "write_report"]
