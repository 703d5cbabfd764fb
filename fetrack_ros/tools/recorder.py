"""Recording the tracker node's Track messages (``fetrack_ros/msg/Track``) into a rosbag2 bag.

The subscription takes the messages serialized (``raw=True``): each one is kept as received and,
when a bag is given, written to it as it arrives through
:class:`~fetrack_ros.data.bagwriter.BagWriter` with the message's header stamp as its log
time (the image's time, as the offline evaluation's Track bags), so nothing is lost when the run
is interrupted. Works with :class:`~fetrack_ros.tools.replay.TrackWaiter` for lockstep replays.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from rclpy.qos import QoSProfile
from rclpy.serialization import deserialize_message

from fetrack_ros.data.bags import raw_header_stamp
from fetrack_ros.data.bagwriter import BagWriter
from fetrack_ros.data.rostypes import TRACK
from fetrack_ros.msg import Track

from .replay import DEFAULT_TRACK_TOPIC, TrackWaiter


class TrackRecorder:
    """Collects the Tracks published on ``topic`` (rclpy node ``node``, spun elsewhere).

    Args:
        bag: new bag folder to write them to (None: keep them in memory only).
        bag_topic: topic name in the bag (default: ``topic``).
        storage: ``"mcap"`` or ``"sqlite3"``.
        waiter: told the header stamp of every Track (lockstep replay).
        qos: subscription QoS; reliable by default (the node publishes reliable by default).
    """

    def __init__(self, node, topic: str = DEFAULT_TRACK_TOPIC, bag: str | Path | None = None,
                 bag_topic: str | None = None, storage: str = "mcap", waiter: TrackWaiter | None = None,
                 qos: QoSProfile | None = None) -> None:
        self.topic, self.bag_topic, self.waiter = topic, bag_topic or topic, waiter
        self._lock = threading.Lock()
        self._raw: list[bytes] = []
        self._writer = BagWriter(bag, storage) if bag is not None else None
        self._subscription = node.create_subscription(Track, topic, self._on_track, qos or QoSProfile(depth=1000),
                                                      raw=True)
        self._node = node
        if waiter is not None:
            waiter.subscription = self._subscription

    def _on_track(self, raw: bytes) -> None:
        stamp = raw_header_stamp(raw)
        with self._lock:
            self._raw.append(raw)
            if self._writer is not None:
                log_time = stamp or time.time_ns()  # an unstamped Track is logged at its arrival
                self._writer.write(self.bag_topic, self._writer.typestore.deserialize_cdr(raw, TRACK), log_time)
        if self.waiter is not None:
            self.waiter.add(stamp)

    def __len__(self) -> int:
        with self._lock:
            return len(self._raw)

    def tracks(self) -> list:
        """The Tracks received so far (rclpy ``fetrack_ros.msg.Track``), in arrival order."""
        with self._lock:
            raws = list(self._raw)
        return [deserialize_message(raw, Track) for raw in raws]

    def close(self) -> None:
        """Stop recording and finish the bag (idempotent)."""
        if self._subscription is not None:
            if self.waiter is not None and self.waiter.subscription is self._subscription:
                self.waiter.subscription = None
            self._node.destroy_subscription(self._subscription)
            self._subscription = None
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
