"""Offline evaluation without a ROS runtime: benchmark metrics, sequence sources
(dataset folders, rosbag2 bags via ``rosbags``), reports and plots."""
