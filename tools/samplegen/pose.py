"""The fretting hand's pose: a 21-joint skeleton placed on a scene's neck for each chord.

The hand is a 21-joint skeleton in MediaPipe's topology (0 wrist, 1-4 thumb, 5-8 index, 9-12
middle, 13-16 ring, 17-20 little), posed in 3D (neck space, mm) by a small inverse-kinematics solve
from the knuckles to the fingertip targets: the fingertips land on the strings and frets of each
chord's fingering (:data:`FINGERINGS`, the usual fingerings of :data:`pipeline.core.chords.VOICINGS`,
barre chords with the index finger across the strings). The thumb wraps behind the neck, so the
neck hides it except the tip over the top edge, as in real footage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from pipeline.core.chords import NO_CHORD, parse_chord
from pipeline.core.errors import InputError
from tools.samplegen.scene import (
    NECK_FLARE, NUT_HALF_WIDTH, Posture, Scene, fingertip_position, neck_half_width, string_offset,
)

N_JOINTS = 21
FINGER_JOINTS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
"""Joint indices of thumb, index, middle, ring and little finger, from base to tip."""

BONE_LENGTHS = np.array(
    [[44.0, 32.0, 26.0], [42.0, 25.0, 20.0], [46.0, 29.0, 21.0], [43.0, 27.0, 21.0], [34.0, 20.0, 19.0]]
)
"""(5, 3) bone lengths (mm) of an average adult hand, base to tip: thumb metacarpal/proximal/distal,
then proximal/middle/distal phalanges of each finger (thumb, index, middle, ring, little)."""
JOINT_RADII = np.array(
    [[11.0, 11.0, 10.0, 8.8], [8.6, 7.8, 7.1, 6.5], [8.8, 8.1, 7.3, 6.7], [8.4, 7.6, 6.9, 6.3], [7.5, 6.8, 6.1, 5.6]]
)
"""(5, 4) radii (mm) at each joint of each finger's chain (base, second, third, tip)."""
KNUCKLE_SPACING = 22.0
"""Distance in mm between neighbouring knuckles (MCP joints) of an average adult hand."""
PALM_LENGTH = 88.0
"""Distance in mm from the knuckle row to the wrist of an average adult hand."""

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


# --------------------------------------------------------------------------------------------------
# Hand poses (neck space, mm)


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1 (any shape; the last axis is the vector's; a zero vector stays ~0)."""
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
    axis = unit_vector(d)
    side = bulge - np.dot(bulge, axis) * axis
    side = unit_vector(side) if np.linalg.norm(side) > 1e-6 else unit_vector(np.cross(axis, [1.0, 0.0, 0.0]))

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
        spread = (np.arange(4) - 1.3) * KNUCKLE_SPACING * size
        back = np.array([2.0, 0.0, 3.0, 9.0]) * size  # the knuckle row arcs: little finger's is lowest
        return self.centre + spread[:, None] * self.row + back[:, None] * self.down

    def wrist(self, size: float) -> np.ndarray:
        """(3,) the wrist joint: a palm's length below the knuckle row, a little towards the little finger."""
        return self.centre + 0.2 * KNUCKLE_SPACING * size * self.row + PALM_LENGTH * size * self.down


def _palm(posture: Posture, rng: np.random.Generator, centre: np.ndarray, jitter: float) -> _Palm:
    """The palm's frame from the player's posture, with a little jitter."""
    slope = posture.row_slope + jitter * rng.normal(0.0, 0.03)
    row = unit_vector(np.array([1.0, slope, jitter * rng.normal(0.0, 0.04)]))
    back = posture.palm_back + jitter * rng.normal(0.0, 0.05)
    down = np.array([posture.palm_lean + jitter * rng.normal(0.0, 0.04), 1.0, -back])
    down = unit_vector(down - np.dot(down, row) * row)
    return _Palm(centre, row, down)


def _assemble(
    palm: _Palm, tips: np.ndarray, bulges: np.ndarray, thumb_tip: np.ndarray, size: float
) -> np.ndarray:
    """Solve every finger from the palm to its tip target and return the (21, 3) joints."""
    lengths = BONE_LENGTHS * size
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
        thumb_tip = cmc + unit_vector(thumb_tip - cmc) * reach
    thumb_bulge = np.array([-0.6, 0.2, -1.0])
    joints[list(FINGER_JOINTS[0])] = _finger_chain(cmc, thumb_tip, lengths[0], thumb_bulge)
    return joints


def _thumb_target(posture: Posture, rng: np.random.Generator, knuckles: np.ndarray, jitter: float) -> np.ndarray:
    """Thumb tip behind the neck, peeking over the top (bass) edge by the posture's amount."""
    u = knuckles[0, 0] + posture.thumb_lead + jitter * rng.normal(0.0, 4.0)
    top = -neck_half_width(max(u, 0.0))
    return np.array([u, top - posture.thumb_over + jitter * rng.normal(0.0, 2.0), -16.0])


def _tip_radius(finger: int, size: float) -> float:
    return float(JOINT_RADII[finger, 3] * size)


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
    lengths = BONE_LENGTHS * size
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
    spread = (np.arange(4) - 1.3) * KNUCKLE_SPACING * size
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
        hover = knuckle + unit_vector(hover - knuckle) * 0.85 * reach
    return hover + noise


def _rest_pose(scene: Scene, rng: np.random.Generator, variation: float = 1.0) -> np.ndarray:
    """The hand near the neck holding no chord, in one of four ways (drawn per call)."""
    posture, size, jitter = scene.posture, scene.hand_size, variation
    reach = (BONE_LENGTHS * size).sum(axis=1)
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
            direction = unit_vector(np.array([math.sin(fan) - 0.1, -math.cos(fan), rng.uniform(0.2, 0.5)]))
            tips[f] = k + direction * rng.uniform(0.85, 0.95) * r
    thumb = _thumb_target(posture, rng, knuckles, 2.0)
    if mode == "open":
        # an open hand off the neck shows its thumb beside the palm
        thumb = knuckles[0] + np.array([-rng.uniform(25.0, 45.0), rng.uniform(10.0, 30.0), rng.uniform(5.0, 20.0)])
    return _assemble(palm, tips, bulges, thumb, size)
