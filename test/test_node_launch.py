"""Launch files, the params YAML and the RViz layout, checked without launch/launch_ros installed.

The launch files are parsed (ast) and every package, executable, file and parameter they name
is checked against the package: CMake's executables and installed folders, the node's declared
parameters. When ``launch_ros`` is importable (built from source) they are also really loaded.
"""
import ast
import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml

from fetrack_ros.node.parameters import SPECS, TRACKER_PARAM_NAMES, params_yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.py"))
EXTERNAL_EXECUTABLES = {("rviz2", "rviz2")}          # other packages' programs the launch files start
ROS_BUILTIN_PARAMETERS = {"use_sim_time"}


def cmake_text() -> str:
    return (REPO / "CMakeLists.txt").read_text()


def cmake_executables() -> set[str]:
    block = re.search(r"set\(FETRACK_EXECUTABLES(.*?)\)", cmake_text(), re.S).group(1)
    return set(re.findall(r'"(\w+)=', block))


def string_literals(node) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def calls(tree, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == name]


def keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_parses_and_defines_generate_launch_description(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)
    modules = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert modules <= {"launch", "launch_ros"}, f"{path.name} imports {modules}"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_names_existing_executables_files_and_parameters(path):
    tree = ast.parse(path.read_text())
    package_name = next(ast.literal_eval(n.value) for n in tree.body
                        if isinstance(n, ast.Assign) and n.targets[0].id == "PACKAGE")
    assert package_name == "fetrack_ros"
    for call in calls(tree, "Node"):
        package, executable = keyword(call, "package"), keyword(call, "executable")
        assert isinstance(executable, ast.Constant), f"{path.name}: executable must be a literal"
        if isinstance(package, ast.Name) and package.id == "PACKAGE":
            assert executable.value in cmake_executables(), \
                f"{path.name}: executable {executable.value} is not installed by CMakeLists.txt"
        else:
            names = (ast.literal_eval(package), executable.value)
            assert names in EXTERNAL_EXECUTABLES, f"{path.name}: unknown external executable {names}"
    # files under the package share: PathJoinSubstitution([FindPackageShare(PACKAGE), "<dir>", "<file>"])
    for call in calls(tree, "PathJoinSubstitution"):
        parts = [e.value for e in call.args[0].elts if isinstance(e, ast.Constant)]
        folder, name = parts
        assert (REPO / folder / name).is_file(), f"{path.name} names {folder}/{name}, which does not exist"
        assert re.search(rf"install\(DIRECTORY[^)]*\b{folder}\b[^)]*DESTINATION share", cmake_text()), \
            f"CMakeLists.txt does not install {folder}/ into the share folder"
    # parameters handed to our node exist
    declared = {spec.name for spec in SPECS} | ROS_BUILTIN_PARAMETERS
    keys = re.findall(r'overrides\["(\w+)"\]', path.read_text())
    keys += [v for n in tree.body if isinstance(n, ast.Assign)
             and n.targets[0].id in ("RELIABLE_INPUT_PARAMETERS", "RELIABLE_INPUT_OVERRIDES")
             for v in ast.literal_eval(n.value)]
    for key in keys:
        assert key in declared, f"{path.name} sets undeclared parameter {key}"


#: What the launch files may import: names that Humble's launch / launch_ros have too
#: (e.g. not launch.substitutions.EqualsSubstitution, added after Humble).
HUMBLE_LAUNCH_NAMES = {
    "launch": {"LaunchDescription"},
    "launch.actions": {"DeclareLaunchArgument", "ExecuteProcess", "GroupAction", "IncludeLaunchDescription",
                       "LogInfo", "OpaqueFunction", "SetEnvironmentVariable", "TimerAction"},
    "launch.conditions": {"IfCondition", "UnlessCondition"},
    "launch.launch_description_sources": {"PythonLaunchDescriptionSource"},
    "launch.substitutions": {"LaunchConfiguration", "PathJoinSubstitution", "PythonExpression", "TextSubstitution"},
    "launch_ros.actions": {"Node", "PushRosNamespace"},
    "launch_ros.substitutions": {"FindPackagePrefix", "FindPackageShare"},
}


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_files_use_only_what_humble_has(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            assert names <= HUMBLE_LAUNCH_NAMES.get(node.module, set()), \
                f"{path.name}: {node.module} {sorted(names - HUMBLE_LAUNCH_NAMES.get(node.module, set()))}"
    assert "emulate_tty=True" not in path.read_text(), "colour codes would go into redirected output"


def launch_function(path: Path, name: str):
    """A plain function of a launch file, without importing launch (not installed here)."""
    tree = ast.parse(path.read_text())
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    scope = {}
    exec(compile(ast.Module(body=[function], type_ignores=[]), str(path), "exec"), scope)
    return scope[name]


@pytest.mark.parametrize("namespace, prefix", [("", "/tracker_node"), ("robot1", "/robot1/tracker_node"),
                                               ("/a/b/", "/a/b/tracker_node")])
def test_rviz_layout_follows_the_namespace(namespace, prefix):
    rewrite = launch_function(REPO / "launch" / "tracker.launch.py", "namespaced_rviz_config")
    layout = yaml.safe_load(rewrite((REPO / "config" / "fetrack.rviz").read_text(), namespace))
    topics = {d["Topic"]["Value"] for d in layout["Visualization Manager"]["Displays"]
              if d["Class"] == "rviz_default_plugins/Image"}
    assert topics == {f"{prefix}/debug_image", f"{prefix}/event_frame"}


def test_replay_launch_defaults_to_a_player_that_needs_no_rosbag2():
    text = (REPO / "launch" / "replay.launch.py").read_text()
    tree = ast.parse(text)
    player = next(c for c in calls(tree, "DeclareLaunchArgument") if ast.literal_eval(c.args[0]) == "player")
    assert ast.literal_eval(keyword(player, "default_value")) == "auto"
    # fetrack replay runs as `<python> -m fetrack_ros.cli replay`: no console script needed on a robot
    assert {"-m", "fetrack_ros.cli", "replay"} <= set(string_literals(tree))
    # ... and waits for the tracker's image subscription: a bag played before discovery reaches no one
    assert "--wait-for" in string_literals(tree)


def test_rviz_is_optional_in_the_launch_file():
    """rviz:=true checks for rviz2 first (a missing package must not abort the tracker's launch)."""
    tree = ast.parse((REPO / "launch" / "tracker.launch.py").read_text())
    rviz = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_rviz")
    assert any(isinstance(n, ast.Try) for n in ast.walk(rviz)) and "rviz2" in string_literals(rviz)
    assert "LogInfo" in {getattr(c.func, "id", None) for c in ast.walk(rviz) if isinstance(c, ast.Call)}


def test_install_space_holds_the_launch_and_config_files():
    # the install space ROS itself would use: the first prefix on AMENT_PREFIX_PATH that has the package
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    share = next((p / "share" / "fetrack_ros" for p in prefixes
                  if (p / "share" / "fetrack_ros" / "package.xml").is_file()), None)
    if share is None:
        pytest.skip(f"no fetrack_ros install space on AMENT_PREFIX_PATH {prefixes} (run make setup)")
    sources = [*LAUNCH_FILES, REPO / "config" / "tracker.yaml", REPO / "config" / "fetrack.rviz"]
    # `make test` runs `make setup` first, which reinstalls whenever launch/ or config/ change.
    for source in sources:
        installed = share / source.parent.name / source.name
        assert installed.is_file() and installed.read_bytes() == source.read_bytes(), \
            f"{installed} is missing or differs from {source}: rebuild the install space (make setup)"
    assert (share.parents[1] / "lib" / "fetrack_ros" / "tracker_node").is_file()


def test_replay_launch_forwards_only_arguments_tracker_launch_declares():
    tracker = (REPO / "launch" / "tracker.launch.py").read_text()
    replay = ast.parse((REPO / "launch" / "replay.launch.py").read_text())
    forwarded = next(n for n in replay.body if isinstance(n, ast.Assign) and n.targets[0].id == "FORWARDED")
    for name in ast.literal_eval(forwarded.value) + ("use_sim_time", "reliable_inputs"):
        assert f'"{name}":' in tracker, f"tracker.launch.py does not declare {name}"
    assert {"ros2", "bag", "play", "--clock"} <= set(string_literals(replay))


def test_params_yaml_lists_every_parameter_with_its_default():
    assert (REPO / "config" / "tracker.yaml").read_text() == params_yaml(), \
        "config/tracker.yaml is out of date: regenerate it with fetrack_ros.node.parameters.params_yaml()"
    data = yaml.safe_load(params_yaml())["/**"]["ros__parameters"]

    def flat(d, prefix=""):
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]

    values = dict(flat(data))
    # tracker settings are there commented out (a value in a params file would replace a
    # checkpoint's recommended settings); uncommented, they are the defaults too
    assert not set(values) & set(TRACKER_PARAM_NAMES)
    for name in TRACKER_PARAM_NAMES:
        lines = re.findall(rf"^ *# {name}: (.*)$", params_yaml(), flags=re.M)
        assert len(lines) == 1, name
        values[name] = yaml.safe_load(lines[0])
    assert values == {spec.name: spec.default for spec in SPECS}
    for spec in SPECS:  # YAML must keep the ROS type (a double written as 1 would be rejected)
        assert type(values[spec.name]) is type(spec.default), spec.name


def test_rviz_layout_shows_the_debug_image_and_the_event_frame():
    layout = yaml.safe_load((REPO / "config" / "fetrack.rviz").read_text())
    topics = {d["Topic"]["Value"] for d in layout["Visualization Manager"]["Displays"]
              if d["Class"] == "rviz_default_plugins/Image"}
    assert topics == {"/tracker_node/debug_image", "/tracker_node/event_frame"}


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch_ros not installed (it is not on the registries; see docs/design.md)")
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_loads_with_launch_ros(path):
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate_launch_description().entities
