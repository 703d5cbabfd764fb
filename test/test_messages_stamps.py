"""``builtin_interfaces/Time`` <-> int ns: the arithmetic of :mod:`fetrack_ros.messages.stamps`."""
import struct
from types import SimpleNamespace

import numpy as np
import pytest

from fetrack_ros.messages.cdr import parse_event_packet
from fetrack_ros.messages.stamps import (NS_PER_S, SEC_MAX, ns_to_sec_nanosec, ns_to_stamp, sec_nanosec_to_ns,
                                         stamp_to_ns)


class Time:
    """A stand-in Time class built like rclpy's and rosbags' (keyword fields)."""

    def __init__(self, sec=0, nanosec=0):
        self.sec, self.nanosec = sec, nanosec


@pytest.mark.parametrize("ns", [0, 1, NS_PER_S - 1, NS_PER_S, 1_750_000_123 * NS_PER_S + 987_654_321,
                                SEC_MAX * NS_PER_S + NS_PER_S - 1])
def test_round_trip_through_sec_nanosec(ns):
    sec, nanosec = ns_to_sec_nanosec(ns)
    assert 0 <= nanosec < NS_PER_S and sec * NS_PER_S + nanosec == ns
    assert sec_nanosec_to_ns(sec, nanosec) == ns
    assert stamp_to_ns(ns_to_stamp(ns, Time)) == ns


def test_ns_to_stamp_fills_an_instance_or_builds_from_a_class():
    stamp = SimpleNamespace(sec=-5, nanosec=7)
    assert ns_to_stamp(3 * NS_PER_S + 4, stamp) is stamp
    assert (stamp.sec, stamp.nanosec) == (3, 4)
    built = ns_to_stamp(np.int64(2 * NS_PER_S + 1), Time)
    assert isinstance(built, Time) and (built.sec, built.nanosec) == (2, 1)
    assert type(built.sec) is int and type(built.nanosec) is int  # rclpy's setters refuse numpy ints


def test_reading_accepts_what_a_time_message_can_hold():
    # before the epoch (int32 sec may be negative), and nanosec >= 1 s carries, as rclpy's Time.from_msg
    assert stamp_to_ns(SimpleNamespace(sec=-1, nanosec=999_999_999)) == -1
    assert sec_nanosec_to_ns(1, 1_500_000_000) == 2_500_000_000
    assert sec_nanosec_to_ns(np.int32(2), np.uint32(3)) == 2 * NS_PER_S + 3


@pytest.mark.parametrize("nanosec", [-1, 2**32])
def test_reading_refuses_a_nanosec_outside_uint32(nanosec):
    with pytest.raises(ValueError, match=f"nanosec must be in .*got {nanosec}"):
        stamp_to_ns(SimpleNamespace(sec=1, nanosec=nanosec))


def test_floats_are_refused_both_ways():
    with pytest.raises(TypeError, match="stamp sec must be an integer, got float 1.5"):
        stamp_to_ns(SimpleNamespace(sec=1.5, nanosec=0))
    with pytest.raises(TypeError, match="time in ns must be an integer, got float"):
        ns_to_stamp(1e9, Time)


@pytest.mark.parametrize("ns, message", [(-1, "must be >= 0 ns, got -1"),
                                         ((SEC_MAX + 1) * NS_PER_S, "past builtin_interfaces/Time's int32 seconds")])
def test_writing_refuses_what_a_ros_time_cannot_express(ns, message):
    stamp = Time(sec=9, nanosec=9)
    with pytest.raises(ValueError, match=message):
        ns_to_stamp(ns, stamp)
    assert (stamp.sec, stamp.nanosec) == (9, 9)  # untouched


def test_raw_cdr_stamp_goes_through_the_same_arithmetic():
    # XCDR1 little endian EventPacket: stamp (-2 s, 5 ns), empty frame_id and encoding, no events
    raw = (b"\x00\x01\x00\x00" + struct.pack("<iI", -2, 5) + struct.pack("<I", 1) + b"\x00" + b"\x00" * 3
           + struct.pack("<II", 1, 1) + struct.pack("<QQ", 0, 0) + struct.pack("<I", 1) + b"\x00" + b"\x00"
           + b"\x00" * 2 + struct.pack("<I", 0))
    assert parse_event_packet(raw).stamp_ns == sec_nanosec_to_ns(-2, 5) == -2 * NS_PER_S + 5


def test_rclpy_and_rosbags_time_classes():
    from fetrack_ros.data.rostypes import get_typestore

    ns = 1_700_000_000 * NS_PER_S + 42
    rosbags_time = ns_to_stamp(ns, get_typestore().types["builtin_interfaces/msg/Time"])
    assert (rosbags_time.sec, rosbags_time.nanosec) == (1_700_000_000, 42) and stamp_to_ns(rosbags_time) == ns
    rclpy_time = pytest.importorskip("builtin_interfaces.msg").Time
    assert stamp_to_ns(ns_to_stamp(ns, rclpy_time)) == ns
