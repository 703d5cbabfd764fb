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


ROS_MODULES = {"rclpy", "rosidl_runtime_py", "std_msgs", "sensor_msgs", "std_srvs", "diagnostic_msgs",
               "event_camera_msgs", "vision_msgs", "launch", "launch_ros"}


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, lazily imported ones included."""
    import ast

    package = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_no_module_outside_ros_imports_ros_even_lazily():
    """Command-line entry points (``*cli.py``) sit above every layer and may start ROS parts
    (``fetrack eval --live``); every other module outside ``ros/`` must not touch ROS."""
    offenders = []
    for path in sorted((REPO_ROOT / "fetrack_ros").rglob("*.py")):
        if "ros" in path.relative_to(REPO_ROOT / "fetrack_ros").parts[:1] or path.name.endswith("cli.py"):
            continue
        for name in _imported_modules(path):
            if name.split(".")[0] in ROS_MODULES or name.startswith(("fetrack_ros.ros", "fetrack_ros.msg",
                                                                     "fetrack_ros.srv")):
                offenders.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    assert not offenders, "ROS imports outside fetrack_ros/ros/:\n" + "\n".join(offenders)
