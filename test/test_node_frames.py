"""The tracker node with pre-rendered event frames (what dataset bags carry), over real DDS.

One node process for the module; each test starts its own stretch of image stamps.
"""
import numpy as np
import pytest

from fetrack_ros.events.render import AHU_ON

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from ros_node_harness import (BASE_PARAMS, FIXTURE_WEIGHTS, FRAME_NS, Client, NodeProcess,  # noqa: E402
                              load_sequence, offline_boxes)

N_FRAMES = 6
BOX_TOLERANCE_PX = 1e-3  # float32 Track fields and thread-order float noise; any real error is pixels


@pytest.fixture(scope="module")
def node():
    proc = NodeProcess({**BASE_PARAMS, "event_input": "event_frames", "event_frame_tolerance": 0.002})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(node):
    c = Client()
    yield c
    c.close()


class Stamps:
    """Increasing stamps: every test gets a fresh stretch, 10 s after the previous one."""

    next_ns = 1_750_000_000 * 1_000_000_000

    @classmethod
    def take(cls, n: int) -> list[int]:
        stamps = [cls.next_ns + k * FRAME_NS for k in range(n)]
        cls.next_ns = stamps[-1] + 10_000_000_000
        return stamps


def run_sequence(client, rgb, events, stamps, before_frame=None):
    """Publish frame pairs in lock step (each waits for its Track); returns the Tracks."""
    tracks = []
    for k, stamp in enumerate(stamps):
        if before_frame:
            before_frame(k)
        client.publish_frame(events[k], stamp)
        client.publish_image(rgb[k], stamp)
        tracks.append(client.wait_track(stamp))
    return tracks


def assert_boxes_equal(tracks, expected):
    got = np.array([[t.x, t.y, t.width, t.height] for t in tracks])
    want = np.array([r.box for r in expected], np.float32)
    assert np.abs(got - want).max() <= BOX_TOLERANCE_PX, f"node boxes\n{got}\noffline boxes\n{want}"
    assert [t.template_updated for t in tracks] == [r.template_updated for r in expected]
    assert np.allclose([t.confidence for t in tracks], [r.confidence for r in expected], atol=1e-5)


def test_uninitialized_tracks_until_a_target_is_set(client):
    rgb, events, _ = load_sequence(2)
    stamps = Stamps.take(2)
    tracks = run_sequence(client, rgb, events, stamps)
    assert [t.status for t in tracks] == [0, 0]  # STATUS_UNINITIALIZED
    assert tracks[0].header.frame_id == "camera"


def test_node_boxes_equal_offline_tracker(client, node):
    rgb, events, box = load_sequence(N_FRAMES)
    stamps = Stamps.take(N_FRAMES)
    assert client.set_target(box, stamps[0]).success
    tracks = run_sequence(client, rgb, events, stamps)
    assert all(len(ts) == 1 for ts in client.tracks_for(stamps)), "exactly one Track per image"
    assert tracks[0].status == 1 and [tracks[0].x, tracks[0].y, tracks[0].width, tracks[0].height] == box
    assert_boxes_equal(tracks[1:], offline_boxes(rgb, events, box))
    assert node.alive()


def test_template_update_threshold_changes_at_runtime(client):
    rgb, events, box = load_sequence(N_FRAMES)
    stamps = Stamps.take(N_FRAMES)
    for name, value in (("template_update_interval", 1), ("template_update_threshold", 1.0)):
        assert client.set_parameter(name, value).successful
    change_at = 3

    def before_frame(k):
        if k == change_at:
            result = client.set_parameter("template_update_threshold", 0.0)
            assert result.successful, result.reason

    assert client.set_target(box, stamps[0]).success
    tracks = run_sequence(client, rgb, events, stamps, before_frame)
    assert [t.template_updated for t in tracks[1:]] == [False] * (change_at - 1) + [True] * (N_FRAMES - change_at)
    # the same change offline, from the same frame on
    offline_a = offline_boxes(rgb[:change_at], events[:change_at], box, template_update_interval=1,
                              template_update_threshold=1.0)
    assert_boxes_equal(tracks[1:change_at], offline_a)
    from fetrack_ros.model import build_model, load_checkpoint
    from fetrack_ros.tracking import Tracker, TrackerParams
    tracker = Tracker(load_checkpoint(build_model("vim_s", depth=2, scan_backend="torch"), FIXTURE_WEIGHTS),
                      TrackerParams(template_update_interval=1, template_update_threshold=1.0))
    tracker.initialize(rgb[0], events[0], box)
    expected = []
    for k in range(1, N_FRAMES):
        if k == change_at:
            tracker.params = tracker.params.replace(template_update_threshold=0.0)
        expected.append(tracker.track(rgb[k], events[k]))
    assert_boxes_equal(tracks[1:], expected)


def test_still_event_density_holds_the_box_on_quiet_event_frames(client):
    """Event frames with events only in a far corner: nothing moved around the target, so with
    still_event_density set at runtime the node keeps the first box, counts every held frame on
    /diagnostics, and agrees with the offline Tracker; set back to 0 it follows the network."""
    rgb, _, box = load_sequence(N_FRAMES)
    quiet = np.full((N_FRAMES, 260, 346, 3), 255, np.uint8)
    quiet[:, :6, :6] = AHU_ON
    before = client.count("tracks.held_still")
    assert client.set_parameter("template_update_threshold", 1.0).successful   # earlier tests may have set it
    assert client.set_parameter("still_event_density", 0.5).successful
    try:
        stamps = Stamps.take(N_FRAMES)
        assert client.set_target(box, stamps[0]).success
        tracks = run_sequence(client, rgb, quiet, stamps)
    finally:
        assert client.set_parameter("still_event_density", 0.0).successful
    assert all([t.x, t.y, t.width, t.height] == pytest.approx(box) for t in tracks[1:])
    assert_boxes_equal(tracks[1:], offline_boxes(rgb, quiet, box, still_event_density=0.5))
    client.wait_diagnostic("tracks.held_still", lambda v: v >= before + N_FRAMES - 1)
    stamps = Stamps.take(N_FRAMES)
    assert client.set_target(box, stamps[0]).success
    free = run_sequence(client, rgb, quiet, stamps)
    assert any(abs(t.x - box[0]) > 0.5 or abs(t.y - box[1]) > 0.5 for t in free[1:]), "the network never moved the box"


@pytest.mark.parametrize("name, value, reason", [
    ("template_update_threshold", 1.5, "range"),
    ("template_update_threshold", -0.1, "range"),
    ("wider_search_factor", 3.0, "wider_search_factor"),
    ("template_update_interval", 0, "range"),
    ("checkpoint", "/other.pt", "read-only"),
])
def test_invalid_parameter_values_are_rejected_with_a_reason(client, name, value, reason):
    result = client.set_parameter(name, value)
    assert not result.successful
    assert reason in result.reason, result.reason


def test_debug_image_and_event_frame_are_published_to_subscribers(client):
    from sensor_msgs.msg import Image

    received = {"debug_image": [], "event_frame": []}
    subs = [client.node.create_subscription(Image, f"/tracker_node/{name}", received[name].append, 10)
            for name in received]
    client.spin_until(lambda: all(client.node.count_publishers(f"/tracker_node/{n}") for n in received), 20,
                      "the debug publishers")
    rgb, events, box = load_sequence(2)
    stamps = Stamps.take(2)
    assert client.set_target(box, stamps[0]).success
    run_sequence(client, rgb, events, stamps)
    client.spin_until(lambda: all(len(v) >= 2 for v in received.values()), 20, "debug image and event frame")
    for name, msgs in received.items():
        msg = msgs[-1]
        assert (msg.height, msg.width, msg.encoding) == (260, 346, "rgb8")
        assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec == stamps[1]
    frame = np.frombuffer(received["event_frame"][-1].data, np.uint8).reshape(260, 346, 3)
    assert np.array_equal(frame, events[1])
    debug = np.frombuffer(received["debug_image"][-1].data, np.uint8).reshape(260, 346, 3)
    assert not np.array_equal(debug, rgb[1]) and np.mean(debug == rgb[1]) > 0.9  # drawn on, mostly intact
    for sub in subs:
        client.node.destroy_subscription(sub)


def test_set_target_and_reset_services(client):
    from std_srvs.srv import Trigger

    bad = client.set_target([10, 10, 0, 5])
    assert not bad.success and "width" in bad.message
    rgb, events, box = load_sequence(3)
    stamps = Stamps.take(3)
    assert client.set_target(box).success  # stamp 0: the next image
    tracks = run_sequence(client, rgb[:2], events[:2], stamps[:2])
    assert [t.status for t in tracks][0] == 1 and tracks[1].status in (1, 2, 3)
    assert client.call(Trigger, "/tracker_node/reset", Trigger.Request()).success
    assert run_sequence(client, rgb[2:], events[2:], stamps[2:])[0].status == 0
    client.wait_diagnostic("tracker.resets", lambda v: v >= 1)
    client.wait_diagnostic("targets.rejected", lambda v: v >= 1)


def test_detections_are_published_when_vision_msgs_is_installed(client):
    vision_msgs = pytest.importorskip("vision_msgs.msg", reason="vision_msgs not installed (optional output)")

    received = []
    sub = client.node.create_subscription(vision_msgs.Detection2DArray, "/tracker_node/detections", received.append, 10)
    client.spin_until(lambda: client.node.count_publishers("/tracker_node/detections") > 0, 20, "~/detections")
    rgb, events, box = load_sequence(2)
    stamps = Stamps.take(2)
    assert client.set_target(box, stamps[0]).success
    tracks = run_sequence(client, rgb, events, stamps)
    client.spin_until(lambda: len(received) >= 2, 20, "two Detection2DArray messages")
    detection = received[-1].detections[0]
    track = tracks[-1]
    assert detection.bbox.center.position.x == pytest.approx(track.x + track.width / 2, abs=1e-4)
    assert (detection.bbox.size_x, detection.bbox.size_y) == pytest.approx((track.width, track.height), abs=1e-4)
    assert detection.results[0].hypothesis.score == pytest.approx(track.confidence, abs=1e-6)
    assert received[-1].header.stamp == track.header.stamp
    client.node.destroy_subscription(sub)
