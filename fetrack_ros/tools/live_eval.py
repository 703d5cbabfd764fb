"""``fetrack eval --live``: bag -> the real tracker node -> recorded Tracks -> metrics.

For each bag a fresh ``tracker_node`` process is started (``use_sim_time``, the bag's ground
truth of frame 0 as ``initial_box``, inputs remapped to the bag's topics, reliable input QoS),
the bag's RGB and event topics are replayed into it in lockstep (:mod:`.replay`: an image is
sent once the earlier images' Tracks came back), the node's Tracks are recorded
(:mod:`.recorder`, into ``tracks/<seq>/``), and the run is scored and reported by the same code
as the offline evaluation (:func:`fetrack_ros.evaluation.run.score_runs`). So the node itself,
with its message conversion, synchronization and event windowing, is what is measured; its
boxes equal the offline ``fetrack eval --bag`` boxes up to float32 rounding.

Images in flight: by default as many as the bag's order needs (:func:`needed_in_flight`): one
for bags whose event data for an image comes before the next image, more when it comes later.
FPS in the report: from the intervals between consecutive Tracks' arrivals, i.e. the node's
throughput in the replay, transport included. ``live/<seq>.params.yaml`` and
``live/<seq>.node.log`` keep the node's parameters and output. Live runs do not resume.
"""
from __future__ import annotations

import collections
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fetrack_ros.data.bags import BagSequence, open_reader, raw_header_stamp, read_messages
from fetrack_ros.data.rostypes import COMPRESSED_IMAGE, EVENT_PACKET, IMAGE
from fetrack_ros.evaluation.run import CONFIG_FILE, TRACKS_TOPIC, SequenceRun, save_run, score_runs
from fetrack_ros.data.sequence import SourceError
from fetrack_ros.messages.stamps import stamp_to_ns
from fetrack_ros.messages.track import STATUS_UNINITIALIZED

from ..node import NODE_MODULE, READY_LINE
from ..node import parameters as P
from .process import ProcessStartError, PythonProcess
from .recorder import TrackRecorder
from .replay import BagReplayer, ReplayError, ReplayOptions, RosSession, TrackWaiter


#: Node parameters every live run sets (the caller's may override them).
LIVE_DEFAULTS = {
    "use_sim_time": True,
    "qos.image.reliability": "reliable", "qos.image.depth": 10,
    "qos.events.reliability": "reliable", "qos.event_frames.reliability": "reliable",
    "publish_debug_image": False,
    # an image whose events end the bag is released by this timeout (the node cannot know the
    # bag ended); generous, so that a busy machine never releases one before its events arrive
    "max_wait": 2.0,
}


class LiveEvalError(RuntimeError):
    """The live run could not complete (message says what failed; node output included)."""


#: What a live run raises for bad input or a failed run (``fetrack eval`` reports these).
LIVE_ERRORS = (SourceError, ValueError, LiveEvalError, ReplayError)


@dataclass
class LiveOptions:
    """``node_params``: tracker node parameters (names as in :mod:`.parameters`, plus ROS ones like
    ``use_sim_time``) on top of :data:`LIVE_DEFAULTS`; the per-bag ones (event input, topics,
    initial box) are set from the bag."""

    out_dir: Path
    node_params: dict = field(default_factory=dict)
    write_bags: bool = True
    bag_storage: str = "mcap"
    startup_timeout: float = 180.0
    frame_timeout: float = 60.0
    in_flight: int | None = None  # lockstep: images ahead of their Track; None = needed_in_flight()
    torch_threads: int | None = None

    def __post_init__(self) -> None:
        if (self.in_flight is not None and self.in_flight < 1) or self.startup_timeout <= 0 or self.frame_timeout <= 0:
            raise ValueError(f"in_flight must be >= 1 and the timeouts > 0, got {self.in_flight}, "
                             f"{self.startup_timeout}, {self.frame_timeout}")


def coerce_parameter(name: str, value):
    """``value`` as the ROS type of node parameter ``name`` (int/float/bool/str/double list)."""
    spec = P.SPEC_BY_NAME.get(name)
    if spec is None:
        return value
    kind = type(spec.default)
    if kind is list:
        return [float(v) for v in value]
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return kind(value)


def parse_node_params(items) -> dict:
    """``["NAME=VALUE", ...]`` (``--node-param``) -> dict, typed by the node's declarations
    (JSON for undeclared names such as ``use_sim_time``, else the text)."""
    params = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--node-param {item!r}: expected NAME=VALUE")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        try:
            params[name] = coerce_parameter(name, value)
        except (TypeError, ValueError):
            raise ValueError(f"--node-param {name}: {text!r} is not a {type(P.SPEC_BY_NAME[name].default).__name__}") \
                from None
        reason = P.validate(name, params[name])
        if reason:
            raise ValueError(f"--node-param {reason}")
    return params


def bag_inputs(sequence: BagSequence) -> tuple[dict, list[str]]:
    """Node parameters and ``--ros-args`` remaps that connect the node to the bag's topics."""
    reader = open_reader(sequence.path)
    try:
        rgb_type = reader.topics[sequence.rgb_topic].msgtype
        event_type = reader.topics[sequence.event_topic].msgtype
    finally:
        reader.close()
    params = {"image_transport": "compressed" if rgb_type == COMPRESSED_IMAGE else "raw"}
    remaps = [f"{'image/compressed' if rgb_type == COMPRESSED_IMAGE else 'image'}:={sequence.rgb_topic}"]
    if event_type == EVENT_PACKET:
        params["event_input"] = "event_packet"
        remaps.append(f"events:={sequence.event_topic}")
    elif event_type == IMAGE:
        params["event_input"] = "event_frames"
        remaps.append(f"event_frames:={sequence.event_topic}")
    else:
        raise SourceError(f"bag {sequence.path}: the node takes event frames as {IMAGE} only, but "
                          f"{sequence.event_topic} carries {event_type}")
    return params, remaps


def write_params_file(path: Path, params: dict) -> Path:
    """A ROS 2 parameters file for every node (``/**``); JSON is valid YAML and keeps the types."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"/**": {"ros__parameters": params}}, indent=1) + "\n")
    return path


def start_node(params_file: Path, remaps: list[str], log_path: Path, timeout: float,
               torch_threads: int | None = None) -> PythonProcess:
    """``python -m fetrack_ros.node.tracker_node`` with a params file and remaps, once active; its
    output goes to ``log_path`` and the last lines are kept for error messages."""
    args = ["-m", NODE_MODULE, "--ros-args", "--params-file", str(params_file)]
    for remap in remaps:
        args += ["-r", remap]
    env = {"OMP_NUM_THREADS": str(torch_threads)} if torch_threads else None
    try:
        return PythonProcess(args, READY_LINE, timeout=timeout, what="the tracker node", env=env,
                             log_path=log_path, keep=60)
    except ProcessStartError as exc:
        raise LiveEvalError(str(exc)) from None


#: Images in flight at most (the node's queue holds all but one of them).
MAX_IN_FLIGHT = 8
#: EventPacket streams: a packet stamped this much after an image's window end surely passes it
#: (header stamps lead the mapped event times only by the clock estimator's jitter).
PACKET_MARGIN_NS = 2_000_000


def needed_in_flight(sequence: BagSequence, window) -> int:
    """Images the lockstep replay must send ahead so that every image's event data is sent before
    its Track is awaited, from the bag's log order and header stamps (no decoding).

    An image is complete for the node once an event message stamped at or after its window end
    arrived (event frames: its stamp; packets: window end + :data:`PACKET_MARGIN_NS`); the images
    sent by then, counting it, must be in flight. ``window``: the node's WindowPolicy.
    """
    reader = open_reader(sequence.path)
    try:
        rgb = [c for c in reader.connections if c.topic == sequence.rgb_topic]
        events = [c for c in reader.connections if c.topic == sequence.event_topic]
        margin = PACKET_MARGIN_NS if events[0].msgtype == EVENT_PACKET else 0
        rgb_ids = {c.id for c in rgb}
        pending: collections.deque = collections.deque()  # (image number, stamp the event data must reach)
        sent, needed = 0, 1
        for conn, _, raw in read_messages(reader, rgb + events, sequence.path, "images and events"):
            stamp = raw_header_stamp(raw)
            if conn.id in rgb_ids:
                end = window.window(stamp)[1] if margin else stamp
                pending.append((sent, end + margin))
                sent += 1
            else:
                while pending and stamp >= pending[0][1]:
                    needed = max(needed, sent - pending.popleft()[0])
    finally:
        reader.close()
    return min(needed, MAX_IN_FLIGHT)


def run_from_tracks(sequence: BagSequence, tracks: list, arrivals: dict) -> SequenceRun:
    """A :class:`SequenceRun` from the node's Tracks (one per image, matched by header stamp);
    ``arrivals``: stamp -> monotonic arrival time, whose intervals give ``frame_seconds``."""
    by_stamp: dict[int, list] = {}
    for track in tracks:
        by_stamp.setdefault(stamp_to_ns(track.header.stamp), []).append(track)
    stamps = sequence.stamps_ns
    missing = [int(s) for s in stamps if len(by_stamp.get(int(s), ())) == 0]
    repeated = [int(s) for s in stamps if len(by_stamp.get(int(s), ())) > 1]
    if missing or repeated:
        raise LiveEvalError(f"bag {sequence.path}: expected one Track per image; {len(missing)} image(s) got none "
                            f"(first stamps {missing[:3]}), {len(repeated)} got several (first {repeated[:3]})")
    ordered = [by_stamp[int(s)][0] for s in stamps]
    if ordered[0].status == STATUS_UNINITIALIZED:  # the node did not take the initial box
        raise LiveEvalError(f"bag {sequence.path}: the node did not initialize on frame 0 (its Track is "
                            f"uninitialized); see the node log")
    seconds = np.diff([arrivals.get(int(s), np.nan) for s in stamps])
    return SequenceRun(
        name=sequence.name,
        boxes=np.array([[t.x, t.y, t.width, t.height] for t in ordered], np.float64),
        confidence=np.array([t.confidence for t in ordered], np.float64),
        status=np.array([t.status for t in ordered], np.uint8),
        template_updated=np.array([t.template_updated for t in ordered], bool),
        num_events=np.array([t.num_events for t in ordered], np.int64),
        stamps_ns=np.asarray(stamps, np.int64).copy(),
        frame_seconds=seconds[np.isfinite(seconds)])


def track_bag_live(sequence: BagSequence, options: LiveOptions,
                   log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> SequenceRun:
    """Replay one bag through a fresh node process in lockstep; returns the recorded run."""
    gt = sequence.gt_xywh
    if gt is None:
        raise SourceError(f"bag {sequence.path}: --live needs ground truth (--gt-topic or --gt-file) for the "
                          f"node's initial box")
    if not (gt[0][2] > 0 and gt[0][3] > 0):
        raise SourceError(f"bag {sequence.path}: frame 0 box {list(gt[0])} has no area; cannot initialize")
    stamps = sequence.stamps_ns
    if (stamps == 0).any() or len(np.unique(stamps)) != len(stamps):
        raise SourceError(f"bag {sequence.path}: --live matches Tracks to images by header stamp, so the "
                          f"images on {sequence.rgb_topic} need distinct non-zero stamps")
    inputs, remaps = bag_inputs(sequence)
    # queue_size: every image in flight may wait in the node's queue at once: the node takes all
    # event packets queued at a wake-up, so the images they complete are released together
    in_flight = options.in_flight
    if in_flight is None:
        in_flight = needed_in_flight(sequence, P.window_policy({**LIVE_DEFAULTS, **options.node_params}))
    params = {**LIVE_DEFAULTS, "queue_size": in_flight, **options.node_params, **inputs,
              "initial_box": [float(v) for v in gt[0]]}
    out_dir = Path(options.out_dir)
    params_file = write_params_file(out_dir / "live" / f"{sequence.name}.params.yaml", params)
    # a node name of our own, so that another tracker in the graph cannot answer for ours
    node_name = f"fetrack_live_{os.getpid()}"
    track_topic = f"/{node_name}/track"
    remaps = [f"__node:={node_name}", *remaps]
    bag_path = out_dir / "tracks" / sequence.name if options.write_bags else None
    if bag_path is not None:
        if bag_path.exists():
            shutil.rmtree(bag_path)
        bag_path.parent.mkdir(parents=True, exist_ok=True)
    log(f"{sequence.name}: starting the tracker node")
    node = start_node(params_file, remaps, out_dir / "live" / f"{sequence.name}.node.log",
                      options.startup_timeout, options.torch_threads)
    try:
        with RosSession() as session:
            waiter = TrackWaiter()
            recorder = TrackRecorder(session.node, track_topic, bag=bag_path, bag_topic=TRACKS_TOPIC,
                                     storage=options.bag_storage, waiter=waiter)
            try:
                replay = ReplayOptions(lockstep=True, in_flight=in_flight, image_topic=sequence.rgb_topic,
                                       track_topic=track_topic, frame_timeout=options.frame_timeout,
                                       topics=(sequence.rgb_topic, sequence.event_topic))
                replayer = BagReplayer(session.node, sequence.path, replay, waiter=waiter)
                replayer.wait_for_subscribers([sequence.rgb_topic, sequence.event_topic], options.startup_timeout)
                log(f"{sequence.name}: replaying {len(sequence)} images in lockstep ({in_flight} in flight)")
                try:
                    replayer.play()
                except ReplayError as exc:
                    state = "running" if node.alive() else f"exited with code {node.returncode}"
                    raise LiveEvalError(f"{exc}\nthe node is {state}; its output:\n{node.output}") from None
                tracks = recorder.tracks()
            finally:
                recorder.close()
    finally:
        node.stop()
    return run_from_tracks(sequence, tracks, {int(s): waiter.arrival(int(s)) for s in stamps})


def run_live_evaluation(sequences: list[BagSequence], options: LiveOptions, *, title: str = "Live evaluation",
                        label: str = "fetrack (node)",
                        log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    """Every bag through the node, then the offline evaluation's scoring and report.

    Returns the same dict as :func:`fetrack_ros.evaluation.run.run_evaluation` (``resumed`` empty).
    """
    names = [s.name for s in sequences]
    if len(set(names)) != len(names):
        raise ValueError(f"sequence names must be unique in one run (they name the result files): {names}")
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # what made these results, in run.py's format: an offline run resuming here sees other settings
    node_params = {**LIVE_DEFAULTS, **options.node_params}
    (out_dir / CONFIG_FILE).write_text(json.dumps(
        {"model": {"live_node": node_params},
         "params": {k: node_params[k] for k in P.TRACKER_PARAM_NAMES if k in node_params}}, indent=1))
    runs = {}
    for sequence in sequences:
        run = track_bag_live(sequence, options, log)
        save_run(out_dir, run, write_bags=False)  # the recorder wrote the node's own Tracks bag
        if run.frame_seconds.size:
            log(f"{sequence.name}: {len(run)} Tracks, one every {np.median(run.frame_seconds) * 1e3:.1f} ms "
                f"(median)")
        runs[sequence.name] = run
    meta = {"mode": "live (tracker node, lockstep replay)", "node_parameters": node_params,
            "fps": "intervals between consecutive Tracks received in the lockstep replay"}
    summary, paths = score_runs(sequences, runs, out_dir, meta, title=title, label=label, log=log)
    return {"summary": summary, "report": paths, "runs": runs, "tracked": names, "resumed": []}
