"""EventPacket decoding by encoding name (``event_camera_msgs/msg/EventPacket``).

``make_decoder(encoding, width, height)`` gives a decoder with ``decode(data, time_base=0) ->
events``, ``reset()``, ``stats`` and ``packet_start_time_ns``: our own for ``evt3`` and ``mono``,
event_camera_py's for ``libcaer`` and ``libcaer_cmp`` when that package is importable.
:class:`EventPacketDecoder` keeps one decoder per ``(encoding, width, height)`` as
event_camera_py does (a packet with another geometry gets its own, unsynchronised state).
"""
from __future__ import annotations

import numpy as np

from .event_types import EVENT_DTYPE, TRIGGER_DTYPE
from .evt3 import Evt3Decoder
from .mono import MonoDecoder

OWN_ENCODINGS = ("evt3", "mono")
EXTERNAL_ENCODINGS = ("libcaer", "libcaer_cmp")


class ExternalDecoder:
    """event_camera_py's decoder for encodings we do not decode ourselves (libcaer, libcaer_cmp)."""

    def __init__(self, encoding: str, width: int, height: int) -> None:
        try:
            import event_camera_py
        except ImportError as exc:
            raise ImportError(f"EventPacket encoding {encoding!r} is decoded by the "
                              f"'event_camera_py' package (ros-event-camera/event_camera_py, "
                              f"built with ROS 2), which is not importable here; fetrack_ros "
                              f"decodes {OWN_ENCODINGS} itself") from exc
        self.encoding, self.width, self.height = encoding, int(width), int(height)
        self._decoder = event_camera_py.Decoder()
        self.stats = None
        self.triggers = np.zeros(0, TRIGGER_DTYPE)
        self.packet_start_time_ns: int | None = None

    def reset(self, counters: bool = False) -> None:
        import event_camera_py
        self._decoder = event_camera_py.Decoder()

    def decode(self, data, time_base: int = 0) -> np.ndarray:
        self._decoder.decode_bytes(self.encoding, self.width, self.height, int(time_base),
                                   bytes(data))
        cd = self._decoder.get_cd_events()
        # event_camera_py reports int32 microseconds relative to get_start_time() (us since
        # the epoch for libcaer): back to absolute int64 ns. The int32 wraps ~35.8 min after
        # the first event, a limit of that package.
        start = self._decoder.get_start_time() or 0
        events = np.empty(len(cd), EVENT_DTYPE)
        events["x"], events["y"], events["p"] = cd["x"], cd["y"], cd["p"] != 0
        events["t"] = (cd["t"].astype(np.int64) + int(start)) * 1000
        self.packet_start_time_ns = int(events["t"][0]) if len(events) else None
        return events


def make_decoder(encoding: str, width: int, height: int):
    """A decoder for one EventPacket ``encoding`` and sensor geometry.

    Raises ``ValueError`` for an unknown encoding and ``ImportError`` naming event_camera_py
    for libcaer encodings where it is absent.
    """
    if encoding == "evt3":
        return Evt3Decoder(width, height)
    if encoding == "mono":
        return MonoDecoder(width, height)
    if encoding in EXTERNAL_ENCODINGS:
        return ExternalDecoder(encoding, width, height)
    raise ValueError(f"EventPacket encoding {encoding!r} is unknown; expected one of "
                     f"{OWN_ENCODINGS + EXTERNAL_ENCODINGS}")


class EventPacketDecoder:
    """Decodes a stream of EventPackets, one decoder per ``(encoding, width, height)``."""

    def __init__(self) -> None:
        self._decoders: dict[tuple[str, int, int], object] = {}
        self.triggers = np.zeros(0, TRIGGER_DTYPE)
        self.packet_start_time_ns: int | None = None

    def decoder(self, encoding: str, width: int, height: int):
        """The decoder kept for this key (made on first use)."""
        key = (str(encoding), int(width), int(height))
        if key not in self._decoders:
            self._decoders[key] = make_decoder(*key)
        return self._decoders[key]

    def decode(self, encoding: str, width: int, height: int, time_base: int, data) -> np.ndarray:
        """Decode one packet's payload; its triggers go to :attr:`triggers`."""
        decoder = self.decoder(encoding, width, height)
        events = decoder.decode(data, time_base)
        self.triggers = getattr(decoder, "triggers", np.zeros(0, TRIGGER_DTYPE))
        self.packet_start_time_ns = decoder.packet_start_time_ns
        return events

    def reset(self) -> None:
        """Forget every decoder's state (e.g. after a bag restarts)."""
        self._decoders.clear()
