"""fetrack_ros: Mamba-FETrack V2 RGB + event tracking for ROS 2.

On a ROS install this file is replaced by the ``__init__.py`` that rosidl
generates for the interface package (``fetrack_ros.msg`` / ``fetrack_ros.srv``);
our subpackages are merged beside it. Keep it free of imports and logic.
"""
