"""The look of a synthetic scene: the guitar neck's geometry and the camera that films it.

The neck lives in its own plane, in millimetres: ``u`` along the neck from the nut towards the body,
``v`` across it from the centre line (negative towards the low E string, which is on top in a
player-facing view), ``z`` towards the camera (0 on the fretboard). A homography (rotation, scale,
a little perspective) maps that plane into the 640x360 frame, so every fret, string and fingertip
has an exact image position. A :class:`Scene` holds everything that stays fixed over a clip (camera,
guitar, colours, light, the player's :class:`Posture`); it is deterministic given a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

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
