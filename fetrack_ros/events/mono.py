"""The ``mono`` EventPacket encoding of event_camera_msgs (deprecated, still in older bags).

Each event is one little-endian 64-bit word: bits 0..31 ``dt`` (uint32, added to the packet's
``time_base``; ns for every producer we know), bits 32..47 x, bits 48..62 y, bit 63 polarity.
There are no triggers and no geometry check (as in event_camera_codecs).

Deliberate differences from event_camera_codecs / event_camera_py: times are the full int64
``time_base + dt`` (event_camera_py truncates them to int32); a payload whose length is not a
multiple of 8 has its trailing partial word dropped and counted (the reference reads past the
end of the buffer); a packet whose ``time_base + dt`` does not fit int64 ns (``time_base`` is a
uint64 on the wire) is refused with :class:`EventDecodeError` instead of wrapping to negative times.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .event_types import EVENT_DTYPE, EventDecodeError, as_event_array
from .evt3 import DecodedPacket, one_packet

MAX_DT = 0xFFFFFFFF
MAX_TIME_NS = 2**63 - 1  # event times are int64 ns


@dataclass
class MonoStats:
    """Cumulative counters of a :class:`MonoDecoder`."""

    events: int = 0
    partial_bytes: int = 0  # bytes of trailing partial words dropped


class MonoDecoder:
    """Decoder for ``mono`` packets; stateless apart from its counters.

    ``width``/``height`` are accepted for a uniform decoder interface and not used.
    """

    def __init__(self, width: int = 0, height: int = 0) -> None:
        self.width, self.height = int(width), int(height)
        self.stats = MonoStats()

    def reset(self, counters: bool = False) -> None:
        """Nothing to forget between packets; with ``counters`` zero ``stats``."""
        if counters:
            self.stats = MonoStats()

    def decode(self, data, time_base: int = 0) -> DecodedPacket:
        """Decode one packet's bytes (or uint8/uint64 array) with its ``time_base`` (ns).

        The packet starts at ``time_base``; mono has no triggers."""
        if isinstance(data, np.ndarray) and data.dtype == np.uint64:
            words = data.astype("<u8", copy=False)
        else:
            raw = np.frombuffer(data, np.uint8) if not isinstance(data, np.ndarray) else \
                np.ascontiguousarray(data)
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise TypeError(f"mono data must be bytes or a 1-D uint8/uint64 array, got "
                                f"{raw.dtype} with shape {raw.shape}")
            self.stats.partial_bytes += len(raw) % 8
            words = raw[:len(raw) // 8 * 8].view("<u8")
        time_base = int(time_base)
        dt = (words & MAX_DT).astype(np.int64)
        last = time_base + (int(dt.max()) if len(dt) else 0)
        if time_base < 0 or last > MAX_TIME_NS:
            # checked in Python integers: in int64 the sum would wrap to a negative time
            raise EventDecodeError(f"mono time_base {time_base} ns plus dt up to {last - time_base} ns "
                                   f"does not fit an int64 time (0..2^63-1 ns); packet skipped")
        events = np.empty(len(words), EVENT_DTYPE)
        events["t"] = dt + np.int64(time_base)
        events["x"] = (words >> 32) & 0xFFFF
        events["y"] = (words >> 48) & 0x7FFF
        events["p"] = words >> 63
        self.stats.events += len(words)
        return one_packet(events, time_base)


def encode_mono(events: np.ndarray, time_base: int | None = None) -> tuple[bytes, int]:
    """Encode events as one ``mono`` packet; return ``(bytes, time_base)``.

    ``time_base`` (ns) defaults to the first event's time. Raises ``ValueError`` when an event
    is before ``time_base`` or more than 2^32 - 1 ns after it, or y >= 2^15.
    """
    events = as_event_array(events)
    t = np.asarray(events["t"], np.int64)
    if time_base is None:
        time_base = int(t.min()) if len(t) else 0
    dt = t - np.int64(time_base)
    if len(t) and (dt.min() < 0 or dt.max() > MAX_DT):
        raise ValueError(f"mono dt must be 0..{MAX_DT} ns after time_base={time_base}, got "
                         f"{dt.min()}..{dt.max()}: split the events into shorter packets")
    y = np.asarray(events["y"], np.uint64)
    if len(y) and y.max() > 0x7FFF:
        raise ValueError(f"mono y has 15 bits: must be < 32768, got {y.max()}")
    words = (dt.astype(np.uint64) | np.asarray(events["x"], np.uint64) << np.uint64(32)
             | y << np.uint64(48) | (np.asarray(events["p"]) != 0).astype(np.uint64) << np.uint64(63))
    return words.astype("<u8").tobytes(), int(time_base)
