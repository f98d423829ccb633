"""The static layer of a synthetic scene: the wall, the player's torso and the guitar neck.

The neck and headstock are drawn in a texture of the neck's plane (wood grain, inlays, tuners) and
warped into the frame through the scene's homography; frets, nut and strings are drawn straight into
the frame afterwards so thin wires stay crisp. Drawn once per clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tools.samplegen.scene import (
    FRETBOARD_END, HEADSTOCK_LENGTH, HEIGHT, INLAY_FRETS, NUT_HALF_WIDTH, WIDTH, Scene, fret_position, neck_half_width,
    string_offset,
)

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


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
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
    image *= 1.0 + 0.02 * smooth_noise(rng, (HEIGHT, WIDTH), 6)[..., None]
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
    folds = 1.0 + 0.12 * smooth_noise(rng, (HEIGHT, WIDTH), 14) + 0.04 * smooth_noise(rng, (HEIGHT, WIDTH), 1.5)
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
