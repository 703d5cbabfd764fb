"""Play a bag with ``ros2 bag play --clock`` and track it with the node on simulated time.

    ros2 launch fetrack_ros replay.launch.py bag:=/data/run1 checkpoint:=/path/weights.pth.tar \
        image_topic:=/camera/image_raw events_topic:=/event_camera/events

Arguments: bag (required), rate, player, params_file, checkpoint, image_topic, events_topic,
event_frames_topic, rviz. The tracker starts first; the bag starts after ``start_delay`` seconds
so that the node is active before the first message (its subscriptions use the params file's QoS).
``player:=fetrack`` plays with ``fetrack replay`` (this package's rosbag2 player, also publishing
/clock) where ``ros2 bag`` (rosbag2) is not installed.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, IncludeLaunchDescription, TimerAction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import EqualsSubstitution, LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

PACKAGE = "fetrack_ros"
FORWARDED = ("params_file", "checkpoint", "image_topic", "events_topic", "event_frames_topic", "rviz")


def generate_launch_description():
    tracker = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([FindPackageShare(PACKAGE), "launch", "tracker.launch.py"])),
        launch_arguments={**{name: LaunchConfiguration(name) for name in FORWARDED}, "use_sim_time": "true",
                          "reliable_inputs": "true"}.items())  # a bag player can wait; drop nothing
    play = ExecuteProcess(cmd=["ros2", "bag", "play", LaunchConfiguration("bag"), "--clock",
                               "--rate", LaunchConfiguration("rate")], output="screen",
                          condition=IfCondition(EqualsSubstitution(LaunchConfiguration("player"), "ros2")))
    play_fetrack = ExecuteProcess(cmd=["fetrack", "replay", LaunchConfiguration("bag"),
                                       "--rate", LaunchConfiguration("rate")], output="screen",
                                  condition=IfCondition(EqualsSubstitution(LaunchConfiguration("player"), "fetrack")))
    return LaunchDescription([
        DeclareLaunchArgument("bag", description="Bag folder or file to play"),
        DeclareLaunchArgument("rate", default_value="1.0", description="Playback rate"),
        DeclareLaunchArgument("player", default_value="ros2", choices=["ros2", "fetrack"],
                              description="ros2 = ros2 bag play --clock; fetrack = fetrack replay"),
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
        TimerAction(period=LaunchConfiguration("start_delay"), actions=[play, play_fetrack]),
    ])
