"""Event pipeline (numpy only): decoding, buffering and time windows, event-frame rendering.

Events are structured arrays ``x u2, y u2, t i8 (ns), p u1`` (:data:`EVENT_DTYPE`).
"""
from .aedat4 import aedat4_event_resolution, iter_aedat4_events, read_aedat4_events, read_aedat4_frame_times
from .buffer import BufferStats, EventBuffer
from .clock import ClockOffsetEstimator
from .event_types import EVENT_DTYPE, TRIGGER_DTYPE, EventDecodeError, empty_events, make_events
from .evt3 import DecodedPacket, Evt3Decoder, Evt3Stats
from .evt3_encoder import encode_evt3, packetize
from .legacy import decode_legacy_arrays
from .mono import MonoDecoder, encode_mono
from .packets import make_decoder
from .render import RenderStats, render_ahu, render_counts
from .windows import WINDOW_POLICIES, WINDOW_SETTINGS, WindowPolicy, WindowSetting, window_policy_from_settings

__all__ = [
    "EVENT_DTYPE", "TRIGGER_DTYPE", "EventDecodeError", "empty_events", "make_events",
    "Evt3Decoder", "Evt3Stats", "encode_evt3", "packetize", "MonoDecoder", "encode_mono",
    "decode_legacy_arrays", "aedat4_event_resolution", "iter_aedat4_events", "read_aedat4_events",
    "read_aedat4_frame_times",
    "DecodedPacket", "make_decoder",
    "RenderStats", "render_ahu", "render_counts",
    "BufferStats", "EventBuffer", "WINDOW_POLICIES", "WindowPolicy", "ClockOffsetEstimator",
    "WINDOW_SETTINGS", "WindowSetting", "window_policy_from_settings",
]
