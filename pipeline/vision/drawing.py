"""Drawing results onto frames, in supervision's style: settings in ``__init__``, one ``annotate``.

Every annotator's ``annotate(image, result)`` takes an RGB uint8 frame (H, W, 3) and a result of the
pipeline, and returns a NEW RGB uint8 frame: the input is never modified, and a ``None`` or empty
result returns an unchanged copy. Annotators chain::

    frame = BoxAnnotator().annotate(frame, detections)
    frame = HandAnnotator().annotate(frame, hands)
    frame = ChordLabelAnnotator().annotate(frame, ("Am", 0.93))

Text uses OpenCV's Hershey font, so no font file is needed (nothing is downloaded). Colours are RGB.

- :class:`BoxAnnotator`: fretboard boxes (:class:`~pipeline.vision.detection.FretboardDetections`) with
  class and score, or a classifier :class:`~pipeline.vision.regions.Region` with its source.
- :class:`HandAnnotator`: the landmarks and skeleton of a :class:`~pipeline.vision.hands.HandsResult`,
  the fretting hand in its own colour and thicker.
- :class:`ChordLabelAnnotator`: the chord name and probability in a box in a corner (also what
  :mod:`pipeline.audio.mux` burns into videos).
- :func:`annotate_frame` chains the three; :func:`write_annotated_video` draws an analysis's frames as an MP4.

The overlays of explanations (occlusion heatmaps, finger attributions) are in :mod:`pipeline.vision.overlays`,
built on :func:`copy_frame` and :func:`draw_label` from here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.core.chords import NO_CHORD
from pipeline.core.errors import InputError
from pipeline.core.hands import FINGERS
from pipeline.vision.detection import FretboardDetections
from pipeline.vision.video import iter_frames, write_video

Color = tuple[int, int, int]

_FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX, without importing cv2 at module import
_HERSHEY_HEIGHT = 22.0  # Hershey simplex is about 22 px tall at font scale 1
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")


def copy_frame(image: np.ndarray) -> np.ndarray:
    """A C-contiguous uint8 copy of an RGB frame, which annotators draw on (the input stays untouched).

    Args:
        image: RGB (H, W, 3), any dtype castable to uint8.

    Returns:
        RGB uint8 (H, W, 3), a new array.

    Raises:
        ValueError: ``image`` is not (H, W, 3).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {image.shape}")
    return np.array(image, dtype=np.uint8, copy=True, order="C")


def draw_label(
    out: np.ndarray, text: str, anchor: tuple[int, int], font_scale: float, color: Color, background: Color
) -> None:
    """Draw ``text`` in place on a filled box whose bottom-left corner is ``anchor``, moved inside the frame.

    Args:
        out: RGB uint8 (H, W, 3), drawn on in place.
        text: the label.
        anchor: (x, y) pixel of the box's bottom-left corner (the box goes below it when there is no room).
        font_scale: OpenCV font scale (Hershey simplex).
        color: RGB of the text.
        background: RGB of the box.
    """
    import cv2

    thickness = max(1, int(round(font_scale * 2)))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, thickness)
    pad = max(2, text_h // 4)
    box_w, box_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    height, width = out.shape[:2]
    x0 = int(min(max(anchor[0], 0), max(width - box_w, 0)))
    y0 = int(anchor[1] - box_h)
    if y0 < 0:  # no room above the box: put the label just inside it
        y0 = int(anchor[1])
    y0 = min(max(y0, 0), max(height - box_h, 0))
    cv2.rectangle(out, (x0, y0), (x0 + box_w, y0 + box_h), background, thickness=-1)
    cv2.putText(out, text, (x0 + pad, y0 + pad + text_h), _FONT, font_scale, color, thickness, cv2.LINE_AA)


class BoxAnnotator:
    """Draws fretboard boxes with their class and score (or a region with its source).

    Args:
        color: RGB of the box and the label's background.
        text_color: RGB of the label's text.
        thickness: line width in pixels.
        text_scale: label height as a fraction of the frame height.
        label: draw the label (``"fretboard 0.87"``); False draws only the box.
        best_only: draw only the best box of a detection result.
    """

    def __init__(
        self,
        color: Color = (255, 140, 0),
        text_color: Color = (0, 0, 0),
        thickness: int = 2,
        text_scale: float = 0.045,
        label: bool = True,
        best_only: bool = False,
    ) -> None:
        self.color, self.text_color = tuple(int(c) for c in color), tuple(int(c) for c in text_color)
        self.thickness, self.text_scale, self.label, self.best_only = int(thickness), text_scale, label, best_only

    def annotate(self, image: np.ndarray, result) -> np.ndarray:
        """Return a copy of ``image`` with the boxes drawn.

        Args:
            image: RGB uint8 (H, W, 3).
            result: :class:`~pipeline.vision.detection.FretboardDetections`, a
                :class:`~pipeline.vision.regions.Region`, or None (nothing drawn).
        """
        import cv2

        out = copy_frame(image)
        if result is None:
            return out
        if hasattr(result, "source"):  # a Region
            items = [(result.box, result.source)]
        else:
            count = min(1, len(result.scores)) if self.best_only else len(result.scores)
            names = getattr(result, "names", None) or {}
            items = [
                (result.boxes[i], f"{names.get(int(result.class_ids[i]), 'fretboard')} {result.scores[i]:.2f}")
                for i in range(count)
            ]
        font_scale = max(0.35, self.text_scale * out.shape[0] / _HERSHEY_HEIGHT)
        for box, text in items:
            x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(box, dtype=np.float64))
            cv2.rectangle(out, (x1, y1), (x2, y2), self.color, self.thickness, cv2.LINE_AA)
            if self.label:
                draw_label(out, text, (x1, y1), font_scale, self.text_color, self.color)
        return out


class HandAnnotator:
    """Draws hand landmarks and the skeleton joining them; the fretting hand stands out.

    The skeleton follows :data:`pipeline.vision.hands.FINGERS`: each finger's chain, each finger's base to
    the wrist, and the knuckles of index to little finger across the palm.

    Args:
        color: RGB of hands that do not fret.
        fretting_color: RGB of the fretting hand.
        thickness: line width of other hands (the fretting hand's is one more).
        radius: landmark dot radius in pixels (the fretting hand's is one more).
        box: also draw the fretting hand's bounding box.
    """

    def __init__(
        self,
        color: Color = (170, 170, 170),
        fretting_color: Color = (0, 230, 120),
        thickness: int = 2,
        radius: int = 3,
        box: bool = False,
    ) -> None:
        self.color, self.fretting_color = tuple(int(c) for c in color), tuple(int(c) for c in fretting_color)
        self.thickness, self.radius, self.box = int(thickness), int(radius), box

    @staticmethod
    def connections() -> list[tuple[int, int]]:
        """Landmark index pairs to join, built from :data:`pipeline.core.hands.FINGERS`."""
        wrist = FINGERS["palm"][0]
        pairs: list[tuple[int, int]] = []
        bases = []
        for name, chain in FINGERS.items():
            if name == "palm":
                continue
            pairs.append((wrist, chain[0]))
            pairs += list(zip(chain[:-1], chain[1:]))
            if name != "thumb":
                bases.append(chain[0])
        pairs += list(zip(bases[:-1], bases[1:]))  # knuckles across the palm
        return pairs

    def annotate(self, image: np.ndarray, result) -> np.ndarray:
        """Return a copy of ``image`` with every hand of ``result`` drawn.

        Args:
            image: RGB uint8 (H, W, 3).
            result: :class:`~pipeline.vision.hands.HandsResult` (landmarks in pixels), or None.
        """
        import cv2

        out = copy_frame(image)
        if result is None or not result.hands:
            return out
        pairs = self.connections()
        order = [i for i in range(len(result.hands)) if i != result.fretting_index]
        if result.fretting_index is not None:
            order.append(result.fretting_index)  # drawn last, on top
        for index in order:
            hand = result.hands[index]
            fretting = index == result.fretting_index
            color = self.fretting_color if fretting else self.color
            thickness, radius = self.thickness + fretting, self.radius + fretting
            points = np.round(np.asarray(hand.landmarks_px)[:, :2]).astype(np.int64)
            for a, b in pairs:
                cv2.line(out, tuple(map(int, points[a])), tuple(map(int, points[b])), color, thickness, cv2.LINE_AA)
            for x, y in points:
                cv2.circle(out, (int(x), int(y)), radius, color, -1, cv2.LINE_AA)
                cv2.circle(out, (int(x), int(y)), radius, (0, 0, 0), 1, cv2.LINE_AA)  # dark rim: visible on skin
            if fretting and self.box:
                x1, y1, x2, y2 = (int(round(v)) for v in hand.bbox)
                cv2.rectangle(out, (x1, y1), (x2, y2), color, 1, cv2.LINE_AA)
        return out


def _chord_and_probability(result) -> tuple[str | None, float | None]:
    """Read a chord label result: None, a name, (name, probability), or an object with ``.chord``."""
    if result is None:
        return None, None
    if isinstance(result, str):
        return result, None
    if isinstance(result, (tuple, list)):
        chord = result[0] if len(result) else None
        probability = result[1] if len(result) > 1 else None
    else:
        chord = getattr(result, "chord", None)
        probability = getattr(result, "probability", None)
    return (None if chord is None else str(chord)), (None if probability is None else float(probability))


class ChordLabelAnnotator:
    """Draws the chord name (and its probability) in a box in a corner of a frame.

    The one label annotator of the project: the analyse video and the burned-in subtitles of
    :mod:`pipeline.audio.mux` both use it. Hershey font, so no font files.

    Args:
        position: ``"top-left"``, ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``.
        scale: text height as a fraction of the frame height.
        color: RGB text colour.
        background: RGB box colour.
        show_probability: append the probability as a percentage (``"Am 93%"``) when one is given.
        show_none: also label frames whose chord is ``"None"`` (as ``"no chord"``); by default they get
            no label, like subtitles.

    Raises:
        InputError: unknown ``position``.
    """

    def __init__(
        self,
        position: str = "top-left",
        scale: float = 0.08,
        color: Color = (255, 255, 255),
        background: Color = (20, 20, 20),
        show_probability: bool = True,
        show_none: bool = False,
    ) -> None:
        if position not in POSITIONS:
            raise InputError(f"Unknown label position {position!r}: use one of {', '.join(POSITIONS)}.")
        self.position, self.scale = position, scale
        self.color, self.background = tuple(int(c) for c in color), tuple(int(c) for c in background)
        self.show_probability, self.show_none = show_probability, show_none

    def text(self, result) -> str | None:
        """The label's text for ``result`` (see :meth:`annotate`), or None when nothing is drawn."""
        chord, probability = _chord_and_probability(result)
        if not chord or chord == NO_CHORD:
            if not (self.show_none and chord == NO_CHORD):
                return None
            chord = "no chord"
        if self.show_probability and probability is not None:
            return f"{chord} {100 * min(max(probability, 0.0), 1.0):.0f}%"
        return chord

    def annotate(self, image: np.ndarray, result) -> np.ndarray:
        """Return a copy of ``image`` with the chord drawn.

        Args:
            image: RGB uint8 (H, W, 3).
            result: the chord: None (nothing drawn), a name (``"Am"``; ``"None"`` draws nothing
                unless ``show_none``), a ``(name, probability)`` pair, or any object with ``.chord``
                and ``.probability`` attributes (a :class:`~pipeline.core.timeline.Segment`, a prediction).
        """
        import cv2

        out = copy_frame(image)
        text = self.text(result)
        if text is None:
            return out
        height, width = out.shape[:2]
        font_scale = max(0.4, self.scale * height / _HERSHEY_HEIGHT)
        thickness = max(1, int(round(font_scale * 2)))
        (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, thickness)
        pad = max(4, text_h // 3)
        box_w, box_h = text_w + 2 * pad, text_h + baseline + 2 * pad
        x0 = pad if "left" in self.position else width - box_w - pad
        y0 = pad if "top" in self.position else height - box_h - pad
        cv2.rectangle(out, (x0, y0), (x0 + box_w, y0 + box_h), self.background, thickness=-1)
        cv2.putText(out, text, (x0 + pad, y0 + pad + text_h), _FONT, font_scale, self.color, thickness, cv2.LINE_AA)
        return out


def annotate_frame(image: np.ndarray, hands=None, chord=None, box: np.ndarray | None = None,
                   box_label: str = "fretboard") -> np.ndarray:
    """Draw a fretboard box, the hands' landmarks and the chord onto a copy of a frame.

    Args:
        image: RGB uint8 (H, W, 3).
        hands: :class:`~pipeline.vision.hands.HandsResult` or None.
        chord: what :class:`~pipeline.vision.drawing.ChordLabelAnnotator` takes (a prediction, a name...).
        box: (4,) fretboard box x1, y1, x2, y2 in pixels, or None.
        box_label: class name written on the box.

    Returns:
        The annotated RGB uint8 frame.
    """
    out = image
    if box is not None:
        detections = FretboardDetections(np.asarray(box, np.float32)[None], [1.0], [0], {0: box_label})
        out = BoxAnnotator(label=False).annotate(out, detections)
    out = HandAnnotator(box=True).annotate(out, hands)
    return ChordLabelAnnotator().annotate(out, chord)


def frame_box(frame, boxes: dict[int, np.ndarray] | None = None) -> tuple[np.ndarray | None, str]:
    """The fretboard box to draw on an analysed frame, and where it comes from.

    Args:
        frame: a :class:`~pipeline.timeline.analyze.FrameResult`.
        boxes: frame index -> a sample clip's true box (:func:`fretboard_boxes`), used when the analysis
            ran no detector.

    Returns:
        ((4,) box x1, y1, x2, y2 or None, ``"detector"``, ``"detector: none"`` (it ran, found nothing),
        ``"truth"`` or ``"none"``).
    """
    if frame.fretboard is not None:
        return (frame.fretboard.best, "detector") if not frame.fretboard.empty else (None, "detector: none")
    if boxes and frame.index in boxes:
        return boxes[frame.index], "truth"
    return None, "none"


def write_annotated_video(analysis, out: str | Path, boxes: dict[int, np.ndarray] | None = None) -> Path:
    """The analysed frames with their hands, chord and fretboard box, as an MP4.

    One output frame per sampled frame, at the sampling rate: what the pipeline saw, no more.
    Frames stream from the clip one at a time.

    Args:
        analysis: a :class:`~pipeline.timeline.analyze.Analysis` of a video.
        out: the MP4 to write.
        boxes: frame index -> fretboard box (see :func:`fretboard_boxes`), drawn where the analysis ran
            no detector (see :func:`frame_box`).

    Returns:
        The path written.

    Raises:
        InputError: the analysis has no frames.
    """
    by_index = {f.index: f for f in analysis.frames}
    boxes = boxes or {}
    fps = analysis.fps or analysis.clip.fps or 1.0
    start = analysis.frames[0].time if analysis.frames else None

    def frames():
        for frame in iter_frames(analysis.clip.path, fps=analysis.fps, start=start, end=analysis.end):
            result = by_index.get(frame.index)
            if result is not None:
                chord = (result.chord, result.prediction.probabilities.get(result.chord, result.prediction.probability))
                yield annotate_frame(frame.image, result.hands, chord, frame_box(result, boxes)[0])

    return write_video(out, frames(), fps=min(fps, analysis.clip.fps or fps))


__all__ = [
    "BoxAnnotator", "ChordLabelAnnotator", "HandAnnotator", "POSITIONS", "annotate_frame", "copy_frame", "draw_label",
    "frame_box", "write_annotated_video",
]
