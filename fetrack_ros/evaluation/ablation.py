"""Modality ablations: the same frames with one input taken away, to measure what each input
carries alone (a model that fails with either one alone leans on the other)."""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from ..data.sequence import Frame
from ..events.render import AHU_BACKGROUND


def without_events(frame: Frame) -> Frame:
    """``frame`` with no events: its event frame is the Event-AHU background everywhere."""
    blank = np.empty_like(frame.rgb)
    blank[:] = AHU_BACKGROUND
    return dataclasses.replace(frame, events=None, event_frame=blank)


def without_rgb(frame: Frame) -> Frame:
    """``frame`` with its RGB image turned into one grey level (the image's mean): no texture left."""
    return dataclasses.replace(frame, rgb=np.full_like(frame.rgb, int(round(float(frame.rgb.mean())))))


#: ``{name: frame -> frame}`` of the ablations reports show next to the full input.
ABLATIONS: dict[str, Callable[[Frame], Frame]] = {"RGB only": without_events, "events only": without_rgb}
