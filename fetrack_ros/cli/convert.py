"""``fetrack convert``: FE108 / COESOT / FELT sequence folders -> rosbag2 bags (one per sequence).

Example::

    fetrack convert --dataset coesot --root /data/COESOT/test --sequences dvSave-2021_09_01_06_59_10 --out bags/

Topics (defaults = the tracker node's inputs, so ``ros2 bag play`` feeds it directly):
``/image`` and ``/event_frames`` (sensor_msgs/Image rgb8, or CompressedImage png with
``--compressed``) and ``/ground_truth`` (fetrack_ros/msg/Track). With ``--events aedat4`` the
event frames are rendered from each sequence's raw recording and the raw events are also
written as EVT 3.0 event_camera_msgs/EventPacket messages on ``/events`` (1 ms packets).
Evaluate a converted bag with ``fetrack eval --bag bags/<seq> --gt-topic /ground_truth``
(add ``--event-topic /events`` to use the packets, as the node does with event_input:=events).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.sequence import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..data.bags import DEFAULT_EVENT_FRAME_TOPIC, DEFAULT_EVENT_PACKET_TOPIC, DEFAULT_GT_TOPIC, DEFAULT_RGB_TOPIC
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1]
    from .source_args import add_dataset_arguments, add_window_arguments
    add_dataset_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder for the bags (one sub-folder per sequence)")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="bag storage format")
    parser.add_argument("--compressed", action="store_true", help="PNG CompressedImage instead of raw rgb8 Image")
    add_window_arguments(parser)
    parser.add_argument("--rgb-topic", default=DEFAULT_RGB_TOPIC)
    parser.add_argument("--event-topic", default=DEFAULT_EVENT_FRAME_TOPIC, help="event frames")
    parser.add_argument("--packet-topic", default=DEFAULT_EVENT_PACKET_TOPIC,
                        help="EVT3 event packets (--events aedat4)")
    parser.add_argument("--gt-topic", default=DEFAULT_GT_TOPIC)


def main(args: argparse.Namespace) -> int:
    from ..data.convert import convert_sequence
    from .source_args import open_dataset_from_args
    try:
        sequences = open_dataset_from_args(args)
        existing = [s.name for s in sequences if (args.out / s.name).exists()]
        if existing:
            raise ValueError(f"bags already exist in {args.out}: {', '.join(existing)}; remove them or use "
                             f"another --out")
        for k, sequence in enumerate(sequences, start=1):
            path = convert_sequence(sequence, args.out / sequence.name, storage=args.storage,
                                    compressed=args.compressed, rgb_topic=args.rgb_topic,
                                    event_topic=args.event_topic, packet_topic=args.packet_topic,
                                    gt_topic=args.gt_topic)
            print(f"[{k}/{len(sequences)}] {sequence.name}: {len(sequence)} frames -> {path}")
    except (SourceError, ValueError, FileExistsError) as exc:
        print(f"fetrack convert: error: {exc}", file=sys.stderr)
        return 2
    return 0
