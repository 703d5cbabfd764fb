"""The tracker node (ROS 2; with :mod:`fetrack_ros.tools` and :mod:`fetrack_ros.cli` the only
packages importing rclpy and the generated messages).

:mod:`.tracker_node` (lifecycle node, threads, services, publishing) is built from
:mod:`.parameters` (declarations, validation, params YAML), :mod:`.qos`, :mod:`.event_input` (the
event message classes; their decoding, like the image conversions, is ROS-free in
:mod:`fetrack_ros.messages`; pairing images with their events is :mod:`fetrack_ros.sync`),
:mod:`.diagnostics` and :mod:`.annotate` (debug image); the network comes from
:mod:`fetrack_ros.model.loading`.

The names below are cheap to import (no rclpy, no torch) for the tools that start the node.
"""

#: ``python -m`` module of the node
NODE_MODULE = "fetrack_ros.node.tracker_node"
#: The node prints (and logs to /rosout) a line starting with this once it is active
READY_LINE = "tracker_node active"
