"""The two ways the package is installed: `pip install .` (ROS-free core) and `colcon build`
in a ROS workspace (what a robot user runs). Both are built for real from the working tree."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if (REPO_ROOT / line).is_file()]


def _copy_sources(dest: Path) -> Path:
    for rel in _tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    return dest


def test_package_xml_declares_what_the_default_configuration_runs():
    """rosdep installs exec_depends: the default event input's messages and the launch packages."""
    import xml.etree.ElementTree as ET

    from fetrack_ros.node.event_input import MESSAGE_TYPES
    from fetrack_ros.node.parameters import SPEC_BY_NAME

    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    run = {e.text for e in root if e.tag in ("exec_depend", "depend")}
    assert MESSAGE_TYPES[SPEC_BY_NAME["event_input"].default][0] in run
    for launch_file in (REPO_ROOT / "launch").glob("*.launch.py"):
        imported = {line.split()[1].split(".")[0] for line in launch_file.read_text().splitlines()
                    if line.startswith("from ")}
        assert imported - {"launch", "launch_ros"} == set() and {"launch", "launch_ros"} <= run, launch_file.name


def test_pip_wheel_has_core_and_command(tmp_path):
    src = _copy_sources(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("fetrack_ros-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("model", "events", "tracking", "evaluation", "messages"):
        assert f"fetrack_ros/{package}/__init__.py" in names, f"{package} missing from the wheel"
    assert "fetrack_ros/training/configs/default_model.yaml" in names
    # rosbags reads our message definitions from share/ when no ROS install provides them.
    assert any(n.endswith("data/share/fetrack_ros/msg/Track.msg") for n in names)
    assert any(n.endswith("data/share/fetrack_ros/resource/default_model.pt") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "fetrack = fetrack_ros.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.skipif(shutil.which("colcon") is None, reason="colcon not on PATH: run through `make test`")
def test_colcon_build_in_a_workspace(tmp_path):
    """A workspace outside the checkout, as on a robot: src/fetrack_ros, build, install."""
    _copy_sources(tmp_path / "ws" / "src" / "fetrack_ros")
    env = dict(os.environ, CMAKE_PREFIX_PATH=sys.prefix, AMENT_PREFIX_PATH=sys.prefix)
    result = subprocess.run(["colcon", "--log-base", "log", "build", "--packages-select", "fetrack_ros",
                             "--event-handlers", "console_cohesion-", "status-"],
                            cwd=tmp_path / "ws", env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    install = tmp_path / "ws" / "install" / "fetrack_ros"
    executable = install / "lib" / "fetrack_ros" / "tracker_node"
    assert executable.is_file() and os.access(executable, os.X_OK)
    for folder in ("launch", "config", "resource"):
        assert (install / "share" / "fetrack_ros" / folder).is_dir()
    site = next(install.glob("lib/python3*/site-packages"))
    # Generated interfaces and our sources merged into one importable package.
    probe = ("import fetrack_ros, fetrack_ros.model, fetrack_ros.tracking; from fetrack_ros.msg import Track; "
             "from fetrack_ros.srv import SetTarget; print(fetrack_ros.__file__)")
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().startswith(str(site))


def _make_sandbox(tmp_path: Path) -> tuple[Path, dict]:
    """The Makefile in a folder whose setup is done but for the interfaces: a .venv with this
    interpreter, and a `colcon` on PATH that records its arguments and installs nothing."""
    root = tmp_path / "checkout"
    for rel in ["Makefile", *[f for f in _tracked_files() if f.startswith(("msg/", "srv/", "cmake/", "launch/",
                                                                            "config/", "resource/", "test/interfaces/"))],
                "CMakeLists.txt", "package.xml"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, root / rel)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (root / ".venv" / "bin" / "activate").write_text("")
    (root / ".stamps").mkdir()
    for stamp in ("venv", "packages"):
        (root / ".stamps" / stamp).touch()
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "colcon").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/colcon.log\n')
    (tools / "colcon").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAKEFLAGS", "MAKELEVEL")}
    env["PATH"] = f"{tools}{os.pathsep}{env['PATH']}"
    return root, env


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_makefile_records_which_copies_it_builds_and_removes_an_old_copy(tmp_path):
    root, env = _make_sandbox(tmp_path)
    (root / ".stamps" / "event-msgs-copy").touch()  # the stamp of a checkout set up before
    log = tmp_path / "colcon.log"
    make = lambda env: subprocess.run(["make", "setup"], cwd=root, env=env, capture_output=True, text=True,  # noqa: E731
                                      timeout=120)
    copies = ["event_camera_msgs", "dvs_msgs", "prophesee_event_msgs", "vision_msgs"]
    assert make(env).returncode == 0
    assert all(f"test/interfaces/{name} " in log.read_text() for name in copies)  # no real packages: copies
    assert sorted(p.name for p in (root / ".stamps").glob("*-*")) == ["interface-copies-" + "+".join(copies)]
    assert make(env).returncode == 0 and len(log.read_text().splitlines()) == 1  # recorded: nothing to do
    # the copy as colcon would have installed it (CMake's manifest lists its files)
    installed = root / ".venv" / "lib" / "python3" / "event_camera_msgs" / "__init__.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("")
    (root / "build" / "event_camera_msgs").mkdir(parents=True)
    (root / "build" / "event_camera_msgs" / "install_manifest.txt").write_text(f"{installed}\n")
    # a shell where a real event_camera_msgs is importable (e.g. /opt/ros sourced)
    real = tmp_path / "opt_ros" / "event_camera_msgs"
    real.mkdir(parents=True)
    (real / "__init__.py").write_text("")
    result = make(dict(env, PYTHONPATH=str(real.parent)))
    assert result.returncode == 0, result.stdout + result.stderr
    runs = log.read_text().splitlines()
    assert len(runs) == 2 and "test/interfaces/event_camera_msgs" not in runs[1]
    assert all(f"test/interfaces/{name} " in runs[1] for name in copies[1:])
    assert not installed.exists() and not (root / "build" / "event_camera_msgs").exists()
    assert sorted(p.name for p in (root / ".stamps").glob("*-*")) == ["interface-copies-" + "+".join(copies[1:])]


def test_environment_file_prepends_to_ament_prefix_path(tmp_path):
    root, env = _make_sandbox(tmp_path)
    assert subprocess.run(["make", ".venv/fetrack-env.sh"], cwd=root, env=env, capture_output=True,
                          timeout=60).returncode == 0
    out = subprocess.run(["bash", "-c", ". .venv/fetrack-env.sh && echo $AMENT_PREFIX_PATH"], cwd=root,
                         env=dict(env, AMENT_PREFIX_PATH="/opt/ros/jazzy"), capture_output=True, text=True,
                         timeout=60).stdout.strip()
    assert out == f"{root}/.venv:/opt/ros/jazzy"
