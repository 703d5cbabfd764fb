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
#: Textures with the statistics of natural images (power spectrum ~ 1/f^2), never drawn at random
#: among :data:`TEXTURE_KINDS`: ask for them by name or through :func:`natural_texture`.
NATURAL_TEXTURE_KINDS = ("dead_leaves", "pink_noise")


# ----------------------------------------------------------------------------- textures
def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float, channels: int = 1) -> np.ndarray:
    """Band-limited noise in [0, 1]: random values on a grid of ``cell``-pixel cells, bicubically
    upsampled to ``h x w``; shape (h, w, channels) float32."""
    gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
    grid = rng.random((gh, gw, channels), dtype=np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, channels)
    return np.clip(out, 0.0, 1.0)


def shadow_map(rng: np.random.Generator, h: int, w: int, depth: float, cell: float = 60.0,
               cover: float = 0.5, edge: float = 0.08) -> np.ndarray:
    """Cast shade (trees, buildings) as a multiplicative light field: (h, w) float32 in
    [1 - depth, 1], 1 in full light. About ``cover`` of the area is shaded, in blobs of about
    ``cell`` px with soft edges (``edge``: the width of the transition in noise units)."""
    noise = smooth_noise(rng, h, w, cell)[..., 0]
    threshold = float(np.quantile(noise, 1.0 - cover))
    shade = 1.0 / (1.0 + np.exp(-(noise - threshold) / max(edge, 1e-6) * 4.0))
    return (1.0 - depth * shade).astype(np.float32)


def random_palette(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` saturated-ish random colours, (n, 3) float32 in [0.05, 1]."""
    return (0.05 + 0.95 * rng.random((n, 3))).astype(np.float32)


def dead_leaves_radii(rng: np.random.Generator, n: int, r_min: float, r_max: float, alpha: float = 3.0) -> np.ndarray:
    """``n`` radii with density ``~ r^-alpha`` on ``[r_min, r_max]`` (inverse-CDF sampling;
    ``alpha`` = 3 makes a scale-invariant dead-leaves image)."""
    if not 0 < r_min <= r_max or alpha <= 1:
        raise ValueError(f"dead leaves need 0 < r_min <= r_max and alpha > 1, got {r_min}, {r_max}, {alpha}")
    k = 1.0 - alpha
    u = rng.random(n)
    return (r_min ** k + u * (r_max ** k - r_min ** k)) ** (1.0 / k)


def dead_leaves(rng: np.random.Generator, h: int, w: int, colors: np.ndarray | None = None,
                r_min: float = 1.5, r_max: float | None = None, alpha: float = 3.0,
                coverage: float = 6.0) -> np.ndarray:
    """A dead-leaves image (h, w, 3) float32: opaque discs with power-law radii (density
    ``r^-alpha``) dropped one over another until the expected cover is ``coverage`` layers
    (``exp(-coverage)`` of the pixels still show the first, random, fill). Disc colours: random
    greys, or, with ``colors`` (n, 3), one of them scaled by a random brightness."""
    r_max = float(r_max if r_max is not None else max(h, w) / 3.0)
    r_max = max(r_max, r_min)
    k = 1.0 - alpha
    norm = (r_max ** k - r_min ** k) / k                               # integral of r^-alpha
    mean_area = np.pi * (np.log(r_max / r_min) if alpha == 3.0
                         else (r_max ** (3 - alpha) - r_min ** (3 - alpha)) / (3 - alpha)) / norm
    n = int(min(200_000, np.ceil(coverage * h * w / mean_area)))
    radii = dead_leaves_radii(rng, n, r_min, r_max, alpha)
    cx, cy = rng.uniform(-r_max / 2, w + r_max / 2, n), rng.uniform(-r_max / 2, h + r_max / 2, n)
    level = rng.random(n) ** 1.5                                      # more dark leaves than light
    if colors is None:
        rgb = np.repeat(level[:, None], 3, axis=1)
    else:
        colors = np.asarray(colors, np.float32).reshape(-1, 3)
        rgb = colors[rng.integers(len(colors), size=n)] * (0.35 + 0.9 * level[:, None])
    rgb = np.clip(0.03 + 0.94 * rgb, 0.0, 1.0)
    img = np.empty((h, w, 3), np.float32)
    img[:] = rgb[-1]
    shift = 4                                                          # sub-pixel centres and radii
    for x, y, r, c in zip((cx * 16).astype(np.int64), (cy * 16).astype(np.int64), (radii * 16).astype(np.int64), rgb):
        cv2.circle(img, (int(x), int(y)), int(r), (float(c[0]), float(c[1]), float(c[2])), -1, cv2.LINE_8, shift)
    return img


def pink_noise(rng: np.random.Generator, h: int, w: int, channels: int = 1, exponent: float = 2.0) -> np.ndarray:
    """Gaussian noise whose power spectrum falls as ``1/f^exponent`` (2: natural images), scaled
    to [0, 1] (0.5th to 99.5th percentile); (h, w, channels) float32."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    amp = f ** (-exponent / 2)
    amp[0, 0] = 0.0
    out = np.empty((h, w, channels), np.float32)
    for c in range(channels):
        spec = np.fft.rfft2(rng.standard_normal((h, w))) * amp
        field = np.fft.irfft2(spec, s=(h, w))
        lo, hi = np.percentile(field, [0.5, 99.5])
        out[..., c] = np.clip((field - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    return out


def natural_texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                    palette: np.ndarray | None = None, grey: bool | None = None) -> np.ndarray:
    """A (h, w, 3) float32 texture in [0.02, 1] with natural-image statistics.

    ``kind``: one of :data:`NATURAL_TEXTURE_KINDS` (random when None). ``grey`` (random, 50 %,
    when None): grey levels only; else dull colours (``palette``'s colours, desaturated, or
    random ones).
    """
    kind = kind or NATURAL_TEXTURE_KINDS[rng.integers(len(NATURAL_TEXTURE_KINDS))]
    if grey is None:
        grey = bool(rng.random() < 0.5)
    if grey:
        colors = None
    else:
        colors = random_palette(rng, 4) if palette is None else np.asarray(palette, np.float32).reshape(-1, 3)
        luma = colors @ np.array([0.299, 0.587, 0.114], np.float32)
        colors = luma[:, None] + rng.uniform(0.2, 0.6) * (colors - luma[:, None])  # dull colours
    if kind == "dead_leaves":
        tex = dead_leaves(rng, h, w, colors, r_min=1.5, r_max=max(4.0, min(h, w) * rng.uniform(0.15, 0.5)))
    elif kind == "pink_noise":
        level = pink_noise(rng, h, w, 1)
        if colors is None:
            tex = np.repeat(level, 3, axis=2)
        else:
            # Grey 1/f field tinted by a second, smoother colour field between two dull colours.
            mix = pink_noise(rng, h, w, 1, exponent=3.0)
            tint = colors[0] * (1 - mix) + colors[1 % len(colors)] * mix
            tex = 0.03 + 0.9 * level * tint / max(float(tint.mean()), 1e-3)
    else:
        raise ValueError(f"natural texture kind must be one of {NATURAL_TEXTURE_KINDS}, got {kind!r}")
    # Natural radiance is skewed (many dark surfaces, few bright ones) and unevenly lit: a power
    # tone curve and a smooth multiplicative shading over a range of up to e^2 ~ 7x.
    tex = np.clip(tex, 0.0, 1.0) ** rng.uniform(1.0, 2.2)
    shading = np.exp(rng.uniform(0.3, 2.0) * (smooth_noise(rng, h, w, cell=max(8.0, min(h, w) / 2.0)) - 1.0))
    return highlights_near_white(rng, tex * shading)


def highlights_near_white(rng: np.random.Generator, tex: np.ndarray) -> np.ndarray:
    """``tex`` scaled so that its brightest 1 % sits at U(0.7, 1), clipped to [0.02, 1], float32."""
    tex = tex * (rng.uniform(0.7, 1.0) / max(float(np.percentile(tex, 99)), 1e-3))
    return np.clip(tex, 0.02, 1.0).astype(np.float32)


def make_texture(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                 palette: np.ndarray | None = None) -> np.ndarray:
    """A (h, w, 3) float32 texture in [0.02, 1] made from 2-3 colours of ``palette``.

    ``kind``: one of :data:`TEXTURE_KINDS` (random when None). Textures have strong edges so that
    moving them produces events, and enough structure to be told apart from distractors.
    """
    if kind in NATURAL_TEXTURE_KINDS:
        return natural_texture(rng, h, w, kind, palette)
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


@dataclass(frozen=True)
class WorldLocked:
    """The view position (px) of a point fixed in the world (on the background): it moves only
    with the camera's pan and zoom. ``anchor``: the point's offset (background px) from the
    background's centre; the view centre sees ``camera(t)``, magnified by ``exp(zoom(t))``."""

    anchor: np.ndarray
    camera: Wobble
    zoom: Wobble
    view_center: np.ndarray     # (W / 2, H / 2)

    @classmethod
    def at(cls, point, t: float, camera: Wobble, zoom: Wobble, height: int, width: int) -> "WorldLocked":
        """The world point seen at view position ``point`` at time ``t``."""
        view_center = np.array([width / 2, height / 2], np.float64)
        z = float(np.exp(zoom(t)[0]))
        anchor = (np.asarray(point, np.float64) - view_center) / z + camera(t)
        return cls(anchor, camera, zoom, view_center)

    def __call__(self, t: float) -> np.ndarray:
        return self.view_center + float(np.exp(self.zoom(t)[0])) * (self.anchor - self.camera(t))

    @property
    def max_speed(self) -> np.ndarray:
        """Upper bound of the view speed per axis (px/s)."""
        zmax = float(np.exp(np.abs(self.zoom.amp).sum()))
        reach = np.abs(self.anchor) + np.abs(self.camera.amp).sum(0)
        return zmax * (self.camera.max_speed + reach * float(self.zoom.max_speed[0]))


@dataclass(frozen=True)
class ZoomScale:
    """1-D log size factor of a world-fixed object: the camera's log zoom relative to time ``t0``."""

    zoom: Wobble
    t0: float = 0.0

    def __call__(self, t: float) -> np.ndarray:
        return self.zoom(t) - self.zoom(self.t0)


@dataclass
class SceneObject:
    """A sprite with a centre trajectory (px) and a size trajectory (``size(t)`` -> (w, h) px)."""

    sprite: np.ndarray          # (h0, w0, 4) float32
    center: object              # callable t -> (2,) px
    base_size: np.ndarray       # (2,) w, h px at scale 1
    log_scale: Wobble           # 1-D: log of the size factor (or a ZoomScale)

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
    ``zoom`` a 1-D log zoom factor. ``illumination`` scales the radiance. ``shadow``: an
    optional light field the size of ``background`` (:func:`shadow_map`), fixed in the world,
    that darkens the background and every object passing through it (a car driving into the
    shade of trees).
    """

    height: int
    width: int
    background: np.ndarray      # (Hb, Wb, 3) float32, larger than the view
    camera: Wobble              # 2-D offset (px) of the view's centre from the background's centre
    zoom: Wobble                # 1-D log zoom
    layers: list[SceneObject]
    target_index: int
    illumination: float = 1.0
    shadow: np.ndarray | None = None   # (Hb, Wb) float32 in (0, 1]

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

        def view(world: np.ndarray) -> np.ndarray:
            return cv2.warpAffine(world, m, (self.width, self.height),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)

        frame = view(self.background)
        for obj in self.layers:
            composite(frame, obj.sprite, obj.box(t))
        if self.shadow is not None:
            frame *= view(self.shadow)[..., None]
        if self.illumination != 1.0:
            frame *= self.illumination
        return frame
