"""Event pipeline (numpy only): decoding, buffering and time windows, event-frame rendering."""
from .event_types import EVENT_DTYPE, TRIGGER_DTYPE, EventDecodeError, empty_events, make_events
from .render import RenderStats, render_ahu, render_counts

__all__ = [
    "EVENT_DTYPE", "TRIGGER_DTYPE", "EventDecodeError", "empty_events", "make_events",
    "RenderStats", "render_ahu", "render_counts",
]
