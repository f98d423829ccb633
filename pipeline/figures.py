"""Every plotly figure of the pipeline, shared by the studio, the Space and the comparison report.

- one colour per chord (:data:`CHORD_COLOURS`), chord segments as bars, the chord timeline
  (:func:`timeline_figure`);
- one model's probabilities (:func:`probability_figure`) and the models' answers side by side
  (:func:`answers_figure`, one colour per model slot: :data:`MODEL_COLOURS`);
- comparing models: the embedding maps (:func:`maps_figure`), a confusion matrix (:func:`confusion_figure`)
  and the teaching view of one frame (:func:`teaching_figure`).

UI-free (plotly only, imported when a figure is drawn), so ``app_pages/`` and ``gradio_app.py`` draw the
same figures.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.compare.comparison import Comparison, thumbnail_uri, top_k
from pipeline.core.chords import NO_CHORD, VOCABULARY
from pipeline.models.evaluation import EvaluationReport
from pipeline.text import UNSURE_LABEL, segment_name

_PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF",
            "#FECB52", "#1F77B4", "#8C564B", "#2CA02C", "#D62728"]
CHORD_COLOURS: dict[str, str] = {c: _PALETTE[i % len(_PALETTE)]
                                 for i, c in enumerate(c for c in VOCABULARY if c != NO_CHORD)}
"""Chord name -> colour; ``None`` is grey."""
CHORD_COLOURS[NO_CHORD] = "#B0B0B0"
UNSURE_COLOUR = "#DDDDDD"
"""The colour of unsure segments (hatched over it)."""
PLOTLY_CONFIG = {"displayModeBar": "hover", "displaylogo": False}
"""How the apps show every figure: the toolbar only while the pointer is over the chart (the figures keep
their legends at the top left and a top margin, clear of the toolbar at the top right)."""
_UNSURE_MARKER = dict(color=UNSURE_COLOUR, pattern=dict(shape="/", fgcolor="#666"))
MODEL_COLOURS: dict[str, str] = {"landmarks": "#4C78A8", "image": "#F58518", "fused": "#54A24B"}
"""Model slot (``"landmarks"``, ``"image"``, ``"fused"``) -> colour."""


def add_segment_bars(fig, rows: Sequence[tuple[str, object]]) -> None:
    """Add one horizontal bar per chord segment, a row per named timeline, one legend entry per chord;
    unsure segments (unfamiliar footage) grey and hatched, their chord with a "?" (named "C (unsure)",
    as the Space's table writes them), under one legend entry (:data:`pipeline.text.UNSURE_LABEL`).

    Args:
        fig: a ``plotly.graph_objects.Figure``.
        rows: (row name, :class:`~pipeline.core.timeline.Timeline`) pairs, e.g. recognised and ground truth.
    """
    import plotly.graph_objects as go

    shown: set[str] = set()
    for row, timeline in rows:
        for s in timeline.segments:
            if s.unsure and UNSURE_LABEL not in shown:  # the legend entry of every unsure bar, drawing nothing
                fig.add_trace(go.Bar(x=[None], base=[s.start], y=[row], orientation="h", name=UNSURE_LABEL,
                                     marker=_UNSURE_MARKER, legendgroup=UNSURE_LABEL, hoverinfo="skip"))
                shown.add(UNSURE_LABEL)
            fig.add_trace(go.Bar(
                x=[s.end - s.start], base=[s.start], y=[row], orientation="h", customdata=[[s.start, s.end]],
                name=segment_name(s),
                marker=_UNSURE_MARKER if s.unsure else dict(color=CHORD_COLOURS.get(s.chord, "#888")),
                text=f"{s.chord}?" if s.unsure else s.chord, textposition="inside", insidetextanchor="middle",
                legendgroup=UNSURE_LABEL if s.unsure else s.chord, showlegend=not s.unsure and s.chord not in shown,
                hovertemplate=(f"{s.chord}{' (a guess: unfamiliar footage)' if s.unsure else ''}"
                               f"<br>%{{base:.2f}}-{s.end:.2f} s<br>mean p {s.probability:.2f}<extra>{row}</extra>"),
            ))
            if not s.unsure:
                shown.add(s.chord)


def timeline_figure(analysis, truth=None, *, selected: float | None = None, frames: bool = True):
    """The chord timeline of an analysis: one coloured bar per chord segment over time, a row per timeline.

    Both apps draw it (the studio's Analyze page with ``frames``, the Space compact, beside its table).

    Args:
        analysis: a :class:`~pipeline.timeline.analyze.Analysis`.
        truth: a ground-truth :class:`~pipeline.core.timeline.Timeline` drawn as a second row, or None.
        selected: time in seconds of the frame shown beside the figure (a dotted vertical line), or None.
        frames: add a panel above the bars with a marker per sampled frame at its chord's probability
            (an ``x`` where no model could decide, an open circle where the models call the frame
            unfamiliar); False draws the bars alone, the recognised row on top. Unsure segments are
            grey and hatched either way (:func:`add_segment_bars`).

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    rows = [("recognised", analysis.timeline)] + ([("ground truth", truth)] if truth is not None else [])
    add_segment_bars(fig, rows)
    if selected is not None:
        fig.add_vline(x=selected, line_dash="dot", line_color="#444")
    xaxis = dict(title="time (s)", range=[0, analysis.timeline.duration or None])
    if not frames:
        fig.update_layout(barmode="overlay", height=150 + 50 * len(rows), margin=dict(l=10, r=10, t=40, b=10),
                          xaxis=xaxis,
                          yaxis=dict(categoryorder="array", categoryarray=[name for name, _ in reversed(rows)]),
                          legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
        return fig
    sampled = analysis.frames
    fig.add_trace(go.Scatter(
        x=[f.time for f in sampled], y=[f.prediction.probabilities.get(f.chord, 0.0) for f in sampled],
        mode="markers", yaxis="y2", name="frame probability",
        marker=dict(size=7, color=[CHORD_COLOURS.get(f.chord, "#888") for f in sampled],
                    line=dict(width=1, color="#222"),
                    symbol=[_frame_symbol(f) for f in sampled]),
        customdata=[[f.chord, f.prediction.chord, "no hand" if f.hands.fretting is None else "hand"] for f in sampled],
        hovertemplate="%{x:.2f} s: %{customdata[0]} (frame alone: %{customdata[1]}, %{customdata[2]})"
                      "<br>p %{y:.2f}<extra></extra>",
    ))
    fig.update_layout(
        barmode="overlay", height=280 + 40 * len(rows), margin=dict(l=10, r=10, t=60, b=10), xaxis=xaxis,
        yaxis=dict(domain=[0, 0.45], title=None),
        yaxis2=dict(domain=[0.55, 1.0], range=[0, 1.05], title="probability"),
        legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"),
    )
    return fig


def selected_time(selection) -> float | None:
    """Where a click on :func:`timeline_figure` asks the video to go: a segment's start (its bar's
    ``customdata``) or a sampled frame's time (its marker's ``x``).

    Args:
        selection: Streamlit's plotly selection state (``{"selection": {"points": [...]}}``) or None.

    Returns:
        The time in seconds, or None when nothing is selected.
    """
    points = ((selection or {}).get("selection") or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    data = point.get("customdata")
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], (int, float)):
        return float(data[0])  # a segment's bar: its start
    x = point.get("x")
    return float(x) if isinstance(x, (int, float)) else None


def _frame_symbol(frame) -> str:
    """A sampled frame's marker: ``x`` undecided, ``circle-open`` unfamiliar, else ``circle``."""
    if not frame.prediction.covered:
        return "x"
    return "circle-open" if getattr(frame, "familiar", None) is False else "circle"

# --------------------------------------------------------------------------------------------------
# Comparing models (pipeline.compare)


def map_colours(labels: Sequence[str]) -> dict[str, str]:
    """One colour per chord present in ``labels`` for the embedding maps (plotly's Dark24, vocabulary order).

    Args:
        labels: true chords of the frames.

    Returns:
        Chord -> colour, chords in vocabulary order, then any others sorted.
    """
    import plotly.express as px

    palette = px.colors.qualitative.Dark24
    present = [c for c in VOCABULARY if c in set(labels)] + sorted(set(labels) - set(VOCABULARY))
    return {c: palette[i % len(palette)] for i, c in enumerate(present)}


MAP_TITLES = {"tsne": "t-SNE", "pca": "PCA"}
"""Map method -> its name in titles."""


def maps_figure(comparison: Comparison, methods: Sequence[str] | None = None, *,
                thumbnails_in_customdata: bool = False):
    """A grid of maps: one row per model, one column per method; colour = true chord, symbol = right / wrong.

    Frames without an embedding are not drawn on that model's map (its subplot title counts them).
    ``customdata`` of every point is ``[frame index, true chord, predicted chord, probability, file]``
    (and the thumbnail data URI last when ``thumbnails_in_customdata``); the report shows the
    thumbnail on hover from the frame index.

    Args:
        comparison: a :class:`~pipeline.compare.comparison.Comparison`.
        methods: map methods, one column each (default: those of the first model with maps).
        thumbnails_in_customdata: append each frame's thumbnail URI to its point's ``customdata``.

    Returns:
        A plotly Figure.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = [m for m in comparison.models if m.maps]
    methods = list(methods or (list(rows[0].maps) if rows else ["tsne"]))
    titles = []
    for m in rows:
        for method in methods:
            counted = f"{m.embedding.n_embedded}/{len(comparison.frames)} frames"
            titles.append(f"{m.name}: {MAP_TITLES.get(method, method)} ({counted})")
    fig = make_subplots(rows=max(1, len(rows)), cols=len(methods), subplot_titles=titles or ["no model has embeddings"],
                        horizontal_spacing=0.06, vertical_spacing=0.12 / max(1, len(rows)) + 0.04)
    colours = map_colours(comparison.labels)
    names = [Path(f.path).name for f in comparison.frames]
    shown: set[str] = set()
    for r, m in enumerate(rows, start=1):
        preds = m.embedding.predictions
        for c, method in enumerate(methods, start=1):
            Y = m.maps.get(method)
            if Y is None:
                continue
            for chord in colours:
                for outcome, symbol in (("right", "circle"), ("wrong", "x"), ("no prediction", "circle-open")):
                    idx = []
                    for i in np.flatnonzero((comparison.labels == chord) & ~np.isnan(Y).any(axis=1)):
                        if preds is None or not preds[i].covered:
                            o = "no prediction"
                        else:
                            o = "right" if preds[i].chord == chord else "wrong"
                        if o == outcome:
                            idx.append(int(i))
                    if not idx:
                        continue
                    with_thumbnails = thumbnails_in_customdata and comparison.thumbnails
                    custom = [[i, chord, preds[i].chord if preds else "",
                               round(preds[i].probability, 3) if preds else float("nan"), names[i]]
                              + ([comparison.thumbnails[i]] if with_thumbnails else [])
                              for i in idx]
                    legend = chord not in shown
                    shown.add(chord)
                    fig.add_trace(go.Scattergl(
                        x=Y[idx, 0], y=Y[idx, 1], mode="markers", name=chord, legendgroup=chord, showlegend=legend,
                        marker=dict(color=colours[chord], symbol=symbol, size=7 if symbol != "x" else 8,
                                    line=dict(width=1, color=colours[chord])),
                        customdata=custom,
                        hovertemplate=("<b>%{customdata[4]}</b><br>true %{customdata[1]}<br>"
                                       "predicted %{customdata[2]} (%{customdata[3]})<br>" + outcome
                                       + "<extra></extra>"),
                    ), row=r, col=c)
            fig.update_xaxes(showticklabels=False, row=r, col=c)
            fig.update_yaxes(showticklabels=False, row=r, col=c)
    fig.update_layout(height=max(380, 360 * len(rows)), title="Embeddings of the same frames (colour: true chord; "
                      "circle right, x wrong, open circle no prediction)", legend_title_text="true chord",
                      margin=dict(t=80, l=20, r=20, b=20))
    return fig


def selected_map_frame(selection, frames: int) -> int | None:
    """The frame a click on :func:`maps_figure` picks: the frame index each point carries first in its
    ``customdata``.

    Args:
        selection: Streamlit's plotly selection state (``{"selection": {"points": [{"customdata": [...]},
            ...]}}``) or None.
        frames: how many frames the maps show (an index outside ``range(frames)`` is ignored).

    Returns:
        The first selected point's frame index, or None when nothing (or nothing valid) is selected.
    """
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in points:
        data = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], (int, float)) \
                and not isinstance(data[0], bool) and float(data[0]).is_integer() and 0 <= data[0] < frames:
            return int(data[0])
    return None


def confusion_figure(report: EvaluationReport | None, title: str, *, width: int | None = None):
    """A confusion matrix as a heatmap (rows true, columns predicted), the count in each cell.

    The one confusion figure of the project: the studio's Compare page and the comparison report draw it.

    Args:
        report: an :class:`~pipeline.models.evaluation.EvaluationReport` (``labels``, ``confusion``).
        title: the figure's title.
        width: the figure's width in pixels (None: as wide as its container).

    Returns:
        A ``plotly.graph_objects.Figure``; None when there is no report or it has no labels.
    """
    import plotly.graph_objects as go

    if report is None or not report.labels:
        return None
    labels = report.labels
    z = report.confusion or [[0] * len(labels) for _ in labels]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", showscale=False, text=z,
                               texttemplate="%{text}",
                               hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title=dict(text=title), height=360, width=width, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title="predicted", side="bottom"), yaxis=dict(title="true", autorange="reversed"))
    return fig


def teaching_figure(comparison: Comparison, frame: int, k: int = 3):
    """The teaching view of one frame: each model's top-``k`` chords with probabilities, side by side,
    the frame's thumbnail beside them and its true chord in the title.

    Args:
        comparison: a :class:`~pipeline.compare.comparison.Comparison`.
        frame: the frame's index.
        k: chords per model.

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tops = top_k(comparison, frame, k)
    names = list(tops) or ["no classifying model"]
    fig = make_subplots(rows=1, cols=len(names) + 1, column_widths=[1.2] + [1.0] * len(names),
                        subplot_titles=["frame"] + names, horizontal_spacing=0.05)
    true = comparison.labels[frame]
    for c, name in enumerate(names, start=2):
        rows = tops.get(name, [])
        if not rows:
            fig.add_annotation(text="no hand: not covered", showarrow=False, row=1, col=c, x=0.5, y=0.5)
            fig.update_xaxes(visible=False, row=1, col=c)
            fig.update_yaxes(visible=False, row=1, col=c)
            continue
        chords = [ch for ch, _ in rows][::-1]
        probs = [p for _, p in rows][::-1]
        fig.add_trace(go.Bar(x=probs, y=chords, orientation="h", text=[f"{p:.2f}" for p in probs], textposition="auto",
                             marker_color=["#2ca02c" if ch == true else "#999999" for ch in chords], showlegend=False,
                             hovertemplate="%{y}: %{x:.3f}<extra>" + html.escape(name) + "</extra>"), row=1, col=c)
        fig.update_xaxes(range=[0, 1], row=1, col=c)
    fig.update_xaxes(visible=False, range=[0, 1], row=1, col=1)
    fig.update_yaxes(visible=False, range=[0, 1], row=1, col=1)
    if comparison.thumbnails and comparison.thumbnails[frame]:
        big = thumbnail_uri(comparison.frames[frame].path, size=(320, 180), quality=80) or comparison.thumbnails[frame]
        fig.add_layout_image(dict(source=big, xref="x", yref="y", x=0, y=1, sizex=1, sizey=1, sizing="contain",
                                  layer="below"), row=1, col=1)
    fig.update_layout(title=f"Teaching view: frame {frame} ({Path(comparison.frames[frame].path).name}), "
                            f"true chord {true}; green = the true chord", height=320,
                      margin=dict(t=70, l=40, r=20, b=30))
    return fig


def probability_figure(probabilities: dict[str, float], highlight: str | None = None, title: str = ""):
    """A bar per class with its probability.

    Args:
        probabilities: chord -> probability.
        highlight: the chord drawn in its colour (the others grey); None draws every bar in its colour.
        title: the figure's title, if any.

    Returns:
        The bar chart.
    """
    import plotly.graph_objects as go

    classes = list(probabilities)
    fig = go.Figure(go.Bar(
        x=classes, y=[probabilities[c] for c in classes],
        marker_color=[CHORD_COLOURS.get(c, "#888") if c == highlight or highlight is None else "#C8C8C8"
                      for c in classes],
        text=[f"{probabilities[c]:.2f}" for c in classes], textposition="outside",
    ))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=60 if title else 40, b=10),  # room for the toolbar
                      yaxis=dict(range=[0, 1.1], title="probability"))
    if title:
        fig.update_layout(title=dict(text=title))
    return fig


def answers_figure(answers: dict[str, tuple[str, dict[str, float]]], classes: list[str]):
    """Grouped bars: each model's probability per class, side by side.

    Args:
        answers: label -> (``"landmarks"``, ``"image"`` or ``"fused"``, chord -> probability); a model
            that could not decide has an empty dict.
        classes: the x axis, in order.

    Returns:
        The grouped bar chart.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, (slot, probabilities) in answers.items():
        fig.add_trace(go.Bar(x=classes, y=[probabilities.get(c, 0.0) for c in classes], name=label,
                             marker_color=MODEL_COLOURS.get(slot, "#888"),
                             hovertemplate=f"{label}: %{{x}} %{{y:.3f}}<extra></extra>"))
    fig.update_layout(barmode="group", height=360, margin=dict(l=10, r=10, t=60, b=10),
                      yaxis=dict(range=[0, 1.05], title="probability"),
                      # the legend at the top left, clear of the toolbar at the top right
                      legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    return fig


__all__ = [
    "CHORD_COLOURS", "MAP_TITLES", "MODEL_COLOURS", "PLOTLY_CONFIG", "UNSURE_COLOUR", "add_segment_bars",
    "answers_figure", "confusion_figure", "map_colours", "maps_figure", "probability_figure", "selected_time",
    "teaching_figure", "timeline_figure",
]
