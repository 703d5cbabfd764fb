"""A DVS (event camera) pixel model: events from log-intensity changes.

Each pixel keeps the log intensity at which it last fired (its reference level). Between two
samples of the log intensity, taken at times ``t_prev`` and ``t``, the signal is assumed linear;
every crossing of ``reference + k * C_on`` (ON) or ``reference - k * C_off`` (OFF), k = 1, 2, ...,
is one event at the interpolated crossing time, and the reference moves by ``k * C``. So a pixel
whose log intensity rises by ``d`` gives ``floor(d / C_on)`` ON events (without noise and with
no refractory period).

Realism knobs (:class:`DvsParams`): per-pixel threshold mismatch (Gaussian, fixed per sensor),
a refractory period (a crossing less than ``refractory_ns`` after the pixel's last emitted event
is not emitted, but the reference still moves, as the pixel's memorized level does), and
background-activity noise events (Poisson, uniform over pixels and time, ON with probability
``noise_on_fraction``: real DAVIS leak events are mostly ON), and hot pixels (a small set of
pixels, fixed per sensor, each firing Poisson events at its own high rate, random polarity).

Event times are whole microseconds (in ns), as EVT3 carries them, so simulated events survive an
EVT3 encode/decode round trip unchanged.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..events.event_types import EVENT_DTYPE

#: Luminance weights (Rec. 601) used to turn linear RGB radiance into the DVS's intensity.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class DvsParams:
    """Event-camera parameters (log intensity is natural log; times in ns).

    - ``contrast_on`` / ``contrast_off``: mean ON / OFF thresholds in log intensity.
    - ``threshold_sigma``: std of the per-pixel threshold mismatch (absolute, log units).
    - ``min_threshold``: thresholds are clipped below at this value.
    - ``refractory_ns``: dead time after an emitted event.
    - ``noise_rate_hz``: background-activity events per pixel per second (0 disables noise).
    - ``log_eps``: intensity offset inside the log (keeps black pixels finite; dims dark contrast).
    - ``noise_on_fraction``: probability that a background-activity event is ON.
    - ``hot_pixel_fraction``: fraction of the pixels that are hot (0: none; their number is
      rounded, at least one when the fraction is > 0).
    - ``hot_pixel_rate_hz``: typical rate of a hot pixel; each one's rate is log-uniform within a
      factor 3 of it.
    """

    contrast_on: float = 0.2
    contrast_off: float = 0.2
    threshold_sigma: float = 0.03
    min_threshold: float = 0.01
    refractory_ns: int = 100_000
    noise_rate_hz: float = 0.1
    log_eps: float = 1e-3
    noise_on_fraction: float = 0.5
    hot_pixel_fraction: float = 0.0
    hot_pixel_rate_hz: float = 20.0

    def __post_init__(self) -> None:
        for name in ("contrast_on", "contrast_off", "min_threshold"):
            if not getattr(self, name) > 0:
                raise ValueError(f"DvsParams.{name} must be > 0, got {getattr(self, name)}")
        for name in ("threshold_sigma", "refractory_ns", "noise_rate_hz", "log_eps", "hot_pixel_rate_hz"):
            if getattr(self, name) < 0:
                raise ValueError(f"DvsParams.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("noise_on_fraction", "hot_pixel_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"DvsParams.{name} must be in [0, 1], got {getattr(self, name)}")


def log_intensity(radiance: np.ndarray, eps: float) -> np.ndarray:
    """``log(luma + eps)``: (H, W) float64 from (H, W, 3) linear RGB or (H, W) intensity."""
    luma = radiance @ LUMA if radiance.ndim == 3 else radiance
    return np.log(luma.astype(np.float64) + eps)


class DvsSimulator:
    """Stateful event generation for one sensor of ``height x width`` pixels.

    ``reset(log_image, t_ns)`` sets every pixel's reference; each ``step(log_image, t_ns)``
    returns the events in ``[t_prev, t_ns)`` as an :data:`EVENT_DTYPE` array sorted by time
    (stable: one pixel's events stay in order). ``rng`` drives the threshold mismatch (drawn
    once here) and the noise, so a seeded generator makes the output deterministic. Hot pixels
    (``params.hot_pixel_fraction`` > 0) draw from ``hot_rng`` (a child of ``rng``'s seed when not
    given), never from ``rng``: the other events do not depend on them.
    """

    def __init__(self, height: int, width: int, params: DvsParams, rng: np.random.Generator,
                 hot_rng: np.random.Generator | None = None):
        self.height, self.width, self.params = int(height), int(width), params
        self.rng = rng
        shape = (self.height, self.width)
        self.c_on = np.maximum(params.min_threshold, params.contrast_on + params.threshold_sigma * rng.standard_normal(shape))
        self.c_off = np.maximum(params.min_threshold, params.contrast_off + params.threshold_sigma * rng.standard_normal(shape))
        self.c_on, self.c_off = self.c_on.ravel(), self.c_off.ravel()
        # Just below the thresholds: changes under these cannot reach one after rounding.
        self._near_on, self._near_off = self.c_on * (1 - 1e-9), self.c_off * (1 - 1e-9)
        self._ref: np.ndarray | None = None
        self._prev: np.ndarray | None = None
        self._last_t = np.full(self.height * self.width, np.iinfo(np.int64).min // 2, np.int64)
        self._t_prev_us = 0
        self.hot_pixels = np.zeros(0, np.int64)      # flat indices of the hot pixels
        self.hot_rates_hz = np.zeros(0)
        self._hot_rng = None
        if params.hot_pixel_fraction > 0:
            if hot_rng is None:
                seed_seq = getattr(rng.bit_generator, "seed_seq", None)
                hot_rng = np.random.default_rng(seed_seq.spawn(1)[0] if isinstance(seed_seq, np.random.SeedSequence)
                                                else None)
            self._hot_rng = hot_rng
            n_px = self.height * self.width
            n_hot = min(n_px, max(1, int(round(params.hot_pixel_fraction * n_px))))
            self.hot_pixels = np.sort(hot_rng.choice(n_px, n_hot, replace=False)).astype(np.int64)
            self.hot_rates_hz = params.hot_pixel_rate_hz * np.exp(hot_rng.uniform(-np.log(3), np.log(3), n_hot))

    def reset(self, log_image: np.ndarray, t_ns: int) -> None:
        self._check(log_image)
        self._ref = log_image.astype(np.float64).ravel().copy()
        self._prev = self._ref.copy()
        self._t_prev_us = _to_us(t_ns)
        self._last_t[:] = np.iinfo(np.int64).min // 2

    def step(self, log_image: np.ndarray, t_ns: int) -> np.ndarray:
        if self._ref is None:
            raise RuntimeError("DvsSimulator.step() before reset(): give the first log image")
        self._check(log_image)
        t_us = _to_us(t_ns)
        if t_us <= self._t_prev_us:
            raise ValueError(f"DvsSimulator.step time {t_ns} ns is not after the previous sample "
                             f"({self._t_prev_us * 1000} ns)")
        cur = log_image.astype(np.float64).ravel()
        change = cur - self._ref   # a pixel crosses ON or OFF thresholds, never both, in one step
        parts = [self._crossings(cur, change, t_us, +1), self._crossings(cur, change, t_us, -1)]
        if self.params.noise_rate_hz > 0:
            parts.append(self._noise(t_us))
        if self.hot_pixels.size:
            parts.append(self._hot(t_us))
        self._prev = cur.copy()
        self._t_prev_us = t_us
        events = np.concatenate(parts)
        return events[np.argsort(events["t"], kind="stable")]

    # ------------------------------------------------------------------ internals
    def _check(self, log_image: np.ndarray) -> None:
        if log_image.shape != (self.height, self.width):
            raise ValueError(f"log image must have shape ({self.height}, {self.width}), got {log_image.shape}")

    def _crossings(self, cur: np.ndarray, change: np.ndarray, t_us: int, sign: int) -> np.ndarray:
        """Threshold crossings of polarity ``sign`` for ``change = cur - reference`` (flat)."""
        c = self.c_on if sign > 0 else self.c_off
        # Only pixels whose change nearly reaches a threshold can cross one: the exact count
        # (floor of change / threshold) is computed for those alone, most of the image is still.
        near = np.flatnonzero(sign * change >= (self._near_on if sign > 0 else self._near_off))
        counts = np.floor(sign * change[near] / c[near]).astype(np.int64)
        crossing = counts > 0
        pix, n = near[crossing], counts[crossing]
        if pix.size == 0:
            return np.zeros(0, EVENT_DTYPE)
        self._ref[pix] += sign * n * c[pix]
        # k-th crossing (k = 1..n) of each pixel, as flat arrays.
        rep = np.repeat(pix, n)
        k = np.arange(rep.size) - np.repeat(np.cumsum(n) - n, n) + 1
        ref0 = self._ref[rep] - sign * n.repeat(n) * c[rep]      # reference before this step
        level = ref0 + sign * k * c[rep]
        prev, now = self._prev[rep], cur[rep]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(now != prev, (level - prev) / (now - prev), 1.0)
        dt_us = t_us - self._t_prev_us
        # Whole microseconds within [t_prev, t): a crossing exactly at t belongs to the next step.
        t_ev_us = self._t_prev_us + np.minimum(np.floor(np.clip(frac, 0.0, 1.0) * dt_us), dt_us - 1).astype(np.int64)
        keep = self._refractory(rep, k, t_ev_us * 1000)
        out = np.empty(int(keep.sum()), EVENT_DTYPE)
        out["x"] = rep[keep] % self.width
        out["y"] = rep[keep] // self.width
        out["t"] = t_ev_us[keep] * 1000
        out["p"] = 1 if sign > 0 else 0
        return out

    def _refractory(self, pix: np.ndarray, k: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Mask of the crossings emitted, processing each pixel's k-th crossings in order of k."""
        refractory = self.params.refractory_ns
        keep = np.ones(pix.size, bool)
        for rank in range(1, int(k.max()) + 1):
            sel = np.flatnonzero(k == rank)
            ok = t_ns[sel] >= self._last_t[pix[sel]] + refractory if refractory else np.ones(sel.size, bool)
            keep[sel] = ok
            self._last_t[pix[sel[ok]]] = t_ns[sel[ok]]
        return keep

    def _noise(self, t_us: int) -> np.ndarray:
        dt_us = t_us - self._t_prev_us
        lam = self.params.noise_rate_hz * self.height * self.width * dt_us * 1e-6
        n = int(self.rng.poisson(lam))
        out = np.empty(n, EVENT_DTYPE)
        out["x"] = self.rng.integers(0, self.width, n)
        out["y"] = self.rng.integers(0, self.height, n)
        out["t"] = (self._t_prev_us + self.rng.integers(0, dt_us, n)) * 1000
        if self.params.noise_on_fraction == 0.5:
            out["p"] = self.rng.integers(0, 2, n)
        else:
            out["p"] = self.rng.random(n) < self.params.noise_on_fraction
        return out

    def _hot(self, t_us: int) -> np.ndarray:
        """Hot-pixel events in ``[t_prev, t)``: Poisson per hot pixel at its rate, random polarity
        (no refractory period: a hot pixel's firing is not a threshold crossing)."""
        rng, dt_us = self._hot_rng, t_us - self._t_prev_us
        counts = rng.poisson(self.hot_rates_hz * dt_us * 1e-6)
        pix = np.repeat(self.hot_pixels, counts)
        out = np.empty(pix.size, EVENT_DTYPE)
        out["x"] = pix % self.width
        out["y"] = pix // self.width
        out["t"] = (self._t_prev_us + rng.integers(0, dt_us, pix.size)) * 1000
        out["p"] = rng.integers(0, 2, pix.size)
        return out


def _to_us(t_ns: int) -> int:
    t_ns = int(t_ns)
    if t_ns % 1000:
        raise ValueError(f"sample times must be whole microseconds (EVT3 resolution), got {t_ns} ns")
    return t_ns // 1000


@dataclass(frozen=True)
class DavisDvsConfig:
    """Per-sequence DAVIS-like event noise (the ``davis_dvs`` section of
    :class:`~.simulator.SimConfig`): with probability ``prob`` a sequence's :class:`DvsParams`
    get these drawn values instead of the fixed ones (0, the default: never, nothing drawn).

    Pairs are ``(low, high)`` ranges: ``noise_rate_hz`` and ``hot_pixel_rate_hz`` log-uniform,
    ``noise_on_fraction`` and ``hot_pixel_fraction`` uniform (see :class:`DvsParams` for their
    meaning; ``hot_pixel_fraction`` = 0 means no hot pixels).
    """

    prob: float = 0.0
    noise_rate_hz: tuple[float, float] = (0.002, 0.3)
    noise_on_fraction: tuple[float, float] = (0.5, 0.95)
    hot_pixel_fraction: tuple[float, float] = (0.0, 5e-5)
    hot_pixel_rate_hz: tuple[float, float] = (3.0, 30.0)

    def __post_init__(self) -> None:
        what = "SimConfig.davis_dvs"
        if not 0.0 <= float(self.prob) <= 1.0:
            raise ValueError(f"{what}.prob must be a probability in [0, 1], got {self.prob!r}")
        for name in ("noise_rate_hz", "noise_on_fraction", "hot_pixel_fraction", "hot_pixel_rate_hz"):
            value = getattr(self, name)
            try:
                lo, hi = (float(v) for v in value)
            except (TypeError, ValueError):
                raise ValueError(f"{what}.{name} must be a [low, high] pair of numbers, got {value!r}") from None
            if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi or lo < 0:
                raise ValueError(f"{what}.{name} must be finite with 0 <= low <= high, got {value!r}")
            object.__setattr__(self, name, (lo, hi))
        for name in ("noise_rate_hz", "hot_pixel_rate_hz"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"{what}.{name} is drawn log-uniformly: low must be > 0, got {getattr(self, name)}")
        for name in ("noise_on_fraction", "hot_pixel_fraction"):
            if getattr(self, name)[1] > 1:
                raise ValueError(f"{what}.{name} must be within [0, 1], got {getattr(self, name)}")

    def draw(self, rng: np.random.Generator, params: DvsParams) -> DvsParams:
        """``params`` with the noise knobs drawn from these ranges."""
        def log_uniform(r):
            return float(np.exp(rng.uniform(np.log(r[0]), np.log(r[1]))))
        return dataclasses.replace(params, noise_rate_hz=log_uniform(self.noise_rate_hz),
                                   noise_on_fraction=float(rng.uniform(*self.noise_on_fraction)),
                                   hot_pixel_fraction=float(rng.uniform(*self.hot_pixel_fraction)),
                                   hot_pixel_rate_hz=log_uniform(self.hot_pixel_rate_hz))
