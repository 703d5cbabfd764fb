"""ROS message layouts as plain data, without a ROS runtime.

Shared by the node (:mod:`fetrack_ros.node`) and the bag readers (:mod:`fetrack_ros.data`),
so a bag evaluated offline sees exactly the pixels and events the live node sees. Everything
here is duck-typed on message fields: rclpy messages and rosbags messages both work.

- :mod:`.stamps`: ``builtin_interfaces/Time`` <-> int64 ns (the only place that arithmetic lives);
- :mod:`.images`: Image / CompressedImage <-> ``H x W x 3`` uint8 RGB;
- :mod:`.events`: EventPacket / legacy EventArray -> events in the image clock.
- :mod:`.track`: ``fetrack_ros/msg/Track`` status and event-window codes, status names <-> codes.
"""
from .events import EVENT_MODES, EventDecoding, EventInputError
from .images import ImageConversionError, check_image_msg, image_to_rgb, rgb_to_image
from .stamps import NS_PER_S, ns_to_sec_nanosec, ns_to_stamp, sec_nanosec_to_ns, stamp_to_ns

__all__ = ["EVENT_MODES", "NS_PER_S", "EventDecoding", "EventInputError", "ImageConversionError", "check_image_msg",
           "image_to_rgb", "ns_to_sec_nanosec", "ns_to_stamp", "rgb_to_image", "sec_nanosec_to_ns", "stamp_to_ns"]
