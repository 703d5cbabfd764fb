"""Legacy per-event messages (dvs_msgs/EventArray, prophesee_event_msgs/EventArray) as columns.

Both carry one ``Event{x, y, ts, polarity}`` per event, ``ts`` a ``builtin_interfaces/Time``.
Whoever reads the messages (a bag reader, the ROS node) extracts the four columns once; this
turns them into the event array with whole-array operations, no Python loop per event.
"""
from __future__ import annotations

import numpy as np

from .event_types import EVENT_DTYPE

NS_PER_S = 1_000_000_000


def decode_legacy_arrays(x, y, ts, polarity, ts_nanosec=None) -> np.ndarray:
    """Events from legacy columns.

    ``ts`` is either int64 ns, or the ``sec`` column with ``ts_nanosec`` the ``nanosec`` column.
    ``polarity`` is bool or 0/1 (any non-zero is ON). Raises ``ValueError`` naming the column
    when lengths differ or coordinates do not fit u2.
    """
    cols = {"x": np.asarray(x), "y": np.asarray(y), "ts": np.asarray(ts), "polarity": np.asarray(polarity)}
    if ts_nanosec is not None:
        cols["ts_nanosec"] = np.asarray(ts_nanosec)
    n = len(cols["x"])
    for name, col in cols.items():
        if col.ndim != 1 or len(col) != n:
            raise ValueError(f"legacy event column {name!r} has shape {col.shape}, expected ({n},)")
    for name in ("x", "y"):
        if n and (cols[name].min() < 0 or cols[name].max() > 0xFFFF):
            raise ValueError(f"legacy event column {name!r} has values outside 0..65535")
    events = np.empty(n, EVENT_DTYPE)
    events["x"], events["y"] = cols["x"], cols["y"]
    if ts_nanosec is None:
        events["t"] = cols["ts"].astype(np.int64)
    else:
        events["t"] = cols["ts"].astype(np.int64) * NS_PER_S + cols["ts_nanosec"].astype(np.int64)
    events["p"] = cols["polarity"] != 0
    return events
