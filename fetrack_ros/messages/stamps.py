"""``builtin_interfaces/Time`` stamps <-> int64 nanoseconds (rclpy and rosbags messages alike)."""
from __future__ import annotations

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp) -> int:
    """``builtin_interfaces/Time`` (``sec``, ``nanosec``) -> int nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_stamp(ns: int, stamp) -> object:
    """Write int nanoseconds into the ``sec``/``nanosec`` of ``stamp`` (a Time message); return it."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    stamp.sec, stamp.nanosec = sec, nanosec
    return stamp
