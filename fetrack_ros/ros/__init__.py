"""ROS 2 interface of fetrack_ros: the tracker node and its helpers (the only ROS-importing package).

Modules: :mod:`.tracker_node` (the lifecycle node), :mod:`.parameters`, :mod:`.qos`,
:mod:`.conversions`, :mod:`.event_input`, :mod:`.synchronizer`, :mod:`.diagnostics`, :mod:`.annotate`.
"""
