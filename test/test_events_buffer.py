"""EventBuffer bounds and windows, window policies, and the sensor-to-ROS clock offset."""
import numpy as np
import pytest

from fetrack_ros.events import (EVENT_DTYPE, ClockOffsetEstimator, EventBuffer, Evt3Decoder,
                                WindowPolicy, make_events)


def packets_of(events, sizes):
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [events[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def stream(rng, n, t_start=0, max_gap=1000):
    t = t_start + np.cumsum(rng.integers(0, max_gap, n))
    return make_events(rng.integers(0, 346, n), rng.integers(0, 260, n), t, rng.integers(0, 2, n))


def test_windows_equal_brute_force_over_many_packets():
    rng = np.random.default_rng(0)
    events = stream(rng, 50_000)
    buf = EventBuffer(max_span_ns=10**12, max_events=10**9, initial_capacity=16)
    sizes = rng.integers(0, 700, 400)
    for packet in packets_of(events, sizes):
        buf.append(packet)
    stored = events[:int(sizes.sum())]
    assert len(buf) == len(stored) and buf.t_first == stored["t"][0] and buf.t_last == stored["t"][-1]
    for _ in range(200):
        t0, t1 = np.sort(rng.integers(stored["t"][0] - 10, stored["t"][-1] + 10, 2))
        expected = stored[(stored["t"] >= t0) & (stored["t"] < t1)]
        np.testing.assert_array_equal(buf.window(t0, t1), expected)
        assert buf.count(t0, t1) == len(expected)
    assert len(buf.window(5, 5)) == 0 and len(buf.window(9, 3)) == 0


def test_half_open_boundaries():
    buf = EventBuffer()
    buf.append(make_events([1, 2, 3, 4], [0, 0, 0, 0], [10, 20, 20, 30], [1, 0, 1, 0]))
    assert list(buf.window(20, 30)["x"]) == [2, 3]
    assert list(buf.window(10, 20)["x"]) == [1]
    assert list(buf.window(21, 31)["x"]) == [4]


def test_span_and_count_bounds_drop_oldest_and_count():
    buf = EventBuffer(max_span_ns=1000, max_events=10**9)
    buf.append(make_events(np.zeros(5), np.zeros(5), [0, 100, 500, 900, 1000], np.ones(5)))
    assert buf.t_first == 0 and len(buf) == 5  # 1000 - 1000 = 0: t=0 is still in the span
    buf.append(make_events([0], [0], [1400], [1]))
    assert buf.t_first == 500 and buf.stats.dropped_span == 2
    buf = EventBuffer(max_span_ns=10**12, max_events=7)
    for k in range(4):
        buf.append(make_events(np.arange(3), np.zeros(3), np.arange(3) + 10 * k, np.ones(3)))
    assert len(buf) == 7 and buf.stats.dropped_count == 5 and buf.t_first == 12
    assert buf.stats.appended == 12


def test_unsorted_and_late_packets_are_merged_in_order_and_counted():
    buf = EventBuffer()
    buf.append(make_events([0, 1, 2], [0, 0, 0], [100, 90, 120], [1, 1, 1]))
    assert buf.stats.unsorted_packets == 1
    buf.append(make_events([3, 4], [0, 0], [200, 210], [1, 1]))
    buf.append(make_events([5, 6], [0, 0], [110, 205], [0, 0]))  # arrived late, overlaps the tail
    assert buf.stats.late_packets == 1 and buf.stats.resets == 0
    got = buf.window(0, 10**6)
    assert list(got["x"]) == [1, 0, 5, 2, 3, 6, 4]
    assert np.all(np.diff(got["t"]) >= 0)


def test_backward_jump_resets_and_counts():
    buf = EventBuffer(reset_backward_ns=1_000_000)
    buf.append(make_events([0, 1], [0, 0], [5_000_000, 6_000_000], [1, 1]))
    buf.append(make_events([2], [0], [1_000], [1]))  # a bag restarting from its beginning
    assert buf.stats.resets == 1 and buf.stats.dropped_by_reset == 2
    assert len(buf) == 1 and buf.t_first == 1_000


def test_other_input_dtype_is_converted():
    dtype = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "i1")])
    ev = np.zeros(2, dtype)
    ev["t"], ev["x"], ev["p"] = [1, 2], [3, 4], [1, 0]
    buf = EventBuffer()
    buf.append(ev)
    out = buf.window(0, 10)
    assert out.dtype == EVENT_DTYPE and list(out["x"]) == [3, 4] and list(out["p"]) == [1, 0]
    with pytest.raises(TypeError, match="missing"):
        buf.append(np.zeros(2, [("t", "<i8")]))
    with pytest.raises(ValueError, match="max_events"):
        EventBuffer(max_events=0)


def test_storage_stays_bounded_under_steady_stream():
    rng = np.random.default_rng(3)
    buf = EventBuffer(max_span_ns=10**12, max_events=5000, initial_capacity=16)
    for k in range(300):
        buf.append(stream(rng, 100, t_start=k * 100_000, max_gap=10))
    assert len(buf) == 5000 and len(buf._events) <= 4 * 5100


def test_window_policies():
    p = WindowPolicy()  # between_frames
    assert p.window(100_000_000) == (100_000_000 - 33_000_000, 100_000_000)
    assert p.window(133_000_000) == (100_000_000, 133_000_000)
    assert p.window(120_000_000) == (120_000_000 - 33_000_000, 120_000_000)  # backwards: restart
    assert p.backward_stamps == 1
    capped = WindowPolicy(max_duration_ns=10, duration_ns=5)
    capped.window(0)
    assert capped.window(100) == (90, 100)
    assert WindowPolicy("fixed", duration_ns=7).window(50) == (43, 50)
    assert WindowPolicy("exposure", exposure_ns=20, exposure_offset_ns=-10).window(50) == (40, 60)
    shifted = WindowPolicy("fixed", duration_ns=7, event_offset_ns=-1000)
    assert shifted.window(50) == (43 - 1000, 50 - 1000)
    with pytest.raises(ValueError, match="unknown"):
        WindowPolicy("between")
    with pytest.raises(ValueError, match="duration_ns"):
        WindowPolicy(duration_ns=0)


def test_clock_offset_on_fixture_packets(evt3_fixtures):
    """Header stamps of the fixture = 1.75e18 ns + elapsed sensor time + 150..250 us latency.

    The sensor time paired with a stamp is the decoder's time at the packet's start: a packet's
    first event can be much later than its start (packets that begin in a gap), which would
    make the observed offset too small.
    """
    d = np.load(evt3_fixtures.stream("evt3_stream"), allow_pickle=False)
    data, offsets = d["bytes"], d["packet_offsets"]
    decoder = Evt3Decoder(int(d["width"]), int(d["height"]))
    est = ClockOffsetEstimator()
    for k in range(len(offsets) - 1):
        start = decoder.decode(data[offsets[k]:offsets[k + 1]]).start_time_ns
        if start is not None:
            est.update(int(d["stamp_ns"][k]), start)
    true_offset = 1_750_000_000_000_000_000 - int(d["orig_t"][0]) * 1000
    # the latency alone is 150..250 us; single observations are off by ~2 ms (median)
    assert 150_000 <= est.offset_ns - true_offset <= 300_000
    assert est.resets == 0
    fixed = ClockOffsetEstimator(fixed_offset_ns=42)
    fixed.update(10**18, 5)
    assert fixed.offset_ns == 42 and fixed.to_ros_time(np.array([1, 2])).tolist() == [43, 44]


def test_clock_offset_follows_minimum_rises_slowly_and_resets():
    est = ClockOffsetEstimator(max_drift_ppm=100, reset_jump_ns=10_000_000)
    with pytest.raises(RuntimeError, match="no offset"):
        est.to_ros_time(0)
    assert est.update(1_000_000, 0) == 1_000_000
    assert est.update(1_900_000, 1_000_000) == 900_000        # lower: followed at once
    assert est.update(3_000_000, 2_000_000) == 900_000 + 100  # higher: 100 ppm of 1 ms
    assert est.update(10**9, 3_000_000) == 10**9 - 3_000_000 and est.resets == 1
    assert est.update(10**9 - 10, 0) == 10**9 - 3_000_000    # back by 3 ms: no reset, no rise
    assert est.resets == 1
