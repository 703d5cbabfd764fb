"""EventPacket decoding by encoding name (``event_camera_msgs/msg/EventPacket``).

``make_decoder(encoding, width, height)`` gives a decoder with ``decode(data, time_base=0) ->``
:class:`~.evt3.DecodedPacket` (events, triggers, start time), ``reset()`` and ``stats``: our own
for ``evt3`` and ``mono``, event_camera_py's for ``libcaer`` and ``libcaer_cmp`` when that package
is importable. The caller keeps one decoder per ``(encoding, width, height)`` as event_camera_py
does (a packet with another geometry gets its own, unsynchronised state):
:class:`~fetrack_ros.messages.events.EventDecoding` in the package.
"""
from __future__ import annotations

import numpy as np

from .event_types import EVENT_DTYPE
from .evt3 import DecodedPacket, Evt3Decoder, one_packet
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

    def reset(self, counters: bool = False) -> None:
        import event_camera_py
        self._decoder = event_camera_py.Decoder()

    def decode(self, data, time_base: int = 0) -> DecodedPacket:
        """Decode one packet; its start time is its first event's (event_camera_py gives no other)."""
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
        return one_packet(events, int(events["t"][0]) if len(events) else None)


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

