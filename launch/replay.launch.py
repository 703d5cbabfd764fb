"""Play a bag with /clock and track it with the node on simulated time.

    ros2 launch fetrack_ros replay.launch.py bag:=/data/run1 checkpoint:=/path/weights.pth.tar \
        image_topic:=/camera/image_raw events_topic:=/event_camera/events

Arguments: bag (required), rate, player, start_delay, params_file, checkpoint, image_topic,
events_topic, event_frames_topic, rviz. The tracker starts first; the bag starts after
``start_delay`` seconds so that the node is active before the first message.

``player``: ``ros2`` = ``ros2 bag play --clock`` (rosbag2); ``fetrack`` = ``fetrack replay``, this
package's rosbag2 player (also publishing /clock, run by the launch's Python: no rosbag2 needed);
``auto`` (default) = ros2 when rosbag2 (``ros2bag``) is installed, else fetrack.
Works with the launch packages of Humble and later.
"""
import sys

from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription, LogInfo, OpaqueFunction,
                            TimerAction)
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackagePrefix, FindPackageShare

PACKAGE = "fetrack_ros"
FORWARDED = ("params_file", "checkpoint", "image_topic", "events_topic", "event_frames_topic", "rviz")
PLAYERS = ("auto", "ros2", "fetrack")


def _player(context):
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    player, bag, rate = value("player"), value("bag"), value("rate")
    if player == "auto":
        try:
            FindPackagePrefix("ros2bag").perform(context)
            player = "ros2"
        except Exception:  # PackageNotFoundError: no rosbag2 here
            player = "fetrack"
    if player == "ros2":
        cmd = ["ros2", "bag", "play", bag, "--clock", "--rate", rate]
    else:
        # Wait until the tracker subscribes to the bag's image topic: a short bag played before
        # DDS discovery matched would reach no one (seen on a loaded 2-core machine).
        image = value("image_topic")
        cmd = [sys.executable, "-m", "fetrack_ros.cli", "replay", bag, "--rate", rate,
               "--wait-for", image if image.startswith("/") else "/" + image]
    return [LogInfo(msg=f"playing {bag} with the {player} player"), ExecuteProcess(cmd=cmd, output="screen")]


def generate_launch_description():
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare(PACKAGE), "launch", "tracker.launch.py"])),
        launch_arguments={**{name: LaunchConfiguration(name) for name in FORWARDED}, "use_sim_time": "true",
                          "reliable_inputs": "true"}.items())  # nothing lost in DDS; images the node cannot
    # process in time are still skipped and counted, as on a robot (fetrack eval --live replays in lockstep)
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="Bag folder or file to play"),
        DeclareLaunchArgument("rate", default_value="1.0", description="Playback rate"),
        DeclareLaunchArgument("player", default_value="auto", choices=list(PLAYERS),
                              description="ros2 = ros2 bag play --clock; fetrack = fetrack replay (no rosbag2 "
                                          "needed); auto = ros2 when rosbag2 is installed, else fetrack"),
        DeclareLaunchArgument("start_delay", default_value="5.0", description="Seconds before the bag starts"),
        DeclareLaunchArgument("params_file",
                              default_value=PathJoinSubstitution([FindPackageShare(PACKAGE), "config", "tracker.yaml"]),
                              description="Parameter file of the tracker node"),
        DeclareLaunchArgument("checkpoint", default_value="", description="Weights file; empty = the params file's"),
        DeclareLaunchArgument("image_topic", default_value="image", description="RGB image topic in the bag"),
        DeclareLaunchArgument("events_topic", default_value="events", description="Event topic in the bag"),
        DeclareLaunchArgument("event_frames_topic", default_value="event_frames",
                              description="Event-frame topic in the bag (event_input: event_frames)"),
        DeclareLaunchArgument("rviz", default_value="false", description="Start RViz"),
        tracker,
        TimerAction(period=LaunchConfiguration("start_delay"), actions=[OpaqueFunction(function=_player)]),
    ])
