"""The RGB (frame) camera: exposure integration, gain, sensor noise, clipping, gamma, 8-bit output.

Imaging conditions are what make events useful: a long exposure blurs fast motion, low light
leaves a dark, noisy image, wrong exposure clips or crushes contrast. The event camera sees the
same scene through :mod:`.dvs` unaffected by exposure and gain.

A sequence may instead be rendered by a DAVIS346-like APS sensor (:mod:`.aps`: monochrome or dull
colour, fixed-pattern noise, vignetting, low contrast, JPEG): :func:`expose_frame` picks the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Imaging conditions; all but ``normal`` degrade the RGB image.
CONDITIONS = ("normal", "motion_blur", "low_light", "overexposed", "underexposed")
DEGRADED_CONDITIONS = CONDITIONS[1:]


@dataclass(frozen=True)
class CameraSettings:
    """One sequence's RGB camera and lighting.

    - ``illumination``: scene radiance multiplier (low light < 1; events see it too).
    - ``gain``: camera gain applied to the collected light before clipping.
    - ``exposure_fraction``: exposure time as a fraction of the frame interval, ending at the stamp.
    - ``read_noise``: std of additive Gaussian noise (linear units, before gain).
    - ``shot_noise``: std factor of signal-dependent noise ``sqrt(signal) * shot_noise``.
    - ``speed_factor``: how much faster than usual things move (fast motion for blur).
    - ``dvs_noise_factor``: multiplier of the event camera's noise rate (dark scenes are noisier).
    """

    condition: str = "normal"
    illumination: float = 1.0
    gain: float = 1.0
    exposure_fraction: float = 0.2
    read_noise: float = 0.004
    shot_noise: float = 0.004
    speed_factor: float = 1.0
    dvs_noise_factor: float = 1.0


def random_settings(rng: np.random.Generator, condition: str) -> CameraSettings:
    """Camera settings drawn for ``condition`` (one of :data:`CONDITIONS`)."""
    if condition == "normal":
        return CameraSettings(condition, exposure_fraction=rng.uniform(0.05, 0.3))
    if condition == "motion_blur":
        return CameraSettings(condition, exposure_fraction=rng.uniform(0.8, 1.0), speed_factor=rng.uniform(2.5, 4.0))
    if condition == "low_light":
        illum = rng.uniform(0.01, 0.04)
        # The camera's gain only partly makes up for the light: dark frames with a signal-to-noise
        # ratio of a few; the event camera also gets noisier.
        return CameraSettings(condition, illumination=illum, gain=rng.uniform(1.5, 4.0),
                              exposure_fraction=rng.uniform(0.5, 1.0), read_noise=0.004, shot_noise=0.01,
                              dvs_noise_factor=rng.uniform(3.0, 8.0))
    if condition == "overexposed":
        return CameraSettings(condition, gain=rng.uniform(6.0, 15.0), exposure_fraction=rng.uniform(0.2, 0.6))
    if condition == "underexposed":
        return CameraSettings(condition, gain=rng.uniform(0.015, 0.05), exposure_fraction=rng.uniform(0.05, 0.3),
                              read_noise=0.003)
    raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")


def expose(light: np.ndarray, settings: CameraSettings, rng: np.random.Generator) -> np.ndarray:
    """Collected light (H, W, 3) float, mean radiance over the exposure -> (H, W, 3) uint8 RGB.

    ``uint8 = 255 * clip(gain * (light + noise), 0, 1) ** (1 / 2.2)`` with read and shot noise.
    """
    signal = light.astype(np.float32, copy=True)
    noise_std = np.sqrt(settings.read_noise ** 2 + settings.shot_noise ** 2 * np.maximum(signal, 0.0))
    signal += noise_std * rng.standard_normal(signal.shape, dtype=np.float32)
    signal *= settings.gain
    np.clip(signal, 0.0, 1.0, out=signal)
    return (255.0 * signal ** (1 / 2.2) + 0.5).astype(np.uint8)


def expose_frame(light: np.ndarray, settings: CameraSettings, rng: np.random.Generator, aps=None) -> np.ndarray:
    """:func:`expose` through the RGB camera, or, when ``aps`` (an :class:`~.aps.ApsSensor`) is
    given, through that APS sensor with the condition's gain."""
    if aps is None:
        return expose(light, settings, rng)
    return aps.expose(light, settings.gain, rng)
