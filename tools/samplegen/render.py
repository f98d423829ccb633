"""Drawing a frame: a posed hand over a scene's backdrop, with its ground truth.

The hand is drawn as a soft union of tapered capsules (finger bones, forearm, sleeve) and a rounded
palm slab in a height buffer, so fingers side by side melt into one fleshy mass; then Lambert and
specular shading, a redder rim where light scatters under the skin, ambient occlusion from the height,
dark creases where one part passes in front of another, and fingernails. Flat cartoon hands are not
found by MediaPipe; this volumetric look, with the whole hand and wrist in view and the palm turned
mostly towards the camera, is what makes its palm detector fire (about 85 % of chord frames over
random scenes; ``tests/test_synthetic.py`` holds it to at least 75 %).

Ground truth (:class:`FrameTruth`): the chord, the fretboard's box (the playing surface from the nut
to where it leaves the frame, clipped to the frame), the hand's box and the 21 joints in pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.core.chords import parse_chord
from tools.samplegen.backdrop import Backdrop, render_backdrop, smooth_noise
from tools.samplegen.pose import FINGER_JOINTS, JOINT_RADII, chord_pose, unit_vector
from tools.samplegen.scene import HEIGHT, WIDTH, Scene


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
        """(rows, columns) slices of the frame covering a pixel box, with a pixel of margin; None when off-frame."""
        xa, ya = max(int(math.floor(x0)) - 1, 0), max(int(math.floor(y0)) - 1, 0)
        xb, yb = min(int(math.ceil(x1)) + 2, WIDTH), min(int(math.ceil(y1)) + 2, HEIGHT)
        if xa >= xb or ya >= yb:
            return None
        return slice(ya, yb), slice(xa, xb)

    def merge(self, win, z, normal, cover, part: int, material) -> None:
        """Add one primitive over the window ``win``: heights ``z`` (h, w), ``normal`` (h, w, 3), coverage
        ``cover`` (h, w), its part id and material (an id or an (h, w) array of ids)."""
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
    along = unit_vector(wrist - knuckle_mid)
    arm_dir = unit_vector(along + np.array([0.45, 0.15, -0.25]))
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
    row = unit_vector(joints[17] - joints[5])
    outline_mm = np.vstack([
        wrist - row * 24.0 * size, wrist + row * 22.0 * size,
        joints[17] + row * 7.0 * size, joints[13], joints[9], joints[5] - row * 8.0 * size,
        joints[2], joints[1],
    ])
    _palm_slab(buf, scene.project(outline_mm), 24.0 * size * float(scale[0]))
    # knuckle bumps on the back of the hand
    for j in (5, 9, 13, 17):
        r = JOINT_RADII[(j - 1) // 4, 0] * size * scale[j] * 1.05
        _capsule(buf, px[j], px[j], r, r, _PART_PALM)

    for finger, chain in enumerate(FINGER_JOINTS):
        radii = JOINT_RADII[finger] * size
        # the nail faces where the finger bows (the back of the finger), seen on the last bone
        bow = joints[chain[1]] - 0.5 * (joints[chain[0]] + joints[chain[3]])
        bone = unit_vector(joints[chain[3]] - joints[chain[2]])
        dorsal = unit_vector(bow - np.dot(bow, bone) * bone) if np.linalg.norm(bow) > 1e-3 else np.array([0, 0, 1.0])
        tip = joints[chain[3]]
        dorsal_px = unit_vector(scene.project(np.vstack([tip + dorsal, tip]))[0] - scene.project(tip[None])[0])
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
    half = unit_vector(light + np.array([0.0, 0.0, 1.0], np.float32)).astype(np.float32)
    spec = np.clip(normal @ half, 0.0, 1.0) ** 20

    skin = np.array(scene.skin, np.float32)
    # Light scattered under the skin leaves silhouettes redder and darker than a plain Lambert surface.
    facing = np.clip(normal[..., 2], 0.0, 1.0)[..., None]
    rim_tint = np.array([0.9, 0.74, 0.68], np.float32)
    albedo = skin * (rim_tint + (1.0 - rim_tint) * np.sqrt(facing))
    texture = np.random.default_rng(scene.seed + 1)
    albedo = albedo * (1.0 + 0.03 * smooth_noise(texture, (HEIGHT, WIDTH), 4.0 * scene.scale)[crop][..., None])
    nail = np.minimum(skin * 0.6 + np.array([100.0, 84.0, 84.0], np.float32), 255.0)
    albedo = np.where((material == _MAT_NAIL)[..., None], nail, albedo)
    weave = smooth_noise(texture, (HEIGHT, WIDTH), 2.0)[crop]
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
