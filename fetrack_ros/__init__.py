"""fetrack_ros: Mamba-FETrack V2 RGB + event tracking for ROS 2.

After ``colcon build`` the package is installed merged with the interface package that
rosidl generates (``fetrack_ros.msg`` / ``fetrack_ros.srv``), whose own ``__init__.py``
replaces this file. When the source tree is imported directly (tests, development), the
generated ``msg``/``srv`` subpackages live in the installed copy: extending ``__path__``
over every ``fetrack_ros`` folder on ``sys.path`` finds them, while our sources, first on
the path, take precedence.
"""
from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
