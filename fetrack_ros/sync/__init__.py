"""Pairing RGB images with their event data (pure logic, no ROS): the node and the bag reader share it.

- :mod:`.assembler`: :class:`FrameAssembler`, images + event messages in, frames with their
  window's events out, with the completeness rule and the accounting;
- :mod:`.pending`: the waiting images, and the matcher for pre-rendered event frames.
"""
from .assembler import BACKLOG_WAIT_FACTOR, TIME_JUMP_BACK_NS, AssembledFrame, FrameAssembler
from .pending import EventFrameMatcher, PendingImages, ReleasedImage

__all__ = ["BACKLOG_WAIT_FACTOR", "TIME_JUMP_BACK_NS", "AssembledFrame", "EventFrameMatcher", "FrameAssembler",
           "PendingImages", "ReleasedImage"]
