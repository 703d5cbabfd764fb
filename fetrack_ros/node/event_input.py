"""The ROS message classes of the event inputs, imported only when their mode is selected.

A missing package gives :class:`MissingPackageError` naming it. Decoding the messages is ROS-free
and shared with the bag readers: :class:`fetrack_ros.messages.EventDecoding`.
"""
from __future__ import annotations

import importlib

from ..messages import EVENT_MODES

#: event_input parameter value -> (package, module, message name)
MESSAGE_TYPES = {
    "event_packet": ("event_camera_msgs", "event_camera_msgs.msg", "EventPacket"),
    "dvs_event_array": ("dvs_msgs", "dvs_msgs.msg", "EventArray"),
    "prophesee_event_array": ("prophesee_event_msgs", "prophesee_event_msgs.msg", "EventArray"),
}


class MissingPackageError(RuntimeError):
    """The message package of the selected event input is not installed."""


def message_type(mode: str):
    """The ROS message class of event input ``mode``; raises MissingPackageError naming the package."""
    package, module, name = MESSAGE_TYPES[mode]
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        raise MissingPackageError(
            f"event_input '{mode}' needs the ROS package {package} ({package}/msg/{name}), which is not "
            f"installed; install it or choose another event_input") from None


assert tuple(MESSAGE_TYPES) == EVENT_MODES, "every event mode needs its message type"
