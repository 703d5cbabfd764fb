"""ROS 2 interface of fetrack_ros (the only package importing rclpy and the generated messages).

The tracker node: :mod:`.tracker_node` (lifecycle node, threads, services, publishing), built from
:mod:`.parameters` (declarations, validation, params YAML), :mod:`.qos`, :mod:`.event_input` (the
event message classes; their decoding, like the image conversions, is ROS-free in
:mod:`fetrack_ros.messages`; pairing images with their events is :mod:`fetrack_ros.sync`), :mod:`.diagnostics`,
:mod:`.annotate` (debug image); the network comes from :mod:`fetrack_ros.model.loading`.
"""
