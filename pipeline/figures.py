"""Plotly pieces shared by the studio and the Space: one colour per chord, chord segments as bars, the
chord timeline figure.

UI-free (plotly only), so ``app_pages/`` and ``gradio_app.py`` draw timelines the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.core.chords import NO_CHORD, VOCABULARY

_PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF",
            "#FECB52", "#1F77B4", "#8C564B", "#2CA02C", "#D62728"]
CHORD_COLOURS: dict[str, str] = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(c for c in VOCABULARY if c != NO_CHORD)}
"""Chord name -> colour; ``None`` is grey."""
CHORD_COLOURS[NO_CHORD] = "#B0B0B0"


def add_segment_bars(fig, rows: Sequence[tuple[str, object]]) -> None:
    """Add one horizontal bar per chord segment, a row per named timeline, one legend entry per chord.

    Args:
        fig: a ``plotly.graph_objects.Figure``.
        rows: (row name, :class:`~pipeline.core.timeline.Timeline`) pairs, e.g. recognised and ground truth.
    """
    import plotly.graph_objects as go

    shown: set[str] = set()
    for row, timeline in rows:
        for s in timeline.segments:
            fig.add_trace(go.Bar(
                x=[s.end - s.start], base=[s.start], y=[row], orientation="h", name=s.chord,
                marker_color=CHORD_COLOURS.get(s.chord, "#888"), text=s.chord, textposition="inside",
                insidetextanchor="middle", legendgroup=s.chord, showlegend=s.chord not in shown,
                hovertemplate=f"{s.chord}<br>%{{base:.2f}}-{s.end:.2f} s<br>mean p {s.probability:.2f}<extra>{row}</extra>",
            ))
            shown.add(s.chord)


def timeline_figure(analysis, truth=None, *, selected: float | None = None, frames: bool = True):
    """The chord timeline of an analysis: one coloured bar per chord segment over time, a row per timeline.

    Both apps draw it (the studio's Analyze page with ``frames``, the Space compact, beside its table).

    Args:
        analysis: a :class:`~pipeline.timeline.analyze.Analysis`.
        truth: a ground-truth :class:`~pipeline.core.timeline.Timeline` drawn as a second row, or None.
        selected: time in seconds of the frame shown beside the figure (a dotted vertical line), or None.
        frames: add a panel above the bars with a marker per sampled frame at its chord's probability
            (an ``x`` where no model could decide); False draws the bars alone, the recognised row on top.

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
                          legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
        return fig
    sampled = analysis.frames
    fig.add_trace(go.Scatter(
        x=[f.time for f in sampled], y=[f.prediction.probabilities.get(f.chord, 0.0) for f in sampled],
        mode="markers", yaxis="y2", name="frame probability",
        marker=dict(size=7, color=[CHORD_COLOURS.get(f.chord, "#888") for f in sampled],
                    line=dict(width=1, color="#222"),
                    symbol=["circle" if f.prediction.covered else "x" for f in sampled]),
        customdata=[[f.chord, f.prediction.chord, "no hand" if f.hands.fretting is None else "hand"] for f in sampled],
        hovertemplate="%{x:.2f} s: %{customdata[0]} (frame alone: %{customdata[1]}, %{customdata[2]})"
                      "<br>p %{y:.2f}<extra></extra>",
    ))
    fig.update_layout(
        barmode="overlay", height=260 + 40 * len(rows), margin=dict(l=10, r=10, t=30, b=10), xaxis=xaxis,
        yaxis=dict(domain=[0, 0.45], title=None),
        yaxis2=dict(domain=[0.55, 1.0], range=[0, 1.05], title="probability"),
        legend=dict(orientation="h", y=1.12),
    )
    return fig
