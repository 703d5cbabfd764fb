"""Mapping the event sensor's clock to ROS time from packet header stamps (docs/design.md §6).

EVT3 times count microseconds since the camera started; images are stamped in ROS time.
A driver stamps each packet with the host time at the packet's start, which is later than the
sensor time at that start by a variable, non-negative latency. The smallest observed
``header_stamp - sensor_time_at_packet_start`` is therefore the best estimate of the clock
offset (use the decoded packet's ``start_time_ns``, not its first event: a packet that
begins in a gap has its first event much later than its start). The estimate follows lower
observations at once and rises toward higher ones by at most ``max_drift_ppm`` of the sensor
time elapsed, so that it can follow a drift between the two clocks but not the latency jitter.
"""
from __future__ import annotations


class ClockOffsetEstimator:
    """Running estimate of ``offset_ns`` with ``ros_time = sensor_time + offset_ns``.

    Parameters:
        fixed_offset_ns: when set, :attr:`offset_ns` is always this value (updates only count).
        max_drift_ppm: how fast (parts per million of elapsed sensor time) the estimate may rise.
        reset_jump_ns: an observation that differs from the estimate by more than this, or a
            sensor time going backwards by more than this (a camera or bag restart),
            re-initialises the estimate; counted in :attr:`resets`.
    """

    def __init__(self, fixed_offset_ns: int | None = None, max_drift_ppm: float = 100.0,
                 reset_jump_ns: int = 1_000_000_000) -> None:
        if max_drift_ppm < 0:
            raise ValueError(f"max_drift_ppm must be >= 0, got {max_drift_ppm}")
        if reset_jump_ns <= 0:
            raise ValueError(f"reset_jump_ns must be > 0 ns, got {reset_jump_ns}")
        self.fixed_offset_ns = fixed_offset_ns
        self.max_drift_ppm = float(max_drift_ppm)
        self.reset_jump_ns = int(reset_jump_ns)
        self._estimate: int | None = None  # int: ns stamps (~1.7e18) exceed float precision
        self._last_sensor_ns = 0
        self.updates = 0
        self.resets = 0

    @property
    def offset_ns(self) -> int | None:
        """Current offset (ns), or None before the first update without a fixed offset."""
        if self.fixed_offset_ns is not None:
            return int(self.fixed_offset_ns)
        return self._estimate

    def reset(self) -> None:
        """Forget the estimate (keeps the counters and any fixed offset)."""
        self._estimate = None

    def update(self, header_stamp_ns: int, sensor_time_ns: int) -> int | None:
        """Take a packet's header stamp and the sensor time at its start; return the offset."""
        self.updates += 1
        sensor_time_ns = int(sensor_time_ns)
        observed = int(header_stamp_ns) - sensor_time_ns
        elapsed = sensor_time_ns - self._last_sensor_ns
        if self._estimate is not None and (abs(observed - self._estimate) > self.reset_jump_ns
                                           or elapsed < -self.reset_jump_ns):
            self.resets += 1
            self._estimate = None
        if self._estimate is None or observed < self._estimate:
            self._estimate = observed
        else:
            rise = round(self.max_drift_ppm * 1e-6 * max(elapsed, 0))
            self._estimate += min(rise, observed - self._estimate)
        self._last_sensor_ns = sensor_time_ns
        return self.offset_ns

    def to_ros_time(self, sensor_time_ns):
        """Sensor time (ns, scalar or array) to ROS time; raises if no offset is known yet."""
        offset = self.offset_ns
        if offset is None:
            raise RuntimeError("ClockOffsetEstimator has no offset yet: call update() with a packet "
                               "first or set fixed_offset_ns")
        return sensor_time_ns + offset
