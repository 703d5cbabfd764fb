"""A DAVIS346-like APS (frame) sensor: the alternative to :func:`.camera.expose` for real-camera looks.

Real DAVIS346 APS frames are unlike our clean synthetic RGB: monochrome (or dull colour on the
colour variant), dark, noisy, vignetted, low in contrast, with fixed-pattern noise (per-pixel
gain and offset, column offsets) and often recompressed. :class:`ApsConfig` (the ``aps`` section
of :class:`~.simulator.SimConfig`) gives the probability that a sequence is rendered this way and
the ranges its sensor parameters are drawn from; :meth:`ApsSensor.random` draws one sensor per
sequence (parameters and fixed-pattern noise, fixed for the whole sequence), and
:meth:`ApsSensor.expose` turns the mean radiance of an exposure into an ``H x W x 3`` uint8
frame (monochrome frames have three equal channels). Everything is linear light until the
final response curve ``signal ** (1 / gamma)`` (the DAVIS APS is nearly linear: gamma ~ 1).

Pipeline, in order: lens (Gaussian softness, vignetting ``(1 + a r^2)^-2`` with ``r`` = 1 in the
corners, veiling glare mixing a fraction of the mean light into every pixel: low contrast),
colour filter (mono: luma; dull colour: desaturated with a per-channel colour cast), exposure
(``brightness``; in dark operation only ``dark_light`` of it reaches the sensor), temporal noise
(read + shot), analog gain (``settings.gain / dark_light``: dark operation brings the level back
and amplifies the noise), fixed-pattern noise, black level, clipping, response curve, 8 bits,
optional JPEG round trip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

#: Luminance weights (Rec. 601): a monochrome sensor's response to linear RGB radiance.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

_RANGES = ("saturation", "brightness", "dark_light", "read_noise", "shot_noise", "pixel_gain_fpn",
           "pixel_offset_fpn", "column_offset_fpn", "vignetting", "blur_sigma", "veil", "black_level", "gamma",
           "jpeg_quality")
_PROBS = ("prob", "mono_prob", "dark_prob", "jpeg_prob")


def check_range(value, name: str, what: str) -> tuple[float, float]:
    """``value`` as a ``(low, high)`` pair of floats; ``ValueError`` naming ``what.name`` otherwise."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}.{name} must be a [low, high] pair of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"{what}.{name} must be finite with low <= high, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class ApsConfig:
    """How often, and how, sequences are rendered as a DAVIS346 APS camera.

    Pairs ``(low, high)`` are ranges drawn uniformly once per sequence. Intensities are in units
    of the sensor's full scale (1 = white).

    - ``prob``: probability that a sequence uses this sensor model (0: never, the default; no
      random numbers are drawn then).
    - ``mono_prob``: probability that an APS sequence is monochrome (else dull colour).
    - ``saturation``: dull colour: fraction of the chroma kept (0 = grey).
    - ``colour_cast``: dull colour: max ``|log|`` of each channel's gain (a colour cast).
    - ``brightness``: fraction of the light collected (aperture, exposure): < 1 gives dark frames,
      > 1 clips the brightest parts (as a sky in a street scene).
    - ``dark_prob`` / ``dark_light``: probability of dark (low-light) operation and the fraction
      of the light that reaches the sensor then; the gain makes up for it, amplifying the noise.
    - ``read_noise`` / ``shot_noise``: temporal noise std ``sqrt(read^2 + shot^2 * signal)``
      before the gain.
    - ``pixel_gain_fpn`` / ``pixel_offset_fpn`` / ``column_offset_fpn``: std of the per-pixel
      gain (relative), per-pixel offset and per-column offset fixed-pattern noise.
    - ``vignetting``: light lost in the image corners: corner / centre = ``1 - vignetting``.
    - ``blur_sigma``: lens softness, Gaussian std in pixels (0: sharp).
    - ``veil``: veiling glare, fraction of the frame's mean light mixed into every pixel (low
      contrast).
    - ``black_level``: offset added after the gain.
    - ``gamma``: response curve ``signal ** (1 / gamma)`` (1: linear, as the DAVIS APS).
    - ``jpeg_prob`` / ``jpeg_quality``: probability of a JPEG round trip and its quality (1-100).
    """

    prob: float = 0.0
    mono_prob: float = 0.8
    saturation: tuple[float, float] = (0.1, 0.5)
    colour_cast: float = 0.15
    brightness: tuple[float, float] = (0.35, 1.6)
    dark_prob: float = 0.3
    dark_light: tuple[float, float] = (0.05, 0.3)
    read_noise: tuple[float, float] = (0.002, 0.008)
    shot_noise: tuple[float, float] = (0.003, 0.01)
    pixel_gain_fpn: tuple[float, float] = (0.0, 0.03)
    pixel_offset_fpn: tuple[float, float] = (0.0, 0.006)
    column_offset_fpn: tuple[float, float] = (0.0, 0.015)
    vignetting: tuple[float, float] = (0.0, 0.45)
    blur_sigma: tuple[float, float] = (0.0, 1.0)
    veil: tuple[float, float] = (0.0, 0.2)
    black_level: tuple[float, float] = (0.0, 0.03)
    gamma: tuple[float, float] = (1.0, 1.3)
    jpeg_prob: float = 0.3
    jpeg_quality: tuple[float, float] = (40.0, 90.0)

    def __post_init__(self) -> None:
        what = "SimConfig.aps"
        for name in _PROBS:
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{what}.{name} must be a probability in [0, 1], got {value!r}")
        for name in _RANGES:
            object.__setattr__(self, name, check_range(getattr(self, name), name, what))
        for name in _RANGES:
            if getattr(self, name)[0] < 0:
                raise ValueError(f"{what}.{name} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.colour_cast <= 1:
            raise ValueError(f"{what}.colour_cast must be in [0, 1], got {self.colour_cast!r}")
        for name in ("saturation", "veil"):
            if getattr(self, name)[1] > 1:
                raise ValueError(f"{what}.{name} must be within [0, 1], got {getattr(self, name)}")
        if self.vignetting[1] >= 1:
            raise ValueError(f"{what}.vignetting must be below 1 (1 = black corners), got {self.vignetting}")
        for name in ("brightness", "dark_light", "gamma"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"{what}.{name} must be > 0, got {getattr(self, name)}")
        if self.dark_light[1] > 1:
            raise ValueError(f"{what}.dark_light must be within (0, 1], got {self.dark_light}")
        if not (1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100):
            raise ValueError(f"{what}.jpeg_quality must be within [1, 100], got {self.jpeg_quality}")

    @classmethod
    def from_dict(cls, data: dict) -> "ApsConfig":
        from ..fields import reject_unknown_fields
        if not isinstance(data, dict):
            raise ValueError(f"SimConfig.aps must be a mapping, got {type(data).__name__}")
        reject_unknown_fields(cls, data, "SimConfig.aps")
        return cls(**data)


def vignette(height: int, width: int, strength: float) -> np.ndarray:
    """Relative illumination (H, W) float32: 1 at the centre, ``1 - strength`` in the corners,
    ``(1 + a r^2)^-2`` in between (a cos^4-like fall-off; ``r`` = 1 at the corners)."""
    if not 0 <= strength < 1:
        raise ValueError(f"vignetting strength must be in [0, 1), got {strength}")
    a = (1.0 - strength) ** -0.5 - 1.0
    yy = (np.arange(height, dtype=np.float64) + 0.5 - height / 2) / (height / 2)
    xx = (np.arange(width, dtype=np.float64) + 0.5 - width / 2) / (width / 2)
    r2 = (yy[:, None] ** 2 + xx[None, :] ** 2) / 2.0   # the corner pixel centres are just below 1
    return ((1.0 + a * r2) ** -2).astype(np.float32)


@dataclass
class ApsSensor:
    """One sequence's APS sensor: drawn parameters and its fixed-pattern noise (constant for the
    sequence). ``expose`` renders each frame; its temporal noise comes from the ``rng`` it is given."""

    height: int
    width: int
    mono: bool
    saturation: float
    cast: np.ndarray            # (3,) channel gains
    brightness: float
    dark_light: float           # 1 when not in dark operation
    read_noise: float
    shot_noise: float
    vignetting: float
    blur_sigma: float
    veil: float
    black_level: float
    gamma: float
    jpeg_quality: int           # 0: no JPEG round trip
    pixel_gain: np.ndarray      # (H, W, C) relative gain, C = 1 (mono) or 3
    pixel_offset: np.ndarray    # (H, W, C) + column offsets
    vignette_map: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.vignette_map = vignette(self.height, self.width, self.vignetting)[..., None]

    @classmethod
    def random(cls, rng: np.random.Generator, config: ApsConfig, height: int, width: int) -> "ApsSensor":
        """Draw a sensor from ``config``'s ranges (``config.prob`` is the caller's business)."""
        u = lambda r: float(rng.uniform(*r))  # noqa: E731
        mono = bool(rng.random() < config.mono_prob)
        saturation = u(config.saturation)
        cast = np.exp(rng.uniform(-config.colour_cast, config.colour_cast, 3)).astype(np.float32)
        brightness = u(config.brightness)
        dark = bool(rng.random() < config.dark_prob)
        dark_light = u(config.dark_light) if dark else 1.0
        read, shot = u(config.read_noise), u(config.shot_noise)
        gain_fpn, offset_fpn, col_fpn = u(config.pixel_gain_fpn), u(config.pixel_offset_fpn), u(config.column_offset_fpn)
        vig, blur, veil = u(config.vignetting), u(config.blur_sigma), u(config.veil)
        black, gamma = u(config.black_level), u(config.gamma)
        jpeg = int(round(u(config.jpeg_quality))) if rng.random() < config.jpeg_prob else 0
        c = 1 if mono else 3
        pixel_gain = (1.0 + gain_fpn * rng.standard_normal((height, width, c), dtype=np.float32)).astype(np.float32)
        pixel_offset = offset_fpn * rng.standard_normal((height, width, c), dtype=np.float32)
        pixel_offset += col_fpn * rng.standard_normal((1, width, c), dtype=np.float32)
        return cls(height, width, mono, saturation, cast, brightness, dark_light, read, shot, vig, blur, veil, black,
                   gamma, jpeg, pixel_gain, pixel_offset.astype(np.float32))

    def optics(self, light: np.ndarray) -> np.ndarray:
        """Lens and colour filter: (H, W, 3) linear radiance -> (H, W, C) light on the pixels."""
        s = np.asarray(light, np.float32)
        if self.blur_sigma > 0.05:
            s = cv2.GaussianBlur(s, (0, 0), self.blur_sigma, borderType=cv2.BORDER_REFLECT)
        s = s * self.vignette_map
        if self.veil > 0:
            s = (1.0 - self.veil) * s + self.veil * s.mean(axis=(0, 1), keepdims=True)
        luma = (s @ LUMA)[..., None]
        if self.mono:
            return luma
        return ((luma + self.saturation * (s - luma)) * self.cast).astype(np.float32)

    def expose(self, light: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
        """Mean radiance over the exposure (H, W, 3) -> (H, W, 3) uint8 frame; ``gain`` is the
        imaging condition's camera gain (:class:`~.camera.CameraSettings`)."""
        if light.shape[:2] != (self.height, self.width):
            raise ValueError(f"APS sensor is {self.height}x{self.width}, got light of shape {light.shape}")
        s = self.optics(light) * np.float32(self.brightness * self.dark_light)
        noise_std = np.sqrt(self.read_noise ** 2 + self.shot_noise ** 2 * np.maximum(s, 0.0))
        s += noise_std * rng.standard_normal(s.shape, dtype=np.float32)
        s *= np.float32(gain / self.dark_light)
        s = s * self.pixel_gain + self.pixel_offset + np.float32(self.black_level)
        np.clip(s, 0.0, 1.0, out=s)
        if self.gamma != 1.0:
            s **= np.float32(1.0 / self.gamma)
        out = (255.0 * s + 0.5).astype(np.uint8)
        if self.jpeg_quality:
            out = jpeg_round_trip(out, self.jpeg_quality)
        if out.shape[2] == 1:
            out = np.repeat(out, 3, axis=2)
        return np.ascontiguousarray(out)


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode ``image`` (H, W, 1) or (H, W, 3) uint8 as JPEG at ``quality`` and decode it again
    (same shape; a one-channel image stays grey)."""
    ok, buf = cv2.imencode(".jpg", image if image.shape[2] == 3 else image[..., 0],
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - cv2 encodes any uint8 image
        raise RuntimeError("JPEG encoding failed")
    flag = cv2.IMREAD_COLOR if image.shape[2] == 3 else cv2.IMREAD_GRAYSCALE
    return cv2.imdecode(buf, flag).reshape(image.shape)

