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


#: The command line shows the window's times in milliseconds (the node's parameters: seconds).
CLI_TIME_UNIT, CLI_PER_SECOND = "ms", 1e3


def window_option(setting) -> str:
    """The option of a :class:`~fetrack_ros.events.WindowSetting`: ``--window-policy``,
    ``--window-duration-ms``..."""
    return f"--{setting.option}" + (f"-{CLI_TIME_UNIT}" if setting.unit == "s" else "")


def window_option_default(setting):
    """The option's default, in the option's unit."""
    return setting.default if setting.unit != "s" else round(setting.default * CLI_PER_SECOND, 9)


def _option_range(setting) -> tuple[float, float]:
    return round(setting.low * CLI_PER_SECOND, 9), round(setting.high * CLI_PER_SECOND, 9)


def _in_option_unit(setting):
    """argparse ``type`` of a time option: a number in the option's unit within the setting's range."""
    low, high = _option_range(setting)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number ({CLI_TIME_UNIT})") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{value:g} is outside [{low:g}, {high:g}] {CLI_TIME_UNIT}")
        return value

    return parse


def add_window_arguments(group) -> None:
    """One option per event-window setting (:data:`~fetrack_ros.events.WINDOW_SETTINGS`), for raw
    events (EventPacket streams, aedat4): ``--window-policy --window-duration-ms
    --window-max-duration-ms --exposure-ms --exposure-offset-ms``."""
    from ..events import WINDOW_SETTINGS
    for setting in WINDOW_SETTINGS:
        description = setting.description[:1].lower() + setting.description[1:]
        if setting.choices is not None:
            group.add_argument(window_option(setting), choices=setting.choices, default=setting.default,
                               help=f"raw events (EventPacket streams, aedat4): {description} (default "
                                    f"%(default)s; the node's {setting.name})")
        else:
            low, high = _option_range(setting)
            group.add_argument(window_option(setting), type=_in_option_unit(setting), metavar=CLI_TIME_UNIT.upper(),
                               default=window_option_default(setting),
                               help=f"{description}; {CLI_TIME_UNIT}, {low:g} to {high:g} (default %(default)g; "
                                    f"the node's {setting.name} in {setting.unit})")


def window_settings(args: argparse.Namespace) -> dict:
    """The window options as setting values: the node's parameter names and units (seconds)."""
    from ..events import WINDOW_SETTINGS
    values = {}
    for setting in WINDOW_SETTINGS:
        value = getattr(args, window_option(setting)[2:].replace("-", "_"))
        values[setting.name] = value if setting.unit != "s" else value / CLI_PER_SECOND
    return values


def window_policy(args: argparse.Namespace):
    """The :class:`~fetrack_ros.events.WindowPolicy` the window options describe (built as the
    node builds it from its parameters)."""
    from ..events import window_policy_from_settings
    return window_policy_from_settings(window_settings(args))


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
