"""The ROS-free core imports where ROS cannot: nothing below fetrack_ros/ros imports rclpy."""
import subprocess
import sys
from pathlib import Path

import fetrack_ros

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE_PACKAGES = sorted(p.name for p in (REPO_ROOT / "fetrack_ros").iterdir()
                       if (p / "__init__.py").is_file() and p.name != "ros")

# Makes every ROS import fail, as on a machine without ROS.
BLOCK_ROS = """
import importlib.abc, sys
class _NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'rclpy', 'rosidl_runtime_py', 'std_msgs', 'sensor_msgs',
                                  'event_camera_msgs'} or name.startswith('fetrack_ros.msg') \\
                or name.startswith('fetrack_ros.srv') or name.startswith('fetrack_ros.ros'):
            raise ImportError(f'{name} blocked: simulating a machine without ROS')
sys.meta_path.insert(0, _NoRos())
"""


def test_core_packages_found():
    assert CORE_PACKAGES, "no core subpackages found under fetrack_ros/"
    assert fetrack_ros.__path__[0] == str(REPO_ROOT / "fetrack_ros"), "tests must run on the source tree"


def test_core_imports_without_ros():
    imports = "\n".join(f"import fetrack_ros.{name}" for name in CORE_PACKAGES + ["cli"])
    check = "\nassert not any(m.split('.')[0] == 'rclpy' for m in sys.modules)\nprint('CORE OK')"
    result = subprocess.run([sys.executable, "-c", BLOCK_ROS + imports + check], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "CORE OK" in result.stdout, result.stderr[-3000:]


def test_blocker_really_blocks_ros():
    result = subprocess.run([sys.executable, "-c", BLOCK_ROS + "import rclpy"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "simulating a machine without ROS" in result.stderr
