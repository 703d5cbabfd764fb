"""Still targets: where the event frame shows that nothing moved, the box stays.

An event camera reports brightness changes only. Where the event frame is empty around the box
while it has events elsewhere (the sensor is live), neither the target nor the camera moved there,
so a change of the network's box is jitter, not motion (a parked car under a fixed camera: the
packaged model's box wanders 5-10 px around it). Measured on held-out sequences: frames with
events on fewer than 2 % of the pixels around the true box moved by under 1 % of the target's
size (docs/model_card.md).

Event frames are the Event-AHU rendering (:func:`fetrack_ros.events.render_ahu`): a white
background, coloured pixels where events fell. A frame of another kind has no white background,
so it reads as full of events everywhere and the box is never held.
"""
from __future__ import annotations

import math

import numpy as np

#: The neighbourhood looked at: the box grown by this factor about its centre, so that a target
#: leaving the box still shows its events.
STILL_REGION_FACTOR = 1.5


def event_density(event_frame: np.ndarray, box_xywh, grow: float = STILL_REGION_FACTOR) -> float:
    """Fraction of the pixels with an event in ``box`` (``x, y, w, h`` pixels) grown by ``grow``
    about its centre, clipped to the image; 0.0 when that region is outside the image.
    ``event_frame``: (H, W, 3) uint8, Event-AHU rendered."""
    x, y, w, h = box_xywh
    cx, cy, half_w, half_h = x + 0.5 * w, y + 0.5 * h, 0.5 * grow * w, 0.5 * grow * h
    height, width = event_frame.shape[:2]
    x0, x1 = max(0, math.floor(cx - half_w)), min(width, math.ceil(cx + half_w))
    y0, y1 = max(0, math.floor(cy - half_h)), min(height, math.ceil(cy + half_h))
    if x0 >= x1 or y0 >= y1:
        return 0.0
    return float(has_event(event_frame[y0:y1, x0:x1]).mean())


def has_event(event_frame: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels of an Event-AHU frame that are not its white background."""
    # the AND of the channels is 255 only where all three are: several times faster than any(axis=-1)
    return (event_frame[..., 0] & event_frame[..., 1] & event_frame[..., 2]) != 255


def is_still(event_frame: np.ndarray, previous_box, new_box, max_density: float) -> bool:
    """True when the box should stay where it was: fewer than ``max_density`` of the pixels around
    both the previous box and the network's new one have events, and the frame has events
    somewhere (a blank frame means missing event data, not a still world). A network box that
    moves onto events (the target found again after a loss) is followed. ``max_density`` 0: never."""
    if max_density <= 0:
        return False
    return (event_density(event_frame, previous_box) < max_density
            and event_density(event_frame, new_box) < max_density
            and int(event_frame.min()) < 255)      # some pixel is not white: events somewhere
