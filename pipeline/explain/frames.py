"""An image model's explanation of an analysed frame, in the frame's own coordinates."""

from __future__ import annotations

import numpy as np

from pipeline.timeline.analyze import image_model_input


def model_input(image: np.ndarray, frame, model) -> tuple[np.ndarray, object | None]:
    """What an image model sees of an analysed frame, as :func:`pipeline.timeline.analyze.analyze_clip` gives it
    (:func:`pipeline.timeline.analyze.image_model_input` on the frame's fretboard, hands and region).

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`~pipeline.timeline.analyze.FrameResult` (hands, fretboard, region).
        model: an image chord model; one trained on regions (``card.input_region != "frame"``) sees the
            region :func:`pipeline.vision.regions.classifier_region` picks (the analysis's own when it has one).

    Returns:
        (the model's input, RGB uint8; the :class:`~pipeline.vision.regions.Region` cut out, or None for the
        whole frame).
    """
    return image_model_input(image, model, frame.fretboard, frame.hands, frame.region)


def explain_image_frame(image: np.ndarray, frame, model, target: str | None = None):
    """The occlusion heatmap of an image model on an analysed frame, in the frame's coordinates.

    Runs :func:`pipeline.explain.occlusion.explain_frame` with its default settings on what the model sees
    (:func:`model_input`); a region's map is placed where the region lies in the frame, zero elsewhere
    (the model never saw the rest).

    Args:
        image: the frame, RGB uint8 (H, W, 3).
        frame: its :class:`~pipeline.timeline.analyze.FrameResult`.
        model: an image chord model.
        target: chord to explain; None explains the model's top chord.

    Returns:
        The :class:`~pipeline.explain.occlusion.Attribution`, ``map`` (H, W) float32; ``settings["region"]`` names
        what the model saw (``"frame"``, ``"fretboard"`` or ``"hand"``).

    Raises:
        InputError: an unknown target for this model (and what ``explain_frame`` raises).
    """
    import cv2

    from pipeline.explain.occlusion import occlusion as explain

    seen, region = model_input(image, frame, model)
    attribution = explain.explain_frame(seen, model, target)
    attribution.settings = {**attribution.settings, "region": region.source if region is not None else "frame"}
    if region is None:
        return attribution
    height, width = image.shape[:2]
    x1, y1, x2, y2 = np.clip(np.round(region.box).astype(np.int64), 0, [width, height, width, height])
    x1, y1 = min(x1, width - 1), min(y1, height - 1)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    full = np.zeros((height, width), np.float32)
    full[y1:y2, x1:x2] = cv2.resize(attribution.map, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    attribution.map = full
    return attribution
