"""What the node counts and reports on ``/diagnostics`` (pure Python; thread-safe counters).

- counters by named reason (:data:`REASONS`): every received image ends as one published Track
  or under one ``dropped.*`` reason; ``events.*`` / ``images.*`` name problems that were
  handled (the data was still used, or a packet was skipped);
- rates over a sliding window (images, event packets, events, tracks);
- latency (image stamp -> Track publish, in the image clock) and inference time.
"""
from __future__ import annotations

import threading
import time
from collections import deque

#: Reason keys and what they mean (the diagnostics report shows every key that occurred).
REASONS = {
    "images.received": "RGB images received while active",
    "tracks.published": "Tracks published (one per processed image)",
    "tracks.held_still": "Tracks whose box was kept from the previous image: no events around the target "
                         "(still_event_density)",
    "dropped.inactive": "images received while the lifecycle node was not active",
    "dropped.bad_image": "images that could not be converted to RGB (encoding, size, data)",
    "dropped.queue_overflow": "images dropped because the inference queue was full (queue_policy oldest)",
    "dropped.skipped_for_newer": "waiting images replaced by a newer one (queue_policy newest)",
    "dropped.sync_overflow": "images dropped because too many waited for their events",
    "dropped.tracker_error": "images on which the tracker raised an error",
    "images.incomplete_events": "images processed before the event stream reached their window end (max_wait "
                                "ran out: Track.event_window = EVENT_WINDOW_INCOMPLETE)",
    "images.events_evicted": "images whose window the event buffer had partly evicted before it was cut (the "
                             "node fell behind by more than event_buffer_span / max_buffered_events; incomplete)",
    "images.event_frame_resized": "event data rendered at another size than the RGB image (resized; check "
                                  "that both show the same field of view)",
    "images.empty_event_window": "images whose event window held no events",
    "images.no_event_frame": "images without an event frame within event_frame_tolerance (blank frame used)",
    "images.event_size_mismatch": "event frames whose size/aspect differs from the RGB image (blank frame used)",
    "images.missing": "images that never reached the node, estimated from gaps in the image stamps (lost in "
                      "transport: see the README on QoS and the Fast DDS profile)",
    "images.duplicate_stamp": "images stamped like the previous image",
    "images.out_of_order_stamp": "images stamped before the previous image",
    "images.time_jump_back": "images stamped far before the previous one (bag loop): buffers reset",
    "images.no_clock_offset": "images processed before the event clock offset was known",
    "events.packets": "event messages received",
    "events.decoded": "events decoded",
    "events.malformed_packet": "event packets (or batches of packets decoded together) holding words or "
                               "bytes the decoder could not interpret; their other events were kept",
    "events.unknown_encoding": "event messages with an encoding no decoder handles (skipped)",
    "events.bad_geometry": "event messages with zero width/height (skipped)",
    "events.stream_restarts": "event header stamps jumping back (bag loop): decoders and clock reset",
    "events.buffer_resets": "backward time jumps in the event stream (buffer cleared)",
    "events.evicted_used": "events evicted from the buffer after the windows up to them were cut (normal)",
    "events.evicted_unused": "events evicted from the buffer before any window reached them (event_buffer_span "
                             "or max_buffered_events too small for the image rate: real loss)",
    "events.dropped_by_reset": "buffered events discarded by a backward time jump",
    "events.out_of_sensor": "events outside the sensor size, not rendered",
    "events.out_of_geometry": "events outside their packet's width x height, dropped by the decoder",
    "events.implausible_time": "events whose time lies further from their packet's header stamp than the clock "
                               "allows (damaged time words; dropped)",
    "events.duplicate_packet": "event packets repeating the previous packet's seq and stamp (skipped)",
    "events.lost_packets": "event packets missing from the seq numbering (lost before the node)",
    "events.seq_reset": "seq numbering restarting or jumping (a producer restart)",
    "events.decoder_error": "event packets on which a decoder failed unexpectedly (skipped)",
    "events.bad_message": "serialized event messages that are not a well-formed EventPacket (skipped)",
    "events.intake_backlog": "intake wake-ups that left event messages queued (more than one batch arrived)",
    "targets.set": "targets set (initial_box or ~/set_target)",
    "targets.rejected": "~/set_target requests rejected",
    "tracker.resets": "~/reset calls",
}


class RateMeter:
    """Events per second over the last ``window_s`` seconds (monotonic clock)."""

    def __init__(self, window_s: float = 5.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, amount: float = 1.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, amount))
        self._trim(now)

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._trim(now)
        if len(self._samples) < 2:
            return 0.0
        span = max(now - self._samples[0][0], 1e-9)
        return sum(a for _, a in self._samples) / span

    def _trim(self, now: float) -> None:
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()


class Diagnostics:
    """Counters, rates and latencies of the node; all methods may be called from any thread."""

    def __init__(self, latency_samples: int = 200) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self._rates = {name: RateMeter() for name in ("images", "event_packets", "events", "tracks")}
        self._latency_ms: deque[float] = deque(maxlen=latency_samples)
        self._inference_ms: deque[float] = deque(maxlen=latency_samples)
        self.info: dict[str, str] = {}

    def count(self, reason: str, amount: int = 1) -> None:
        if reason not in REASONS:
            raise KeyError(f"unknown diagnostics reason {reason!r}; add it to REASONS")
        with self._lock:
            self.counts[reason] = self.counts.get(reason, 0) + amount

    def rate(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self._rates[name].add(amount)

    def latency(self, image_to_track_ms: float, inference_ms: float | None) -> None:
        """One Track's latency (image stamp to publish, image clock) and its tracker call (None: none ran)."""
        with self._lock:
            self._latency_ms.append(image_to_track_ms)
            if inference_ms is not None:
                self._inference_ms.append(inference_ms)

    def get(self, reason: str) -> int:
        with self._lock:
            return self.counts.get(reason, 0)

    def snapshot(self) -> dict[str, str]:
        """Every value as strings (the form of diagnostic_msgs/KeyValue), keys sorted within groups."""
        with self._lock:
            values = {f"rate.{name}_per_s": f"{meter.rate():.1f}" for name, meter in self._rates.items()}
            for name, samples in (("latency_ms", self._latency_ms), ("inference_ms", self._inference_ms)):
                if samples:
                    ordered = sorted(samples)
                    values[f"{name}.median"] = f"{ordered[len(ordered) // 2]:.2f}"
                    values[f"{name}.max"] = f"{ordered[-1]:.2f}"
            values.update({key: str(value) for key, value in sorted(self.counts.items())})
            values.update(self.info)
        return values

    def dropped_total(self) -> int:
        with self._lock:
            return sum(v for k, v in self.counts.items() if k.startswith("dropped."))


def to_diagnostic_array(diagnostics: Diagnostics, name: str, hardware_id: str, stamp, message: str,
                        level_name: str = "OK"):
    """A ``diagnostic_msgs/DiagnosticArray`` with one status holding the snapshot."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(level=getattr(DiagnosticStatus, level_name), name=name, message=message,
                              hardware_id=hardware_id)
    status.values = [KeyValue(key=k, value=v) for k, v in diagnostics.snapshot().items()]
    array = DiagnosticArray(status=[status])
    array.header.stamp = stamp
    return array
