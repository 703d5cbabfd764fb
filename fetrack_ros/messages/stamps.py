"""``builtin_interfaces/Time`` stamps <-> int nanoseconds: the one place this arithmetic lives.

A Time message has ``sec`` (int32, seconds since the epoch of its clock) and ``nanosec`` (uint32,
nanoseconds within that second); inside the package times are plain int nanoseconds
(docs/design.md §3). Everything here is duck-typed on those two fields, so rclpy messages,
rosbags typestore messages and any object with ``sec``/``nanosec`` work alike; raw CDR readers
pass the two integers they unpacked to :func:`sec_nanosec_to_ns`.

Reading is total on what a Time message can hold, so a stamp never makes the node raise: ``sec``
may be negative (before the epoch) and a ``nanosec`` of 1e9 or more carries into the seconds, as
``rclpy.time.Time.from_msg`` does. Writing (:func:`ns_to_sec_nanosec`, :func:`ns_to_stamp`)
refuses what a ROS time cannot express (negative, or seconds beyond int32) and always gives
``0 <= nanosec < 1e9``. Non-integers (floats) are refused both ways: they would lose nanoseconds.
"""
from __future__ import annotations

import operator

NS_PER_S = 1_000_000_000
#: builtin_interfaces/Time field ranges: ``sec`` int32, ``nanosec`` uint32
SEC_MAX = 2**31 - 1
NANOSEC_LIMIT = 2**32


def _integer(value, what: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__} {value!r}") from None


def sec_nanosec_to_ns(sec, nanosec) -> int:
    """Time fields -> int nanoseconds: ``sec * 1e9 + nanosec`` (see the module notes on ranges).

    Raises ``TypeError`` for non-integers and ``ValueError`` for a ``nanosec`` outside uint32.
    """
    sec, nanosec = _integer(sec, "stamp sec"), _integer(nanosec, "stamp nanosec")
    if not 0 <= nanosec < NANOSEC_LIMIT:
        raise ValueError(f"stamp nanosec must be in [0, 2**32) (uint32), got {nanosec}")
    return sec * NS_PER_S + nanosec


def stamp_to_ns(stamp) -> int:
    """``builtin_interfaces/Time`` (anything with ``sec``, ``nanosec``) -> int nanoseconds."""
    return sec_nanosec_to_ns(stamp.sec, stamp.nanosec)


def ns_to_sec_nanosec(ns) -> tuple[int, int]:
    """int nanoseconds -> ``(sec, nanosec)`` with ``0 <= nanosec < 1e9``.

    Raises ``TypeError`` for a non-integer and ``ValueError`` for a negative time or one past
    int32 seconds (2038-01-19 for wall-clock time).
    """
    ns = _integer(ns, "time in ns")
    if ns < 0:
        raise ValueError(f"a ROS time must be >= 0 ns, got {ns}")
    sec, nanosec = divmod(ns, NS_PER_S)
    if sec > SEC_MAX:
        raise ValueError(f"time {ns} ns is past builtin_interfaces/Time's int32 seconds ({SEC_MAX} s)")
    return sec, nanosec


def ns_to_stamp(ns, stamp):
    """int nanoseconds -> a ``builtin_interfaces/Time``; returns it.

    ``stamp`` is either a Time message to fill in place (e.g. ``msg.header.stamp``), or a Time
    class to construct with ``sec=``/``nanosec=`` (rclpy's ``builtin_interfaces.msg.Time``, or
    ``typestore.types["builtin_interfaces/msg/Time"]`` for rosbags). Errors as
    :func:`ns_to_sec_nanosec`.
    """
    sec, nanosec = ns_to_sec_nanosec(ns)
    if isinstance(stamp, type):
        return stamp(sec=sec, nanosec=nanosec)
    stamp.sec, stamp.nanosec = sec, nanosec
    return stamp
