"""Plotly pieces shared by the studio and the Space: one colour per chord, chord segments as bars.

UI-free (plotly only), so ``pages/`` and ``gradio_app.py`` draw timelines the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.chords import NO_CHORD, VOCABULARY

_PALETTE = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF",
            "#FECB52", "#1F77B4", "#8C564B", "#2CA02C", "#D62728"]
CHORD_COLOURS: dict[str, str] = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(c for c in VOCABULARY if c != NO_CHORD)}
"""Chord name -> colour; ``None`` is grey."""
CHORD_COLOURS[NO_CHORD] = "#B0B0B0"


def add_segment_bars(fig, rows: Sequence[tuple[str, object]]) -> None:
    """Add one horizontal bar per chord segment, a row per named timeline, one legend entry per chord.

    Args:
        fig: a ``plotly.graph_objects.Figure``.
        rows: (row name, :class:`~pipeline.timeline.Timeline`) pairs, e.g. recognised and ground truth.
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
