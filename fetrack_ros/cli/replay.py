"""``fetrack replay``: play a rosbag2 bag (sqlite3 or mcap) into ROS 2, with /clock, no rosbag2 needed.

Examples::

    fetrack replay rec1                                   # real time, all topics, /clock
    fetrack replay rec1 --rate 0.5 --remap /image:=/camera/image_raw
    fetrack replay rec1 --lockstep --record runs/rec1_tracks   # as fast as the tracker keeps up

Start the node with ``use_sim_time:=true`` so that it runs on the bag's clock. Messages are sent
byte for byte as recorded. ``--lockstep`` waits for the Track of each image (``--image-topic``)
on ``--track-topic`` before sending the next image, and fails with a message if one does not
come within ``--frame-timeout``.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from fetrack_ros.data.bags import DEFAULT_RGB_TOPIC


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("bag", type=Path, help="rosbag2 bag folder (or its .db3/.mcap file)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="bag seconds per wall-clock second (default 1; 0 = as fast as possible)")
    parser.add_argument("--lockstep", action="store_true",
                        help="send each image only after the previous image's Track arrived (ignores --rate)")
    parser.add_argument("--image-topic", default=DEFAULT_RGB_TOPIC,
                        help="--lockstep: bag topic of the images that get Tracks (default %(default)s)")
    from ..tools.replay import DEFAULT_TRACK_TOPIC
    parser.add_argument("--track-topic", default=DEFAULT_TRACK_TOPIC,
                        help="the tracker node's Track topic (default %(default)s)")
    parser.add_argument("--in-flight", type=int, default=1,
                        help="--lockstep: images sent ahead of their Track (default 1; 2 for bags whose events of "
                             "an image are logged after the next image; the node needs queue_size >= N - 1)")
    parser.add_argument("--frame-timeout", type=float, default=60.0,
                        help="--lockstep: seconds to wait for one Track (default %(default)s)")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC",
                        help="replay only these bag topics (default: every topic whose type is installed)")
    parser.add_argument("--remap", action="append", default=[], metavar="/FROM:=/TO",
                        help="publish bag topic /FROM as /TO (repeatable)")
    parser.add_argument("--qos", choices=["reliable", "best_effort"], default="reliable",
                        help="publisher reliability (reliable reaches both kinds of subscriber; default)")
    parser.add_argument("--no-clock", action="store_true", help="do not publish /clock")
    parser.add_argument("--wait-for", nargs="+", metavar="TOPIC", default=[],
                        help="published topics that must have a subscriber before playing "
                             "(--lockstep always waits for the image topic and the Track publisher)")
    parser.add_argument("--wait-timeout", type=float, default=60.0,
                        help="seconds to wait for --wait-for subscribers (default %(default)s)")
    parser.add_argument("--delay", type=float, default=1.0,
                        help="seconds before playing when there is nothing to wait for, so that DDS discovers "
                             "the subscribers first (default %(default)s)")
    parser.add_argument("--record", type=Path, metavar="BAG",
                        help="also record the Tracks of --track-topic into this new bag folder")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="format of --record")
    parser.add_argument("--linger", type=float, default=5.0,
                        help="--record without --lockstep: after the bag, keep recording until no Track came "
                             "for 1 s, at most this many seconds (default %(default)s; the node may still be working)")


def main(args: argparse.Namespace) -> int:
    try:
        from ..tools.recorder import TrackRecorder
        from ..tools.replay import BagReplayer, ReplayError, ReplayOptions, RosSession, TrackWaiter, parse_remaps
    except ImportError as exc:
        print(f"fetrack replay: error: needs ROS 2 (rclpy and the fetrack_ros messages): {exc}", file=sys.stderr)
        return 2
    from fetrack_ros.data.sequence import SourceError

    try:
        options = ReplayOptions(rate=args.rate, lockstep=args.lockstep, image_topic=args.image_topic,
                                in_flight=args.in_flight, track_topic=args.track_topic,
                                frame_timeout=args.frame_timeout,
                                topics=tuple(args.topics) if args.topics else None, remaps=parse_remaps(args.remap),
                                reliability=args.qos, clock=not args.no_clock)
        if args.record is not None and args.record.exists():
            raise ValueError(f"--record {args.record} already exists; choose a new folder")
    except ValueError as exc:
        print(f"fetrack replay: error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    session = RosSession("fetrack_replay")
    recorder = None
    try:
        waiter = TrackWaiter() if args.record is not None else None  # else lockstep subscribes itself
        if args.record is not None:
            recorder = TrackRecorder(session.node, args.track_topic, bag=args.record, storage=args.storage,
                                     waiter=waiter)
        replayer = BagReplayer(session.node, args.bag, options, waiter=waiter)
        for topic, why in replayer.stats.skipped_topics.items():
            print(f"fetrack replay: not replaying {topic}: {why}", file=sys.stderr)
        wait_for = list(args.wait_for)
        if args.lockstep:
            wait_for.append(options.remaps.get(args.image_topic, args.image_topic))
        if wait_for:
            replayer.wait_for_subscribers(list(dict.fromkeys(wait_for)), args.wait_timeout)
        elif args.delay > 0:
            time.sleep(args.delay)  # messages published before discovery reach no one
        stats = replayer.play(stop)
        if recorder is not None and not args.lockstep:  # lockstep: every Track is in already
            _linger(recorder, args.linger)
    except KeyboardInterrupt:
        stop.set()
        print("fetrack replay: interrupted", file=sys.stderr)
        return 130
    except (SourceError, ReplayError, ValueError) as exc:
        print(f"fetrack replay: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if recorder is not None:
            recorder.close()
        session.close()
    total = sum(stats.messages.values())
    print(f"replayed {total} messages on {len(stats.messages)} topics in {stats.wall_s:.2f} s "
          f"(bag span {stats.bag_s:.2f} s)")
    for topic, count in sorted(stats.messages.items()):
        print(f"  {topic}: {count}")
    if args.lockstep and stats.round_trip_s:
        seconds = sorted(stats.round_trip_s.values())
        print(f"lockstep: {len(seconds)} Tracks, median round trip {seconds[len(seconds) // 2] * 1e3:.1f} ms")
    if recorder is not None:
        print(f"recorded {len(recorder)} Tracks into {args.record}")
    return 0


def _linger(recorder, seconds: float, quiet: float = 1.0) -> None:
    """Wait until ``recorder`` got nothing new for ``quiet`` s, or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    count, last_change = len(recorder), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_change < quiet:
        time.sleep(0.05)
        if len(recorder) != count:
            count, last_change = len(recorder), time.monotonic()
