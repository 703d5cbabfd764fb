"""Procedural scenes: textured sprites moving over a textured, panning and zooming background.

A :class:`Scene` is a pure function of time: :meth:`Scene.render` gives the linear radiance
(``H x W x 3`` float32, nominally in [0, 1]) at any instant, and :meth:`Scene.target_box` the
target's box ``[x, y, w, h]`` (pixels, unclipped) at that instant. Every motion is an analytic
function of time (sums of sinusoids, straight crossings), so the event simulator can sample the
scene at any temporal resolution and results depend only on the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TEXTURE_KINDS = ("noise", "stripes", "checker", "blobs")


# ----------------------------------------------------------------------------- textures
def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float, channels: int = 1) -> np.ndarray:
    """Band-limited noise in [0, 1]: random values on a grid of ``cell``-pixel cells, bicubically
    upsampled to ``h x w``; shape (h, w, channels) float32."""
    gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
    grid = rng.random((gh, gw, channels), dtype=np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    return np.clip(out, 0.0, 1.0)


def random_palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` saturated-ish random colours, (n, 3) float32 in [0.05, 1]."""
    return (0.05 + 0.95 * rng.random((n, 3))).astype(np.float32)


def make_texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                 palette: np.ndarray | None = None) -> np.ndarray:
    """A (h, w, 3) float32 texture in [0.02, 1] made from 2-3 colours of ``palette``.

    ``kind``: one of :data:`TEXTURE_KINDS` (random when None). Textures have strong edges so that
    moving them produces events, and enough structure to be told apart from distractors.
    """
    kind = kind or TEXTURE_KINDS[rng.integers(len(TEXTURE_KINDS))]
    palette = random_palette(rng, 3) if palette is None else np.asarray(palette, np.float32)
    if kind == "noise":
        mix = smooth_noise(rng, h, w, cell=max(3.0, min(h, w) / rng.uniform(3, 8)))
    elif kind == "stripes":
        period = rng.uniform(4, max(5.0, min(h, w) / 2))
        angle = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / period)
        mix = (0.5 + 0.5 * np.sign(np.sin(phase)))[..., None]
    elif kind == "checker":
        cell = int(rng.integers(3, max(4, min(h, w) // 3)))
        yy, xx = np.mgrid[0:h, 0:w]
        mix = (((yy // cell) + (xx // cell)) % 2).astype(np.float32)[..., None]
    elif kind == "blobs":
        mix = (smooth_noise(rng, h, w, cell=max(3.0, min(h, w) / rng.uniform(2, 5))) > 0.5).astype(np.float32)
    else:
        raise ValueError(f"texture kind must be one of {TEXTURE_KINDS}, got {kind!r}")
    base = palette[0] * (1 - mix) + palette[1] * mix
    # A third colour as low-frequency shading keeps flat regions from being perfectly uniform.
    shade = smooth_noise(rng, h, w, cell=max(4.0, min(h, w) / 2.0))
    tex = base * (0.75 + 0.25 * shade) + 0.1 * palette[2] * shade
    return np.clip(tex, 0.02, 1.0).astype(np.float32)


def make_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A cluttered (h, w, 3) float32 background: multi-scale coloured noise plus random shapes."""
    bg = np.zeros((h, w, 3), np.float32)
    for cell, weight in ((64.0, 0.5), (16.0, 0.3), (4.0, 0.2)):
        bg += weight * smooth_noise(rng, h, w, cell, channels=3)
    bg = 0.15 + 0.6 * bg
    for _ in range(int(rng.integers(15, 40))):
        color = tuple(float(c) for c in random_palette(rng, 1)[0])
        kind = rng.integers(3)
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(4, max(5, min(h, w) // 6)))
        if kind == 0:
            cv2.rectangle(bg, (cx, cy), (cx + size, cy + int(rng.integers(4, size + 5))), color, -1)
        elif kind == 1:
            cv2.circle(bg, (cx, cy), size // 2, color, -1, lineType=cv2.LINE_AA)
        else:
            cv2.line(bg, (cx, cy), (int(rng.integers(0, w)), int(rng.integers(0, h))), color,
                     int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
    return np.clip(bg, 0.02, 1.0)


SHAPES = ("rect", "ellipse", "rounded")


def make_sprite(rng: np.random.Generator, h: int, w: int, palette: np.ndarray | None = None,
                kind: str | None = None, shape: str | None = None) -> np.ndarray:
    """A textured object with an alpha mask: (h, w, 4) float32, RGB in [0, 1], alpha in [0, 1].

    The alpha mask fills the array's box (rectangle, ellipse or rounded rectangle touching all four
    sides), so the sprite's array box is the object's box.
    """
    tex = make_texture(rng, h, w, kind, palette)
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    scale = 4  # draw the mask at 4x and downsample: anti-aliased edges
    mask = np.zeros((h * scale, w * scale), np.float32)
    if shape == "rect":
        mask[:] = 1.0
    elif shape == "ellipse":
        cv2.ellipse(mask, (w * scale // 2, h * scale // 2), (w * scale // 2, h * scale // 2), 0, 0, 360, 1.0, -1)
    elif shape == "rounded":
        r = max(1, min(h, w) * scale // 4)
        cv2.rectangle(mask, (r, 0), (w * scale - r - 1, h * scale - 1), 1.0, -1)
        cv2.rectangle(mask, (0, r), (w * scale - 1, h * scale - r - 1), 1.0, -1)
        for cx, cy in ((r, r), (w * scale - r - 1, r), (r, h * scale - r - 1), (w * scale - r - 1, h * scale - r - 1)):
            cv2.circle(mask, (cx, cy), r, 1.0, -1)
    else:
        raise ValueError(f"sprite shape must be one of {SHAPES}, got {shape!r}")
    alpha = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
    return np.dstack([tex, alpha]).astype(np.float32)


# ----------------------------------------------------------------------------- motion
@dataclass(frozen=True)
class Wobble:
    """``value(t) = center + sum_k amp_k * sin(2*pi*freq_k*t + phase_k)`` (t in seconds), per axis.

    Arrays ``amp``, ``freq``, ``phase`` have shape (K, D) for D axes; ``center`` shape (D,).
    """

    center: np.ndarray
    amp: np.ndarray
    freq: np.ndarray
    phase: np.ndarray

    def __call__(self, t: float) -> np.ndarray:
        return self.center + (self.amp * np.sin(2 * np.pi * self.freq * t + self.phase)).sum(0)

    @property
    def max_speed(self) -> np.ndarray:
        """Upper bound of |d value / dt| per axis (units per second)."""
        return (np.abs(self.amp) * 2 * np.pi * self.freq).sum(0)

    @staticmethod
    def random(rng: np.random.Generator, center, extent, speed: float, components: int = 2) -> "Wobble":
        """Random wobble around ``center`` staying within ``center +- extent`` (per axis) whose
        speed bound is about ``speed`` units/s per axis."""
        center = np.asarray(center, np.float64)
        extent = np.maximum(np.asarray(extent, np.float64), 0.0)
        dims = center.shape[0]
        weights = rng.dirichlet(np.ones(components), size=dims).T           # (K, D), sums to 1
        amp = extent[None, :] * weights
        # Frequencies so that sum |amp| * 2 pi f ~= speed; bounded to keep motion smooth.
        freq = np.empty_like(amp)
        for d in range(dims):
            raw = rng.uniform(0.5, 1.5, components)
            scale = speed / max(1e-9, float((amp[:, d] * 2 * np.pi * raw).sum()))
            freq[:, d] = np.clip(raw * scale, 0.02, 3.0)
        phase = rng.uniform(0, 2 * np.pi, amp.shape)
        if speed <= 0:
            amp = np.zeros_like(amp)   # no motion at all (static scenes)
        return Wobble(center, amp, freq, phase)


@dataclass(frozen=True)
class Crossing:
    """Straight-line motion through ``point`` at time ``t0`` with ``velocity`` (px/s)."""

    point: np.ndarray
    t0: float
    velocity: np.ndarray

    def __call__(self, t: float) -> np.ndarray:
        return self.point + self.velocity * (t - self.t0)


@dataclass
class SceneObject:
    """A sprite with a centre trajectory (px) and a size trajectory (``size(t)`` -> (w, h) px)."""

    sprite: np.ndarray          # (h0, w0, 4) float32
    center: object              # callable t -> (2,) px
    base_size: np.ndarray       # (2,) w, h px at scale 1
    log_scale: Wobble           # 1-D: log of the size factor

    def box(self, t: float) -> np.ndarray:
        """``[x, y, w, h]`` float64 pixels (unclipped) at time ``t`` (seconds)."""
        wh = self.base_size * float(np.exp(self.log_scale(t)[0]))
        c = np.asarray(self.center(t), np.float64)
        return np.array([c[0] - wh[0] / 2, c[1] - wh[1] / 2, wh[0], wh[1]])


def composite(frame: np.ndarray, sprite: np.ndarray, box: np.ndarray) -> None:
    """Alpha-blend ``sprite`` (h0, w0, 4) into ``frame`` (H, W, 3) in place, stretched to ``box``
    ``[x, y, w, h]`` with sub-pixel placement (bilinear); only the box's pixels are touched."""
    H, W = frame.shape[:2]
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return
    x0, y0 = max(0, int(np.floor(x))), max(0, int(np.floor(y)))
    x1, y1 = min(W, int(np.ceil(x + w)) + 1), min(H, int(np.ceil(y + h)) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    sh, sw = sprite.shape[:2]
    # Affine map sprite pixel centres -> ROI pixel centres.
    sx, sy = w / sw, h / sh
    m = np.array([[sx, 0, x - x0 + 0.5 * sx - 0.5], [0, sy, y - y0 + 0.5 * sy - 0.5]], np.float64)
    interp = cv2.INTER_AREA if sx < 0.5 or sy < 0.5 else cv2.INTER_LINEAR
    if interp == cv2.INTER_AREA:  # warpAffine has no area filter: pre-shrink, then place
        small = cv2.resize(sprite, (max(1, round(w)), max(1, round(h))), interpolation=cv2.INTER_AREA)
        return composite(frame, small, box)
    warped = cv2.warpAffine(sprite, m, (x1 - x0, y1 - y0), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=(0, 0, 0, 0))
    roi = frame[y0:y1, x0:x1]
    alpha = warped[..., 3:4]
    roi *= 1.0 - alpha
    roi += warped[..., :3] * alpha


# ----------------------------------------------------------------------------- scene
@dataclass
class Scene:
    """Background with camera pan/zoom, the target, distractors behind/in front, optional occluder.

    ``layers``: objects drawn in order (back to front); ``target_index`` is the target's position
    in ``layers``. ``camera`` gives (ox, oy) px offset of the view into ``background``;
    ``zoom`` a 1-D log zoom factor. ``illumination`` scales the radiance.
    """

    height: int
    width: int
    background: np.ndarray      # (Hb, Wb, 3) float32, larger than the view
    camera: Wobble              # 2-D offset (px) of the view's centre from the background's centre
    zoom: Wobble                # 1-D log zoom
    layers: list[SceneObject]
    target_index: int
    illumination: float = 1.0

    @property
    def target(self) -> SceneObject:
        return self.layers[self.target_index]

    def target_box(self, t: float) -> np.ndarray:
        return self.target.box(t)

    def render(self, t: float) -> np.ndarray:
        """Linear radiance at time ``t`` (s): (H, W, 3) float32."""
        hb, wb = self.background.shape[:2]
        z = float(np.exp(self.zoom(t)[0]))
        off = self.camera(t)
        # View pixel (u, v) samples background at centre + off + ((u, v) - view centre) / z.
        cx, cy = wb / 2 + off[0], hb / 2 + off[1]
        m = np.array([[1 / z, 0, cx - (self.width / 2) / z], [0, 1 / z, cy - (self.height / 2) / z]])
        frame = cv2.warpAffine(self.background, m, (self.width, self.height),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
        for obj in self.layers:
            composite(frame, obj.sprite, obj.box(t))
        if self.illumination != 1.0:
            frame *= self.illumination
        return frame
