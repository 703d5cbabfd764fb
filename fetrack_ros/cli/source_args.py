"""Command-line options for evaluation sources, shared by ``fetrack eval`` and ``fetrack convert``."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_dataset_arguments(group) -> None:
    """``--dataset --root --list --sequences --frame-period-ms --events``."""
    from ..data.datasets import EVENT_SOURCES, LAYOUTS
    group.add_argument("--dataset", choices=sorted(LAYOUTS), help="dataset folder layout")
    group.add_argument("--root", type=Path, help="dataset folder holding one sub-folder per sequence")
    group.add_argument("--list", dest="list_file", help="sequence list file (default: list.txt, FELT list1k.txt, "
                                                        "else every sub-folder)")
    group.add_argument("--sequences", nargs="+", metavar="NAME", help="only these sequences of the dataset")
    group.add_argument("--frame-period-ms", type=float, default=1000 / 30,
                       help="time between dataset frames for the stamps (folders have none; default 33.3; "
                            "--events aedat4 uses the recording's frame times)")
    group.add_argument("--events", choices=EVENT_SOURCES, default="frames",
                       help="event frames from the dvs folders, or rendered from each sequence's raw aedat4 "
                            "recording with the --window-* options (default %(default)s)")


def add_window_arguments(group) -> None:
    """``--window-policy --window-duration-ms --exposure-ms --exposure-offset-ms``."""
    from ..events import WINDOW_POLICIES
    group.add_argument("--window-policy", choices=WINDOW_POLICIES, default="between_frames",
                       help="raw events (EventPacket streams, aedat4): which events belong to an image "
                            "(as the node's window_policy)")
    group.add_argument("--window-duration-ms", type=float, default=33.0,
                       help="fixed window length, and the first between_frames window")
    group.add_argument("--exposure-ms", type=float, default=10.0,
                       help="exposure window length (--window-policy exposure)")
    group.add_argument("--exposure-offset-ms", type=float, default=0.0,
                       help="exposure window start relative to the image stamp (--window-policy exposure)")


def window_policy(args: argparse.Namespace):
    """The :class:`~fetrack_ros.events.WindowPolicy` the window options describe."""
    from ..events import WindowPolicy
    return WindowPolicy(kind=args.window_policy, duration_ns=round(args.window_duration_ms * 1e6),
                        exposure_ns=round(args.exposure_ms * 1e6),
                        exposure_offset_ns=round(args.exposure_offset_ms * 1e6))


def open_dataset_from_args(args: argparse.Namespace) -> list:
    """The dataset sequences the options name (each checked up front)."""
    from ..data.datasets import open_dataset
    if args.dataset is None:
        raise ValueError("--root needs --dataset (fe108, coesot or felt)")
    if args.root is None:
        raise ValueError("--dataset needs --root (the folder holding the sequence folders)")
    return open_dataset(args.root, args.dataset, list_file=args.list_file, names=args.sequences,
                        frame_period_ns=round(args.frame_period_ms * 1e6), events=args.events,
                        window=window_policy(args))
