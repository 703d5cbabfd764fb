"""``fetrack train --config CONFIG``: train or fine-tune FEMamba (single process or under ``torchrun``).

Examples::

    fetrack train --config config/train_default.yaml
    fetrack train --config my.yaml --resume auto --set train.epochs=20 --set output.dir=runs/ft
    torchrun --nproc_per_node 2 -m fetrack_ros.cli.train --config my.yaml     # DDP
"""
from __future__ import annotations

import argparse
import sys

import yaml


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="training configuration (YAML; see fetrack_ros/training/config.py)")
    parser.add_argument("--resume", default=None, metavar="CHECKPOINT|auto",
                        help="continue from a checkpoint, or 'auto': the newest one in the output folder")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, e.g. train.epochs=3 (VALUE is read as YAML); repeatable")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs one line per epoch)")


def load_config(path: str, overrides: list[str]):
    from ..training.config import ConfigError, TrainConfig, set_path
    config = TrainConfig.load(path)
    if not overrides:
        return config
    data = config.to_dict()
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        set_path(data, key.strip(), yaml.safe_load(value))
    return TrainConfig.from_dict(data)


def main(args: argparse.Namespace) -> int:
    from ..training.config import ConfigError
    try:
        config = load_config(args.config, args.set)
    except ConfigError as exc:
        print(f"fetrack train: {exc}", file=sys.stderr)
        return 2
    from ..training.trainer import train
    result = train(config, resume=args.resume, progress=not args.no_progress)
    if result["checkpoint"] is not None:
        print(f"fetrack train: last checkpoint {result['checkpoint']}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="fetrack train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
