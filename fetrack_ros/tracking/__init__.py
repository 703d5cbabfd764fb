"""Tracking without ROS: crops, normalization, the tracking step, re-detection, template update."""
from .params import TrackerParams
from .tracker import SearchStep, Tracker, TrackResult, TrackStatus, template_update_due

__all__ = ["SearchStep", "Tracker", "TrackerParams", "TrackResult", "TrackStatus", "template_update_due"]
