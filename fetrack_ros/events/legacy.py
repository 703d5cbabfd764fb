"""Legacy per-event messages (dvs_msgs/EventArray, prophesee_event_msgs/EventArray) as columns.

Both carry one ``Event{x, y, ts, polarity}`` per event, ``ts`` a ``builtin_interfaces/Time``.
Whoever reads the messages (a bag reader, the ROS node) extracts the columns once; this turns
them into the event array with whole-array operations, no Python loop per event.
"""
from __future__ import annotations

import numpy as np

from .event_types import make_events

NS_PER_S = 1_000_000_000


def decode_legacy_arrays(x, y, ts, polarity, ts_nanosec=None) -> np.ndarray:
    """Events from legacy columns.

    ``ts`` is either int64 ns, or the ``sec`` column with ``ts_nanosec`` the ``nanosec`` column.
    ``polarity`` is bool or 0/1 (any non-zero is ON). Raises ``ValueError`` naming the column
    when lengths differ or coordinates do not fit u2.
    """
    t = np.asarray(ts).astype(np.int64)
    if ts_nanosec is not None:
        nanosec = np.asarray(ts_nanosec)
        if nanosec.shape != t.shape:
            raise ValueError(f"legacy event column 'ts_nanosec' has shape {nanosec.shape}, "
                             f"expected {t.shape} like 'ts'")
        t = t * NS_PER_S + nanosec.astype(np.int64)
    if t.shape != np.shape(x):
        raise ValueError(f"legacy event column 'ts' has shape {t.shape}, expected {np.shape(x)} like 'x'")
    return make_events(x, y, t, polarity)
