"""``fetrack eval``: run the Tracker over dataset sequences or rosbag2 bags and score it.

Examples::

    fetrack eval --dataset coesot --root /data/COESOT/test --checkpoint ckpt.pth.tar --out runs/coesot --jobs 2
    fetrack eval --bag rec1 rec2 --gt-topic /ground_truth --out runs/bags
    fetrack eval --bag rec1 --gt-file rec1_gt.txt --rgb-topic /dvxplorer/image_raw --out runs/rec1
    fetrack eval --bag rec1 --gt-topic /ground_truth --live --checkpoint ckpt.pth.tar --out runs/rec1_live

Writes ``report.md``/``report.json`` (per-sequence and overall AUC, PR@20, NPR@0.2, OP50/75, FPS),
``success.png``/``precision.png``, ``results/<seq>.txt`` (reference result format) and
``tracks/<seq>/`` (a bag of fetrack_ros/msg/Track). Re-running with the same ``--out`` resumes.
``--live`` measures the ROS node instead: each bag is replayed through a tracker_node process
(fetrack_ros.tools.live_eval) and its published Tracks are scored the same way (no resume).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.sequence import SourceError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1]
    src = parser.add_argument_group("input (one of --dataset/--root or --bag)")
    from .source_args import add_dataset_arguments, add_window_arguments
    add_dataset_arguments(src)
    src.add_argument("--bag", nargs="+", type=Path, metavar="PATH", help="rosbag2 bag folder(s), sqlite3 or mcap")
    from ..data.bags import DEFAULT_EVENT_FRAME_TOPIC, DEFAULT_RGB_TOPIC
    src.add_argument("--rgb-topic", default=DEFAULT_RGB_TOPIC, help="Image/CompressedImage topic (default %(default)s)")
    src.add_argument("--event-topic", default=DEFAULT_EVENT_FRAME_TOPIC,
                     help="event frames (Image/CompressedImage) or an event_camera_msgs/EventPacket stream "
                          "(default %(default)s)")
    add_window_arguments(src)
    src.add_argument("--event-clock", choices=["header", "fixed"], default="header",
                     help="EventPacket streams: sensor-to-image clock from packet header stamps, or a fixed offset")
    src.add_argument("--event-offset-ns", type=int, default=0, help="offset for --event-clock fixed")
    gt = src.add_mutually_exclusive_group()
    gt.add_argument("--gt-topic", help="fetrack_ros/msg/Track ground-truth topic of the bags")
    gt.add_argument("--gt-file", type=Path, help="ground-truth text file, one x,y,w,h line per RGB image "
                                                 "(only with a single --bag)")
    src.add_argument("--match-tolerance-ms", type=float, default=1.0,
                     help="largest stamp difference when pairing event frames / ground truth with images")

    model = parser.add_argument_group("model and tracker")
    model.add_argument("--model", default="auto",
                       help="auto (default): the architecture stored in the checkpoint; or a config name, vim_s "
                            "(official) or vim_t, that the checkpoint must fit")
    model.add_argument("--checkpoint", type=Path,
                       help="weights (.pth.tar / .pt); default with --model auto: the packaged model; with a "
                            "config name and no checkpoint the weights are random")
    model.add_argument("--depth", type=int, help="override the backbone depth (tests, smoke runs)")
    model.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    model.add_argument("--template-update-threshold", type=float,
                       help="confidence for a template update (default 1.0: none, like the reference; the paper uses 0.5)")
    model.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="any TrackerParams field, e.g. --param search_factor=4.5 (repeatable)")

    live = parser.add_argument_group("live evaluation (needs ROS 2: rclpy and the fetrack_ros messages)")
    live.add_argument("--live", action="store_true",
                      help="replay each --bag through the real tracker node (its own process, use_sim_time, "
                           "lockstep) and score the Tracks it publishes; the same report as offline")
    live.add_argument("--node-param", action="append", default=[], metavar="NAME=VALUE",
                      help="--live: any tracker node parameter, e.g. --node-param max_wait=5.0 (repeatable)")
    live.add_argument("--startup-timeout", type=float, default=180.0,
                      help="--live: seconds for the node to load its model and connect (default %(default)s)")
    live.add_argument("--frame-timeout", type=float, default=60.0,
                      help="--live: seconds to wait for the Track of one image (default %(default)s)")
    live.add_argument("--in-flight", type=int,
                      help="--live: images sent ahead of their Track (default: what the bag's order needs, 1 "
                           "unless an image's event data is logged after the next image)")

    out = parser.add_argument_group("output")
    out.add_argument("--out", type=Path, required=True, help="output folder (re-use it to resume)")
    out.add_argument("--jobs", type=int, default=1, help="sequences tracked in parallel processes")
    out.add_argument("--threads", type=int, help="torch threads per process (default: torch's; with --jobs "
                                                 "N: CPU cores / N)")
    out.add_argument("--no-resume", action="store_true",
                     help="track every sequence again (needed to re-use --out with other settings)")
    out.add_argument("--no-bags", action="store_true", help="do not write the Track bags")
    out.add_argument("--bag-storage", choices=["mcap", "sqlite3"], default="mcap", help="format of the Track bags")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument("--title", default=None, help="report title")
    out.add_argument("--label", default="fetrack", help="tracker name in the plot legends")


def tracker_changes(args: argparse.Namespace) -> dict:
    """The user's tracker settings, ``{field: value}`` from ``--template-update-threshold`` and
    ``--param NAME=VALUE`` (checked against TrackerParams' ranges)."""
    from ..tracking.params import TrackerParams, parse_assignments
    changes = parse_assignments(args.param)
    if args.template_update_threshold is not None:
        changes["template_update_threshold"] = args.template_update_threshold
    TrackerParams().replace(**changes)  # ranges checked before any work
    return changes


def weights_info(args: argparse.Namespace):
    """What the checkpoint says about its weights (:class:`~fetrack_ros.model.loading.WeightsInfo`),
    or None for random weights (a named architecture without ``--checkpoint``)."""
    from ..model.loading import read_weights_info
    if args.checkpoint is None and args.model != "auto":
        return None
    return read_weights_info(str(args.checkpoint) if args.checkpoint else None)


def tracker_params(weights, changes: dict):
    """TrackerParams for offline tracking: the settings the checkpoint recommends (``weights``, from
    :func:`weights_info`; the model's own choice, none for random weights), then ``changes``, which win."""
    from ..tracking.params import with_recommended
    return with_recommended(weights.tracker_settings if weights else {}, changes)


def open_sequences(args: argparse.Namespace) -> list:
    if (args.bag is None) == (args.root is None):
        raise ValueError("give either --dataset with --root, or --bag (not both)")
    from .source_args import open_dataset_from_args, window_policy
    if args.root is not None:
        if args.gt_topic or args.gt_file:
            raise ValueError("--gt-topic/--gt-file apply to --bag; datasets carry their ground truth")
        return open_dataset_from_args(args)
    if args.gt_file is not None and len(args.bag) != 1:
        raise ValueError("--gt-file goes with a single --bag; use --gt-topic for several bags")
    from ..data.bags import BagSequence
    window = window_policy(args)
    return [BagSequence(path, rgb_topic=args.rgb_topic, event_topic=args.event_topic, gt_topic=args.gt_topic,
                        gt_file=args.gt_file, match_tolerance_ns=round(args.match_tolerance_ms * 1e6),
                        window=window, event_clock=args.event_clock, event_offset_ns=args.event_offset_ns)
            for path in args.bag]


def main(args: argparse.Namespace) -> int:
    from ..evaluation import report
    from ..evaluation.run import ModelSpec, RunOptions, run_evaluation
    from ..model.loading import ModelLoadError
    try:
        if args.jobs < 1 or (args.threads is not None and args.threads < 1):
            raise ValueError(f"--jobs and --threads must be >= 1, got {args.jobs} and {args.threads}")
        changes = tracker_changes(args)
        weights = params = None
        if not args.live:  # --live: the node reads the checkpoint and applies its recommended settings itself
            weights = weights_info(args)
            params = tracker_params(weights, changes)
        sequences = open_sequences(args)
    except (ValueError, SourceError, ModelLoadError) as exc:
        print(f"fetrack eval: error: {exc}", file=sys.stderr)
        return 2
    overrides = (("depth", args.depth),) if args.depth is not None else ()
    checkpoint = str(args.checkpoint) if args.checkpoint else None
    try:
        spec = ModelSpec(args.model, checkpoint, overrides, args.device)
    except ValueError as exc:
        print(f"fetrack eval: error: {exc}", file=sys.stderr)
        return 2
    options = RunOptions(out_dir=args.out, params=params, write_bags=not args.no_bags, bag_storage=args.bag_storage,
                         torch_threads=args.threads, model=spec)
    if not args.live and weights is None:
        print("fetrack eval: warning: no --checkpoint, the network has random weights", file=sys.stderr)
    elif not args.live:
        from ..tracking.params import changed_fields
        print(f"model: {weights.provenance}", file=sys.stderr)
        print(f"tracker settings: {_settings_text(changed_fields(params))}", file=sys.stderr)
    title = args.title or (f"{args.dataset} ({args.root})" if args.root else "bags")
    errors: tuple = (SourceError, ValueError, ModelLoadError)
    if args.live:
        try:  # the only ROS import of fetrack eval: the rest runs without ROS
            from ..tools.live_eval import LIVE_ERRORS
        except ImportError as exc:
            print(f"fetrack eval: error: --live needs ROS 2 (rclpy and the fetrack_ros messages): {exc}",
                  file=sys.stderr)
            return 2
        errors += LIVE_ERRORS
    try:
        if args.live:
            result = _run_live(args, changes, sequences, title)
        else:
            result = run_evaluation(sequences, options, jobs=args.jobs, resume=not args.no_resume,
                                    progress=not args.no_progress, title=title, label=args.label)
    except errors as exc:
        print(f"fetrack eval: error: {exc}", file=sys.stderr)
        return 2
    if result["summary"] is None:
        print(f"tracked {len(result['runs'])} sequence(s) without ground truth; results in {args.out / 'results'}")
        return 0
    summary = result["summary"]
    print(report.markdown_table([report.overall_row(summary)]), end="")
    print(f"report: {result['report']['markdown']}")
    return 0


def _settings_text(settings: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in settings.items()) or "the defaults"


def _run_live(args: argparse.Namespace, changes: dict, sequences: list, title: str) -> dict:
    """``--live``: the bags through the tracker node (:mod:`fetrack_ros.tools.live_eval`)."""
    if args.bag is None:
        raise ValueError("--live replays bags: give --bag")
    if args.jobs != 1:
        raise ValueError("--live runs one node at a time; --jobs must be 1")
    from ..tools.live_eval import LiveOptions, run_live_evaluation
    options = LiveOptions(out_dir=args.out, node_params=node_params_from_args(args, changes),
                          write_bags=not args.no_bags, bag_storage=args.bag_storage,
                          startup_timeout=args.startup_timeout, frame_timeout=args.frame_timeout,
                          in_flight=args.in_flight, torch_threads=args.threads)
    return run_live_evaluation(sequences, options, title=f"{title} (live)", label=args.label)


def node_params_from_args(args: argparse.Namespace, tracker_changes: dict) -> dict:
    """Node parameters equivalent to ``fetrack eval`` options (model, event windows, the user's
    tracker settings ``tracker_changes``: the node applies the checkpoint's recommended settings
    itself), then ``--node-param`` values, which win."""
    from ..node import parameters as P
    from ..tools.live_eval import coerce_parameter, parse_node_params
    from .source_args import window_settings
    params = {"model": args.model, "model_depth": int(args.depth or 0), "device": args.device,
              **window_settings(args),
              "event_clock": args.event_clock, "event_clock_offset_ns": int(args.event_offset_ns),
              "event_frame_tolerance": args.match_tolerance_ms / 1e3}
    if args.checkpoint is not None:
        params["checkpoint"] = str(Path(args.checkpoint).resolve())
    not_node = sorted(k for k in tracker_changes if k not in P.TRACKER_PARAM_NAMES)
    if not_node:
        raise ValueError(f"--live: tracker setting(s) {not_node} are not node parameters; the node has "
                         f"{list(P.TRACKER_PARAM_NAMES)}")
    params.update(tracker_changes)
    params.update(parse_node_params(getattr(args, "node_param", None)))
    return {name: coerce_parameter(name, value) for name, value in params.items()}
