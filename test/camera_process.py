"""A camera in its own process, publishing the way real drivers do, for live tests and benchmarks.

Events: one EVT3 ``EventPacket`` per ``--packet-us`` of sensor time (metavision_driver's default
is 1 ms), best effort, KeepLast(1000), header stamp = host time at the packet's start (plus a
fixed latency), published once the packet's time has passed; the sensor clock starts just before
its 2^24 us rollover so every run crosses it. Images: ``--fps`` RGB frames (a square moving over
a textured background), stamped with the host time of their exposure on the same clock, published
``--readout-ms`` later. When the process falls behind (a busy CPU), it publishes late, in a burst,
as a driver's buffered output does.

At the end it writes ``--out`` (JSON): per image its stamp and the number of events sent for its
``between_frames`` window (from the previous image's stamp; the first: ``--first-window-ms``),
mapped to host time as the node maps them (header stamp minus packet start), so a test can check
every Track's ``num_events`` against what was sent. Prints ``camera ready`` when its topics are
matched and ``camera done`` when finished.

Run: ``python test/camera_process.py --rate 1e6 --seconds 3 --out sent.json``.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

ROLLOVER_US = 1 << 24


def make_stream(rate: float, seconds: float, width: int, height: int, packet_us: int, start_us: int, seed: int,
                burst: tuple[float, float, float] | None = None):
    """(packets: list of (start_us, bytes, n_events), event times in us): events uniform in time and space.

    ``burst``: ``(start_s, seconds, rate)``: that stretch of the stream runs at ``rate`` events/s."""
    from fetrack_ros.events import encode_evt3, make_events

    rng = np.random.default_rng(seed)
    n_packets = int(seconds * 1e6 // packet_us)
    packets, times = [], []
    for k in range(n_packets):
        t0 = start_us + k * packet_us
        in_burst = burst is not None and burst[0] <= k * packet_us / 1e6 < burst[0] + burst[1]
        per_packet = int(round((burst[2] if in_burst else rate) * packet_us / 1e6))
        t = np.sort(rng.integers(t0, t0 + packet_us, per_packet))
        events = make_events(rng.integers(0, width, per_packet), rng.integers(0, height, per_packet), t * 1000,
                             rng.integers(0, 2, per_packet))
        packets.append((t0, encode_evt3(events), per_packet))
        times.append(t)
    return packets, np.concatenate(times) if times else np.zeros(0, np.int64)


def make_image(k: int, width: int, height: int, background: np.ndarray) -> np.ndarray:
    image = background.copy()
    x = int(20 + 4 * k) % max(width - 60, 1)
    image[height // 3:height // 3 + 40, x:x + 50] = (230, 60, 40)
    return image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1e6, help="events per second")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--width", type=int, default=346)
    parser.add_argument("--height", type=int, default=260)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--packet-us", type=int, default=1000)
    parser.add_argument("--latency-us", type=int, default=200, help="header stamp after the packet's start")
    parser.add_argument("--readout-ms", type=float, default=5.0, help="image publish delay after its stamp")
    parser.add_argument("--first-window-ms", type=float, default=33.0, help="the node's window_duration")
    parser.add_argument("--reliable", action="store_true", help="reliable QoS instead of best effort")
    parser.add_argument("--burst", type=float, nargs=3, metavar=("START_S", "SECONDS", "RATE"),
                        help="a stretch of the stream at another event rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import rclpy
    from event_camera_msgs.msg import EventPacket
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    start_us = ROLLOVER_US - int(0.4 * args.seconds * 1e6)  # the clock rolls over 40 % into the run
    packets, event_us = make_stream(args.rate, args.seconds, args.width, args.height, args.packet_us, start_us,
                                    args.seed, tuple(args.burst) if args.burst else None)
    rng = np.random.default_rng(args.seed + 1)
    background = rng.integers(40, 200, (args.height, args.width, 3), dtype=np.uint8)
    frame_us = 1e6 / args.fps
    image_us = [start_us + round((k + 1) * frame_us) for k in range(int(args.seconds * args.fps) - 1)]

    rclpy.init()
    node = rclpy.create_node("camera_process")
    reliability = ReliabilityPolicy.RELIABLE if args.reliable else ReliabilityPolicy.BEST_EFFORT
    event_pub = node.create_publisher(EventPacket, "events", QoSProfile(depth=1000, reliability=reliability))
    image_pub = node.create_publisher(Image, "image", QoSProfile(depth=10, reliability=reliability))
    deadline = time.monotonic() + 60.0
    while (event_pub.get_subscription_count() == 0 or image_pub.get_subscription_count() == 0) \
            and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print("camera ready", flush=True)
    time.sleep(1.0)  # discovery settles on the subscriber side too

    # host time = sensor time + offset; a packet is stamped at its start plus the driver latency
    offset_ns = time.time_ns() + 100_000_000 - start_us * 1000
    latency_ns = args.latency_us * 1000
    queue = sorted([(t0 + args.packet_us, "events", i) for i, (t0, _, _) in enumerate(packets)]
                   + [(t + args.readout_ms * 1000, "image", k) for k, t in enumerate(image_us)])
    behind_ns = 0
    for due_us, kind, index in queue:
        due_ns = int(due_us * 1000) + offset_ns
        wait = due_ns - time.time_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        else:
            behind_ns = max(behind_ns, -wait)
        if kind == "events":
            t0, data, _ = packets[index]
            msg = EventPacket(height=args.height, width=args.width, seq=index, time_base=0, encoding="evt3",
                              is_bigendian=False, events=data)
            stamp = t0 * 1000 + offset_ns + latency_ns
            msg.header.frame_id = "event_camera"
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            event_pub.publish(msg)
        else:
            stamp = image_us[index] * 1000 + offset_ns
            rgb = make_image(index, args.width, args.height, background)
            msg = Image(encoding="rgb8", height=args.height, width=args.width, step=3 * args.width, data=rgb.tobytes())
            msg.header.frame_id = "camera"
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
            image_pub.publish(msg)

    # what the node should cut: events mapped with its offset estimate, the smallest header
    # stamp minus packet start (the packet start is the sensor time in effect before it)
    # (the first packet synchronises the decoder: its start is its first event)
    packet_start = np.array([t0 for t0, _, _ in packets])
    ends = np.cumsum([n for _, _, n in packets])
    sensor_start = np.concatenate([[event_us[0]], event_us[ends[:-1] - 1]])
    node_offset_ns = int(np.min(packet_start * 1000 + offset_ns + latency_ns - sensor_start * 1000))
    event_host_ns = event_us * 1000 + node_offset_ns
    stamps = [t * 1000 + offset_ns for t in image_us]
    starts = [stamps[0] - int(args.first_window_ms * 1e6)] + stamps[:-1]
    expected = np.searchsorted(event_host_ns, stamps) - np.searchsorted(event_host_ns, starts)
    with open(args.out, "w") as f:
        json.dump({"stamps_ns": stamps, "expected_events": expected.tolist(), "packets": len(packets),
                   "events": int(len(event_us)), "max_behind_ms": behind_ns / 1e6}, f)
    print(f"camera done: {len(packets)} packets, {len(image_us)} images, at most {behind_ns / 1e6:.1f} ms behind",
          flush=True)
    node.destroy_node()
    rclpy.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
