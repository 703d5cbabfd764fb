"""The tracker node fed by legacy per-event arrays (dvs_msgs and prophesee_event_msgs EventArray),
with the vision_msgs Detection2DArray output, over real DDS.

One node process per event input; `make setup` builds test copies of the three message packages
when the real ones are absent (test/interfaces/README.md: same definitions and type hashes).
"""
import importlib

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import (BASE_PARAMS, FRAME_NS, NODE, Client, NodeProcess,  # noqa: E402
                              event_arrays, frame_events, frame_stretch, load_sequence,
                              offline_boxes)

MODES = {"dvs_event_array": "dvs_msgs", "prophesee_event_array": "prophesee_event_msgs"}
WIDTH, HEIGHT = 346, 260
FRAME_US = FRAME_NS // 1000
N_FRAMES = 4


def _messages_or_skip(package: str) -> None:
    pytest.importorskip(f"{package}.msg", reason=f"{package} not installed (`make setup` builds its test copy)")


@pytest.fixture(scope="module", params=list(MODES))
def mode(request) -> str:
    _messages_or_skip(MODES[request.param])
    _messages_or_skip("vision_msgs")
    return request.param


@pytest.fixture(scope="module")
def node(mode):
    # event_clock auto: legacy arrays carry ROS time, used as it is (offset 0)
    proc = NodeProcess({**BASE_PARAMS, "event_input": mode, "window_max_duration": FRAME_NS / 1e9,
                        "max_wait": 1.5})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(node, mode):
    c = Client(event_input=mode)
    yield c
    c.close()


class Stream:
    """The test's clock (us of ROS time): each call takes a fresh stretch 0.3 s later."""

    cursor_us = 1_760_000_000 * 1_000_000
    rng = np.random.default_rng(3)

    @classmethod
    def stretch(cls, n_frames: int) -> list[int]:
        """Image stamps (us) of ``n_frames`` frames; frame k's window is [t_k - 33 ms, t_k)."""
        stamps, cls.cursor_us = frame_stretch(cls.cursor_us, n_frames)
        return stamps

    @classmethod
    def events(cls, event_frame, t1_us: int) -> np.ndarray:
        """Events (ns) that render to ``event_frame`` in the window [t1 - 33 ms, t1)."""
        events = frame_events(event_frame, t1_us - FRAME_US, t1_us, cls.rng)
        events["t"] *= 1000
        return events


def dots(n: int = 50):
    """An event frame with ``n`` ON pixels (a marker stream that moves the stream time on)."""
    frame = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    frame[10, 10:10 + n] = (220, 30, 30)
    return frame


def test_legacy_arrays_give_the_offline_event_counts_boxes_and_detections(client, node, mode):
    from vision_msgs.msg import Detection2DArray

    from fetrack_ros.events import WindowPolicy, render_ahu
    from fetrack_ros.messages import EventDecoding
    from fetrack_ros.msg import Track

    detections = []
    client.node.create_subscription(Detection2DArray, f"{NODE}/detections", detections.append, 100)
    client.spin_until(lambda: client.node.count_publishers(f"{NODE}/detections") > 0, 20, "~/detections")
    rgb, frames, box = load_sequence(N_FRAMES)
    times_us = Stream.stretch(N_FRAMES)
    stamps = [t * 1000 for t in times_us]
    windows = [Stream.events(frames[k], times_us[k]) for k in range(N_FRAMES)]
    windows.append(Stream.events(dots(), times_us[-1] + FRAME_US))  # moves the stream past the last image
    arrays = [event_arrays(events, WIDTH, HEIGHT, mode) for events in windows]
    assert sum(len(a) for a in arrays) > 30 * N_FRAMES  # ~1 kHz arrays

    # offline: the same messages through the decoder the node uses, cut into the node's windows
    decoding = EventDecoding(mode, "fixed")
    decoded = np.concatenate([decoding.decode(msg)[0] for window in arrays for msg in window])
    policy = WindowPolicy(duration_ns=FRAME_NS, max_duration_ns=FRAME_NS)
    cuts = [policy.window(stamp) for stamp in stamps]
    expected_counts = [int(np.count_nonzero((decoded["t"] >= t0) & (decoded["t"] < t1))) for t0, t1 in cuts]
    assert expected_counts == [len(events) for events in windows[:N_FRAMES]]
    rendered = [render_ahu(decoded[(decoded["t"] >= t0) & (decoded["t"] < t1)], HEIGHT, WIDTH) for t0, t1 in cuts]
    assert all(np.array_equal(r, f) for r, f in zip(rendered, frames))  # the test stream is right

    assert client.set_target(box, stamps[0]).success
    client.publish_packets(arrays[0])
    tracks = []
    for k in range(N_FRAMES):
        client.publish_packets(arrays[k + 1])  # the stream runs ahead of the images
        client.publish_image(rgb[k], stamps[k])
        tracks.append(client.wait_track(stamps[k]))
    assert [t.num_events for t in tracks] == expected_counts
    assert all(t.event_window == Track.EVENT_WINDOW_COMPLETE for t in tracks)
    expected = offline_boxes(rgb, rendered, box)
    got = np.array([[t.x, t.y, t.width, t.height] for t in tracks[1:]])
    want = np.array([r.box for r in expected], np.float32)
    assert np.abs(got - want).max() <= 1e-3, f"node\n{got}\noffline\n{want}"

    # ~/detections: one Detection2DArray per tracked image, the Track's box and confidence
    client.spin_until(lambda: len(detections) >= N_FRAMES, 20, f"{N_FRAMES} Detection2DArray messages")
    by_stamp = {(d.header.stamp.sec, d.header.stamp.nanosec): d for d in detections}
    for track in tracks:
        array = by_stamp[(track.header.stamp.sec, track.header.stamp.nanosec)]
        assert array.header == track.header and len(array.detections) == 1
        detection = array.detections[0]
        assert detection.header == track.header
        assert detection.bbox.center.position.x == pytest.approx(track.x + track.width / 2, abs=1e-4)
        assert detection.bbox.center.position.y == pytest.approx(track.y + track.height / 2, abs=1e-4)
        assert detection.bbox.center.theta == 0.0
        assert (detection.bbox.size_x, detection.bbox.size_y) == pytest.approx((track.width, track.height), abs=1e-4)
        assert [r.hypothesis.class_id for r in detection.results] == ["target"]
        assert detection.results[0].hypothesis.score == pytest.approx(track.confidence, abs=1e-6)
    from std_srvs.srv import Trigger

    assert client.call(Trigger, f"{NODE}/reset", Trigger.Request()).success  # later tests: no inference


def test_bad_geometry_arrays_are_skipped_and_counted(client, node, mode):
    rgb, _, _ = load_sequence(1)
    (t,) = Stream.stretch(1)
    bad = event_arrays(Stream.events(dots(), t), WIDTH, HEIGHT, mode)
    for msg in bad:
        msg.width = 0
    client.publish_packets(bad)
    client.wait_diagnostic("events.bad_geometry", lambda v: v >= len(bad))
    good = event_arrays(np.concatenate([Stream.events(dots(), t), Stream.events(dots(), t + FRAME_US)]),
                        WIDTH, HEIGHT, mode)
    client.publish_packets(good)
    client.publish_image(rgb[0], t * 1000)
    assert client.wait_track(t * 1000).num_events == 50
    assert node.alive(), node.output


def test_the_node_announces_the_real_packages_type_hashes(client, node, mode):
    """Over DDS the node's event subscription and ~/detections publisher carry the type hashes
    of the real dvs_msgs / prophesee_event_msgs / vision_msgs (computed from their sources)."""
    from interfaces.type_hashes import REAL_TYPE_HASHES

    subscriptions = [info for info in client.node.get_subscriptions_info_by_topic("/events")
                     if info.node_name == NODE.strip("/")]
    publishers = [info for info in client.node.get_publishers_info_by_topic(f"{NODE}/detections")
                  if info.node_name == NODE.strip("/")]
    assert len(subscriptions) == 1 and len(publishers) == 1
    assert subscriptions[0].topic_type == f"{MODES[mode]}/msg/EventArray"
    assert str(subscriptions[0].topic_type_hash) == REAL_TYPE_HASHES[f"{MODES[mode]}/msg/EventArray"]
    assert str(publishers[0].topic_type_hash) == REAL_TYPE_HASHES["vision_msgs/msg/Detection2DArray"]
    assert importlib.import_module(f"{MODES[mode]}.msg").EventArray is client.event_pub.msg_type
