"""``event_camera_msgs/EventPacket`` read straight from its serialized CDR bytes.

The node subscribes to event packets with ``raw=True``: rclpy then hands over the serialized
message and never builds a Python message object. At a driver's 1 kHz packets that is most of the
per-packet cost; here the fixed fields are read with ``struct`` and the ``events`` payload stays
a zero-copy ``memoryview`` of the received bytes. Bag readers use the same function on the raw
records of a bag.

Layout (OMG CDR, ROS 2 "plain" types): a 4-byte encapsulation header (``00 00`` / ``00 01``: XCDR1
big/little endian; ``00 06`` / ``00 07``: XCDR2 plain, where 8-byte values align to 4), then
``header.stamp.sec`` int32, ``header.stamp.nanosec`` uint32, ``header.frame_id`` string, ``height``
and ``width`` uint32, ``seq`` and ``time_base`` uint64, ``encoding`` string, ``is_bigendian`` bool,
``events`` uint8 sequence. Alignment is counted from the end of the encapsulation header.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .stamps import sec_nanosec_to_ns, stamp_to_ns

#: encapsulation id -> (byte order, largest alignment)
_ENCAPSULATIONS = {0: (">", 8), 1: ("<", 8), 6: (">", 4), 7: ("<", 4)}
#: longest string field accepted (frame_id, encoding): a guard against a corrupt length
MAX_STRING = 4096


class CdrError(ValueError):
    """The bytes are not a well-formed serialized EventPacket (the message says where)."""


@dataclass(frozen=True)
class PacketRecord:
    """The fields of one ``EventPacket`` the decoders need, from any source (CDR, rclpy, rosbags).

    ``stamp_ns``: header stamp (ns, host time at the packet's start for drivers); ``seq``:
    the producer's packet counter; ``time_base``: ns (``mono``; unused by ``evt3``);
    ``payload``: the encoded events (bytes-like, not copied).
    """

    stamp_ns: int
    height: int
    width: int
    seq: int
    time_base: int
    encoding: str
    payload: object


def packet_record(msg) -> PacketRecord:
    """A :class:`PacketRecord` of an EventPacket message object (rclpy or rosbags)."""
    return PacketRecord(stamp_to_ns(msg.header.stamp), int(msg.height), int(msg.width), int(msg.seq),
                        int(msg.time_base), str(msg.encoding), msg.events)


def parse_event_packet(raw) -> PacketRecord:
    """A :class:`PacketRecord` from a serialized EventPacket (bytes-like); raises :class:`CdrError`."""
    data = memoryview(raw).cast("B")
    if len(data) < 4:
        raise CdrError(f"serialized EventPacket has {len(data)} bytes, fewer than its 4-byte CDR header")
    kind = _ENCAPSULATIONS.get(data[1] if data[0] == 0 else -1)
    if kind is None:
        raise CdrError(f"unknown CDR encapsulation {bytes(data[:2]).hex()}; expected 0000, 0001, 0006 or 0007")
    order, max_align = kind
    reader = _Reader(data, order, max_align)
    sec, nanosec = reader.unpack("iI", 4)
    reader.string("header.frame_id")
    height, width = reader.unpack("II", 4)
    seq, time_base = reader.unpack("QQ", 8)
    encoding = reader.string("encoding")
    reader.unpack("?", 1)  # is_bigendian: no decoder we know reads it
    (size,) = reader.unpack("I", 4)
    payload = reader.take(size, "events")
    return PacketRecord(sec_nanosec_to_ns(sec, nanosec), height, width, seq, time_base, encoding, payload)


class _Reader:
    """Sequential, bounds-checked reads of CDR fields."""

    def __init__(self, data: memoryview, order: str, max_align: int) -> None:
        self.data, self.order, self.max_align = data, order, max_align
        self.pos = 4

    def _align(self, size: int) -> None:
        align = min(size, self.max_align)
        self.pos += (-(self.pos - 4)) % align

    def unpack(self, fields: str, size: int) -> tuple:
        self._align(size)
        fmt = self.order + fields
        end = self.pos + struct.calcsize(fmt)
        if end > len(self.data):
            raise CdrError(f"serialized EventPacket ends at byte {len(self.data)}, inside its fixed fields "
                           f"(needed {end})")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos = end
        return values

    def take(self, size: int, field: str) -> memoryview:
        if size > len(self.data) - self.pos:
            raise CdrError(f"EventPacket field '{field}' declares {size} bytes but only "
                           f"{len(self.data) - self.pos} follow")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def string(self, field: str) -> str:
        (size,) = self.unpack("I", 4)
        if size > MAX_STRING:
            raise CdrError(f"EventPacket field '{field}' declares a {size}-byte string (at most {MAX_STRING})")
        text = bytes(self.take(size, field))
        return text[:-1].decode("utf-8", "replace") if text.endswith(b"\0") else text.decode("utf-8", "replace")
