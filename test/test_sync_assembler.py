"""FrameAssembler: images paired with their window's events, whatever the arrival order."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fetrack_ros.events import EventBuffer, WindowPolicy, encode_evt3, make_events
from fetrack_ros.messages import EventDecoding
from fetrack_ros.messages.cdr import PacketRecord
from fetrack_ros.sync import BACKLOG_WAIT_FACTOR, FrameAssembler

OFFSET_NS = 1_700_000_000 * 10**9
FRAME_US = 33_000


def _stream(frames=6, rate_per_us=0.5, seed=0):
    """(packets, image stamps): 1 ms EVT3 packets stamped like a driver; images 33 ms apart."""
    rng = np.random.default_rng(seed)
    start = 5_000_000
    end = start + frames * FRAME_US + 2000
    n = int((end - start) * rate_per_us)
    t = np.sort(rng.integers(start, end, n))
    packets = []
    for k, t0 in enumerate(range(start, end, 1000)):
        part = (t >= t0) & (t < t0 + 1000)
        events = make_events(rng.integers(0, 64, part.sum()), rng.integers(0, 48, part.sum()), t[part] * 1000,
                             rng.integers(0, 2, part.sum()))
        packets.append(PacketRecord(t0 * 1000 + OFFSET_NS, 48, 64, k, 0, "evt3", encode_evt3(events)))
    stamps = [OFFSET_NS + (start + (k + 1) * FRAME_US) * 1000 for k in range(frames)]
    return packets, stamps, t


def _assembler(max_wait_s=math.inf):
    return FrameAssembler(policy=WindowPolicy(), decoding=EventDecoding("event_packet", "header"),
                          max_wait_s=max_wait_s)


def _windows(frames):
    return [(f.item, len(f.events), f.complete) for f in frames]


def _in_order(packets, stamps):
    assembler = _assembler()
    assembler.add_event_messages(packets, 0.0)
    for stamp in stamps:
        assembler.add_image(stamp, stamp, 0.0)
    return _windows(assembler.release(0.0))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=6, max_size=6), st.integers(1, 40))
def test_any_interleaving_of_images_and_packets_gives_the_same_windows(image_positions, chunk):
    packets, stamps, _ = _stream()
    reference = _in_order(packets, stamps)
    # images arrive anywhere in the packet stream (before, between, long after their events)
    positions = sorted(p % (len(packets) + 1) for p in image_positions)
    assembler, out, next_packet = _assembler(), [], 0
    for stamp, position in zip(stamps, positions):
        while next_packet < position:
            assembler.add_event_messages(packets[next_packet:min(position, next_packet + chunk)], 0.0)
            next_packet = min(position, next_packet + chunk)
            out += assembler.release(0.0)
        assembler.add_image(stamp, stamp, 0.0)
        out += assembler.release(0.0)
    assembler.add_event_messages(packets[next_packet:], 0.0)
    out += assembler.release(0.0) + assembler.finish()
    assert _windows(out) == reference
    assert all(complete for _, _, complete in reference)


def test_windows_hold_exactly_the_events_sent_for_them():
    packets, stamps, t_us = _stream()
    counts = [n for _, n, _ in _in_order(packets, stamps)]
    # the clock estimate: header minus packet start, the smallest over packets (here exact to 1 us)
    edges = [stamps[0] - 33_000_000] + stamps
    sent = [int(np.count_nonzero((t_us * 1000 + OFFSET_NS >= a) & (t_us * 1000 + OFFSET_NS < b)))
            for a, b in zip(edges[:-1], edges[1:])]
    assert np.allclose(counts, sent, rtol=0.01) and min(sent) > 10_000


def test_a_burst_ten_times_real_time_loses_nothing():
    """All packets of 6 frames at once after the images (a replay at 10x, a stall): same windows."""
    packets, stamps, _ = _stream()
    assembler = _assembler(max_wait_s=0.1)
    for stamp in stamps:
        assembler.add_image(stamp, stamp, now_s=0.0)
    assert assembler.release(0.05) == []           # waiting: no events yet
    assembler.add_event_messages(packets, now_s=0.06)
    assert _windows(assembler.release(0.07)) == _in_order(packets, stamps)


def test_timeout_releases_incomplete_and_a_backlog_extends_the_wait():
    packets, stamps, _ = _stream()
    assembler = _assembler(max_wait_s=0.1)
    assembler.add_event_messages(packets[:20], now_s=0.0)
    assembler.add_image(stamps[0], stamps[0], now_s=0.0)      # its window ends at packet 33
    assert assembler.release(0.15, backlog=True) == []        # packets still queued: wait on
    (frame,) = assembler.release(0.1 * BACKLOG_WAIT_FACTOR + 0.01, backlog=True)
    assert not frame.complete and 0 < len(frame.events)
    assert assembler.take_counts()["images.incomplete_events"] == 1
    assembler.add_image(stamps[1], stamps[1], now_s=1.0)
    (frame,) = assembler.release(1.11)                         # no backlog: max_wait only
    assert not frame.complete


def test_a_quiet_stream_completes_windows_by_its_time_words():
    """No events for a while, but the camera's time words go on: images need not wait."""
    from fetrack_ros.events import TRIGGER_DTYPE

    events = make_events([1, 2], [1, 1], [5_000_000_000, 5_001_000_000], [1, 0])
    ticks = np.zeros(1, TRIGGER_DTYPE)  # only time words after 5.001 s (written for a trigger)
    ticks["t"] = 5_090_000_000
    data = encode_evt3(events, ticks)
    assembler = _assembler(max_wait_s=10.0)
    assembler.add_event_messages([PacketRecord(OFFSET_NS + 5_000_000_000, 48, 64, 0, 0, "evt3", data)], 0.0)
    assembler.add_image("image", OFFSET_NS + 5_050_000_000, 0.0)
    (frame,) = assembler.release(0.0)
    assert frame.complete and len(frame.events) == 0
    assert assembler.buffer.t_last == OFFSET_NS + 5_001_000_000  # the newest event alone would not do


def test_seq_gaps_and_buffer_eviction_are_counted_apart():
    packets, stamps, _ = _stream(frames=3)
    assembler = FrameAssembler(policy=WindowPolicy(), decoding=EventDecoding("event_packet", "header"),
                               buffer=EventBuffer(max_span_ns=40_000_000))
    arriving = packets[:10] + packets[13:]  # 3 packets lost
    for k, stamp in enumerate(stamps):  # each frame's packets, then its image, as in real time
        assembler.add_event_messages([p for p in arriving if k * 33 <= p.seq < (k + 1) * 33], 0.0)
        assembler.add_image(stamp, stamp, 0.0)
        assembler.release(0.0)
    assembler.add_event_messages([p for p in arriving if p.seq >= 99], 0.0)
    assembler.release(0.0)
    counts = assembler.take_counts()
    assert counts["events.lost_packets"] == 3
    assert counts["events.evicted_used"] > 0 and counts["events.evicted_unused"] == 0


def test_events_nobody_asked_for_are_evicted_unused():
    packets, _, _ = _stream(frames=3)
    assembler = FrameAssembler(policy=WindowPolicy(), decoding=EventDecoding("event_packet", "header"),
                               buffer=EventBuffer(max_span_ns=40_000_000))
    assembler.add_event_messages(packets, 0.0)
    assembler.add_image("image", packets[-1].stamp_ns, 0.0)
    assembler.release(0.0)
    counts = assembler.take_counts()
    assert counts["events.evicted_unused"] > 0 and "events.evicted_used" not in counts


def test_buffer_gives_memory_back_after_a_burst():
    """F8: a burst fills the buffer to max_events; later normal traffic shrinks it again."""
    buffer = EventBuffer(max_span_ns=500_000_000, max_events=2_000_000)
    rng = np.random.default_rng(0)

    def packet(t0_ns, n):
        return make_events(rng.integers(0, 346, n), rng.integers(0, 260, n), t0_ns + np.sort(rng.integers(0, 10**6, n)),
                           rng.integers(0, 2, n))

    before = buffer.nbytes
    t = 0
    for _ in range(200):  # 20 M events/s for 0.2 s
        buffer.append(packet(t, 20_000))
        t += 1_000_000
    peak = buffer.nbytes
    assert len(buffer) == 2_000_000 and peak <= 3 * 2_000_000 * 21  # bounded by max_events
    for _ in range(1000):  # then 100 k events/s for 1 s
        buffer.append(packet(t, 100))
        t += 1_000_000
    assert buffer.nbytes <= max(before, 4 * len(buffer) * 21) and buffer.nbytes < peak / 10


def test_assembler_needs_one_event_source():
    with pytest.raises(ValueError, match="exactly one event source"):
        FrameAssembler(policy=WindowPolicy())


def test_a_window_the_buffer_partly_evicted_is_incomplete():
    """A node that falls behind a burst by more than the buffer holds: the stream passed the
    window, but its events are gone; the frame must not claim a complete window."""
    packets, stamps, _ = _stream(frames=4)
    assembler = FrameAssembler(policy=WindowPolicy(), decoding=EventDecoding("event_packet", "header"),
                               buffer=EventBuffer(max_events=20_000))  # under one frame's ~16,500 x 2
    assembler.add_event_messages(packets, 0.0)
    for stamp in stamps:
        assembler.add_image(stamp, stamp, 0.0)
    frames = assembler.release(0.0)
    assert [f.complete for f in frames] == [False, False, False, True]
    assert assembler.take_counts()["images.events_evicted"] == 3


def test_images_lost_before_the_node_are_estimated_from_stamp_gaps():
    assembler = FrameAssembler(policy=WindowPolicy(), sensor_hw=(48, 64))
    stamps = [k * 33_333_333 for k in range(40)]
    arrived = [s for k, s in enumerate(stamps) if k not in (20, 30, 31)]  # 3 lost in transport
    for stamp in arrived:
        assembler.add_image(stamp, stamp, 0.0)
    assert assembler.take_counts()["images.missing"] == 3
    jitter = FrameAssembler(policy=WindowPolicy(), sensor_hw=(48, 64))  # +-20 % jitter is no loss
    for k, stamp in enumerate(stamps):
        jitter.add_image(stamp, stamp + (k % 2) * 6_000_000, 0.0)
    assert "images.missing" not in jitter.take_counts()
