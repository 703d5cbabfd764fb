"""ROS 2 message types for ``rosbags`` (pure Python; no ROS installation needed).

:func:`get_typestore` returns a ``rosbags`` typestore with the standard ROS 2 types plus this
package's messages (read at run time from the package's ``msg/*.msg`` files, so the definition
has one source) and ``event_camera_msgs/msg/EventPacket`` (an external package that is not on
any registry; its definition is fixed below).
"""
from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore as _rosbags_typestore
from rosbags.typesys.store import Typestore

from ..resources import PACKAGE, find_shared

TRACK = "fetrack_ros/msg/Track"
EVENT_PACKET = "event_camera_msgs/msg/EventPacket"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"

# event_camera_msgs 1.3.x, msg/EventPacket.msg (field list as published by that package).
EVENT_PACKET_MSG = """\
std_msgs/Header header
uint32 height
uint32 width
uint64 seq
uint64 time_base
string encoding
bool is_bigendian
uint8[] events
"""


def find_msg_dir() -> Path:
    """The folder holding this package's ``Track.msg``; raises FileNotFoundError listing where it looked."""
    return find_shared("msg/Track.msg").parent


@functools.lru_cache(maxsize=None)
def get_typestore(store: Stores = Stores.ROS2_JAZZY) -> Typestore:
    """A typestore for ``store`` (default ROS 2 Jazzy) with ``fetrack_ros/msg/*`` and EventPacket.

    Cached: every caller shares one typestore per distribution (do not register into it).
    """
    typestore = _rosbags_typestore(store)
    types = {}
    for path in sorted(find_msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    types.update(get_types_from_msg(EVENT_PACKET_MSG, EVENT_PACKET))
    typestore.register(types)
    return typestore
