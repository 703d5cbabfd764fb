"""The ``fetrack`` command: one entry point, one subcommand per job.

Each subcommand lives next to the code it drives and is imported only when used, so
``fetrack --help`` stays fast and a subcommand's heavy imports (torch, rosbags, rclpy)
never burden another. A subcommand module provides ``add_arguments(parser)`` (declares its
options on an ``argparse.ArgumentParser``) and ``main(args) -> int`` (runs it).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Add a line here to add a subcommand.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("fetrack_ros.cli.demo",
             "held-out synthetic bags through the tracker node, next to OpenCV CSRT (make demo)"),
    "eval": ("fetrack_ros.cli.eval", "evaluate the tracker on dataset folders or bags"),
    "convert": ("fetrack_ros.cli.convert", "convert dataset sequence folders into rosbag2 bags"),
    "replay": ("fetrack_ros.cli.replay",
               "play a rosbag2 bag into ROS 2 with /clock (paced, or in lockstep with the tracker node)"),
    "train": ("fetrack_ros.cli.train", "train or fine-tune the network"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fetrack", description="Mamba-FETrack V2 RGB + event tracking tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in SUBCOMMANDS:
        build_parser().parse_args(argv)  # prints help, or an error naming the valid commands
        build_parser().print_help()
        return 2
    # The subcommand's module declares its own arguments, so its --help is complete.
    command = argv[0]
    module = importlib.import_module(SUBCOMMANDS[command][0])
    sub_parser = argparse.ArgumentParser(prog=f"fetrack {command}", description=SUBCOMMANDS[command][1])
    module.add_arguments(sub_parser)
    return int(module.main(sub_parser.parse_args(argv[1:])) or 0)


if __name__ == "__main__":
    sys.exit(main())
