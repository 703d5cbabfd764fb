"""Run the fetrack_ros tracker node (and RViz on request).

    ros2 launch fetrack_ros tracker.launch.py checkpoint:=/path/weights.pth.tar \
        image_topic:=/camera/color/image_raw events_topic:=/event_camera/events rviz:=true

Arguments: params_file (default: the package's config/tracker.yaml), checkpoint (overrides the
file's when given), namespace, image_topic, events_topic, event_frames_topic, use_sim_time,
reliable_inputs, rviz.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "fetrack_ros"
#: Node parameters set to "reliable" by reliable_inputs:=true.
RELIABLE_INPUT_PARAMETERS = ("qos.image.reliability", "qos.events.reliability", "qos.event_frames.reliability")

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
    "rviz": ("false", "Start RViz with config/fetrack.rviz"),
}


def _tracker_node(context):
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    flag = lambda name: value(name).lower() in ("true", "1", "yes")  # noqa: E731
    overrides = {"use_sim_time": flag("use_sim_time")}
    if flag("reliable_inputs"):
        overrides.update({name: "reliable" for name in RELIABLE_INPUT_PARAMETERS})
    if value("checkpoint"):
        overrides["checkpoint"] = value("checkpoint")
    return [Node(
        package=PACKAGE, executable="tracker_node", name="tracker_node", namespace=value("namespace"),
        parameters=[value("params_file"), overrides],
        remappings=[("image", value("image_topic")), ("image/compressed", value("image_topic") + "/compressed"),
                    ("events", value("events_topic")), ("event_frames", value("event_frames_topic"))],
        output="screen", emulate_tty=True)]


def generate_launch_description():
    rviz = Node(package="rviz2", executable="rviz2", name="fetrack_rviz",
                arguments=["-d", PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "fetrack.rviz"])],
                parameters=[{"use_sim_time": LaunchConfiguration("use_sim_time")}],
                condition=IfCondition(LaunchConfiguration("rviz")))
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, (default, description) in ARGUMENTS.items()]
        + [OpaqueFunction(function=_tracker_node), rviz])
