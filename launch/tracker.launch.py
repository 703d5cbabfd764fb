"""Run the fetrack_ros tracker node (and RViz on request).

    ros2 launch fetrack_ros tracker.launch.py checkpoint:=/path/weights.pth.tar \
        image_topic:=/camera/color/image_raw events_topic:=/event_camera/events rviz:=true

Arguments: params_file (default: the package's config/tracker.yaml), checkpoint (overrides the
file's when given), namespace, image_topic, events_topic, event_frames_topic, use_sim_time,
reliable_inputs, rviz. Works with the launch packages of Humble and later.

rviz:=true without rviz2 installed logs a warning and runs the tracker alone. Under a namespace,
RViz gets a copy of config/fetrack.rviz whose topics are moved into that namespace.
"""
import os
import sys
import tempfile

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackagePrefix, FindPackageShare

PACKAGE = "fetrack_ros"
#: Node parameters set to "reliable" by reliable_inputs:=true.
RELIABLE_INPUT_PARAMETERS = ("qos.image.reliability", "qos.events.reliability", "qos.event_frames.reliability")
#: ... the history depths that make reliable lossless (a reader's KeepLast history overwrites
#: samples the node has not taken yet, reliable or not: a replay faster than real time), and a
#: max_wait long enough that a busy CPU delaying the event stream does not cut an image's window
#: short (reliable events do come; a replay trades that latency for complete windows).
RELIABLE_INPUT_OVERRIDES = {"qos.image.depth": 100, "qos.event_frames.depth": 100, "max_wait": 1.0}

ARGUMENTS = {
    "params_file": (PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "tracker.yaml"]),
                    "Parameter file of the tracker node"),
    "checkpoint": ("", "Weights file; empty = the params file's value"),
    "namespace": ("", "Namespace of the tracker node"),
    "image_topic": ("image", "RGB image topic (sensor_msgs/Image)"),
    "events_topic": ("events", "Event topic (event_camera_msgs/EventPacket or legacy EventArray)"),
    "event_frames_topic": ("event_frames", "Pre-rendered event frames (event_input: event_frames)"),
    "use_sim_time": ("false", "Use /clock (bag replay)"),
    "reliable_inputs": ("false", "Subscribe reliably (lossless bag replay); false = the params file's QoS "
                                 "(best effort: connects to every driver)"),
    "rviz": ("false", "Start RViz with config/fetrack.rviz (skipped with a warning when rviz2 is absent)"),
}


def _flag(text: str) -> bool:
    return text.lower() in ("true", "1", "yes")


def namespaced_rviz_config(text: str, namespace: str) -> str:
    """The RViz layout with its ``/tracker_node/...`` topics moved into ``namespace``."""
    namespace = "/".join(part for part in namespace.split("/") if part)
    if not namespace:
        return text
    return text.replace("Value: /tracker_node/", f"Value: /{namespace}/tracker_node/")


def _tracker_node(context):
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    overrides = {"use_sim_time": _flag(value("use_sim_time"))}
    if _flag(value("reliable_inputs")):
        overrides.update({name: "reliable" for name in RELIABLE_INPUT_PARAMETERS})
        overrides.update(RELIABLE_INPUT_OVERRIDES)
    if value("checkpoint"):
        overrides["checkpoint"] = value("checkpoint")
    return [Node(
        package=PACKAGE, executable="tracker_node", name="tracker_node", namespace=value("namespace"),
        parameters=[value("params_file"), overrides],
        remappings=[("image", value("image_topic")), ("image/compressed", value("image_topic") + "/compressed"),
                    ("events", value("events_topic")), ("event_frames", value("event_frames_topic"))],
        # colours only on a terminal: redirected output (files, CI logs) gets no escape codes
        output="screen", emulate_tty=sys.stdout.isatty())]


def _rviz(context):
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    if not _flag(value("rviz")):
        return []
    try:
        FindPackagePrefix("rviz2").perform(context)
    except Exception:  # PackageNotFoundError: not installed (e.g. a headless robot)
        return [LogInfo(msg="WARNING: rviz:=true but rviz2 is not installed; running the tracker without RViz")]
    config = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "fetrack.rviz"]).perform(context)
    if value("namespace").strip("/"):
        with open(config) as source:
            text = namespaced_rviz_config(source.read(), value("namespace"))
        # one file per namespace, rewritten by each launch (not a new temporary file every time)
        config = os.path.join(tempfile.gettempdir(), f"fetrack_{value('namespace').strip('/').replace('/', '_')}.rviz")
        with open(config, "w") as copy:
            copy.write(text)
    return [Node(package="rviz2", executable="rviz2", name="fetrack_rviz", namespace=value("namespace"),
                 arguments=["-d", config], parameters=[{"use_sim_time": _flag(value("use_sim_time"))}])]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, (default, description) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_tracker_node), OpaqueFunction(function=_rviz)])
