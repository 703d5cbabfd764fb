"""Tracking without ROS: crops, normalization, the tracking step, re-detection, template update."""
from .params import TrackerParams
from .tracker import Tracker, TrackResult, TrackStatus, template_update_due

__all__ = ["Tracker", "TrackerParams", "TrackResult", "TrackStatus", "template_update_due"]
