"""The tracker node fed by EVT3 EventPackets at ~1 kHz, over real DDS: equality with the offline
Tracker, then one test per Behaviour item of the node (each ends by checking that the node is
alive, still produces Tracks, and counted the case on /diagnostics).
"""
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import (BASE_PARAMS, FRAME_NS, Client, NodeProcess,  # noqa: E402
                              evt3_packets, frame_events, frame_stretch, load_sequence,
                              offline_boxes)

WIDTH, HEIGHT = 346, 260
FRAME_US = FRAME_NS // 1000
OFFSET_NS = 1_750_000_000 * 1_000_000_000 - 1_000_000 * 1000  # image time = sensor time + offset
N_FRAMES = 6


@pytest.fixture(scope="module")
def node():
    proc = NodeProcess({**BASE_PARAMS, "event_input": "event_packet", "event_clock": "fixed",
                        "event_clock_offset_ns": OFFSET_NS, "window_max_duration": FRAME_NS / 1e9,
                        "max_wait": 1.5})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(node):
    c = Client(event_input="event_packet")
    yield c
    c.close()


class Stream:
    """The test's sensor clock (us, < 2^24): each call takes a fresh stretch 0.3 s later."""

    cursor_us = 1_000_000
    rng = np.random.default_rng(0)
    seq = 0

    @classmethod
    def stretch(cls, n_frames: int) -> list[int]:
        """Sensor times (us) of ``n_frames`` image stamps; frame k's window is [t_k - 33 ms, t_k)."""
        stamps, cls.cursor_us = frame_stretch(cls.cursor_us, n_frames)
        return stamps

    @classmethod
    def packets(cls, event_frame, t1_us: int, width=WIDTH, height=HEIGHT, encoding="evt3"):
        """Packets whose events render to ``event_frame`` in the window [t1 - 33 ms, t1)."""
        events = frame_events(event_frame, t1_us - FRAME_US, t1_us, cls.rng)
        packets = evt3_packets(events, width, height, OFFSET_NS, seq_start=cls.seq)
        cls.seq += len(packets)
        for p in packets:
            p.encoding = encoding
        return events, packets


def image_ns(t_us: int) -> int:
    return t_us * 1000 + OFFSET_NS


def blank():
    return np.full((HEIGHT, WIDTH, 3), 255, np.uint8)


def dots(n: int = 50):
    """An event frame with ``n`` ON pixels (a marker stream that moves the clock on)."""
    frame = blank()
    frame[10, 10:10 + n] = (220, 30, 30)
    return frame


def still_tracking(client, node):
    """A normal frame afterwards gets its Track; the node process is alive."""
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    client.publish_packets(Stream.packets(dots(), t)[1] + Stream.packets(dots(), t + FRAME_US)[1])
    client.publish_image(rgb[0], image_ns(t))
    client.wait_track(image_ns(t))
    assert node.alive(), node.output


def test_node_boxes_equal_offline_tracker_on_evt3_packets(client, node):
    from fetrack_ros.events import render_ahu

    rgb, frames, box = load_sequence(N_FRAMES)
    times = Stream.stretch(N_FRAMES)
    windows = [Stream.packets(frames[k], times[k]) for k in range(N_FRAMES)]
    windows.append(Stream.packets(dots(), times[-1] + FRAME_US))  # moves the stream past the last image
    rendered = [render_ahu(events, HEIGHT, WIDTH) for events, _ in windows[:N_FRAMES]]
    assert all(np.array_equal(r, f) for r, f in zip(rendered, frames))  # the test stream is right
    assert sum(len(p) for _, p in windows) > 30 * N_FRAMES  # ~1 kHz packets
    assert client.set_target(box, image_ns(times[0])).success
    client.publish_packets(windows[0][1])
    tracks = []
    for k in range(N_FRAMES):
        client.publish_packets(windows[k + 1][1])  # the stream runs ahead of the images
        client.publish_image(rgb[k], image_ns(times[k]))
        tracks.append(client.wait_track(image_ns(times[k])))
    assert [t.num_events for t in tracks] == [len(events) for events, _ in windows[:N_FRAMES]]
    expected = offline_boxes(rgb, rendered, box)
    got = np.array([[t.x, t.y, t.width, t.height] for t in tracks[1:]])
    want = np.array([r.box for r in expected], np.float32)
    assert np.abs(got - want).max() <= 1e-3, f"node\n{got}\noffline\n{want}"
    assert [t.status for t in tracks[1:]] == [{"tracking": 1, "low_confidence": 2, "lost": 3}[r.status.value]
                                              for r in expected]
    assert client.count("images.incomplete_events") == 0
    assert client.set_parameter("template_update_threshold", 0.5).successful
    from std_srvs.srv import Trigger

    assert client.call(Trigger, "/tracker_node/reset", Trigger.Request()).success  # later tests: no inference


def test_malformed_packets_are_skipped_and_counted(client, node):
    (t,) = Stream.stretch(1)
    _, packets = Stream.packets(dots(), t)
    bad_words = np.array([0x1ABC, 0x9000, 0xB123], np.uint16).tobytes()
    packets[0].events = bytes(packets[0].events) + bad_words + b"\x07"  # unsupported codes, odd byte
    client.publish_packets(packets)
    client.wait_diagnostic("events.malformed_packet", lambda v: v >= 1)
    still_tracking(client, node)


def test_unknown_encodings_are_skipped_and_counted(client, node):
    (t,) = Stream.stretch(1)
    client.publish_packets(Stream.packets(dots(), t, encoding="no_such_encoding")[1])
    client.wait_diagnostic("events.unknown_encoding", lambda v: v >= 1)
    still_tracking(client, node)


def test_rgb_event_size_mismatch_tracks_with_a_blank_event_frame(client, node):
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    small = np.full((100, 100, 3), 255, np.uint8)
    small[5, 5:20] = (220, 30, 30)
    client.publish_packets(Stream.packets(small, t, width=100, height=100)[1]
                           + Stream.packets(small, t + FRAME_US, width=100, height=100)[1])
    client.publish_image(rgb[0], image_ns(t))
    client.wait_track(image_ns(t))
    client.wait_diagnostic("images.event_size_mismatch", lambda v: v >= 1)
    still_tracking(client, node)


def test_duplicate_and_out_of_order_stamps_each_get_a_track(client, node):
    rgb, _, _ = load_sequence(1)
    t0, t1 = Stream.stretch(2)
    client.publish_packets(Stream.packets(dots(), t0)[1] + Stream.packets(dots(), t1)[1]
                           + Stream.packets(dots(), t1 + FRAME_US)[1])
    for t, expected in ((t1, [1, 0]), (t1, [2, 0]), (t0, [2, 1])):  # duplicate, then 33 ms back
        client.publish_image(rgb[0], image_ns(t))  # one at a time: a burst would skip all but the newest
        client.spin_until(lambda: [len(x) for x in client.tracks_for([image_ns(t1), image_ns(t0)])] == expected,
                          30, f"Tracks {expected} for the stamps t1 (duplicated) and t0 (earlier)")
    client.wait_diagnostic("images.duplicate_stamp", lambda v: v >= 1)
    client.wait_diagnostic("images.out_of_order_stamp", lambda v: v >= 1)
    still_tracking(client, node)


def test_time_jumping_back_resets_the_buffers(client, node):
    rgb, _, _ = load_sequence(1)
    (late,) = Stream.stretch(1)
    client.publish_packets(Stream.packets(dots(), late)[1] + Stream.packets(dots(), late + FRAME_US)[1])
    client.publish_image(rgb[0], image_ns(late))
    client.wait_track(image_ns(late))
    early = 500_000  # the bag starts again, before every stamp used so far (none shares its stamp)
    assert late - early > 1_000_000
    events, packets = Stream.packets(dots(30), early)
    client.publish_packets(packets + Stream.packets(dots(), early + FRAME_US)[1])
    client.publish_image(rgb[0], image_ns(early))
    track = client.wait_track(image_ns(early))
    assert track.num_events == len(events), f"the restarted stream's window is used: {track.num_events} != {len(events)}: {client.diagnostics}"
    client.wait_diagnostic("images.time_jump_back", lambda v: v >= 1)
    client.wait_diagnostic("events.stream_restarts", lambda v: v >= 1)
    still_tracking(client, node)


def test_empty_event_window_still_gives_a_track(client, node):
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    client.publish_packets(Stream.packets(dots(), t + FRAME_US)[1])  # events only after the window
    client.publish_image(rgb[0], image_ns(t))
    assert client.wait_track(image_ns(t)).num_events == 0
    client.wait_diagnostic("images.empty_event_window", lambda v: v >= 1)
    still_tracking(client, node)


def test_image_waits_at_most_max_wait_for_its_events(client, node):
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    events, packets = Stream.packets(dots(), t)
    # on simulated time with no /clock (a paused or finished bag) max_wait must still expire
    assert client.set_parameter("use_sim_time", True).successful
    try:
        client.publish_packets(packets)  # nothing after the window end: the stream never passes it
        client.publish_image(rgb[0], image_ns(t))
        assert client.wait_track(image_ns(t), timeout=30).num_events == len(events)
        client.wait_diagnostic("images.incomplete_events", lambda v: v >= 1)
    finally:
        assert client.set_parameter("use_sim_time", False).successful
    still_tracking(client, node)


def test_still_rule_holds_the_box_only_on_complete_event_windows(client, node):
    """A quiet event window means "nothing moved" only once the stream has passed its end: a window
    cut short by max_wait may still lack the target's events, so the box is not held there."""
    from fetrack_ros.msg import Track

    rgb, frames, box = load_sequence(3)
    times = Stream.stretch(3)
    quiet = [frames[0], dots(), dots()]   # events only in a far corner after the target frame
    offline = {c: offline_boxes(rgb, quiet, box, complete=[True, c], still_event_density=0.5) for c in (True, False)}
    assert offline[True][1].held_still and not offline[False][1].held_still
    assert np.abs(np.subtract(offline[True][1].box, offline[False][1].box)).max() > 0.5, "the rule changes nothing here"
    client.fresh_diagnostics()
    before = client.count("tracks.held_still")
    assert client.set_parameter("still_event_density", 0.5).successful
    try:
        assert client.set_target(box, image_ns(times[0])).success
        # the stream passes frame 1's window end and stops inside frame 2's
        client.publish_packets([p for k in range(3) for p in Stream.packets(quiet[k], times[k])[1]])
        tracks = []
        for k in range(3):
            client.publish_image(rgb[k], image_ns(times[k]))
            tracks.append(client.wait_track(image_ns(times[k]), timeout=30))
        client.fresh_diagnostics()
    finally:
        assert client.set_parameter("still_event_density", 0.0).successful
    assert [t.event_window for t in tracks[1:]] == [Track.EVENT_WINDOW_COMPLETE, Track.EVENT_WINDOW_INCOMPLETE]
    got = np.array([[t.x, t.y, t.width, t.height] for t in tracks[1:]])
    want = np.array([r.box for r in offline[False]], np.float32)
    assert np.abs(got - want).max() <= 1e-3, f"node\n{got}\noffline\n{want}"
    assert client.count("tracks.held_still") == before + 1   # frame 1 held, frame 2 not
    still_tracking(client, node)


def test_newest_image_wins_when_the_model_is_slower(client, node):
    from fetrack_ros.msg import Track

    rgb, frames, box = load_sequence(6)
    times = Stream.stretch(6)
    assert client.set_target(box, image_ns(times[0])).success
    packets = []
    for k in range(6):
        packets += Stream.packets(frames[k], times[k])[1]
    packets += Stream.packets(dots(), times[-1] + FRAME_US)[1]
    client.fresh_diagnostics()
    before = client.count("dropped.skipped_for_newer")
    client.publish_packets(packets)
    for k in range(6):  # a burst: far faster than the depth-2 model on CPU
        client.publish_image(rgb[k], image_ns(times[k]))
    client.spin_until(lambda: client.tracks_for([image_ns(times[-1])])[0], 60, "the Track of the newest image")
    # the subscriptions kept being serviced during inference: images were queued and replaced
    client.wait_diagnostic("dropped.skipped_for_newer", lambda v: v > before)
    stamps = [image_ns(t) for t in times]

    def accounted():
        return (client.count("dropped.skipped_for_newer") - before, [len(x) for x in client.tracks_for(stamps)])

    try:
        client.spin_until(lambda: sum(accounted()[1]) + accounted()[0] == 6, 30,
                          "every image to end as a Track or as skipped")
    except AssertionError:
        raise AssertionError(f"{accounted()} {client.diagnostics}\n{node.output}")
    first = next(ts[0] for ts in client.tracks_for(stamps) if ts)
    assert first.status == Track.STATUS_TRACKING  # the target went to the first image processed
    still_tracking(client, node)


def test_unconvertible_images_are_dropped_and_counted(client, node):
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    client.publish_packets(Stream.packets(dots(), t)[1] + Stream.packets(dots(), t + FRAME_US)[1])
    bad = client.image_msg(rgb[0], image_ns(t))
    bad.encoding = "32FC1"  # a depth image on the RGB topic
    client.image_pub.publish(bad)
    truncated = client.image_msg(rgb[0], image_ns(t) + 1000)
    truncated.data = bytes(truncated.data)[:1000]
    client.image_pub.publish(truncated)
    client.wait_diagnostic("dropped.bad_image", lambda v: v >= 2)  # rejected on arrival: none queued
    assert not client.tracks_for([image_ns(t), image_ns(t) + 1000])[0]
    still_tracking(client, node)
