"""Test harness for the tracker node: the real node in its own process, a test client over DDS.

- :class:`NodeProcess`: ``python -m fetrack_ros.node.tracker_node`` with parameters, started by
  :class:`fetrack_ros.tools.process.PythonProcess` (waits for the ready line; its output drained by
  a thread, as a full pipe would block the node, and kept for failure messages);
- :class:`Client`: an rclpy node that publishes images, event frames and EVT3 EventPackets (or
  legacy EventArrays), collects Tracks and /diagnostics, and calls the node's services and
  parameter service;
- :func:`evt3_packets`: events as EVT3 EventPackets of ~1 ms each, like metavision_driver;
- :func:`event_arrays`: events as dvs_msgs / prophesee_event_msgs EventArrays of ~1 ms each;
- :func:`frame_events`: events that render (Event-AHU) exactly to a given event frame.
Every wait is bounded and fails naming what did not arrive.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from fetrack_ros.messages.stamps import ns_to_stamp, stamp_to_ns
from fetrack_ros.node import NODE_MODULE, READY_LINE
from fixture_paths import find_fixture
from ros_support import spin_until, start_process, stop_process

REPO = Path(__file__).resolve().parents[1]
STANDIN_WEIGHTS = REPO / ".pytest_cache" / "fetrack_ros" / "vim_s_depth2_seed0.pt"


def standin_weights() -> Path:
    """A depth-2 vim_s checkpoint with seeded random weights (official key names), written once
    under .pytest_cache: what node tests run when the reference fixture weights are not beside
    the checkout. Those tests compare the node with the Tracker on the same weights, so any
    weights do; the values of the reference ones are checked by the model and tracker tests."""
    if not STANDIN_WEIGHTS.is_file():
        import torch

        from fetrack_ros.model import build_model

        torch.manual_seed(0)
        state = build_model("vim_s", depth=2).state_dict()
        STANDIN_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
        scratch = STANDIN_WEIGHTS.with_suffix(f".{os.getpid()}.tmp")
        torch.save({"state_dict": state}, scratch)
        scratch.replace(STANDIN_WEIGHTS)  # atomic: parallel sessions never read half a file
    return STANDIN_WEIGHTS


FIXTURE_WEIGHTS = find_fixture("official", "femamba_depth2.pt") or standin_weights()
FIXTURE_SEQUENCE = find_fixture("official", "tracker_sequence.npz")
INIT_BOX = [93.0, 126.0, 54.0, 42.0]
FRAME_NS = 33_000_000
NODE = "/tracker_node"

#: Parameters every node test uses: depth-2 fixture weights, reliable inputs (no loss in bursts).
BASE_PARAMS = {
    "checkpoint": str(FIXTURE_WEIGHTS), "scan_backend": "torch",  # model auto: depth 2 from the weights
    "qos.image.reliability": "reliable", "qos.events.reliability": "reliable",
    "qos.event_frames.reliability": "reliable", "qos.image.depth": 50, "diagnostics_period": 0.2,
    "window_duration": FRAME_NS / 1e9, "max_wait": 5.0,
}


def ros_arg(name: str, value) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, (list, tuple)):
        value = "[" + ",".join(repr(float(v)) for v in value) + "]"
    return f"{name}:={value}"


class NodeProcess:
    """The tracker node as a subprocess; ``output`` holds what it printed so far."""

    def __init__(self, params: dict, extra_args: tuple = (), ready: str = READY_LINE,
                 timeout: float = 90.0) -> None:
        args = ["-m", NODE_MODULE, "--ros-args", *extra_args]
        for name, value in params.items():
            args += ["-p", ros_arg(name, value)]
        self.proc = start_process(args, ready, timeout=timeout)
        self.lines: list[str] = self.proc.lines  # every line, kept by the process's reader thread

    @property
    def output(self) -> str:
        return "".join(self.lines[-60:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> str:
        stop_process(self.proc)
        return self.output


class Client:
    """Test-side ROS node talking to the tracker node (call :meth:`close` at the end)."""

    def __init__(self, name: str = "node_test_client", event_input: str = "event_frames",
                 wait_connected: bool = True, compressed: bool = False) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CompressedImage, Image

        from fetrack_ros.msg import Track

        self.rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.compressed = compressed
        self.image_pub = (self.node.create_publisher(CompressedImage, "image/compressed", qos) if compressed
                          else self.node.create_publisher(Image, "image", qos))
        self.publishers = [self.image_pub]
        if event_input == "event_frames":
            self.frame_pub = self.node.create_publisher(Image, "event_frames", qos)
            self.publishers.append(self.frame_pub)
        else:  # EventPacket, or the legacy EventArray of dvs_msgs / prophesee_event_msgs
            from fetrack_ros.node.event_input import message_type
            self.event_pub = self.node.create_publisher(message_type(event_input), "events", qos)
            self.publishers.append(self.event_pub)
        self.tracks: list = []
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(Track, f"{NODE}/track", self.tracks.append, QoSProfile(depth=1000))
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        if wait_connected:
            self.wait_connected()

    def wait_connected(self) -> None:
        """Until the tracker node subscribes to our topics and publishes Tracks (it is configured)."""
        self.spin_until(lambda: all(p.get_subscription_count() > 0 for p in self.publishers)
                        and self.node.count_publishers(f"{NODE}/track") > 0, 60.0,
                        "the tracker node's subscriptions and track publisher")

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if "tracker_node" in status.name:
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def spin_until(self, predicate, timeout: float, what: str) -> None:
        spin_until(self.executor, predicate, timeout, what)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.rclpy.shutdown(context=self.context)

    # -- publishing
    def image_msg(self, rgb: np.ndarray, stamp_ns: int, encoding: str = "rgb8", frame_id: str = "camera"):
        import cv2
        from sensor_msgs.msg import Image

        pixels = {"rgb8": rgb, "bgr8": rgb[..., ::-1], "rgba8": cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA),
                  "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)}[encoding]
        pixels = np.ascontiguousarray(pixels)
        msg = Image(encoding=encoding, height=pixels.shape[0], width=pixels.shape[1],
                    step=pixels.strides[0], data=pixels.tobytes())
        msg.header.frame_id = frame_id
        ns_to_stamp(int(stamp_ns), msg.header.stamp)
        return msg

    def publish_image(self, rgb, stamp_ns: int, encoding: str = "rgb8") -> None:
        if self.compressed:
            import cv2
            from sensor_msgs.msg import CompressedImage

            msg = CompressedImage(format="png", data=cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))[1].tobytes())
            msg.header.frame_id = "camera"
            ns_to_stamp(int(stamp_ns), msg.header.stamp)
            self.image_pub.publish(msg)
        else:
            self.image_pub.publish(self.image_msg(rgb, stamp_ns, encoding))

    def publish_frame(self, event_frame, stamp_ns: int) -> None:
        self.frame_pub.publish(self.image_msg(event_frame, stamp_ns, frame_id="event_camera"))

    def publish_packets(self, packets) -> None:
        for packet in packets:
            self.event_pub.publish(packet)

    # -- receiving
    def tracks_for(self, stamps_ns) -> list:
        by_stamp = {}
        for track in self.tracks:
            by_stamp.setdefault(stamp_to_ns(track.header.stamp), []).append(track)
        return [by_stamp.get(int(s), []) for s in stamps_ns]

    def wait_track(self, stamp_ns: int, timeout: float = 60.0):
        self.spin_until(lambda: self.tracks_for([stamp_ns])[0], timeout, f"the Track of the image stamped {stamp_ns}")
        return self.tracks_for([stamp_ns])[0][0]

    def wait_diagnostic(self, key: str, predicate, timeout: float = 20.0) -> str:
        self.spin_until(lambda: key in self.diagnostics and predicate(int(self.diagnostics[key])), timeout,
                        f"/diagnostics {key} to satisfy the test (last: {self.diagnostics.get(key)!r})")
        return self.diagnostics[key]

    def all_images_ended(self, images: int | None = None) -> bool:
        """/diagnostics says every image received (``images`` of them, when given) ended as a
        published Track or under a ``dropped.*`` reason, and every published Track reached us."""
        d = self.diagnostics
        received, published = int(d.get("images.received", -1)), int(d.get("tracks.published", 0))
        ended = published + sum(int(v) for k, v in d.items() if k.startswith("dropped."))
        return (received > 0 and ended == received and len(self.tracks) == published
                and (images is None or received == images))

    def fresh_diagnostics(self, timeout: float = 20.0) -> dict:
        """Wait for the next /diagnostics message (counters published after this call)."""
        self.diagnostics = {}
        self.spin_until(lambda: bool(self.diagnostics), timeout, "a /diagnostics message")
        return self.diagnostics

    def count(self, key: str) -> int:
        return int(self.diagnostics.get(key, 0))

    # -- services and parameters
    def call(self, srv_type, name: str, request, timeout: float = 30.0):
        client = self.node.create_client(srv_type, name)
        self.spin_until(client.service_is_ready, timeout, f"the service {name}")
        future = client.call_async(request)
        self.spin_until(future.done, timeout, f"the response of {name}")
        self.node.destroy_client(client)
        return future.result()

    def set_target(self, box, stamp_ns: int = 0):
        from fetrack_ros.srv import SetTarget

        request = SetTarget.Request(x=float(box[0]), y=float(box[1]), width=float(box[2]), height=float(box[3]))
        ns_to_stamp(int(stamp_ns), request.stamp)
        return self.call(SetTarget, f"{NODE}/set_target", request)

    def set_parameter(self, name: str, value):
        """The SetParametersResult of setting ``name`` on the node."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
        return self.call(SetParameters, f"{NODE}/set_parameters", request).results[0]


def load_sequence(n: int):
    """(rgb, event frames, init box) of the first ``n`` fixture frames (346 x 260)."""
    data = np.load(FIXTURE_SEQUENCE)
    return data["rgb"][:n], data["event"][:n], list(INIT_BOX)


def offline_boxes(rgb, event_frames, box, complete=None, **params) -> list:
    """What the Tracker computes offline: boxes of frames 1..n-1 after initializing on frame 0.
    ``complete``: per tracked frame, whether its event window was complete (default: all were)."""
    from fetrack_ros.model import build_model, load_checkpoint
    from fetrack_ros.tracking import Tracker, TrackerParams

    model = load_checkpoint(build_model("vim_s", depth=2, scan_backend="torch"), FIXTURE_WEIGHTS)
    tracker = Tracker(model, TrackerParams(**params))
    tracker.initialize(rgb[0], event_frames[0], box)
    complete = [True] * (len(rgb) - 1) if complete is None else complete
    return [tracker.track(r, e, c) for r, e, c in zip(rgb[1:], event_frames[1:], complete)]


# ---------------------------------------------------------------------------- events
def frame_stretch(cursor_us: int, n_frames: int) -> tuple[list[int], int]:
    """Image stamps (us) of ``n_frames`` frames after ``cursor_us`` (frame k's window is
    ``[t_k - 33 ms, t_k)``) and the cursor after them: 0.3 s later, so that consecutive stretches
    of a test's stream never share events."""
    start = cursor_us + FRAME_NS // 1000
    return ([start + k * FRAME_NS // 1000 for k in range(n_frames)],
            start + (n_frames + 1) * FRAME_NS // 1000 + 300_000)


def frame_events(event_frame: np.ndarray, t0_us: int, t1_us: int, rng) -> np.ndarray:
    """One event per coloured pixel of an Event-AHU frame (red ON, blue OFF), times in [t0, t1) us.

    render_ahu of these events gives back ``event_frame`` exactly (one polarity per pixel).
    """
    from fetrack_ros.events import make_events

    on = np.all(event_frame == (220, 30, 30), axis=2)
    off = np.all(event_frame == (30, 30, 200), axis=2)
    ys, xs = np.nonzero(on | off)
    t = np.sort(rng.integers(t0_us, t1_us, size=len(xs)))
    order = rng.permutation(len(xs))
    return make_events(xs[order], ys[order], t, on[ys[order], xs[order]])


def evt3_packets(events_us: np.ndarray, width: int, height: int, offset_ns: int, packet_us: int = 1000,
                 seq_start: int = 0) -> list:
    """EventPackets of ~``packet_us`` of sensor time each; header stamp = first event time + offset."""
    from event_camera_msgs.msg import EventPacket

    from fetrack_ros.events import encode_evt3

    if not len(events_us):
        return []
    t = events_us["t"]
    bins = (t - t[0]) // packet_us
    edges = np.flatnonzero(np.diff(bins)) + 1
    packets = []
    for k, chunk in enumerate(np.split(events_us, edges)):
        stamp = int(chunk["t"][0]) * 1000 + offset_ns
        msg = EventPacket(height=height, width=width, seq=seq_start + k, time_base=0, encoding="evt3",
                          is_bigendian=False, events=encode_evt3(_us_to_ns(chunk)))
        msg.header.frame_id = "event_camera"
        ns_to_stamp(stamp, msg.header.stamp)
        packets.append(msg)
    return packets


def event_arrays(events: np.ndarray, width: int, height: int, mode: str, packet_ns: int = 1_000_000) -> list:
    """Legacy EventArray messages of event_input ``mode`` (dvs_msgs or prophesee_event_msgs) of
    ~``packet_ns`` each, one ``Event`` per event; ``events`` times are ROS time (ns), and so is each
    event's ``ts``; the header stamp is the first event's time."""
    import importlib

    from fetrack_ros.node.event_input import MESSAGE_TYPES, message_type

    array_type = message_type(mode)
    event_type = importlib.import_module(MESSAGE_TYPES[mode][1]).Event
    if not len(events):
        return []
    t = events["t"]
    edges = np.flatnonzero(np.diff((t - t[0]) // packet_ns)) + 1
    arrays = []
    for chunk in np.split(events, edges):
        msg = array_type(height=height, width=width)
        msg.header.frame_id = "event_camera"
        ns_to_stamp(int(chunk["t"][0]), msg.header.stamp)
        items = []
        for x, y, stamp, p in zip(chunk["x"].tolist(), chunk["y"].tolist(), chunk["t"].tolist(), chunk["p"].tolist()):
            event = event_type(x=x, y=y, polarity=bool(p))
            ns_to_stamp(stamp, event.ts)
            items.append(event)
        msg.events = items
        arrays.append(msg)
    return arrays


def _us_to_ns(events_us: np.ndarray) -> np.ndarray:
    events = events_us.copy()
    events["t"] *= 1000
    return events


def run_node(*ros_args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """The node run to its end (a start that fails), output captured."""
    return subprocess.run([sys.executable, "-m", "fetrack_ros.node.tracker_node", "--ros-args", *ros_args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def rosout_messages(client) -> list:
    """Subscribe ``client`` to /rosout (transient local: also what was logged before); the list fills
    as the client spins."""
    from rcl_interfaces.msg import Log
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    received = []
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    client.node.create_subscription(Log, "/rosout", received.append, qos)
    return received
