"""The package's architecture: the ROS-free core imports where ROS cannot, only the node, the tools
and the command line touch ROS, every import points down the layers, and no room is too big."""
import subprocess
import sys
from pathlib import Path

import fetrack_ros

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The rooms (sub-packages and top-level modules) from the ground floor up: a module may import
#: its own room and the rooms on lower floors, never a room above it.
LAYERS = [{"fields", "resources", "events"},
          {"messages", "sync", "tracking", "model"},
          {"data"},
          {"simulation"},
          {"evaluation"},
          {"training"},
          {"node"},
          {"tools"},
          {"cli"}]
#: The only rooms that may import ROS (rclpy, message packages) and the node.
ROS_ROOMS = {"node", "tools", "cli"}
#: The largest share of the package's lines one room may hold.
MAX_ROOM_SHARE = 0.15
CORE_PACKAGES = sorted(p.name for p in (REPO_ROOT / "fetrack_ros").iterdir()
                       if (p / "__init__.py").is_file() and p.name not in ROS_ROOMS)

# Makes every ROS import fail, as on a machine without ROS.
BLOCK_ROS = """
import importlib.abc, sys
class _NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'rclpy', 'rosidl_runtime_py', 'std_msgs', 'sensor_msgs',
                                  'event_camera_msgs'} or name.startswith('fetrack_ros.msg') \\
                or name.startswith('fetrack_ros.srv') or name.startswith('fetrack_ros.node.'):
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


def _room(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT / "fetrack_ros").parts
    return parts[0] if len(parts) > 1 else path.stem


def _modules():
    for path in sorted((REPO_ROOT / "fetrack_ros").rglob("*.py")):
        if path != REPO_ROOT / "fetrack_ros" / "__init__.py":
            yield path, _room(path)


def test_every_room_has_a_floor():
    rooms = {room for _, room in _modules()}
    placed = set().union(*LAYERS)
    assert rooms <= placed, f"rooms without a floor in LAYERS: {sorted(rooms - placed)}"
    assert ROS_ROOMS <= placed


def test_only_the_node_tools_and_cli_import_ros_or_the_node_even_lazily():
    offenders = []
    for path, room in _modules():
        if room in ROS_ROOMS:
            continue
        for name in _imported_modules(path):
            if name.split(".")[0] in ROS_MODULES or name.startswith(("fetrack_ros.node", "fetrack_ros.tools",
                                                                     "fetrack_ros.msg", "fetrack_ros.srv")):
                offenders.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    assert not offenders, f"ROS imports outside {sorted(ROS_ROOMS)}:\n" + "\n".join(offenders)


def test_every_import_points_down():
    floor = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}
    upward = []
    for path, room in _modules():
        for name in _imported_modules(path):
            parts = name.split(".")
            if parts[0] != "fetrack_ros" or len(parts) < 2 or parts[1] in ("msg", "srv"):
                continue  # the generated messages: covered by the ROS test above
            target = parts[1]
            if target in floor and target != room and floor[target] > floor[room]:
                upward.append(f"{path.relative_to(REPO_ROOT)} ({room}) imports {name} ({target}, a floor up)")
    assert not upward, "imports that run up:\n" + "\n".join(sorted(set(upward)))


def test_no_room_holds_more_than_its_share_of_the_code():
    lines: dict[str, int] = {}
    for path, room in _modules():
        lines[room] = lines.get(room, 0) + len(path.read_text().splitlines())
    total = sum(lines.values())
    too_big = {room: f"{n / total:.1%}" for room, n in lines.items() if n > MAX_ROOM_SHARE * total}
    assert not too_big, f"rooms over {MAX_ROOM_SHARE:.0%} of {total} lines: {too_big}"
