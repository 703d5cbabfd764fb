"""Event frames: the Event-AHU rendering the official weights expect, and per-polarity counts.

Both renderers take an event array (fields x, y, p; see :mod:`.event_types`) and a sensor size.
Events with ``x >= width`` or ``y >= height`` are dropped; pass a :class:`RenderStats` to have
them counted (docs/design.md §3: nothing handed in is dropped silently).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_types import as_event_array

AHU_BACKGROUND = (255, 255, 255)
AHU_ON = (220, 30, 30)
AHU_OFF = (30, 30, 200)
# palette index 0 = no event, 1 = ON only, 2 = at least one OFF (OFF is painted over ON)
_AHU_PALETTE = np.array([AHU_BACKGROUND, AHU_ON, AHU_OFF], dtype=np.uint8)


@dataclass
class RenderStats:
    """Running counters a caller may pass to the renderers; they are incremented in place."""

    rendered: int = 0       # events inside the sensor, drawn
    out_of_bounds: int = 0  # events with x >= width or y >= height, dropped


def _check_size(height: int, width: int) -> None:
    if not (0 < height <= 0xFFFF and 0 < width <= 0xFFFF):
        raise ValueError(f"sensor size must be 1..65535 pixels, got height={height}, width={width}")


def _pixel_keys(events: np.ndarray, height: int, width: int, stats: RenderStats | None) -> np.ndarray:
    """``(y * width + x) * 2 + (p == 0)`` for the in-sensor events, and count the others."""
    events = as_event_array(events)
    _check_size(height, width)
    x, y, p = events["x"], events["y"], events["p"]
    if len(events) and (x.max() >= width or y.max() >= height):
        inside = (x < width) & (y < height)
        x, y, p = x[inside], y[inside], p[inside]
    dropped = len(events) - len(x)
    if stats is not None:
        stats.rendered += len(x)
        stats.out_of_bounds += dropped
    index_type = np.int32 if 2 * height * width < 2**31 else np.int64
    key = np.multiply(y, 2 * width, dtype=index_type)
    key += x
    key += x
    key += p == 0
    return key


def render_ahu(events: np.ndarray, height: int, width: int, *,
               stats: RenderStats | None = None) -> np.ndarray:
    """Render events the Event-AHU way (docs/design.md §3): an (height, width, 3) uint8 RGB image.

    White background, every pixel with an ON event red (220, 30, 30), then every pixel with an
    OFF event blue (30, 30, 200): OFF wins where a pixel has both, whatever their order. No
    counts. Events outside the sensor are dropped and, when ``stats`` is given, counted there.
    """
    key = _pixel_keys(events, height, width, stats)
    seen = np.zeros(2 * height * width, dtype=np.uint8)
    seen[key] = 1
    seen = seen.reshape(-1, 2)  # [:, 0] ON seen, [:, 1] OFF seen
    state = np.maximum(seen[:, 0], seen[:, 1] * np.uint8(2))
    return _AHU_PALETTE[state].reshape(height, width, 3)


def render_counts(events: np.ndarray, height: int, width: int, *,
                  stats: RenderStats | None = None) -> np.ndarray:
    """Count events per pixel and polarity: an (2, height, width) int32 array.

    ``counts[1]`` holds ON events, ``counts[0]`` OFF events (index = polarity). Events outside
    the sensor are dropped and, when ``stats`` is given, counted there.
    """
    key = _pixel_keys(events, height, width, stats)
    counts = np.bincount(key, minlength=2 * height * width).astype(np.int32)
    # key's last bit is 1 for OFF: reorder so that channel index = polarity
    counts = counts.reshape(height, width, 2)
    return np.ascontiguousarray(counts[..., ::-1].transpose(2, 0, 1))
