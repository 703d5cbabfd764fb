"""The ``fetrack`` command: one entry point, one subcommand per job.

Each subcommand lives next to the code it drives and is imported only when used, so
``fetrack --help`` stays fast and a subcommand's heavy imports (torch, rosbags, rclpy)
never burden another. A subcommand module provides::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def main(args: argparse.Namespace) -> int: ...
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Add a line here to add a subcommand.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "eval": ("fetrack_ros.evaluation.eval_cli", "evaluate the tracker on dataset folders or bags"),
    "train": ("fetrack_ros.training.cli", "train or fine-tune the network"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fetrack", description="Mamba-FETrack V2 RGB + event tracking tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # Parse the subcommand name first, then let its module declare its own arguments.
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(SUBCOMMANDS[known.command][0])
    sub_parser = argparse.ArgumentParser(prog=f"fetrack {known.command}",
                                         description=SUBCOMMANDS[known.command][1])
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    return int(module.main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
