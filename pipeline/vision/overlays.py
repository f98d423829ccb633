"""Overlays of explanations on frames, in supervision's style: settings in ``__init__``, one ``annotate``.

- :class:`HeatmapAnnotator`: an occlusion map (:class:`~pipeline.explain.attribution.Attribution`) blended
  over the frame, with a colour bar.
- :class:`FingerAnnotator`: the fretting hand with each finger group coloured by its attribution
  (:class:`~pipeline.explain.fingers.FingerAttribution`), and the groups ranked.
- :func:`side_by_side`: several heatmaps of one frame in a row.

Like :mod:`pipeline.vision.drawing`, every ``annotate`` returns a new RGB uint8 frame and never modifies its
input. Results are read by their attributes (``map``, ``target``, ``scores``, ``hand``), so drawing does not
import the code that computes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from pipeline.core.errors import InputError
from pipeline.core.hands import FINGERS
from pipeline.vision.drawing import copy_frame, draw_label

COLORMAPS = ("jet", "inferno", "viridis", "magma", "turbo", "hot")


def colormap_code(name: str) -> int:
    """OpenCV's code of a colormap named in :data:`COLORMAPS` (``cv2.COLORMAP_*``).

    Raises:
        InputError: an unknown name.
    """
    if name not in COLORMAPS:
        raise InputError(f"Unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}.")
    return getattr(cv2, f"COLORMAP_{name.upper()}")


def colorize(values01: np.ndarray, colormap: str) -> np.ndarray:
    """Map [0, 1] floats to RGB through an OpenCV colormap.

    Args:
        values01: (H, W) floats in [0, 1] (clipped).
        colormap: one of :data:`COLORMAPS`.

    Returns:
        RGB uint8 (H, W, 3).
    """
    grey = np.clip(np.round(values01 * 255), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, colormap_code(colormap)), cv2.COLOR_BGR2RGB)


def _legend(out: np.ndarray, colormap: str, low: float, high: float, title: str) -> None:
    """A vertical colour bar with its top and bottom values, drawn in the right margin of ``out``."""
    height, width = out.shape[:2]
    bar_h = max(20, int(height * 0.5))
    bar_w = max(6, width // 60)
    scale = max(0.3, min(height, width) / 900)
    x1 = width - bar_w - max(6, width // 80)
    y1 = (height - bar_h) // 2
    ramp = np.linspace(1, 0, bar_h)[:, None].repeat(bar_w, 1)
    out[y1:y1 + bar_h, x1:x1 + bar_w] = colorize(ramp, colormap)
    cv2.rectangle(out, (x1 - 1, y1 - 1), (x1 + bar_w, y1 + bar_h), (255, 255, 255), 1)
    thickness = max(1, int(round(scale * 2)))
    for text, y in ((f"{high:.3g}", y1 - 4), (f"{low:.3g}", y1 + bar_h + int(22 * scale) + 2)):
        (tw, _), _ = cv2.getTextSize(text, 0, scale, thickness)
        org = (max(0, x1 + bar_w - tw), int(min(max(y, 12), height - 2)))
        cv2.putText(out, text, org, 0, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(out, text, org, 0, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    if title:
        (tw, th), _ = cv2.getTextSize(title, 0, scale, thickness)
        org = (max(0, width - tw - 4), max(th + 2, y1 - int(30 * scale) - 4))
        cv2.putText(out, title, org, 0, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
        cv2.putText(out, title, org, 0, scale, (255, 255, 255), thickness, cv2.LINE_AA)


class HeatmapAnnotator:
    """Blends an occlusion map over a frame (or a crop) with a colour-scale legend.

    The map is scaled to [0, 1] by its largest value (negative evidence shows as none, or, with
    ``signed=True``, scaled by the largest magnitude around the middle of the colormap); where the
    map is strong the colour covers the frame up to ``alpha``, so unimportant regions stay visible.

    Args:
        alpha: largest opacity of the heatmap, 0 to 1.
        colormap: one of :data:`COLORMAPS`.
        legend: draw the colour bar and its values.
        signed: show negative evidence too (colormap centred on 0) instead of clipping it.
    """

    def __init__(self, alpha: float = 0.6, colormap: str = "jet", legend: bool = True, signed: bool = False) -> None:
        if not 0 <= alpha <= 1:
            raise InputError(f"alpha must be from 0 to 1; got {alpha}.")
        colormap_code(colormap)
        self.alpha, self.colormap, self.legend, self.signed = float(alpha), colormap, legend, signed

    def annotate(self, image: np.ndarray, attribution) -> np.ndarray:
        """Return a copy of ``image`` with ``attribution`` blended over it.

        Args:
            image: RGB uint8 (H, W, 3): the frame, or the crop that was explained.
            attribution: an :class:`~pipeline.explain.attribution.Attribution` or an (h, w) map (resized to
                the image if it differs); None returns an unchanged copy.

        Returns:
            RGB uint8 (H, W, 3).
        """
        out = copy_frame(image)
        if attribution is None:
            return out
        heat = np.asarray(getattr(attribution, "map", attribution), np.float32)
        if heat.ndim != 2:
            raise InputError(f"An attribution map must be 2-D; got shape {heat.shape}.")
        if heat.shape != out.shape[:2]:
            heat = cv2.resize(heat, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
        heat = np.nan_to_num(heat)
        if self.signed:
            top = float(np.abs(heat).max()) or 1.0
            values = (heat / top + 1) / 2
            weight = np.abs(heat) / top
            low, high = -top, top
        else:
            top = float(heat.max()) if heat.max() > 0 else 1.0
            values = np.clip(heat / top, 0, 1)
            weight = values
            low, high = 0.0, top
        colour = colorize(values, self.colormap).astype(np.float32)
        a = (self.alpha * np.sqrt(weight))[..., None]  # sqrt: middling evidence stays visible
        out = np.round(out.astype(np.float32) * (1 - a) + colour * a).astype(np.uint8)
        if self.legend:
            target = getattr(attribution, "target", None)
            _legend(out, self.colormap, low, high, f"drop in p({target})" if target else "attribution")
        return out


class FingerAnnotator:
    """Draws the fretting hand with each finger group coloured by its attribution, and a ranked list.

    Args:
        colormap: one of :data:`COLORMAPS` (the largest positive score takes the top colour).
        thickness: skeleton line width.
        radius: landmark dot radius.
    """

    def __init__(self, colormap: str = "jet", thickness: int = 3, radius: int = 4) -> None:
        colormap_code(colormap)
        self.colormap, self.thickness, self.radius = colormap, int(thickness), int(radius)

    def annotate(self, image: np.ndarray, result) -> np.ndarray:
        """Return a copy of ``image`` with the hand of ``result`` drawn by finger attribution.

        Args:
            image: RGB uint8 (H, W, 3): the frame whose hand was explained.
            result: a :class:`~pipeline.explain.fingers.FingerAttribution` (its ``hand`` in this frame's
                pixels), or None (an unchanged copy).

        Returns:
            RGB uint8 (H, W, 3).
        """
        out = copy_frame(image)
        if result is None or result.hand is None:
            return out
        top = max(max(result.scores.values()), 1e-12)
        colours = {name: tuple(int(c) for c in colorize(np.array([[max(score, 0) / top]]), self.colormap)[0, 0])
                   for name, score in result.scores.items()}
        points = np.round(np.asarray(result.hand.landmarks_px)[:, :2]).astype(np.int64)
        wrist = FINGERS["palm"][0]
        for name, chain in FINGERS.items():
            if name == "palm":
                continue
            chain = (wrist, *chain)
            for a, b in zip(chain[:-1], chain[1:]):
                cv2.line(out, tuple(map(int, points[a])), tuple(map(int, points[b])), colours[name],
                         self.thickness, cv2.LINE_AA)
        for name, chain in FINGERS.items():
            for landmark in chain:
                x, y = map(int, points[landmark])
                cv2.circle(out, (x, y), self.radius, colours[name], -1, cv2.LINE_AA)
                cv2.circle(out, (x, y), self.radius, (0, 0, 0), 1, cv2.LINE_AA)
        scale = max(0.4, min(out.shape[:2]) / 720)
        line = int(40 * scale) + 8
        ranked = sorted(result.scores.items(), key=lambda item: -item[1])
        draw_label(out, f"{result.target} {result.probability:.2f}: which fingers decided", (4, line), scale,
               (255, 255, 255), (40, 40, 40))
        for i, (name, score) in enumerate(ranked, start=2):
            draw_label(out, f"{name} {score:+.3f}", (4, i * line), scale, (255, 255, 255), colours[name])
        return out


def side_by_side(image: np.ndarray, attributions: Sequence, titles: Sequence[str] | None = None,
                 annotator: HeatmapAnnotator | None = None, gap: int = 8) -> np.ndarray:
    """Overlays of several explanations of one frame in a row (two models, or trained vs untrained).

    Args:
        image: RGB uint8 (H, W, 3).
        attributions: :class:`~pipeline.explain.attribution.Attribution` objects (or maps) of that image.
        titles: one caption per panel (default: the target chord and its probability).
        annotator: how to draw each panel (default :class:`HeatmapAnnotator`).
        gap: white pixels between panels.

    Returns:
        RGB uint8 (H, n * W + (n - 1) * gap, 3).
    """
    annotator = annotator or HeatmapAnnotator()
    if titles is not None and len(titles) != len(attributions):
        raise InputError(f"{len(titles)} titles for {len(attributions)} explanations.")
    panels = []
    for i, attribution in enumerate(attributions):
        panel = annotator.annotate(image, attribution)
        title = titles[i] if titles is not None else (
            f"{attribution.target} p={attribution.probability:.2f}" if hasattr(attribution, "target") else "")
        if title:
            draw_label(panel, title, (4, max(24, panel.shape[0] // 14)), max(0.4, min(panel.shape[:2]) / 720),
                   (255, 255, 255), (30, 30, 30))
        panels.append(panel)
    if not panels:
        raise InputError("No explanations to show side by side.")
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [spacer, panel]
    return np.concatenate(row, axis=1)


__all__ = ["COLORMAPS", "FingerAnnotator", "HeatmapAnnotator", "colorize", "colormap_code", "side_by_side"]
