"""``fetrack_ros/msg/Track`` codes without a ROS runtime: status and event-window constants.

The numbers are those of ``msg/Track.msg`` (``test/test_messages_track.py`` parses the file and
compares, and with the generated ``fetrack_ros.msg.Track`` where it is built). Status names are
the values of :class:`fetrack_ros.tracking.TrackStatus` (``tracking``, ``low_confidence``,
``lost``) plus ``uninitialized`` for a Track published before any target is set.
"""
from __future__ import annotations

STATUS_UNINITIALIZED = 0
STATUS_TRACKING = 1
STATUS_LOW_CONFIDENCE = 2
STATUS_LOST = 3

EVENT_WINDOW_COMPLETE = 0
EVENT_WINDOW_INCOMPLETE = 1

#: status name (a ``TrackStatus`` value, or ``uninitialized``) -> Track status code
STATUS_CODES = {"uninitialized": STATUS_UNINITIALIZED, "tracking": STATUS_TRACKING,
                "low_confidence": STATUS_LOW_CONFIDENCE, "lost": STATUS_LOST}
#: Track status code -> status name
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}


def status_code(status) -> int:
    """The Track status code of a ``TrackStatus`` (or its string value); ``KeyError`` names the known ones."""
    name = getattr(status, "value", status)
    try:
        return STATUS_CODES[name]
    except KeyError:
        raise KeyError(f"unknown track status {name!r}; expected one of {sorted(STATUS_CODES)}") from None


def status_name(code: int) -> str:
    """The status name of a Track status code; ``KeyError`` for a code Track.msg does not define."""
    try:
        return STATUS_NAMES[int(code)]
    except KeyError:
        raise KeyError(f"unknown Track status code {code}; expected one of {sorted(STATUS_NAMES)}") from None
