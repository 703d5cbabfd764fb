"""Replaying a rosbag2 bag into a live ROS 2 graph (for machines without ``ros2 bag play``).

Messages are published as they are stored: the bag's CDR bytes go to rclpy publishers of the
matching message class unchanged (``Publisher.publish(bytes)``), so every field and type stays
exact. ``/clock`` (``rosgraph_msgs/Clock``) carries the bag's log time, so nodes started with
``use_sim_time`` run on the bag's clock.

Two ways to play:

- **paced** (``rate``): message ``k`` leaves at ``(log_time_k - first log time) / rate`` seconds
  after the start, with ``/clock`` also published every ``clock_period`` in between (``rate=0``:
  no pacing at all);
- **lockstep**: as fast as the tracker node keeps up. Before an image on the lockstep topic is
  sent, the Tracks (same header stamp) of all but ``in_flight - 1`` earlier images must have
  arrived on the track topic, or :class:`ReplayError` says which image got none within
  ``frame_timeout``. The messages between two images (events, event frames, ground truth) are
  sent before waiting, since the node needs them to complete the earlier image; ``in_flight=2``
  serves bags whose event data for an image is logged after the next image (the node then needs
  ``queue_size >= in_flight`` to drop nothing). Tracks are matched to images by header
  stamp, so the images need distinct stamps.

  ``/clock`` stays at the bag's time while waiting; after the last message it runs on in real
  time until the last Track arrives, so that nodes whose timers run on sim time still see time pass.

Reader errors come from :mod:`fetrack_ros.data.bags` as ``SourceError`` (missing or
corrupt bag, unknown topic with the list of the bag's topics).
"""
from __future__ import annotations

import collections
import importlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rclpy.qos import QoSProfile

from fetrack_ros.data.bags import DEFAULT_RGB_TOPIC, describe_topics, open_reader, raw_header_stamp, read_messages
from fetrack_ros.data.rostypes import EVENT_PACKET
from fetrack_ros.data.sequence import SourceError
from fetrack_ros.messages.stamps import ns_to_stamp, stamp_to_ns

from ..node.qos import qos_profile

DEFAULT_TRACK_TOPIC = "/tracker_node/track"
CLOCK_TOPIC = "/clock"
#: KeepLast depth of the replay publishers: event packets come ~1000/s, everything else is slow.
EVENT_DEPTH, OTHER_DEPTH = 1000, 10


class ReplayError(RuntimeError):
    """The replay cannot go on (message says what is missing and what to check)."""


def message_class(msgtype: str):
    """The rclpy message class of ``pkg/msg/Name``; :class:`ReplayError` names a missing package."""
    package, kind, name = _split_msgtype(msgtype)
    try:
        return getattr(importlib.import_module(f"{package}.{kind}"), name)
    except (ImportError, AttributeError):
        raise ReplayError(f"message type {msgtype} is not installed (Python package {package}.{kind}); "
                          f"install the ROS package {package} to replay this topic") from None


def _split_msgtype(msgtype: str) -> tuple[str, str, str]:
    parts = msgtype.split("/")
    if len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or not all(parts):
        raise ReplayError(f"message type {msgtype!r} is not of the form package/msg/Name")
    return parts[0], parts[1], parts[2]


def parse_remaps(items) -> dict[str, str]:
    """``["/from:=/to", ...]`` -> ``{"/from": "/to"}``; both names absolute."""
    remaps = {}
    for item in items or ():
        source, sep, target = item.partition(":=")
        if not sep or not source.startswith("/") or not target.startswith("/"):
            raise ValueError(f"remap {item!r}: expected /bag_topic:=/published_topic (absolute names)")
        remaps[source] = target
    return remaps


@dataclass
class ReplayOptions:
    """How to replay. Topics are the bag's names; ``remaps`` renames them on publishing."""

    rate: float = 1.0                    # paced: bag seconds per wall second; 0 = no pacing
    lockstep: bool = False               # wait for each image's Track (ignores rate)
    in_flight: int = 1                   # lockstep: images sent whose Track has not come yet
    image_topic: str = DEFAULT_RGB_TOPIC  # lockstep: the bag topic whose messages get Tracks
    track_topic: str = DEFAULT_TRACK_TOPIC
    frame_timeout: float = 60.0          # lockstep: longest wait for one Track (s)
    topics: tuple[str, ...] | None = None  # None: every topic whose message type is installed
    remaps: dict[str, str] = field(default_factory=dict)
    reliability: str = "reliable"        # reliable publishers reach best-effort and reliable subscribers
    clock: bool = True
    clock_period: float = 0.01           # paced: /clock at least this often (s, wall time)

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise ValueError(f"rate must be >= 0 (0 = as fast as possible), got {self.rate}")
        if self.frame_timeout <= 0 or self.clock_period <= 0:
            raise ValueError("frame_timeout and clock_period must be > 0")
        if self.in_flight < 1:
            raise ValueError(f"in_flight must be >= 1, got {self.in_flight}")


@dataclass
class ReplayStats:
    """What a replay did. ``round_trip_s``: lockstep, per image, publish to Track receipt (s)."""

    messages: dict[str, int] = field(default_factory=dict)   # published topic -> count
    skipped_topics: dict[str, str] = field(default_factory=dict)  # bag topic -> why not replayed
    images: int = 0
    round_trip_s: dict[int, float] = field(default_factory=dict)  # image stamp ns -> seconds
    wall_s: float = 0.0
    bag_s: float = 0.0


class TrackWaiter:
    """Header stamps of the Tracks seen so far, with a bounded wait for one (thread-safe).

    ``subscription``: the Track subscription that feeds it (set by its creator), so that a replay
    can wait until that subscription is matched to the node's publisher before sending.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._arrived: dict[int, float] = {}  # stamp ns -> time.monotonic() of the first arrival
        self.subscription = None

    def matched(self) -> bool:
        """The feeding subscription is matched to at least one publisher."""
        return self.subscription is not None and self.subscription.get_publisher_count() > 0

    def add(self, stamp_ns: int) -> None:
        with self._cond:
            self._arrived.setdefault(int(stamp_ns), time.monotonic())
            self._cond.notify_all()

    def arrival(self, stamp_ns: int) -> float | None:
        with self._cond:
            return self._arrived.get(int(stamp_ns))

    @property
    def count(self) -> int:
        with self._cond:
            return len(self._arrived)

    def wait(self, stamp_ns: int, timeout: float, tick=None) -> float | None:
        """Monotonic arrival time of the Track stamped ``stamp_ns``, or None after ``timeout``.

        ``tick()`` (if given) is called about every 10 ms while waiting.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while int(stamp_ns) not in self._arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.01))
                if tick is not None:
                    tick()
            return self._arrived[int(stamp_ns)]


class BagReplayer:
    """Publishes a bag's topics from ``node`` (an rclpy node that an executor spins elsewhere).

    Construction reads the bag's index and creates the publishers (and the Track subscription
    for lockstep; pass ``waiter`` to share one with a recorder). :meth:`play` sends everything.
    """

    def __init__(self, node, bag: str | Path, options: ReplayOptions | None = None,
                 waiter: TrackWaiter | None = None) -> None:
        self.node, self.path, self.options = node, Path(bag), options or ReplayOptions()
        self.stats = ReplayStats()
        reader = open_reader(self.path)
        try:
            self._select(reader)
        finally:
            reader.close()
        opts = self.options
        self._publishers = {}
        for topic, conns in self._by_topic.items():
            qos = qos_profile(opts.reliability, EVENT_DEPTH if conns[0].msgtype == EVENT_PACKET else OTHER_DEPTH)
            self._publishers[topic] = node.create_publisher(message_class(conns[0].msgtype),
                                                            opts.remaps.get(topic, topic), qos)
        self._clock_pub, self._clock_ns = None, 0
        if opts.clock:
            from rosgraph_msgs.msg import Clock
            self._clock_msg = Clock()
            self._clock_pub = node.create_publisher(Clock, CLOCK_TOPIC, QoSProfile(depth=10))
        self.waiter = waiter
        if opts.lockstep and waiter is None:
            from fetrack_ros.msg import Track
            self.waiter = TrackWaiter()
            self.waiter.subscription = node.create_subscription(
                Track, opts.track_topic,
                lambda msg: self.waiter.add(stamp_to_ns(msg.header.stamp)),
                QoSProfile(depth=100))

    def _select(self, reader) -> None:
        """Pick the bag connections to replay; unknown requested topics are errors."""
        opts = self.options
        wanted = set(opts.topics) if opts.topics is not None else None
        if wanted is not None:
            missing = sorted(wanted - set(reader.topics))
            if missing:
                raise SourceError(f"bag {self.path} has no topic {', '.join(missing)}; its topics: "
                                  f"{describe_topics(reader)}")
        if opts.lockstep and opts.image_topic not in reader.topics:
            raise SourceError(f"bag {self.path} has no image topic {opts.image_topic!r} for lockstep; "
                              f"its topics: {describe_topics(reader)}")
        self._by_topic: dict[str, list] = {}
        for conn in reader.connections:
            if wanted is not None and conn.topic not in wanted:
                continue
            if conn.topic == CLOCK_TOPIC and opts.clock:
                self.stats.skipped_topics[conn.topic] = "the replayer publishes /clock itself"
                continue
            if opts.lockstep and opts.remaps.get(conn.topic, conn.topic) == opts.track_topic:
                # recorded Tracks would answer the lockstep wait in the node's place
                self.stats.skipped_topics[conn.topic] = "lockstep: the tracker node publishes this topic"
                continue
            try:
                message_class(conn.msgtype)
            except ReplayError as exc:
                if wanted is not None or conn.topic == opts.image_topic:
                    raise
                self.stats.skipped_topics[conn.topic] = str(exc)
                continue
            self._by_topic.setdefault(conn.topic, []).append(conn)
        if not self._by_topic:
            raise ReplayError(f"nothing to replay from {self.path}: " +
                              ("; ".join(f"{t}: {why}" for t, why in self.stats.skipped_topics.items())
                               or "the bag has no messages"))
        if opts.lockstep and opts.image_topic not in self._by_topic:
            raise ReplayError(f"lockstep waits for the Tracks of {opts.image_topic}, which is not replayed "
                              f"(replayed: {', '.join(sorted(self._by_topic))})")
        self._connections = [c for conns in self._by_topic.values() for c in conns]
        if opts.lockstep:
            self.stats.images = reader.topics[opts.image_topic].msgcount

    @property
    def topics(self) -> dict[str, str]:
        """Bag topic -> published topic, for the replayed topics."""
        return {topic: self.options.remaps.get(topic, topic) for topic in self._by_topic}

    def wait_for_subscribers(self, topics, timeout: float, settle: float = 0.5) -> None:
        """Until each published topic in ``topics`` has a subscriber (and, with a Track waiter, the
        Track subscription a publisher); :class:`ReplayError` naming the missing ones after ``timeout`` s.

        Then waits ``settle`` s more: discovery is two-sided, and a subscriber that has not yet
        matched our publisher drops what it sends (seen here: the first EventPackets of a burst)."""
        deadline = time.monotonic() + timeout
        published = {self.options.remaps.get(t, t): pub for t, pub in self._publishers.items()}
        unknown = sorted(set(topics) - set(published))
        if unknown:
            raise ReplayError(f"topics {unknown} are not replayed from {self.path}; replayed: {sorted(published)}")
        while True:
            missing = [t for t in topics if published[t].get_subscription_count() == 0]
            if self.waiter is not None and not self.waiter.matched():
                missing.append(f"a publisher of {self.options.track_topic}")
            if not missing:
                time.sleep(settle)
                return
            if time.monotonic() > deadline:
                raise ReplayError(f"after {timeout:.0f} s still no subscriber on {', '.join(missing)}: is the "
                                  f"node running in this ROS_DOMAIN_ID with matching topic names?")
            time.sleep(0.05)

    def _publish_clock(self, ns: int) -> None:
        """Publish /clock = ``ns``, or the last published time if that is later (never backwards)."""
        self._clock_ns = max(int(ns), self._clock_ns)
        if self._clock_pub is not None:
            ns_to_stamp(self._clock_ns, self._clock_msg.clock)
            self._clock_pub.publish(self._clock_msg)

    def play(self, stop: threading.Event | None = None) -> ReplayStats:
        """Publish every selected message in log-time order; returns :attr:`stats`."""
        opts, stats = self.options, self.stats
        reader = open_reader(self.path)
        start_wall = time.monotonic()
        first_log = last_log = None
        self._clock_ns = 0
        outstanding: collections.deque[tuple[int, float, int]] = collections.deque()  # (stamp, sent at, index)
        image_index = 0
        try:
            for conn, log_time, raw in read_messages(reader, self._connections, self.path, "the replayed topics"):
                if stop is not None and stop.is_set():
                    break
                if first_log is None:
                    first_log = log_time
                last_log = log_time
                is_image = opts.lockstep and conn.topic == opts.image_topic
                if is_image:
                    while len(outstanding) >= opts.in_flight:
                        self._await_track(outstanding.popleft(), clock_runs=False)
                elif not opts.lockstep and opts.rate > 0:
                    self._pace(start_wall, first_log, log_time, stop)
                self._publish_clock(log_time)
                self._publishers[conn.topic].publish(bytes(raw))
                topic = opts.remaps.get(conn.topic, conn.topic)
                stats.messages[topic] = stats.messages.get(topic, 0) + 1
                if is_image:
                    outstanding.append((raw_header_stamp(raw), time.monotonic(), image_index))
                    image_index += 1
            while outstanding and not (stop is not None and stop.is_set()):
                self._await_track(outstanding.popleft(), clock_runs=True)  # the bag ended
        finally:
            reader.close()
        stats.wall_s = time.monotonic() - start_wall
        stats.bag_s = 0.0 if first_log is None else (last_log - first_log) / 1e9
        return stats

    def _pace(self, start_wall: float, first_log: int, log_time: int, stop) -> None:
        """Sleep until ``log_time`` is due, publishing /clock every ``clock_period`` meanwhile."""
        rate, period = self.options.rate, self.options.clock_period
        due = start_wall + (log_time - first_log) / 1e9 / rate
        while True:
            now = time.monotonic()
            if now >= due or (stop is not None and stop.is_set()):
                return
            time.sleep(min(period, due - now))
            self._publish_clock(first_log + int(min(time.monotonic() - start_wall, due - start_wall) * rate * 1e9))

    def _await_track(self, image: tuple[int, float, int], clock_runs: bool) -> None:
        """Wait for the Track of ``image``; with ``clock_runs``, /clock advances in real time meanwhile."""
        stamp, sent, index = image
        began, base = time.monotonic(), self._clock_ns
        tick = (lambda: self._publish_clock(base + int((time.monotonic() - began) * 1e9))) if clock_runs else None
        arrived = self.waiter.wait(stamp, self.options.frame_timeout, tick)
        if arrived is None:
            raise ReplayError(
                f"no Track on {self.options.track_topic} for image {index + 1} of {self.stats.images} on "
                f"{self.options.image_topic} (stamp {stamp} ns) within {self.options.frame_timeout:.0f} s "
                f"({self.waiter.count} Tracks received so far): is the tracker node running, subscribed to "
                f"this topic with a compatible QoS, and publishing on {self.options.track_topic}?")
        self.stats.round_trip_s[stamp] = max(0.0, arrived - sent)


class RosSession:
    """An rclpy context of its own with one node spun by a background executor thread."""

    def __init__(self, name: str = "fetrack_replay") -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(args=["fetrack"], context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, name="fetrack_replay_executor", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException
        try:
            self.executor.spin()
        except ExternalShutdownException:
            pass

    def close(self) -> None:
        import rclpy
        self.executor.shutdown(timeout_sec=5.0)
        self._thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self) -> "RosSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
