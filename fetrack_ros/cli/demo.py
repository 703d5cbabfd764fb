"""``fetrack demo`` (``make demo``): the whole product on data nobody trained on, in minutes.

1. Simulates a held-out synthetic benchmark (seeds training never draws; half the sequences with
   degraded RGB: motion blur, low light, under- and over-exposure) with RGB frames and DVS events.
2. Writes each sequence as a rosbag2 bag the way a robot records one: ``sensor_msgs/Image`` on
   ``/image``, EVT 3.0 ``event_camera_msgs/EventPacket`` on ``/events`` (1 ms packets, sensor
   clock, header stamps in ROS time), ground truth as ``fetrack_ros/Track`` on ``/ground_truth``.
3. Replays every bag through the real ``tracker_node`` over DDS (``fetrack eval --live``), with
   the packaged default model, records its Tracks and scores them.
4. Tracks the same RGB frames with OpenCV's CSRT (RGB only; done in step 1, on the frames that were
   simulated for the bags) as the reference point, and prints
   both tables, overall and split by RGB condition, with the paths of the plots and bags.
5. Writes ``tracking.gif``: the first :data:`VIDEO_SEQUENCES` sequences (normal and degraded RGB
   alternate), each RGB frame with the ground truth, the node's and CSRT's boxes, its event frame beside it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from ..evaluation import metrics, report
from ..data.bags import DEFAULT_EVENT_PACKET_TOPIC, DEFAULT_GT_TOPIC, DEFAULT_RGB_TOPIC, BagSequence
from ..data.bagwriter import BagWriter
from ..evaluation.baselines import track_csrt
from ..evaluation.video import TrackedClip, write_tracking_gif
from ..events import packetize, render_ahu
from ..model import default_checkpoint
from ..simulation.simulator import SimConfig, SyntheticSequence, benchmark_sequences

#: ROS time of the sensor clock's zero in the demo bags: event times (sensor clock) and image
#: stamps (ROS time) differ, as on a robot, and the node maps one to the other from packet stamps.
ROS_TIME_BASE_NS = 1_700_000_000 * 10**9
#: The demo's own sub-folders of its output folder: input bags, the node's run, the CSRT run.
DEMO_OUTPUTS = ("bags", "fetrack_live", "csrt")
#: Sequences shown in the demo's video (the first ones: normal and degraded RGB alternate).
VIDEO_SEQUENCES = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sequences", type=int, default=20, help="held-out sequences (half degraded RGB)")
    parser.add_argument("--frames", type=int, default=60, help="frames per sequence (30 fps)")
    parser.add_argument("--out", type=Path, default=Path("reports/demo"), help="output folder")
    parser.add_argument("--checkpoint", default="",
                        help="weights for the node (default: the packaged default model)")


def write_sequence_bag(sequence: SyntheticSequence, frames: list, path: Path) -> Path:
    """One simulated sequence (``frames``: its ``frames()``) as a bag (RGB images, EVT3 packets,
    ground truth), in log-time order."""
    cfg = sequence.config
    events = np.concatenate([f.events for f in frames])
    messages = [(stamp_ns + ROS_TIME_BASE_NS, 0, ("events", seq, payload))
                for seq, (stamp_ns, payload) in enumerate(packetize(events))]
    # An image is stamped at the end of its frame interval; its packets come before it.
    messages += [(f.stamp_ns + ROS_TIME_BASE_NS, 1, ("frame", f.index, f)) for f in frames]
    with BagWriter(path, "mcap") as bag:
        for stamp_ns, _, (kind, index, item) in sorted(messages, key=lambda m: m[:2]):
            if kind == "events":
                bag.write_event_packet(DEFAULT_EVENT_PACKET_TOPIC, stamp_ns, item, encoding="evt3",
                                       width=cfg.width, height=cfg.height, seq=index, frame_id="event_camera")
            else:
                bag.write_image(DEFAULT_RGB_TOPIC, stamp_ns, item.rgb, frame_id="camera")
                bag.write_track(DEFAULT_GT_TOPIC, stamp_ns, item.gt_xywh, frame_id="camera")
    return path


def _subset_rows(label: str, results: dict, fps: float | None, degraded: dict) -> list[dict]:
    """Report rows (:func:`~fetrack_ros.evaluation.report.overall_row`) for all, degraded and normal RGB."""
    rows = []
    for subset, keep in (("all", lambda n: True), ("degraded RGB", lambda n: degraded[n]),
                         ("normal RGB", lambda n: not degraded[n])):
        chosen = [r for n, r in results.items() if keep(n)]
        if chosen:
            row = report.overall_row(metrics.summarize(chosen), fps if subset == "all" else None)
            row["sequence"] = f"{label}: {subset} ({len(chosen)})"
            rows.append(row)
    return rows


def _paired_sr_differences(ours: dict, baseline: dict, degraded: dict) -> str:
    """One line per subset: mean SR difference (ours - baseline) on the same sequences, with its
    bootstrap 95 % interval, so that a gap can be told from sequence-to-sequence noise."""
    lines = []
    for subset, keep in (("all", lambda n: True), ("degraded RGB", lambda n: degraded[n])):
        names = [n for n in ours if keep(n)]
        if not names:
            continue
        sr = metrics.paired_differences(ours, baseline, names)["sr"]
        lines.append(f"- {subset} ({len(names)} sequences): {sr['mean']:+.1f} SR "
                     f"(95% interval {sr['ci95'][0]:+.1f} to {sr['ci95'][1]:+.1f})")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from ..tools.live_eval import LIVE_ERRORS, LiveOptions, run_live_evaluation

    checkpoint = args.checkpoint or default_checkpoint()
    if not checkpoint:
        print("fetrack demo: no packaged default model (resource/default_model.pt) and no --checkpoint given",
              file=sys.stderr)
        return 1
    out = args.out.resolve()
    for name in DEMO_OUTPUTS:  # a new run replaces the last one's results (never resumes from them)
        shutil.rmtree(out / name, ignore_errors=True)
    started = time.perf_counter()
    sequences = benchmark_sequences(args.sequences, config=SimConfig(num_frames=args.frames))
    degraded = {s.name: s.degraded for s in sequences}
    print(f"[demo] 1/3 simulating {len(sequences)} held-out sequences x {args.frames} frames "
          f"({sum(degraded.values())} with degraded RGB), writing them as bags to {out / 'bags'} and "
          f"tracking their RGB frames with OpenCV CSRT", flush=True)
    bag_paths, csrt, shown = [], {}, {}
    for s in sequences:  # simulated once: the bag, the CSRT baseline and the video see the same frames
        frames = list(s.frames())
        bag_paths.append(write_sequence_bag(s, frames, out / "bags" / s.name))
        csrt[s.name] = track_csrt(frames)
        if len(shown) < VIDEO_SEQUENCES:
            shown[s.name] = frames

    print(f"[demo] 2/3 replaying the bags through tracker_node (checkpoint {checkpoint})", flush=True)
    bags = [BagSequence(p, rgb_topic=DEFAULT_RGB_TOPIC, event_topic=DEFAULT_EVENT_PACKET_TOPIC,
                        gt_topic=DEFAULT_GT_TOPIC) for p in bag_paths]
    try:
        # The first image's window (the template's events) spans a whole frame period, as the
        # simulator's first frame does; the node's default is 33.0 ms.
        node_params = {"checkpoint": str(checkpoint), "window_duration": sequences[0].config.frame_period_us * 1e-6}
        live = run_live_evaluation(bags, LiveOptions(out / "fetrack_live", node_params=node_params),
                                   title="fetrack_ros demo: tracker node on held-out synthetic bags",
                                   label="fetrack (node)", log=lambda line: print(f"       {line}", flush=True))
    except LIVE_ERRORS as exc:
        print(f"fetrack demo: live run failed: {exc}", file=sys.stderr)
        return 1
    node_results = {s.name: metrics.evaluate_sequence(live["runs"][s.name].boxes, s.gt_xywh) for s in sequences}
    node_fps = metrics.fps(np.concatenate([live["runs"][s.name].frame_seconds for s in sequences]))

    csrt_results = {name: metrics.evaluate_sequence(boxes, s.gt_xywh)
                    for (name, (boxes, _)), s in zip(csrt.items(), sequences)}
    csrt_fps = metrics.fps(np.concatenate([sec for _, sec in csrt.values()]))
    report.write_report(out / "csrt", csrt_results, overall_fps=csrt_fps, title="OpenCV CSRT (RGB only)",
                        label="CSRT", meta={"tracker": "cv2.TrackerCSRT, default parameters, RGB frames"})

    print("[demo] 3/3 results", flush=True)
    summaries = {"fetrack (node, RGB + events)": metrics.summarize(list(node_results.values())),
                 "CSRT (RGB only)": metrics.summarize(list(csrt_results.values()))}
    plots = [report.plot_success(summaries, out / "success.png", "Held-out synthetic benchmark"),
             report.plot_precision(summaries, out / "precision.png", "Held-out synthetic benchmark")]
    rows = (_subset_rows("fetrack (node, RGB + events)", node_results, node_fps, degraded)
            + _subset_rows("CSRT (RGB only)", csrt_results, csrt_fps, degraded))
    table = report.markdown_table(rows)
    paired = ("fetrack - CSRT, per-sequence SR differences on the same sequences:\n"
              + _paired_sr_differences(node_results, csrt_results, degraded))
    (out / "demo.md").write_text("# fetrack_ros demo\n\n" + table + "\n" + paired)
    print("\n" + table + "\n" + paired)
    video = write_tracking_gif(out / "tracking.gif", [
        TrackedClip(name, [f.rgb for f in frames], [render_ahu(f.events, *f.rgb.shape[:2]) for f in frames],
                    np.stack([f.gt_xywh for f in frames]),
                    {"fetrack (node)": live["runs"][name].boxes, "CSRT": csrt[name][0]})
        for name, frames in shown.items()], fps=15.0, step=2)   # 30 fps sequences in real time
    print(f"Per-sequence reports: {live['report']['markdown']}, {out / 'csrt' / 'report.md'}\n"
          f"Comparison plots: {', '.join(map(str, plots))}\n"
          f"Video of the first {len(shown)} sequences (RGB with boxes | events): {video}\n"
          f"Input bags: {out / 'bags'}; the node's Track bags: {out / 'fetrack_live' / 'tracks'}\n"
          f"Replay one in RViz: fetrack replay {bag_paths[0]} (with the node running), "
          f"or open the Track bags in Foxglove.\nDone in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="fetrack demo", description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
