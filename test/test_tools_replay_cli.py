"""``fetrack replay`` and the Track recorder over real DDS (no tracker node: a small peer node in
this process answers images with Tracks, so the replay protocol itself is what is checked)."""
import argparse
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy not installed: run the tests through `make test`")

from fetrack_ros.data import bags  # noqa: E402
from fetrack_ros.data.bagwriter import BagWriter  # noqa: E402
from fetrack_ros.data.sequence import SourceError  # noqa: E402

T0 = 1_700_000_000_000_000_000
FRAME_NS = 33_000_000
N_IMAGES = 4


def _cli(argv):
    from fetrack_ros.cli import replay as replay_cli
    parser = argparse.ArgumentParser()
    replay_cli.add_arguments(parser)
    return replay_cli.main(parser.parse_args(argv))


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    """4 RGB images 33 ms apart, each with a ground-truth Track and two EVT3-like packets."""
    path = tmp_path_factory.mktemp("replay") / "bag"
    rng = np.random.default_rng(0)
    with BagWriter(path, "mcap") as writer:
        for i in range(N_IMAGES):
            stamp = T0 + i * FRAME_NS
            for k in range(2):
                writer.write_event_packet("/events", stamp + k * 10_000_000, rng.integers(0, 255, 64, np.uint8),
                                          encoding="evt3", width=40, height=30, seq=2 * i + k)
            writer.write_image("/image", stamp, rng.integers(0, 255, (30, 40, 3), np.uint8))
            writer.write_track("/ground_truth", stamp, [i, 2.0, 10.0, 12.0])
    return path


def _bag_messages(path):
    reader = bags.open_reader(path)
    out = {}
    for conn, log_time, raw in reader.messages():
        out.setdefault(conn.topic, []).append((log_time, bytes(raw)))
    reader.close()
    return out


class Peer:
    """A real ROS node in its own context: records what it receives; with ``answer`` it plays the
    tracker, publishing a Track (image header) on /tracker_node/track for each image it gets."""

    def __init__(self, topics, answer=False, skip_image=None):
        from rclpy.qos import QoSProfile
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import Image

        from fetrack_ros.msg import Track
        from fetrack_ros.tools.replay import RosSession, message_class

        self.session = RosSession("replay_test_peer")
        node = self.session.node
        self.raw = {topic: [] for topic in topics}
        self.clock: list[int] = []
        self.lock = threading.Lock()
        for topic, msgtype in topics.items():
            node.create_subscription(message_class(msgtype), topic,
                                     lambda raw, t=topic: self._store(t, raw), QoSProfile(depth=1000), raw=True)
        node.create_subscription(Clock, "/clock", lambda m: self.clock.append(m.clock.sec * 10**9 + m.clock.nanosec),
                                 QoSProfile(depth=1000))
        if answer:
            self.images = 0
            self.track_pub = node.create_publisher(Track, "/tracker_node/track", 10)

            def on_image(msg):
                self.images += 1
                if self.images != skip_image:
                    self.track_pub.publish(Track(header=msg.header, status=1, x=float(self.images)))
            node.create_subscription(Image, "/image", on_image, QoSProfile(depth=10))

    def _store(self, topic, raw):
        with self.lock:
            self.raw[topic].append(bytes(raw))

    def wait(self, predicate, timeout=20.0, what="messages"):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)

    def close(self):
        self.session.close()


def test_paced_replay_sends_every_message_byte_for_byte_with_clock(bag, capsys):
    expected = _bag_messages(bag)
    peer = Peer({"/cam": "sensor_msgs/msg/Image", "/events": "event_camera_msgs/msg/EventPacket",
                 "/ground_truth": "fetrack_ros/msg/Track"})
    try:
        started = time.monotonic()
        assert _cli([str(bag), "--rate", "2", "--remap", "/image:=/cam",
                     "--wait-for", "/cam", "/events", "/ground_truth", "--wait-timeout", "30"]) == 0
        elapsed = time.monotonic() - started
        topics = (("/image", "/cam"), ("/events", "/events"), ("/ground_truth", "/ground_truth"))
        # Topics are delivered independently: the last packet may arrive after the last Track.
        peer.wait(lambda: all(len(peer.raw[topic]) >= len(expected[bag_topic]) for bag_topic, topic in topics),
                  what="every message of the bag")
        for bag_topic, topic in topics:
            assert peer.raw[topic] == [raw for _, raw in expected[bag_topic]], f"{topic} differs from the bag"
        log_times = sorted(t for msgs in expected.values() for t, _ in msgs)
        peer.wait(lambda: peer.clock and peer.clock[-1] == log_times[-1], what="the last /clock")
        assert peer.clock == sorted(peer.clock), "/clock went backwards"
        assert set(log_times) <= set(peer.clock), "each message's log time is published on /clock first"
        assert peer.clock[0] >= log_times[0]
    finally:
        peer.close()
    span = (log_times[-1] - log_times[0]) / 1e9
    assert elapsed >= span / 2 * 0.9, f"--rate 2 must take about {span / 2:.3f} s, took {elapsed:.3f} s"
    out = capsys.readouterr().out
    assert f"/cam: {N_IMAGES}" in out and f"/events: {2 * N_IMAGES}" in out


def test_lockstep_waits_for_each_track_and_records_them(bag, tmp_path, capsys):
    peer = Peer({}, answer=True)
    try:
        assert _cli([str(bag), "--lockstep", "--topics", "/image", "--record", str(tmp_path / "tracks"),
                     "--wait-timeout", "30", "--frame-timeout", "30"]) == 0
    finally:
        peer.close()
    out = capsys.readouterr().out
    assert f"lockstep: {N_IMAGES} Tracks" in out and f"recorded {N_IMAGES} Tracks" in out
    reader = bags.open_reader(tmp_path / "tracks")
    from fetrack_ros.data.rostypes import get_typestore
    tracks = [get_typestore().deserialize_cdr(raw, conn.msgtype) for conn, _, raw in reader.messages()]
    assert list(reader.topics) == ["/tracker_node/track"]
    reader.close()
    assert [t.header.stamp.sec * 10**9 + t.header.stamp.nanosec for t in tracks] == \
        [T0 + i * FRAME_NS for i in range(N_IMAGES)]
    assert [t.x for t in tracks] == [1.0, 2.0, 3.0, 4.0]  # one answer per image, in order: lock step


def test_lockstep_names_the_image_without_track(bag, capsys):
    peer = Peer({}, answer=True, skip_image=3)
    try:
        started = time.monotonic()
        assert _cli([str(bag), "--lockstep", "--topics", "/image", "--frame-timeout", "1.5",
                     "--wait-timeout", "30"]) == 2
        assert time.monotonic() - started < 20
    finally:
        peer.close()
    err = capsys.readouterr().err
    assert "no Track on /tracker_node/track for image 3 of 4 on /image" in err
    assert f"stamp {T0 + 2 * FRAME_NS} ns" in err and "(2 Tracks received so far)" in err


def test_lockstep_without_a_tracker_fails_fast_with_a_reason(bag, capsys):
    assert _cli([str(bag), "--lockstep", "--wait-timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert "still no subscriber on /image, a publisher of /tracker_node/track" in err


def test_bad_input_is_reported(bag, tmp_path, capsys):
    assert _cli([str(bag), "--topics", "/nope"]) == 2
    err = capsys.readouterr().err
    assert "has no topic /nope; its topics: /events (event_camera_msgs/msg/EventPacket, 8 msgs)" in err
    assert _cli([str(tmp_path / "missing")]) == 2
    assert "bag not found" in capsys.readouterr().err
    assert _cli([str(bag), "--remap", "image:=/cam"]) == 2
    assert "expected /bag_topic:=/published_topic" in capsys.readouterr().err
    assert _cli([str(bag), "--rate", "-1"]) == 2
    assert "rate must be >= 0" in capsys.readouterr().err


def test_message_class_names_missing_packages(monkeypatch):
    from fetrack_ros.tools.replay import ReplayError, message_class
    from sensor_msgs.msg import Image
    assert message_class("sensor_msgs/msg/Image") is Image
    monkeypatch.setitem(sys.modules, "dvs_msgs.msg", None)  # as if dvs_msgs were not installed
    with pytest.raises(ReplayError, match="dvs_msgs/msg/EventArray is not installed .* install the ROS package "
                                          "dvs_msgs"):
        message_class("dvs_msgs/msg/EventArray")


def test_corrupt_bag_is_a_source_error(tmp_path):
    from fetrack_ros.tools.replay import BagReplayer, RosSession
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metadata.yaml").write_text("not: [a, bag")
    session = RosSession("replay_corrupt_test")
    try:
        with pytest.raises(SourceError, match="cannot open bag"):
            BagReplayer(session.node, tmp_path / "bad")
    finally:
        session.close()


def test_lockstep_never_replays_recorded_tracks_into_the_wait(tmp_path):
    """A bag recorded from a running tracker holds its Tracks: replaying them would answer the wait."""
    from fetrack_ros.tools.replay import BagReplayer, ReplayError, ReplayOptions, RosSession
    path = tmp_path / "recorded"
    with BagWriter(path, "mcap") as writer:
        writer.write_image("/image", T0, np.zeros((4, 4, 3), np.uint8))
        writer.write_track("/tracker_node/track", T0, [0.0, 0.0, 1.0, 1.0])
    session = RosSession("replay_skip_test")
    try:
        replayer = BagReplayer(session.node, path, ReplayOptions(lockstep=True))
        assert replayer.topics == {"/image": "/image"}
        assert "tracker node publishes" in replayer.stats.skipped_topics["/tracker_node/track"]
        with pytest.raises(ReplayError, match="lockstep waits for the Tracks of /image, which is not replayed"):
            BagReplayer(session.node, path, ReplayOptions(lockstep=True, topics=("/tracker_node/track",),
                                                          track_topic="/other/track"))
    finally:
        session.close()


def test_unpaced_replay_records_the_tracks_that_come_after_the_bag(bag, tmp_path, capsys):
    peer = Peer({}, answer=True)
    try:
        assert _cli([str(bag), "--rate", "0", "--topics", "/image", "--wait-for", "/image", "--wait-timeout", "30",
                     "--record", str(tmp_path / "tracks"), "--track-topic", "/tracker_node/track"]) == 0
    finally:
        peer.close()
    assert f"recorded {N_IMAGES} Tracks" in capsys.readouterr().out


def test_default_delay_lets_discovery_finish_before_the_first_message(bag):
    peer = Peer({"/image": "sensor_msgs/msg/Image"})
    try:
        assert _cli([str(bag), "--rate", "0", "--topics", "/image"]) == 0
        peer.wait(lambda: len(peer.raw["/image"]) == N_IMAGES, what=f"{N_IMAGES} images, the first included")
    finally:
        peer.close()
