"""The event and trigger array types shared by every module of ``fetrack_ros.events``.

Events are a numpy structured array with fields ``x`` (u2, pixels), ``y`` (u2, pixels),
``t`` (i8, nanoseconds) and ``p`` (u1, 1 = ON, 0 = OFF), one record per event, in arrival
order (non-decreasing ``t`` for well-formed sensor streams, but not guaranteed).
External triggers are kept apart from events, with fields ``t`` (i8, ns), ``edge`` (u1) and
``id`` (u1).
"""
from __future__ import annotations

import numpy as np

EVENT_DTYPE = np.dtype([("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "u1")])
TRIGGER_DTYPE = np.dtype([("t", "<i8"), ("edge", "u1"), ("id", "u1")])


class EventDecodeError(ValueError):
    """Raised by a decoder for input it cannot decode (the only exception decoders raise on bad bytes).

    The decoder stays usable: the next call starts from the state documented by the decoder.
    """


def empty_events(n: int = 0) -> np.ndarray:
    """A zero-filled event array of length ``n``."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def make_events(x, y, t, p) -> np.ndarray:
    """Pack four equally long columns (x, y pixels; t ns; p 0/1) into an :data:`EVENT_DTYPE` array.

    Raises ``ValueError`` naming the column when lengths differ or values do not fit the field.
    """
    cols = {"x": np.asarray(x), "y": np.asarray(y), "t": np.asarray(t), "p": np.asarray(p)}
    n = len(cols["x"])
    for name, col in cols.items():
        if col.ndim != 1 or len(col) != n:
            raise ValueError(f"event column {name!r} has shape {col.shape}, expected ({n},) like 'x'")
    for name in ("x", "y"):
        col = cols[name]
        if n and col.dtype.kind in "iu" and (col.min() < 0 or col.max() > 0xFFFF):
            raise ValueError(f"event column {name!r} has values outside 0..65535 (u2)")
    out = np.empty(n, dtype=EVENT_DTYPE)
    out["x"], out["y"], out["t"] = cols["x"], cols["y"], cols["t"]
    out["p"] = cols["p"] != 0
    return out


def as_event_array(events: np.ndarray, what: str = "events") -> np.ndarray:
    """Check that ``events`` has the fields of :data:`EVENT_DTYPE` (any field order or padding).

    Returns it unchanged; raises ``TypeError`` naming the missing field otherwise.
    """
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    missing = [f for f in ("x", "y", "t", "p") if f not in names]
    if missing:
        raise TypeError(f"{what} must be a structured array with fields x, y, t, p; missing {missing}"
                        f" (got dtype {getattr(events, 'dtype', type(events))})")
    return events
