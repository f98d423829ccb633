"""Synthetic guitar footage with exact ground truth: frames, clips, image folders and YOLO data sets.

The project ships no real footage, so its tests, README and apps use clips that this module renders:
a guitar neck seen from in front of the player (fretboard with frets, six strings, inlay dots, nut and
headstock), slightly angled, and a shaded fretting hand whose fingertips sit on the strings and frets
of each chord's voicing (:data:`pipeline.core.chords.VOICINGS`, barre chords with the index finger across
the strings). Everything is drawn with numpy and OpenCV and is deterministic given a seed.

How it is drawn, and why:

* The neck lives in its own plane, in millimetres: ``u`` along the neck from the nut towards the body,
  ``v`` across it from the centre line (negative towards the low E string, which is on top in a
  player-facing view), ``z`` towards the camera (0 on the fretboard). A homography (rotation, scale,
  a little perspective) maps that plane into the 640x360 frame, so every fret, string and fingertip
  has an exact image position.
* The hand is a 21-joint skeleton in MediaPipe's topology (0 wrist, 1-4 thumb, 5-8 index, 9-12
  middle, 13-16 ring, 17-20 little), posed in 3D by a small inverse-kinematics solve from the
  knuckles to the fingertip targets. It is drawn as a soft union of tapered capsules (finger bones,
  forearm, sleeve) and a rounded palm slab in a height buffer, so fingers side by side melt into one
  fleshy mass; then Lambert and specular shading, a redder rim where light scatters under the skin,
  ambient occlusion from the height, dark creases where one part passes in front of another, and
  fingernails. Flat cartoon hands are not found by MediaPipe; this volumetric look, with the whole
  hand and wrist in view and the palm turned mostly towards the camera, is what makes its palm
  detector fire (about 85 % of chord frames over random scenes; ``tests/test_synthetic.py`` holds it
  to at least 75 %).
* The thumb wraps behind the neck, so the neck hides it except the tip over the top edge, as in
  real footage.

Ground truth: the chord, the fretboard's box (the playing surface from the nut to where it leaves
the frame, clipped to the frame), the hand's box and the 21 joints in pixels.

Command line: ``python -m tools.samplegen.synthetic --out sample_media`` regenerates the committed samples.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from pipeline.core.chords import NO_CHORD, VOCABULARY, parse_chord
from pipeline.core.errors import InputError
from pipeline.core.timeline import Segment, Timeline

WIDTH, HEIGHT = 640, 360
"""Frame size of every render (the real footage's size)."""

SCALE_LENGTH = 648.0
"""Nut-to-saddle length in mm; fret n sits at ``SCALE_LENGTH * (1 - 2 ** (-n / 12))``."""
NUT_HALF_WIDTH = 21.5
NECK_FLARE = 0.022
"""Half-width of the fretboard grows by this many mm per mm along the neck."""
STRING_HALF_SPAN = 17.0
STRING_FLARE = 0.017
FRETBOARD_END = 480.0
"""Where the drawn fretboard ends (mm from the nut): beyond the frame at every scene scale."""
HEADSTOCK_LENGTH = 185.0
INLAY_FRETS = (3, 5, 7, 9, 12, 15, 17)

N_JOINTS = 21
FINGER_JOINTS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
"""Joint indices of thumb, index, middle, ring and little finger, from base to tip."""

# Bone lengths (mm) of an average adult hand, base to tip: thumb metacarpal/proximal/distal, then
# proximal/middle/distal phalanges of each finger.
_BONE_LENGTHS = np.array(
    [[44.0, 32.0, 26.0], [42.0, 25.0, 20.0], [46.0, 29.0, 21.0], [43.0, 27.0, 21.0], [34.0, 20.0, 19.0]]
)
# Radii (mm) at each joint of each chain (base, second, third, tip).
_JOINT_RADII = np.array(
    [[11.0, 11.0, 10.0, 8.8], [8.6, 7.8, 7.1, 6.5], [8.8, 8.1, 7.3, 6.7], [8.4, 7.6, 6.9, 6.3], [7.5, 6.8, 6.1, 5.6]]
)
_KNUCKLE_SPACING = 22.0
_PALM_LENGTH = 88.0

# Which finger frets which string (1 index ... 4 little): (finger, string, fret), plus a barre of the
# index finger (fret, lowest-numbered string, highest-numbered string). These are the usual
# fingerings of the voicings in pipeline.core.chords; a test checks that they sound the voicing.
FINGERINGS: dict[str, tuple[tuple[tuple[int, int, int], ...], tuple[int, int, int] | None]] = {
    "A": (((1, 4, 2), (2, 3, 2), (3, 2, 2)), None),
    "Am": (((1, 2, 1), (2, 4, 2), (3, 3, 2)), None),
    "B": (((2, 4, 4), (3, 3, 4), (4, 2, 4)), (2, 1, 5)),
    "Bm": (((2, 2, 3), (3, 4, 4), (4, 3, 4)), (2, 1, 5)),
    "C": (((1, 2, 1), (2, 4, 2), (3, 5, 3)), None),
    "Cm": (((2, 2, 4), (3, 4, 5), (4, 3, 5)), (3, 1, 5)),
    "D": (((1, 3, 2), (2, 1, 2), (3, 2, 3)), None),
    "Dm": (((1, 1, 1), (2, 3, 2), (3, 2, 3)), None),
    "E": (((1, 3, 1), (2, 5, 2), (3, 4, 2)), None),
    "Em": (((2, 5, 2), (3, 4, 2)), None),
    "F": (((2, 3, 2), (3, 5, 3), (4, 4, 3)), (1, 1, 6)),
    "Fm": (((3, 5, 3), (4, 4, 3)), (1, 1, 6)),
    "G": (((1, 5, 2), (2, 6, 3), (3, 1, 3)), None),
    "Gm": (((3, 5, 5), (4, 4, 5)), (3, 1, 6)),
}

def fingering_frets(chord: str) -> tuple[int, ...]:
    """The fret each string is pressed at by :data:`FINGERINGS` (low E first; 0 where none presses).

    Raises:
        InputError: the chord is unknown or is ``None``.
    """
    name = parse_chord(chord)
    if name not in FINGERINGS:
        raise InputError(f"{name!r} has no fingering.")
    fingers, barre = FINGERINGS[name]
    frets = [0] * 6
    if barre is not None:
        fret, low, high = barre
        for string in range(low, high + 1):
            frets[6 - string] = fret
    for _, string, fret in fingers:
        frets[6 - string] = max(frets[6 - string], fret)
    return tuple(frets)


_SKIN_TONES = np.array(
    [[238, 200, 172], [228, 178, 146], [214, 160, 124], [190, 132, 98], [150, 98, 68], [105, 70, 50]], np.float32
)
_WALL_COLOURS = np.array(
    [[222, 214, 200], [205, 200, 190], [180, 186, 190], [232, 226, 214], [150, 140, 128], [60, 58, 60],
     [200, 190, 160]],
    np.float32,
)
_CLOTH_COLOURS = np.array(
    [[38, 38, 42], [62, 64, 70], [30, 40, 62], [70, 36, 36], [44, 60, 44], [110, 110, 112], [150, 120, 90],
     [20, 20, 22]],
    np.float32,
)
_WOOD_COLOURS = np.array([[92, 52, 32], [70, 42, 28], [118, 72, 42], [42, 32, 28], [196, 152, 96]], np.float32)
_HEADSTOCK_COLOURS = np.array(
    [[226, 220, 200], [28, 26, 26], [150, 92, 50], [236, 236, 232], [120, 30, 30], [200, 160, 110]], np.float32
)


# --------------------------------------------------------------------------------------------------
# Ground truth types


@dataclass(frozen=True)
class FrameTruth:
    """What a rendered frame shows.

    Attributes:
        chord: vocabulary name of the chord held (``"None"`` for no chord).
        fretboard_box: (4,) float32 x1, y1, x2, y2 pixels of the visible fretboard (nut to frame edge).
        hand_box: (4,) float32 x1, y1, x2, y2 pixels of the visible hand (without the forearm), or None
            when no hand is drawn or it is out of the frame.
        landmarks: (21, 3) float32 joints in MediaPipe's order, x and y in pixels (they may lie outside
            the frame), z towards the camera in pixels; None without a hand.
    """

    chord: str
    fretboard_box: np.ndarray
    hand_box: np.ndarray | None = None
    landmarks: np.ndarray | None = None


@dataclass(frozen=True)
class ClipTruth:
    """Ground truth of a rendered clip, as written next to it.

    Attributes:
        video: the MP4 written.
        timeline: the chords held, one segment per progression step (equal neighbours merged).
        timeline_path: ``<stem>.timeline.json`` beside the clip.
        fretboard_path: ``<stem>.fretboard.csv`` beside the clip (frame, time, x1, y1, x2, y2).
        fps: frames per second.
        frame_count: number of frames written.
        fretboard_boxes: (frame_count, 4) float32 fretboard box per frame.
    """

    video: Path
    timeline: Timeline
    timeline_path: Path
    fretboard_path: Path
    fps: float
    frame_count: int
    fretboard_boxes: np.ndarray

    @property
    def duration(self) -> float:
        """Length of the clip in seconds (frames / fps)."""
        return self.frame_count / self.fps


# --------------------------------------------------------------------------------------------------
# Neck geometry (mm, in the neck's plane)


def fret_position(fret: float) -> float:
    """Distance in mm from the nut to fret ``fret`` (0 is the nut)."""
    return SCALE_LENGTH * (1.0 - 2.0 ** (-fret / 12.0))


def neck_half_width(u: np.ndarray | float) -> np.ndarray | float:
    """Half-width in mm of the fretboard at ``u`` mm from the nut."""
    return NUT_HALF_WIDTH + NECK_FLARE * np.asarray(u)


def string_offset(string: int, u: np.ndarray | float) -> np.ndarray | float:
    """Across-neck position ``v`` (mm) of a string at ``u``; string 6 (low E) is on top (negative v)."""
    half = STRING_HALF_SPAN + STRING_FLARE * np.asarray(u)
    return -half + (6 - string) / 5.0 * 2.0 * half


def fingertip_position(string: int, fret: int) -> np.ndarray:
    """Where a fingertip presses ``string`` at ``fret``: just behind the fret wire, (u, v) mm."""
    u = fret_position(fret) - 0.3 * (fret_position(fret) - fret_position(fret - 1))
    return np.array([u, string_offset(string, u)])


# --------------------------------------------------------------------------------------------------
# The scene: the fixed look of one clip


@dataclass(frozen=True)
class Posture:
    """How a player holds the fretting hand: fixed over a clip, it varies between scenes.

    Attributes:
        knuckle_drop: mm from the fretboard's treble edge down to the knuckle row (open chords).
        knuckle_z: height of the knuckle row over the fretboard's plane (mm, negative behind it).
        lean: mm the knuckle row sits towards the body from the fingertips (fingers lean to the nut).
        row_slope: how much the knuckle row drops towards the little finger (v per u).
        palm_back: how far the palm turns away from the camera (0 faces it).
        palm_lean: how far the wrist sits towards the body (u per v of the palm's length).
        thumb_lead: mm the thumb tip sits towards the body from the index knuckle.
        thumb_over: mm the thumb tip rises over the neck's top edge (negative: hidden behind it).
    """

    knuckle_drop: float = 44.0
    knuckle_z: float = -10.0
    lean: float = 12.0
    row_slope: float = 0.12
    palm_back: float = 0.25
    palm_lean: float = 0.25
    thumb_lead: float = 10.0
    thumb_over: float = 8.0

    @classmethod
    def random(cls, rng: np.random.Generator) -> Posture:
        """Draw a player's posture."""
        return cls(
            knuckle_drop=float(rng.uniform(36.0, 52.0)),
            knuckle_z=float(rng.uniform(-16.0, -4.0)),
            lean=float(rng.uniform(5.0, 20.0)),
            row_slope=float(rng.uniform(0.03, 0.22)),
            palm_back=float(rng.uniform(0.1, 0.4)),
            palm_lean=float(rng.uniform(0.12, 0.38)),
            thumb_lead=float(rng.uniform(-5.0, 25.0)),
            thumb_over=float(rng.uniform(-8.0, 16.0)),
        )


@dataclass(frozen=True)
class Scene:
    """Everything that stays fixed over a clip: camera, guitar, colours, light, the player's hand.

    Attributes:
        nut: (x, y) pixel position of the nut's centre.
        angle: neck tilt in degrees (positive turns the body end down).
        scale: pixels per mm at the nut.
        taper: perspective along the neck (1/mm); positive makes the body end smaller.
        tilt: perspective across the neck (1/mm).
        oblique: (du, dv) neck-plane shift per mm of height towards the camera, i.e. how far off the
            fretboard's normal the camera looks.
        wood, headstock, wall, cloth, skin, sleeve: RGB colours.
        maple: light fretboard with dark inlays instead of dark wood with pearl ones.
        dark_nut: a black (graphite) nut instead of a bone-white one.
        inline_tuners: six tuners on one side (else three a side).
        light: (3,) unit vector towards the light in image axes (x right, y down, z to the camera).
        ambient: share of light that is ambient.
        exposure: overall brightness factor.
        noise: sensor noise sigma (grey levels).
        blur: Gaussian blur sigma (pixels) of camera softness.
        hand_size: scale of the player's hand relative to an average adult.
        posture: how the player holds the fretting hand.
        short_sleeve: forearm bare to the elbow (else a sleeve starting near the wrist).
        sleeve_start: mm from the wrist where the sleeve begins.
        seed: seed of the scene's fixed textures (wood grain, wall, cloth).
    """

    nut: tuple[float, float] = (470.0, 110.0)
    angle: float = 4.0
    scale: float = 1.5
    taper: float = 4e-4
    tilt: float = 0.0
    oblique: tuple[float, float] = (0.05, -0.05)
    wood: tuple[float, float, float] = (92.0, 52.0, 32.0)
    headstock: tuple[float, float, float] = (226.0, 220.0, 200.0)
    wall: tuple[float, float, float] = (222.0, 214.0, 200.0)
    cloth: tuple[float, float, float] = (38.0, 38.0, 42.0)
    skin: tuple[float, float, float] = (228.0, 178.0, 146.0)
    sleeve: tuple[float, float, float] = (62.0, 64.0, 70.0)
    maple: bool = False
    dark_nut: bool = False
    inline_tuners: bool = False
    light: tuple[float, float, float] = (-0.3, -0.5, 0.81)
    ambient: float = 0.42
    exposure: float = 1.0
    noise: float = 2.0
    blur: float = 0.7
    hand_size: float = 1.0
    posture: Posture = field(default_factory=Posture)
    short_sleeve: bool = False
    sleeve_start: float = 70.0
    seed: int = 0

    @classmethod
    def random(cls, rng: np.random.Generator) -> Scene:
        """Draw a scene: position, angle, scale, colours, light, noise and the hand's size vary.

        Args:
            rng: the random generator to draw from.

        Returns:
            A new scene.
        """

        def pick(palette: np.ndarray, jitter: float) -> tuple[float, float, float]:
            # one brightness change and a slight tint, so colours stay natural
            brightness = rng.uniform(1 - jitter, 1 + jitter)
            colour = palette[rng.integers(len(palette))] * brightness * rng.uniform(0.97, 1.03, 3)
            return tuple(float(c) for c in np.clip(colour, 0, 255))

        wood_index = int(rng.integers(len(_WOOD_COLOURS)))
        wood = _WOOD_COLOURS[wood_index] * rng.uniform(0.85, 1.15)
        light = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.8, 0.1), 1.0])
        return cls(
            nut=(float(rng.uniform(0.6, 0.82) * WIDTH), float(rng.uniform(0.22, 0.38) * HEIGHT)),
            angle=float(rng.uniform(-7.0, 9.0)),
            scale=float(rng.uniform(1.3, 1.75)),
            taper=float(rng.uniform(0.0, 8e-4)),
            tilt=float(rng.uniform(-1.5e-3, 1.5e-3)),
            oblique=(float(rng.uniform(-0.15, 0.25)), float(rng.uniform(-0.25, 0.15))),
            wood=tuple(float(c) for c in np.clip(wood * rng.uniform(0.96, 1.04, 3), 0, 255)),
            headstock=pick(_HEADSTOCK_COLOURS, 0.06),
            wall=pick(_WALL_COLOURS, 0.08),
            cloth=pick(_CLOTH_COLOURS, 0.15),
            skin=pick(_SKIN_TONES, 0.05),
            sleeve=pick(_CLOTH_COLOURS, 0.15),
            maple=wood_index == len(_WOOD_COLOURS) - 1,
            dark_nut=bool(rng.random() < 0.25),
            inline_tuners=bool(rng.random() < 0.4),
            light=tuple(float(c) for c in light / np.linalg.norm(light)),
            ambient=float(rng.uniform(0.32, 0.5)),
            exposure=float(rng.uniform(0.85, 1.12)),
            noise=float(rng.uniform(1.0, 3.5)),
            blur=float(rng.uniform(0.4, 1.1)),
            hand_size=float(rng.uniform(0.9, 1.1)),
            posture=Posture.random(rng),
            short_sleeve=bool(rng.random() < 0.35),
            sleeve_start=float(rng.uniform(40.0, 110.0)),
            seed=int(rng.integers(2**31)),
        )

    @property
    def homography(self) -> np.ndarray:
        """(3, 3) map from the neck plane (u, v, 1) in mm to homogeneous frame pixels."""
        flip = np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [self.taper, self.tilt, 1.0]])
        a = math.radians(self.angle)
        # The neck runs leftwards from the nut, so a positive angle (body end down) is a clockwise turn
        # of the flipped u axis: rotate by -angle in image axes.
        rot = np.array([[math.cos(a), math.sin(a), 0.0], [-math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])
        return np.array([[1.0, 0.0, self.nut[0]], [0.0, 1.0, self.nut[1]], [0.0, 0.0, 1.0]]) @ rot @ np.diag(
            [self.scale, self.scale, 1.0]
        ) @ flip

    def project(self, points: np.ndarray) -> np.ndarray:
        """Map neck-space points to the frame.

        Args:
            points: (n, 2) u, v mm, or (n, 3) u, v, z mm (z towards the camera).

        Returns:
            (n, 3) float64: x, y pixels and z in pixels (scaled like x and y at that point).
        """
        points = np.asarray(points, dtype=np.float64).reshape(-1, points.shape[-1] if np.ndim(points) else 2)
        z = points[:, 2] if points.shape[1] > 2 else np.zeros(len(points))
        u = points[:, 0] + self.oblique[0] * z
        v = points[:, 1] + self.oblique[1] * z
        h = self.homography @ np.stack([u, v, np.ones_like(u)])
        xy = h[:2] / h[2]
        local_scale = self.scale / h[2]
        return np.stack([xy[0], xy[1], z * local_scale], axis=1)

    def local_scale(self, points: np.ndarray) -> np.ndarray:
        """Pixels per mm at neck-space points (n, 2+) (perspective shrinks the far end)."""
        points = np.asarray(points, dtype=np.float64)
        z = points[:, 2] if points.shape[1] > 2 else 0.0
        u = points[:, 0] + self.oblique[0] * z
        v = points[:, 1] + self.oblique[1] * z
        return self.scale / (1.0 + self.taper * u + self.tilt * v)

    def fretboard_polygon(self) -> np.ndarray:
        """(4, 2) pixel corners of the whole fretboard, nut to :data:`FRETBOARD_END`."""
        u = np.array([0.0, 0.0, FRETBOARD_END, FRETBOARD_END])
        half = neck_half_width(u)
        v = np.array([-half[0], half[1], half[2], -half[3]])
        return self.project(np.stack([u, v], axis=1))[:, :2]

    def fretboard_box(self) -> np.ndarray:
        """(4,) float32 x1, y1, x2, y2 of the fretboard's part inside the frame."""
        frame = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
        area, clipped = cv2.intersectConvexConvex(self.fretboard_polygon().astype(np.float32), frame)
        if area <= 0 or clipped is None:
            return np.zeros(4, np.float32)
        clipped = clipped.reshape(-1, 2)
        return np.concatenate([clipped.min(axis=0), clipped.max(axis=0)]).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# The backdrop: wall, player, guitar neck (static over a clip)


@dataclass(frozen=True)
class Backdrop:
    """A scene's static layer.

    Attributes:
        image: (H, W, 3) float32 RGB, 0-255, before noise and blur.
        neck_mask: (H, W) bool, pixels where the guitar (fretboard, headstock) hides what is behind it.
        fretboard_box: (4,) float32 pixels, see :meth:`Scene.fretboard_box`.
    """

    image: np.ndarray
    neck_mask: np.ndarray
    fretboard_box: np.ndarray


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth noise of ``shape`` (blurred white noise)."""
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return noise / (noise.std() + 1e-6)


def render_backdrop(scene: Scene) -> Backdrop:
    """Draw the static part of a scene: room, player's torso, and the guitar neck with headstock.

    Args:
        scene: the scene to draw.

    Returns:
        The backdrop (image, neck mask, fretboard box).
    """
    rng = np.random.default_rng(scene.seed)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    wall = np.array(scene.wall, np.float32)
    # A wall lit from one side, with a soft vertical feature (door frame, shelf) for clutter.
    gradient = 1.0 + 0.18 * (xs / WIDTH - 0.5) * rng.choice([-1, 1]) - 0.1 * (ys / HEIGHT)
    image = wall[None, None, :] * gradient[..., None]
    image *= 1.0 + 0.02 * _smooth_noise(rng, (HEIGHT, WIDTH), 6)[..., None]
    if rng.random() < 0.6:
        x0 = rng.uniform(0, WIDTH)
        band = np.exp(-(((xs - x0) / rng.uniform(4, 30)) ** 2))
        image *= (1.0 - rng.uniform(0.1, 0.35) * band)[..., None]

    # The player's torso: a large dark cloth region behind the neck, on the body side.
    cloth = np.array(scene.cloth, np.float32)
    cx = rng.uniform(-0.1, 0.45) * WIDTH
    torso = (((xs - cx) / (rng.uniform(0.35, 0.6) * WIDTH)) ** 2 + ((ys - HEIGHT * 1.1) / (HEIGHT * 1.25)) ** 2) < 1
    if rng.random() < 0.35:  # sometimes the torso fills the frame (dark close-up)
        torso = np.ones_like(torso)
    torso_mask = cv2.GaussianBlur(torso.astype(np.float32), (0, 0), 3)[..., None]
    folds = 1.0 + 0.12 * _smooth_noise(rng, (HEIGHT, WIDTH), 14) + 0.04 * _smooth_noise(rng, (HEIGHT, WIDTH), 1.5)
    folds = folds[..., None]
    image = image * (1 - torso_mask) + cloth * folds * torso_mask

    guitar, alpha = _render_guitar(scene, rng)
    image = image * (1 - alpha[..., None]) + guitar * alpha[..., None]
    return Backdrop(image.astype(np.float32), alpha > 0.5, scene.fretboard_box())


def _render_guitar(scene: Scene, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The neck and headstock, drawn in a texture of the neck plane and warped into the frame.

    Returns:
        (H, W, 3) float32 colour and (H, W) float32 coverage of the guitar.
    """
    k = 2.5  # texture pixels per mm: finer than the frame at every scene scale
    v_max = 70.0
    u_min, u_max = -HEADSTOCK_LENGTH - 30.0, FRETBOARD_END
    tw, th = int((u_max - u_min) * k), int(2 * v_max * k)
    # texture column j <-> u = u_max - j / k, row i <-> v = -v_max + i / k
    tex_to_neck = np.array([[-1.0 / k, 0.0, u_max], [0.0, 1.0 / k, -v_max], [0.0, 0.0, 1.0]])

    def to_tex(u, v):
        return np.stack([(u_max - np.asarray(u)) * k, (np.asarray(v) + v_max) * k], axis=-1)

    uu = (u_max - np.arange(tw, dtype=np.float32) / k)[None, :]
    vv = (-v_max + np.arange(th, dtype=np.float32) / k)[:, None]

    # Fretboard wood with grain running along the neck.
    wood = np.array(scene.wood, np.float32)
    # Grain: noise stretched along the neck (drawn small and resized, far cheaper than a long blur).
    grain = cv2.resize(rng.standard_normal((th, tw // 24)).astype(np.float32), (tw, th), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(grain, (0, 0), 1.0)
    grain /= grain.std() + 1e-6
    fine = cv2.resize(rng.standard_normal((th, tw // 5)).astype(np.float32), (tw, th), interpolation=cv2.INTER_LINEAR)
    fine /= fine.std() + 1e-6
    half = neck_half_width(np.maximum(uu, 0))
    board = (uu >= 0) & (np.abs(vv) <= half)
    # The neck's rounded side shows as a thin strip beyond the fretboard edge.
    side = (uu >= 0) & ~board & (np.abs(vv) <= half + 2.2)
    shade = (1.0 + 0.10 * grain + 0.05 * fine) * board + 0.55 * side
    colour = (wood * shade[..., None]).astype(np.float32)
    alpha = (board | side).astype(np.float32)

    # Inlay dots between frets, on the centre line (double at 12).
    inlay = np.array([70, 50, 40], np.float32) if scene.maple else np.array([236, 232, 220], np.float32)
    for fret in INLAY_FRETS:
        u = 0.5 * (fret_position(fret) + fret_position(fret - 1))
        offsets = (-11.0, 11.0) if fret == 12 else (0.0,)
        for dv in offsets:
            centre = tuple(int(round(c * 16)) for c in to_tex(u, dv))
            cv2.circle(colour, centre, int(3.0 * k * 16), tuple(float(c) for c in inlay), -1, cv2.LINE_AA, 4)

    # Headstock: flares from the nut, with a rounded top edge and the tuner posts and buttons.
    head_colour = np.array(scene.headstock, np.float32)
    end = -HEADSTOCK_LENGTH
    hu = np.array([-4.0, -30.0, -80.0, end + 20, end, end, end + 25, -70.0, -20.0, -4.0])
    hv = np.array([-24.0, -31.0, -41.0, -46.0, -38.0, 34.0, 43.0, 40.0, 30.0, 24.0])
    outline = np.round(to_tex(hu, hv) * 16).astype(np.int32)
    head_mask = np.zeros((th, tw), np.uint8)
    cv2.fillPoly(head_mask, [outline], 255, cv2.LINE_AA, 4)
    head = head_mask.astype(np.float32) / 255.0
    # Rounded edges of the headstock catch the light: brighten the rim a little.
    rim = cv2.GaussianBlur(head, (0, 0), 4)
    head_shade = (0.85 + 0.2 * rim) * (1.0 + 0.03 * fine)
    colour = colour * (1 - head[..., None]) + (head_colour * head_shade[..., None]) * head[..., None]
    alpha = np.maximum(alpha, head)

    posts = _tuner_posts(scene)
    metal = np.array([200, 200, 205], np.float32)
    for string, (pu, pv) in posts.items():
        centre = tuple(int(round(c * 16)) for c in to_tex(pu, pv))
        cv2.circle(colour, centre, int(7.0 * k * 16), tuple(float(c) for c in metal * 0.55), -1, cv2.LINE_AA, 4)
        cv2.circle(colour, centre, int(5.0 * k * 16), tuple(float(c) for c in metal), -1, cv2.LINE_AA, 4)
        cv2.circle(colour, centre, int(2.2 * k * 16), tuple(float(c) for c in metal * 0.7), -1, cv2.LINE_AA, 4)
        # tuner button: a rounded knob on a short shaft, sticking out past the headstock's edge
        upper = pv < 0
        side_u, side_v = (hu[:5], hv[:5]) if upper else (hu[5:], hv[5:])
        order = np.argsort(side_u)
        edge_v = float(np.interp(pu, side_u[order], side_v[order]))
        sign = -1.0 if upper else 1.0
        shaft0, shaft1 = to_tex(pu, edge_v - sign * 3.0), to_tex(pu, edge_v + sign * 6.0)
        shaft = [tuple(int(round(c)) for c in p) for p in (shaft0, shaft1)]
        cv2.line(colour, *shaft, tuple(float(c) for c in metal * 0.6), int(3 * k), cv2.LINE_AA)
        cv2.line(alpha, *shaft, 1.0, int(3 * k), cv2.LINE_AA)
        knob = tuple(int(round(c)) for c in to_tex(pu, edge_v + sign * 11.0))
        axes = (int(7 * k), int(5 * k))
        cv2.ellipse(colour, knob, axes, 0, 0, 360, tuple(float(c) for c in metal * 0.85), -1, cv2.LINE_AA)
        inner = (axes[0] // 2, axes[1] // 2)
        cv2.ellipse(colour, knob, inner, 0, 0, 360, tuple(float(c) for c in metal), -1, cv2.LINE_AA)
        cv2.ellipse(alpha, knob, axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA)

    # Warp the texture into the frame through the scene's homography.
    to_frame = scene.homography @ tex_to_neck
    warped = cv2.warpPerspective(colour, to_frame, (WIDTH, HEIGHT), flags=cv2.INTER_AREA)
    warped_alpha = cv2.warpPerspective(alpha, to_frame, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
    # Undo the premultiplication by black that the warp did at the edges.
    warped = warped / np.maximum(warped_alpha, 1e-3)[..., None] * (warped_alpha > 1e-3)[..., None]

    _draw_frets_and_strings(warped, scene, posts)
    return warped, np.clip(warped_alpha, 0, 1)


def _tuner_posts(scene: Scene) -> dict[int, tuple[float, float]]:
    """Neck-space (u, v) mm of each string's tuner post."""
    if scene.inline_tuners:
        # six in a line near the bass (upper) edge, the low E string's nearest the nut
        return {s: (-40.0 - (6 - s) * 26.0, -30.0 + (6 - s) * 1.5) for s in range(6, 0, -1)}
    posts = {}
    for s in range(6, 0, -1):
        rank = (6 - s) if s >= 4 else (s - 1)  # 6,5,4 on the bass side and 1,2,3 on the treble side
        posts[s] = (-48.0 - rank * 42.0, (-27.0 if s >= 4 else 27.0))
    return posts


def _draw_frets_and_strings(image: np.ndarray, scene: Scene, posts: dict[int, tuple[float, float]]) -> None:
    """Frets, nut and strings drawn straight into the frame, so thin wires stay crisp."""
    shift = 4  # cv2 fixed-point bits for sub-pixel drawing

    def pt(xy):
        return tuple(int(round(c * (1 << shift))) for c in xy)

    def width_px(mm, u):
        return max(1, int(round(mm * scene.local_scale(np.array([[u, 0.0]]))[0])))

    # nut
    nut_half = NUT_HALF_WIDTH + 1.0
    a, b = scene.project(np.array([[-1.5, -nut_half], [-1.5, nut_half]]))[:, :2]
    nut_colour = (40.0, 40.0, 44.0) if scene.dark_nut else (236.0, 232.0, 214.0)
    cv2.line(image, pt(a), pt(b), nut_colour, width_px(4.5, 0), cv2.LINE_AA, shift)
    # frets: a darker edge under a bright crown, for a metallic look
    for fret in range(1, 25):
        u = fret_position(fret)
        if u > FRETBOARD_END:
            break
        half = neck_half_width(u)
        a, b = scene.project(np.array([[u, -half], [u, half]]))[:, :2]
        w = width_px(2.2, u)
        cv2.line(image, pt(a + [0.6, 0.6]), pt(b + [0.6, 0.6]), (70.0, 66.0, 60.0), w + 1, cv2.LINE_AA, shift)
        cv2.line(image, pt(a), pt(b), (205.0, 203.0, 196.0), w, cv2.LINE_AA, shift)
    # strings: wound bass strings are thicker and duller; each casts a faint shadow
    gauges = {6: 1.2, 5: 0.95, 4: 0.75, 3: 0.55, 2: 0.4, 1: 0.3}
    for s in range(6, 0, -1):
        u_end = FRETBOARD_END
        far = scene.project(np.array([[u_end, string_offset(s, u_end)]]))[0, :2]
        nut = scene.project(np.array([[0.0, string_offset(s, 0.0)]]))[0, :2]
        post = scene.project(np.array([posts[s]]))[0, :2]
        tone = (180.0, 160.0, 120.0) if s >= 4 else (215.0, 215.0, 215.0)
        w = max(1, int(round(gauges[s] * scene.scale * 0.9)))
        for p, q in ((far, nut), (nut, post)):
            cv2.line(image, pt(p + [0.0, 1.5]), pt(q + [0.0, 1.5]), (25.0, 20.0, 18.0), w, cv2.LINE_AA, shift)
            cv2.line(image, pt(p), pt(q), tone, w, cv2.LINE_AA, shift)


# --------------------------------------------------------------------------------------------------
# Hand poses (neck space, mm)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) + 1e-9)


def _finger_chain(base: np.ndarray, tip: np.ndarray, lengths: np.ndarray, bulge: np.ndarray) -> np.ndarray:
    """Pose a three-bone finger from its base joint to a fingertip target.

    The bones stay in the plane of (tip - base) and ``bulge``; the middle and last joints curl together
    (the last by 0.75 of the middle one, as tendons couple them), and the curl is solved so that the
    tip lands on the target. A target out of reach gets a straight finger pointing at it.

    Args:
        base: (3,) base joint.
        tip: (3,) fingertip target.
        lengths: (3,) bone lengths.
        bulge: (3,) direction the knuckles bow towards.

    Returns:
        (4, 3) joints base, second, third, tip.
    """
    d = tip - base
    distance = float(np.linalg.norm(d))
    axis = _unit(d)
    side = bulge - np.dot(bulge, axis) * axis
    side = _unit(side) if np.linalg.norm(side) > 1e-6 else _unit(np.cross(axis, [1.0, 0.0, 0.0]))

    def chain(curl: float) -> np.ndarray:
        angles = np.cumsum([0.0, -curl, -0.75 * curl])
        steps = lengths[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        return np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])

    lo, hi = 0.0, 2.2  # reach falls monotonically with the curl over this range
    if distance >= np.linalg.norm(chain(lo)[-1]):
        curl = 0.0
    elif distance <= np.linalg.norm(chain(hi)[-1]):
        curl = hi
    else:
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if np.linalg.norm(chain(mid)[-1]) > distance:
                lo = mid
            else:
                hi = mid
        curl = 0.5 * (lo + hi)
    planar = chain(curl)
    end = planar[-1]
    turn = -math.atan2(end[1], end[0])  # swing the chain so its end lies on the axis
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    planar = planar @ rot.T
    return base + planar[:, :1] * axis + planar[:, 1:] * side


@dataclass(frozen=True)
class _Palm:
    """Where the palm sits: knuckle row centre, row direction, direction towards the wrist (mm)."""

    centre: np.ndarray
    row: np.ndarray
    down: np.ndarray

    def knuckles(self, size: float) -> np.ndarray:
        """(4, 3) MCP joints of index, middle, ring and little finger."""
        spread = (np.arange(4) - 1.3) * _KNUCKLE_SPACING * size
        back = np.array([2.0, 0.0, 3.0, 9.0]) * size  # the knuckle row arcs: little finger's is lowest
        return self.centre + spread[:, None] * self.row + back[:, None] * self.down

    def wrist(self, size: float) -> np.ndarray:
        return self.centre + 0.2 * _KNUCKLE_SPACING * size * self.row + _PALM_LENGTH * size * self.down


def _palm(posture: Posture, rng: np.random.Generator, centre: np.ndarray, jitter: float) -> _Palm:
    """The palm's frame from the player's posture, with a little jitter."""
    row = _unit(np.array([1.0, posture.row_slope + jitter * rng.normal(0.0, 0.03), jitter * rng.normal(0.0, 0.04)]))
    back = posture.palm_back + jitter * rng.normal(0.0, 0.05)
    down = np.array([posture.palm_lean + jitter * rng.normal(0.0, 0.04), 1.0, -back])
    down = _unit(down - np.dot(down, row) * row)
    return _Palm(centre, row, down)


def _assemble(
    palm: _Palm, tips: np.ndarray, bulges: np.ndarray, thumb_tip: np.ndarray, size: float
) -> np.ndarray:
    """Solve every finger from the palm to its tip target and return the (21, 3) joints."""
    lengths = _BONE_LENGTHS * size
    joints = np.zeros((N_JOINTS, 3))
    wrist = palm.wrist(size)
    knuckles = palm.knuckles(size)
    joints[0] = wrist
    for finger in range(4):
        chain = _finger_chain(knuckles[finger], tips[finger], lengths[finger + 1], bulges[finger])
        joints[list(FINGER_JOINTS[finger + 1])] = chain
    # Thumb base: at the heel of the hand on the index side; the thumb reaches behind the neck.
    cmc = 0.6 * wrist + 0.4 * knuckles[0] - 14.0 * size * palm.row + np.array([0.0, 0.0, -6.0 * size])
    reach = 0.95 * lengths[0].sum()
    if np.linalg.norm(thumb_tip - cmc) > reach:
        thumb_tip = cmc + _unit(thumb_tip - cmc) * reach
    thumb_bulge = np.array([-0.6, 0.2, -1.0])
    joints[list(FINGER_JOINTS[0])] = _finger_chain(cmc, thumb_tip, lengths[0], thumb_bulge)
    return joints


def _thumb_target(posture: Posture, rng: np.random.Generator, knuckles: np.ndarray, jitter: float) -> np.ndarray:
    """Thumb tip behind the neck, peeking over the top (bass) edge by the posture's amount."""
    u = knuckles[0, 0] + posture.thumb_lead + jitter * rng.normal(0.0, 4.0)
    top = -neck_half_width(max(u, 0.0))
    return np.array([u, top - posture.thumb_over + jitter * rng.normal(0.0, 2.0), -16.0])


def _tip_radius(finger: int, size: float) -> float:
    return float(_JOINT_RADII[finger, 3] * size)


def _habit(chord: str, finger: int) -> int:
    """A fixed choice per chord and free finger (players keep their habits): 0 hover, 1 tuck."""
    return (sum(map(ord, chord)) * 7 + finger * 3) % 4 == 0


def chord_pose(chord: str, scene: Scene, rng: np.random.Generator, variation: float = 1.0) -> np.ndarray:
    """A fretting hand holding ``chord`` on the scene's neck.

    Fingertips land on the strings and frets of the chord's fingering (:data:`FINGERINGS`), the index
    finger lies across the strings for a barre; free fingers hover or tuck, as the chord's habit is.
    The hand's placement follows the scene's :class:`Posture` (the player's style), jittered a little
    per frame. For ``"None"`` the hand rests: hovering over the strings, lower on the neck, lightly
    muting, or relaxed and open.

    Args:
        chord: a vocabulary name.
        scene: the scene (gives the player's posture and hand size).
        rng: random generator for the jitter.
        variation: scale of the per-frame jitter (0 gives the posture's exact pose).

    Returns:
        (21, 3) float64 joints in neck space (u, v, z mm), MediaPipe's order.

    Raises:
        InputError: the chord is not in the vocabulary.
    """
    chord = parse_chord(chord)
    if chord == NO_CHORD:
        return _rest_pose(scene, rng, variation)
    posture, size, jitter = scene.posture, scene.hand_size, variation
    lengths = _BONE_LENGTHS * size
    reach = lengths.sum(axis=1)
    fingering, barre = FINGERINGS[chord]
    tips: dict[int, np.ndarray] = {}
    for finger, string, fret in fingering:
        uv = fingertip_position(string, fret) + jitter * rng.normal(0.0, [1.5, 0.5])
        tips[finger] = np.array([uv[0], uv[1], _tip_radius(finger, size) * 0.8])
    if barre is not None:
        fret, _, high = barre
        u = fingertip_position(1, fret)[0] + jitter * rng.normal(0.0, 1.0)
        # the index tip reaches just past the highest barred string
        v = string_offset(high, u) - 5.0 + jitter * rng.normal(0.0, 1.0)
        tips[1] = np.array([u, v, _tip_radius(1, size) * 0.8])

    # Knuckle row: parallel to the neck, placed so the fretting fingers land naturally.
    palm = _palm(posture, rng, np.zeros(3), jitter)
    spread = (np.arange(4) - 1.3) * _KNUCKLE_SPACING * size
    u_centre = np.mean([tips[f][0] - spread[f - 1] for f in tips]) + posture.lean + jitter * rng.normal(0.0, 2.0)
    edge = NUT_HALF_WIDTH + NECK_FLARE * u_centre
    z_centre = posture.knuckle_z + jitter * rng.normal(0.0, 1.5)

    def knuckles_at(v: float) -> np.ndarray:
        return replace(palm, centre=np.array([u_centre, v, z_centre])).knuckles(size)

    if barre is not None:
        # Lower the hand until the barring finger is almost straight, as a barre needs.
        want = (0.89 + jitter * rng.normal(0.0, 0.015)) * reach[1]
        v = edge
        while np.linalg.norm(knuckles_at(v)[0] - tips[1]) < want and v < edge + 70:
            v += 0.5
    else:
        v = edge + (posture.knuckle_drop + jitter * rng.normal(0.0, 2.0)) * size
        # Keep every fretting finger within reach by raising the hand if needed.
        while v > edge - 5 and any(np.linalg.norm(knuckles_at(v)[f - 1] - tips[f]) > 0.9 * reach[f] for f in tips):
            v -= 0.5
    palm = replace(palm, centre=np.array([u_centre, v, z_centre]))
    knuckles = palm.knuckles(size)

    bulges = np.zeros((4, 3))
    all_tips = np.zeros((4, 3))
    for finger in range(1, 5):
        bulges[finger - 1] = np.array([jitter * rng.normal(0.0, 0.1), 0.3 + jitter * rng.normal(0.0, 0.08), 1.0])
        if finger in tips:
            all_tips[finger - 1] = tips[finger]
            if barre is not None and finger == 1:
                bulges[0] = np.array([-0.6, 0.0, 1.0])
        else:
            all_tips[finger - 1] = _free_tip(
                rng, finger, knuckles[finger - 1], reach[finger], tips, _habit(chord, finger), jitter
            )
    return _assemble(palm, all_tips, bulges, _thumb_target(posture, rng, knuckles, jitter), size)


def _free_tip(
    rng: np.random.Generator, finger: int, knuckle: np.ndarray, reach: float, tips: dict[int, np.ndarray],
    tuck: bool, jitter: float,
) -> np.ndarray:
    """Tip of a finger that frets nothing: hovering just beside its nearest fretting neighbour, or tucked.

    A free finger sticking out alone reads as a second thumb (and loses MediaPipe the hand), so it
    stays close to the others, lifted off the strings, as a player's would.
    """
    noise = jitter * rng.normal(0.0, [2.0, 1.5, 2.0])
    if tuck:
        return knuckle + np.array([3.0, -0.3 * reach, 0.4 * reach]) + noise
    neighbour = min(tips, key=lambda g: (abs(g - finger), g))
    step = finger - neighbour
    hover = tips[neighbour] + np.array([13.0 * step, 5.0 + 2.0 * abs(step), 14.0 + 3.0 * abs(step)])
    # keep it within reach of its own knuckle
    if np.linalg.norm(hover - knuckle) > 0.85 * reach:
        hover = knuckle + _unit(hover - knuckle) * 0.85 * reach
    return hover + noise


def _rest_pose(scene: Scene, rng: np.random.Generator, variation: float = 1.0) -> np.ndarray:
    """The hand near the neck holding no chord, in one of four ways (drawn per call)."""
    posture, size, jitter = scene.posture, scene.hand_size, variation
    reach = (_BONE_LENGTHS * size).sum(axis=1)
    u_centre = rng.uniform(30.0, 100.0)
    edge = NUT_HALF_WIDTH + NECK_FLARE * u_centre
    mode = rng.choice(["hover", "low", "mute", "open"], p=[0.35, 0.25, 0.15, 0.25])
    bulges = np.array([[rng.normal(0.0, 0.2), rng.normal(0.3, 0.15), 1.0] for _ in range(4)])
    drop = posture.knuckle_drop * size
    if mode == "open":
        centre = np.array([u_centre, edge + drop * rng.uniform(0.3, 0.7), rng.uniform(-5.0, 8.0)])
    elif mode == "low":
        centre = np.array([u_centre, edge + drop + rng.uniform(10.0, 30.0), posture.knuckle_z])
    else:
        centre = np.array([u_centre, edge + drop * rng.uniform(0.8, 1.1), posture.knuckle_z])
    palm = _palm(posture, rng, centre, max(jitter, 1.0) * 2.0)
    knuckles = palm.knuckles(size)
    tips = np.zeros((4, 3))
    for f in range(4):
        k, r = knuckles[f], reach[f + 1]
        if mode == "hover":
            tips[f] = k + np.array([rng.normal(0, 4), -rng.uniform(0.35, 0.6) * r, rng.uniform(0.35, 0.55) * r])
        elif mode == "low":
            tips[f] = k + np.array([rng.normal(0, 4), -rng.uniform(0.25, 0.5) * r, rng.uniform(0.3, 0.5) * r])
        elif mode == "mute":
            target = np.array([k[0] - rng.uniform(0.0, 10.0), rng.uniform(-18.0, 5.0), 8.0 * size])
            tips[f] = target
            bulges[f] = np.array([-0.3, 0.0, 1.0])
        else:  # open: fingers nearly straight, fanned, in front of the neck
            fan = (f - 1.5) * rng.uniform(0.08, 0.2)
            direction = _unit(np.array([math.sin(fan) - 0.1, -math.cos(fan), rng.uniform(0.2, 0.5)]))
            tips[f] = k + direction * rng.uniform(0.85, 0.95) * r
    thumb = _thumb_target(posture, rng, knuckles, 2.0)
    if mode == "open":
        # an open hand off the neck shows its thumb beside the palm
        thumb = knuckles[0] + np.array([-rng.uniform(25.0, 45.0), rng.uniform(10.0, 30.0), rng.uniform(5.0, 20.0)])
    return _assemble(palm, tips, bulges, thumb, size)


# --------------------------------------------------------------------------------------------------
# Drawing the hand: capsules and a palm slab in a depth buffer, then shading

_PART_FOREARM, _PART_SLEEVE, _PART_PALM = 6, 7, 8  # parts 1-5 are thumb ... little finger
_MAT_SKIN, _MAT_NAIL, _MAT_CLOTH = 0, 1, 2


@dataclass
class _DepthBuffer:
    """Per-pixel hand surface as a smooth union of primitives.

    Heights are combined with a soft maximum (log-sum-exp over ``blend`` pixels) rather than a hard
    z-test, so fingers lying side by side melt into one fleshy mass with shallow grooves instead of
    separate tubes; a palm detector trained on real hands takes far better to that. Normals blend with
    the same weights, which is the gradient of the soft maximum.

    Attributes:
        blend: softness of the union in pixels of depth.
        z: (H, W) highest primitive surface so far (-inf where nothing is drawn).
        weight: (H, W) sum of exp((h_i - z) / blend) over primitives.
        normal: (H, W, 3) weighted sum of primitive normals.
        part: (H, W) part id of the highest primitive (0 none).
        material: (H, W) material of the highest primitive.
        cover: (H, W) coverage (anti-aliased silhouette).
    """

    blend: float = 3.0
    z: np.ndarray = field(default_factory=lambda: np.full((HEIGHT, WIDTH), -np.inf, np.float32))
    weight: np.ndarray = field(default_factory=lambda: np.zeros((HEIGHT, WIDTH), np.float32))
    normal: np.ndarray = field(default_factory=lambda: np.zeros((HEIGHT, WIDTH, 3), np.float32))
    part: np.ndarray = field(default_factory=lambda: np.zeros((HEIGHT, WIDTH), np.int8))
    material: np.ndarray = field(default_factory=lambda: np.zeros((HEIGHT, WIDTH), np.int8))
    cover: np.ndarray = field(default_factory=lambda: np.zeros((HEIGHT, WIDTH), np.float32))

    def window(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice] | None:
        xa, ya = max(int(math.floor(x0)) - 1, 0), max(int(math.floor(y0)) - 1, 0)
        xb, yb = min(int(math.ceil(x1)) + 2, WIDTH), min(int(math.ceil(y1)) + 2, HEIGHT)
        if xa >= xb or ya >= yb:
            return None
        return slice(ya, yb), slice(xa, xb)

    def merge(self, win, z, normal, cover, part: int, material) -> None:
        inside = cover > 0
        if not inside.any():
            return
        top = self.z[win]
        z_in = np.where(inside, z, -np.inf).astype(np.float32)
        new_top = np.maximum(top, z_in)
        seen = np.isfinite(new_top)
        safe_top = np.where(seen, new_top, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            keep = np.where(np.isfinite(top), np.exp((np.where(seen, top, 0.0) - safe_top) / self.blend), 0.0)
            add = np.where(inside, np.exp((np.where(inside, z, 0.0) - safe_top) / self.blend), 0.0)
        self.weight[win] = self.weight[win] * keep + add
        self.normal[win] = self.normal[win] * keep[..., None] + normal * add[..., None]
        take = inside & (z_in > top)
        self.part[win][take] = part
        self.material[win][take] = material[take] if isinstance(material, np.ndarray) else material
        top[...] = new_top
        np.maximum(self.cover[win], cover, out=self.cover[win])

    def surface(self) -> tuple[np.ndarray, np.ndarray]:
        """The soft-union height (H, W) (-inf outside) and unit normals (H, W, 3)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            height = self.z + self.blend * np.log(np.maximum(self.weight, 1e-12))
        height = np.where(np.isfinite(self.z), height, -np.inf).astype(np.float32)
        normal = self.normal / (np.linalg.norm(self.normal, axis=-1, keepdims=True) + 1e-6)
        return height, normal


def _capsule(buf: _DepthBuffer, a: np.ndarray, b: np.ndarray, ra: float, rb: float, part: int,
             material: int = _MAT_SKIN, nail: np.ndarray | None = None) -> None:
    """Rasterise a tapered capsule between image points a, b (x, y, z px) with radii ra, rb (px).

    The surface is the sphere swept along the projected axis: a fair stand-in for a finger bone that
    lies mostly across the view, and cheap. ``nail`` (3,) marks the fingernail's facing direction on
    the tip half of a distal bone.
    """
    win = buf.window(
        min(a[0] - ra, b[0] - rb), min(a[1] - ra, b[1] - rb), max(a[0] + ra, b[0] + rb), max(a[1] + ra, b[1] + rb)
    )
    if win is None:
        return
    ys, xs = np.mgrid[win[0], win[1]].astype(np.float32)
    ab = b[:2] - a[:2]
    length2 = float(ab @ ab)
    t = np.zeros_like(xs) if length2 < 1e-6 else np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2, 0, 1)
    dx, dy = xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])
    r = ra + t * (rb - ra)
    d = np.sqrt(dx * dx + dy * dy)
    h = np.sqrt(np.maximum(r * r - d * d, 0.0))
    z = a[2] + t * (b[2] - a[2]) + h
    normal = np.stack([dx / r, dy / r, h / r], axis=-1)
    cover = np.clip(r - d + 0.5, 0.0, 1.0)
    mat: int | np.ndarray = material
    if nail is not None:
        facing = normal @ nail.astype(np.float32)
        mat = np.where((t > 0.45) & (facing > 0.5) & (d < 0.8 * r), _MAT_NAIL, material).astype(np.int8)
    buf.merge(win, z, normal, cover, part, mat)


def _palm_slab(buf: _DepthBuffer, outline: np.ndarray, thickness: float) -> None:
    """Rasterise the palm: a slab over ``outline`` (n, 3 px) with rounded edges of ``thickness`` px."""
    win = buf.window(*outline[:, :2].min(axis=0), *outline[:, :2].max(axis=0))
    if win is None:
        return
    y0, x0 = win[0].start, win[1].start
    h, w = win[0].stop - y0, win[1].stop - x0
    mask = np.zeros((h, w), np.uint8)
    pts = np.round((outline[:, :2] - [x0, y0]) * 16).astype(np.int32)
    cv2.fillPoly(mask, [cv2.convexHull(pts)], 255, cv2.LINE_AA, 4)
    inside = (mask > 127).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)
    rounding = max(thickness * 0.9, 1.0)
    height = 0.5 * thickness * np.sqrt(1.0 - (1.0 - np.minimum(dist / rounding, 1.0)) ** 2)
    # the slab follows the plane through the outline's points
    design = np.column_stack([outline[:, 0] - x0, outline[:, 1] - y0, np.ones(len(outline))])
    coef, *_ = np.linalg.lstsq(design, outline[:, 2], rcond=None)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    z = (coef[0] * xs + coef[1] * ys + coef[2] + height).astype(np.float32)
    gy, gx = np.gradient(cv2.GaussianBlur(z, (0, 0), 1.0))
    normal = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    buf.merge(win, z, normal, mask.astype(np.float32) / 255.0, _PART_PALM, _MAT_SKIN)


@dataclass(frozen=True)
class _HandLayer:
    """A rendered hand: colour, coverage, the visible hand's mask and the joints in pixels."""

    colour: np.ndarray
    alpha: np.ndarray
    hand_mask: np.ndarray
    joints_px: np.ndarray


def _render_hand(joints: np.ndarray, scene: Scene, neck_mask: np.ndarray) -> _HandLayer:
    """Draw the hand posed by ``joints`` (21, 3 neck-space mm) with the scene's skin, light and sleeve."""
    size = scene.hand_size
    px = scene.project(joints)
    scale = scene.local_scale(joints)
    buf = _DepthBuffer()

    # forearm and sleeve: from the wrist away from the knuckles, towards the player's elbow
    wrist = joints[0]
    knuckle_mid = joints[[5, 9, 13, 17]].mean(axis=0)
    along = _unit(wrist - knuckle_mid)
    arm_dir = _unit(along + np.array([0.45, 0.15, -0.25]))
    elbow = wrist + arm_dir * 270.0 * size
    arm = scene.project(np.vstack([wrist - along * 8.0 * size, elbow]))
    arm_scale = scene.local_scale(np.vstack([wrist, elbow]))
    _capsule(buf, arm[0], arm[1], 24.0 * size * arm_scale[0], 32.0 * size * arm_scale[1], _PART_FOREARM)
    if not scene.short_sleeve:
        cuff = wrist + arm_dir * scene.sleeve_start * size
        sl = scene.project(np.vstack([cuff, elbow]))
        sl_scale = scene.local_scale(np.vstack([cuff, elbow]))
        _capsule(buf, sl[0], sl[1], 31.0 * size * sl_scale[0], 40.0 * size * sl_scale[1], _PART_SLEEVE, _MAT_CLOTH)

    # palm: the heel of the hand, the knuckle row and the thumb's root, 24 mm thick
    row = _unit(joints[17] - joints[5])
    outline_mm = np.vstack([
        wrist - row * 24.0 * size, wrist + row * 22.0 * size,
        joints[17] + row * 7.0 * size, joints[13], joints[9], joints[5] - row * 8.0 * size,
        joints[2], joints[1],
    ])
    _palm_slab(buf, scene.project(outline_mm), 24.0 * size * float(scale[0]))
    # knuckle bumps on the back of the hand
    for j in (5, 9, 13, 17):
        r = _JOINT_RADII[(j - 1) // 4, 0] * size * scale[j] * 1.05
        _capsule(buf, px[j], px[j], r, r, _PART_PALM)

    for finger, chain in enumerate(FINGER_JOINTS):
        radii = _JOINT_RADII[finger] * size
        # the nail faces where the finger bows (the back of the finger), seen on the last bone
        bow = joints[chain[1]] - 0.5 * (joints[chain[0]] + joints[chain[3]])
        bone = _unit(joints[chain[3]] - joints[chain[2]])
        dorsal = _unit(bow - np.dot(bow, bone) * bone) if np.linalg.norm(bow) > 1e-3 else np.array([0, 0, 1.0])
        tip = joints[chain[3]]
        dorsal_px = _unit(scene.project(np.vstack([tip + dorsal, tip]))[0] - scene.project(tip[None])[0])
        for k in range(3):
            a, b = chain[k], chain[k + 1]
            _capsule(buf, px[a], px[b], radii[k] * scale[a], radii[k + 1] * scale[b], finger + 1,
                     nail=dorsal_px if k == 2 else None)

    # The neck hides the parts of the hand behind the fretboard's plane (the thumb, mostly).
    height, normal = buf.surface()
    drawn = np.isfinite(height)
    behind = neck_mask & (height < 0)
    cover = np.where(behind, 0.0, buf.cover).astype(np.float32)
    colour = np.zeros((HEIGHT, WIDTH, 3), np.float32)
    if drawn.any():
        ys, xs = np.nonzero(drawn)
        pad = 4
        crop = slice(max(ys.min() - pad, 0), ys.max() + pad + 1), slice(max(xs.min() - pad, 0), xs.max() + pad + 1)
        colour[crop] = _shade(height[crop], normal[crop], buf.material[crop], scene, crop)
    hand_part = (buf.part > 0) & (buf.part <= 5) | (buf.part == _PART_PALM)
    hand_mask = drawn & ~behind & hand_part & (cover > 0.5)
    return _HandLayer(colour, cover, hand_mask, px.astype(np.float32))


def _shade(
    height: np.ndarray, normal: np.ndarray, material: np.ndarray, scene: Scene, crop: tuple[slice, slice]
) -> np.ndarray:
    """Skin and cloth lit by the scene's light, with occlusion in creases and between fingers.

    Args:
        height: (h, w) surface height in pixels, -inf where nothing is drawn.
        normal: (h, w, 3) unit normals (x right, y down, z to the camera).
        material: (h, w) material ids.
        scene: gives light, colours, exposure and the seed of the skin's and cloth's texture.
        crop: where these arrays sit in the frame (the texture is fixed to the frame, so a clip's
            frames do not flicker).

    Returns:
        (h, w, 3) float32 RGB.
    """
    drawn = np.isfinite(height)
    light = np.array(scene.light, np.float32)
    diffuse = np.clip(normal @ light, 0.0, 1.0)
    half = _unit(light + np.array([0.0, 0.0, 1.0], np.float32)).astype(np.float32)
    spec = np.clip(normal @ half, 0.0, 1.0) ** 20

    skin = np.array(scene.skin, np.float32)
    # Light scattered under the skin leaves silhouettes redder and darker than a plain Lambert surface.
    facing = np.clip(normal[..., 2], 0.0, 1.0)[..., None]
    rim_tint = np.array([0.9, 0.74, 0.68], np.float32)
    albedo = skin * (rim_tint + (1.0 - rim_tint) * np.sqrt(facing))
    texture = np.random.default_rng(scene.seed + 1)
    albedo = albedo * (1.0 + 0.03 * _smooth_noise(texture, (HEIGHT, WIDTH), 4.0 * scene.scale)[crop][..., None])
    nail = np.minimum(skin * 0.6 + np.array([100.0, 84.0, 84.0], np.float32), 255.0)
    albedo = np.where((material == _MAT_NAIL)[..., None], nail, albedo)
    weave = _smooth_noise(texture, (HEIGHT, WIDTH), 2.0)[crop]
    cloth = np.array(scene.sleeve, np.float32) * (1.0 + 0.1 * weave[..., None])
    albedo = np.where((material == _MAT_CLOTH)[..., None], cloth, albedo)

    gloss = np.where(material == _MAT_NAIL, 0.3, np.where(material == _MAT_CLOTH, 0.02, 0.1))[..., None]
    colour = albedo * (scene.ambient + (1.0 - scene.ambient) * diffuse[..., None]) + 255.0 * gloss * spec[..., None]

    # Ambient occlusion: pixels below their surroundings (grooves between fingers, under a finger that
    # crosses another) get less light.
    floor = height[drawn].min() if drawn.any() else 0.0
    zf = np.where(drawn, height, floor).astype(np.float32)
    occlusion = np.clip((cv2.GaussianBlur(zf, (0, 0), 5.0 * scene.scale) - zf) / (10.0 * scene.scale), 0.0, 1.0)
    colour *= (1.0 - 0.4 * occlusion)[..., None]

    # A thin dark line where the surface steps (one part in front of another, not side by side).
    gx = cv2.Sobel(zf, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(zf, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    step = np.clip((np.hypot(gx, gy) - 2.0) / 4.0, 0.0, 1.0) * drawn
    colour *= (1.0 - 0.35 * cv2.GaussianBlur(step, (0, 0), 0.7))[..., None]
    return colour * scene.exposure


# --------------------------------------------------------------------------------------------------
# Frames


def _finish(image: np.ndarray, scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Camera softness and sensor noise, then 8-bit."""
    if scene.blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), scene.blur)
    image = image + rng.normal(0.0, scene.noise, image.shape[:2])[..., None].astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def compose_frame(
    backdrop: Backdrop, scene: Scene, chord: str, joints: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, FrameTruth]:
    """Draw a posed hand (or none) over a scene's backdrop.

    Args:
        backdrop: from :func:`render_backdrop` of the same scene.
        scene: the scene.
        chord: the chord the pose holds (for the truth only).
        joints: (21, 3) neck-space joints from :func:`chord_pose`, or None for no hand.
        rng: random generator for noise and skin texture.

    Returns:
        The RGB uint8 frame (360, 640, 3) and its truth.
    """
    image = backdrop.image.copy()
    hand_box = landmarks = None
    if joints is not None:
        layer = _render_hand(joints, scene, backdrop.neck_mask)
        # a soft shadow of the hand falls on what is behind it, away from the light
        shift = -np.array(scene.light[:2]) * 6.0 * scene.scale
        shadow = cv2.GaussianBlur(layer.alpha, (0, 0), 3.0 * scene.scale)
        shadow = cv2.warpAffine(shadow, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (WIDTH, HEIGHT))
        image *= (1.0 - 0.35 * shadow)[..., None]
        alpha = layer.alpha[..., None]
        image = image * (1.0 - alpha) + layer.colour * alpha
        landmarks = layer.joints_px
        if layer.hand_mask.sum() > 50:
            ys, xs = np.nonzero(layer.hand_mask)
            hand_box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    frame = _finish(image, scene, rng)
    return frame, FrameTruth(parse_chord(chord), backdrop.fretboard_box.copy(), hand_box, landmarks)


def render_frame(
    chord: str, rng: np.random.Generator, scene: Scene | None = None, hand: bool = True
) -> tuple[np.ndarray, FrameTruth]:
    """Render one frame of a hand holding ``chord`` on a guitar neck.

    Args:
        chord: a vocabulary name (``"None"``: the hand rests near the neck, holding no chord).
        rng: random generator; the same generator state gives the same frame.
        scene: the fixed look (camera, guitar, colours); drawn from ``rng`` when None.
        hand: False draws the neck alone (no hand in view).

    Returns:
        The RGB uint8 frame of shape (360, 640, 3) and its :class:`FrameTruth`.

    Raises:
        InputError: the chord is not in the vocabulary.
    """
    chord = parse_chord(chord)
    scene = Scene.random(rng) if scene is None else scene
    joints = chord_pose(chord, scene, rng) if hand else None
    return compose_frame(render_backdrop(scene), scene, chord, joints, rng)


# --------------------------------------------------------------------------------------------------
# Clips


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


_FINGER_JOINTS_BEYOND_KNUCKLE = [j for chain in FINGER_JOINTS[1:] for j in chain[1:]]


def _clip_pose(
    poses: Sequence[np.ndarray], bounds: np.ndarray, t: float, transition: float, wobble: np.ndarray
) -> np.ndarray:
    """The hand at time ``t``: the held pose, or a blend towards the next one around a change.

    Around each change the hand moves over ``transition`` seconds centred on it (smoothstep), its
    fingers lifting off the strings half-way; on top, a slow sway and a faster strumming shake.
    """
    k = int(np.searchsorted(bounds, t, side="right") - 1)
    k = min(max(k, 0), len(poses) - 1)
    pose = poses[k]
    half = transition / 2.0
    # blend with the previous step just after a change, or with the next one just before it
    if k > 0 and t - bounds[k] < half:
        a, prev, nxt = _smoothstep((t - bounds[k] + half) / transition), poses[k - 1], poses[k]
    elif k + 1 < len(poses) and bounds[k + 1] - t < half:
        a, prev, nxt = _smoothstep((t - bounds[k + 1] + half) / transition), poses[k], poses[k + 1]
    else:
        a, prev, nxt = 1.0, pose, pose
    pose = (1.0 - a) * prev + a * nxt
    lift = 12.0 * math.sin(math.pi * a)
    pose = pose.copy()
    pose[_FINGER_JOINTS_BEYOND_KNUCKLE, 2] += lift
    # sway: wobble rows are (amplitude mm, frequency Hz, phase) per axis u, v, z
    pose += np.array([amp * math.sin(2 * math.pi * freq * t + phase) for amp, freq, phase in wobble])
    return pose


def make_clip(
    path: str | Path,
    progression: Sequence[tuple[str, float]],
    fps: float = 25,
    seed: int = 0,
    *,
    scene: Scene | None = None,
    hand: bool = True,
    transition: float = 0.3,
    shake: float = 1.0,
    quality: int = 30,
) -> ClipTruth:
    """Render a clip of a hand playing a chord progression, with its ground truth beside it.

    Writes ``<path>`` (H.264 MP4, 640x360), ``<stem>.timeline.json`` (a :class:`Timeline`: one segment
    per step, equal neighbours merged, each change at the step's boundary, i.e. the middle of the
    hand's move) and ``<stem>.fretboard.csv`` (frame, time, x1, y1, x2, y2 pixels per frame: the camera
    drifts a little, so the box does too). Frames are generated and encoded one at a time.

    Args:
        path: the MP4 to write.
        progression: (chord, seconds) steps; ``"None"`` steps show the hand resting (or no hand).
        fps: frames per second.
        seed: seed of the scene (if not given) and of all variation; the same seed gives the same clip.
        scene: the look; drawn from the seed when None.
        hand: False renders the neck alone (no hand in any frame).
        transition: seconds the hand takes to move between shapes.
        shake: scale of the hand's sway and strumming shake.
        quality: x264 CRF (higher is smaller).

    Returns:
        The clip's :class:`ClipTruth`.

    Raises:
        InputError: the progression is empty, a duration is not positive, or a chord is unknown.
    """
    from pipeline.vision.video import write_video

    steps = [(parse_chord(chord), float(seconds)) for chord, seconds in progression]
    if not steps:
        raise InputError("A clip needs at least one (chord, seconds) step.")
    if any(not seconds > 0 for _, seconds in steps):
        raise InputError("Every step of a progression needs a positive duration in seconds.")
    if not fps > 0:
        raise InputError(f"fps must be positive, got {fps}.")
    path = Path(path)
    rng = np.random.default_rng(seed)
    scene = Scene.random(rng) if scene is None else scene
    chords = [chord for chord, _ in steps]
    bounds = np.concatenate([[0.0], np.cumsum([seconds for _, seconds in steps])])
    frame_count = max(int(round(bounds[-1] * fps)), 1)
    duration = frame_count / fps
    # Each step's held shape is drawn once, so the hand stays put while a chord rings.
    poses = [chord_pose(chord, scene, rng) for chord in chords] if hand else None
    wobble = np.array([
        [1.2 * shake, rng.uniform(0.3, 0.6), rng.uniform(0, 2 * np.pi)],
        [0.8 * shake, rng.uniform(1.8, 2.4), rng.uniform(0, 2 * np.pi)],
        [1.0 * shake, rng.uniform(0.4, 0.9), rng.uniform(0, 2 * np.pi)],
    ])
    drift = rng.uniform([1.0, 0.5, 0.05, 0.05, 0.0, 0.0], [3.0, 2.0, 0.2, 0.2, 2 * np.pi, 2 * np.pi])
    backdrop = render_backdrop(scene)
    boxes = np.zeros((frame_count, 4), np.float32)

    def frames() -> Iterator[np.ndarray]:
        for i in range(frame_count):
            t = i / fps
            joints = _clip_pose(poses, bounds, t, transition, wobble) if poses is not None else None
            k = min(int(np.searchsorted(bounds, t, side="right") - 1), len(chords) - 1)
            frame, truth = compose_frame(backdrop, scene, chords[k], joints, np.random.default_rng([seed, i]))
            # a hand-held camera drifts by a pixel or two
            dx = drift[0] * math.sin(2 * math.pi * drift[2] * t + drift[4])
            dy = drift[1] * math.sin(2 * math.pi * drift[3] * t + drift[5])
            shift = np.float32([[1, 0, dx], [0, 1, dy]])
            frame = cv2.warpAffine(frame, shift, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
            boxes[i] = np.clip(truth.fretboard_box + [dx, dy, dx, dy], 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])
            yield frame

    write_video(path, frames(), fps, quality=quality)

    segments: list[Segment] = []
    for k, chord in enumerate(chords):
        start, end = float(bounds[k]), float(min(bounds[k + 1], duration))
        if end <= start:
            continue
        if segments and segments[-1].chord == chord:
            segments[-1] = Segment(segments[-1].start, end, chord, 1.0)
        else:
            segments.append(Segment(start, end, chord, 1.0))
    if segments and segments[-1].end < duration:  # rounding to whole frames can add a frame
        segments[-1] = Segment(segments[-1].start, duration, segments[-1].chord, 1.0)
    timeline = Timeline(segments, duration)
    stem = path.with_suffix("")
    timeline_path = timeline.save(stem.with_name(stem.name + ".timeline.json"))
    fretboard_path = stem.with_name(stem.name + ".fretboard.csv")
    with fretboard_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "time", "x1", "y1", "x2", "y2"])
        for i, box in enumerate(boxes):
            writer.writerow([i, f"{i / fps:.4f}", *(f"{v:.1f}" for v in box)])
    return ClipTruth(path, timeline, timeline_path, fretboard_path, float(fps), frame_count, boxes)


def read_fretboard_csv(path: str | Path) -> np.ndarray:
    """Read a clip's ``<stem>.fretboard.csv``.

    Returns:
        (n, 6) float32 rows of frame, time, x1, y1, x2, y2.

    Raises:
        InputError: the file is missing or malformed.
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
        return np.array([[float(v) for v in row] for row in rows[1:]], np.float32).reshape(-1, 6)
    except (OSError, ValueError) as error:
        raise InputError(f"Cannot read fretboard boxes from {path}: {error}.") from error


# --------------------------------------------------------------------------------------------------
# Data sets


def _write_jpeg(path: Path, frame: np.ndarray, quality: int = 90) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise InputError(f"Could not write {path}.")


def make_image_folder(
    root: str | Path,
    per_class: int,
    seed: int = 0,
    chords: Sequence[str] = VOCABULARY,
    no_hand_share: float = 0.5,
    scenes: Sequence[Scene] | None = None,
) -> list[Path]:
    """Write a training set of rendered frames as ``<root>/<chord>/<n>.jpg`` (an ImageFolder).

    Every frame has its own random scene, unless ``scenes`` are given: then the frames take turns
    over those scenes (like real data filmed with one camera and guitar), with fresh poses and noise.
    Like the real data, part of the ``None`` class shows no hand at all (``no_hand_share``); the rest
    show the hand resting.

    Args:
        root: folder to write into (created).
        per_class: frames per chord.
        seed: seed of everything drawn.
        chords: which classes to render (vocabulary names).
        no_hand_share: share of ``None`` frames without a hand.
        scenes: fixed scenes to render in (e.g. :func:`sample_scenes`); None draws one per frame.

    Returns:
        The paths written, class by class.

    Raises:
        InputError: a chord is unknown or ``per_class`` is negative.
    """
    if per_class < 0:
        raise InputError(f"per_class must be 0 or more, got {per_class}.")
    names = [parse_chord(c) for c in chords]
    root = Path(root)
    rng = np.random.default_rng(seed)
    backdrops = [render_backdrop(scene) for scene in scenes] if scenes else []
    written = []
    for chord in names:
        folder = root / chord
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            hand = not (chord == NO_CHORD and rng.random() < no_hand_share)
            if scenes:
                scene = scenes[n % len(scenes)]
                joints = chord_pose(chord, scene, rng) if hand else None
                frame, _ = compose_frame(backdrops[n % len(scenes)], scene, chord, joints, rng)
            else:
                frame, _ = render_frame(chord, rng, hand=hand)
            path = folder / f"{n}.jpg"
            _write_jpeg(path, frame)
            written.append(path)
    return written


def make_yolo_dataset(root: str | Path, n_train: int, n_val: int, seed: int = 0, imgsz: int = 640) -> Path:
    """Write a YOLO detection data set of the fretboard (one class, ``fretboard``).

    Layout: ``images/{train,val}/<n>.jpg``, ``labels/{train,val}/<n>.txt`` with one line
    ``0 cx cy w h`` (normalised to the image) per image, and ``data.yaml`` with ``path``, ``train``,
    ``val`` and ``names``. Frames show random chords, with no hand in one of five.

    Args:
        root: folder to write into (created).
        n_train: training images.
        n_val: validation images.
        seed: seed of everything drawn.
        imgsz: longest side of the written images in pixels (frames are 640x360).

    Returns:
        Path of ``data.yaml``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    resize = imgsz / max(WIDTH, HEIGHT)
    size = (int(round(WIDTH * resize)), int(round(HEIGHT * resize)))
    for split, count in (("train", n_train), ("val", n_val)):
        images, labels = root / "images" / split, root / "labels" / split
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for n in range(count):
            chord = VOCABULARY[int(rng.integers(len(VOCABULARY)))]
            frame, truth = render_frame(chord, rng, hand=bool(rng.random() >= 0.2))
            if size != (WIDTH, HEIGHT):
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            _write_jpeg(images / f"{n}.jpg", frame)
            x1, y1, x2, y2 = truth.fretboard_box
            cx, cy, w, h = (x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT, (x2 - x1) / WIDTH, (y2 - y1) / HEIGHT
            (labels / f"{n}.txt").write_text(f"0 {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    data = root / "data.yaml"
    data.write_text(
        f"# Synthetic fretboard detection data written by tools.samplegen.synthetic (seed {seed}).\n"
        f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: fretboard\n"
    )
    return data


# --------------------------------------------------------------------------------------------------
# The committed sample media


@dataclass(frozen=True)
class SampleClip:
    """One committed sample clip: its file name, progression, seed and options.

    ``scene_seed`` films the clip in the scene of another sample clip's seed (None: its own scene). The
    sample model is trained on the sample scenes, so a clip in a known scene leaves that model as it is.
    """

    name: str
    progression: tuple[tuple[str, float], ...]
    seed: int
    hand: bool = True
    shake: float = 1.0
    scene_seed: int | None = None

    @property
    def scene(self) -> Scene:
        """The scene the clip is filmed in, as ``make_clip`` draws it from the seed."""
        seed = self.seed if self.scene_seed is None else self.scene_seed
        return Scene.random(np.random.default_rng(seed))


SAMPLE_CLIPS = (
    SampleClip(
        "progression.mp4", (("C", 2.0), ("G", 2.0), ("Am", 2.0), ("None", 1.0), ("F", 2.0), ("C", 1.0)), seed=11
    ),
    SampleClip("strumming_em_d.mp4", (("Em", 1.5), ("D", 1.5), ("Em", 1.5), ("D", 1.5)), seed=23, shake=2.0),
    SampleClip("no_hand.mp4", (("None", 3.0),), seed=5, hand=False),
    # 108 BPM in 4/4, bars and half bars: changes at 2.22, 4.44, 5.56, 6.67 and 8.89 s, off the whole
    # seconds and off the 0.2 s sampling grid, as in real playing (the clips above change on whole seconds).
    SampleClip(
        "progression_108bpm.mp4",
        (("G", 20 / 9), ("D", 20 / 9), ("Em", 10 / 9), ("C", 10 / 9), ("G", 20 / 9), ("D", 10 / 9)),
        seed=31, scene_seed=11,
    ),
)
"""The clips ``python -m tools.samplegen.synthetic --out sample_media`` writes."""
SAMPLE_STILL = ("chord_G.jpg", "G", 7)
"""The still frame: file name, chord and seed."""


def sample_scenes() -> list[Scene]:
    """The scenes (camera, guitar, player) of the sample clips that show a hand, as ``make_clip`` draws them.

    A clip filmed in another clip's scene (``scene_seed``) adds none.
    """
    return [clip.scene for clip in SAMPLE_CLIPS if clip.hand and clip.scene_seed is None]

_SAMPLE_README = """\
# Sample media

Synthetic renders made by this project's own generator, `pipeline/synthetic.py`. Regenerate them
(deterministically) with:

    python -m tools.samplegen.synthetic --out sample_media

Nothing here is real footage: a guitar neck and a shaded hand are drawn with numpy and OpenCV, with the
fingertips on the strings and frets of each chord's voicing (`pipeline.core.chords.VOICINGS`).

| file | what it is |
| --- | --- |
{rows}

Ground truth beside each clip:

- `<clip>.timeline.json`: the chords held, as a `pipeline.core.timeline.Timeline`
  (`{{"duration": s, "segments": [{{"start", "end", "chord", "probability"}}]}}`). A change sits at the
  middle of the hand's move from one shape to the next (the move takes about 0.3 s).
- `<clip>.fretboard.csv`: the fretboard's box per frame (`frame, time, x1, y1, x2, y2` in pixels of the
  640x360 frame): the playing surface from the nut to where it leaves the frame. The camera drifts by a
  pixel or two, so the box does too.

All clips are 640x360 H.264 MP4 at 25 fps.

Licence: made by the project and released under the project's licence; no third-party material.
"""


def write_sample_media(out: str | Path) -> list[Path]:
    """Regenerate the committed sample media into ``out`` (see ``sample_media/README.md``).

    Args:
        out: folder to write into (created).

    Returns:
        The files written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows = []
    for clip in SAMPLE_CLIPS:
        truth = make_clip(
            out / clip.name, clip.progression, fps=25, seed=clip.seed, hand=clip.hand, shake=clip.shake, quality=24,
            scene=None if clip.scene_seed is None else clip.scene,  # None: drawn from the seed, as always
        )
        written += [truth.video, truth.timeline_path, truth.fretboard_path]
        steps = " ".join(f"{c} ({s:.3g} s)" for c, s in clip.progression)
        what = "the neck alone, no hand in view" if not clip.hand else f"a hand playing {steps}"
        rows.append(f"| `{clip.name}` | {truth.duration:g} s: {what} |")
    name, chord, seed = SAMPLE_STILL
    frame, _ = render_frame(chord, np.random.default_rng(seed))
    _write_jpeg(out / name, frame, quality=92)
    written.append(out / name)
    rows.append(f"| `{name}` | a still frame of a hand holding {chord} |")
    readme = out / "README.md"
    readme.write_text(_SAMPLE_README.format(rows="\n".join(rows)))
    written.append(readme)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the sample media, or write a training set.

    ``python -m tools.samplegen.synthetic --out sample_media`` writes the committed samples;
    ``--images DIR --per-class N`` writes an ImageFolder; ``--yolo DIR --train N --val M`` a YOLO set.
    """
    parser = argparse.ArgumentParser(prog="python -m tools.samplegen.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write the sample media (clips, truth, still, README) here")
    parser.add_argument("--images", type=Path, help="write an ImageFolder of rendered frames here")
    parser.add_argument("--per-class", type=int, default=40, help="frames per chord for --images")
    parser.add_argument("--yolo", type=Path, help="write a YOLO fretboard detection data set here")
    parser.add_argument("--train", type=int, default=200, help="training images for --yolo")
    parser.add_argument("--val", type=int, default=50, help="validation images for --yolo")
    parser.add_argument("--seed", type=int, default=0, help="seed for --images and --yolo")
    args = parser.parse_args(argv)
    if not (args.out or args.images or args.yolo):
        parser.error("give --out, --images or --yolo")
    try:
        if args.out:
            for path in write_sample_media(args.out):
                print(path)
        if args.images:
            written = make_image_folder(args.images, args.per_class, seed=args.seed)
            print(f"{len(written)} images in {args.images}")
        if args.yolo:
            print(make_yolo_dataset(args.yolo, args.train, args.val, seed=args.seed))
    except InputError as error:
        print(f"error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
