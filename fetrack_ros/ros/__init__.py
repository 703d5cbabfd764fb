"""ROS 2 interface of fetrack_ros (the only package importing rclpy and the generated messages).

The tracker node: :mod:`.tracker_node` (lifecycle node, threads, services, publishing), built from
:mod:`.parameters` (declarations, validation, params YAML), :mod:`.qos`, :mod:`.conversions`
(Image/CompressedImage <-> numpy, stamps), :mod:`.event_input` (event messages -> events in the
image clock), :mod:`.synchronizer` (images wait for their events), :mod:`.diagnostics`,
:mod:`.annotate` (debug image) and :mod:`.model_loading`.
"""
