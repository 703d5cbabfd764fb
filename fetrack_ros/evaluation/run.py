"""Offline evaluation runs: the Tracker over sequences, resumable, optionally in parallel processes.

Layout of an output folder::

    results/<seq>.npz     the record of one tracked sequence (boxes, confidences, statuses, times)
    results/<seq>.txt     its boxes in the reference's result format (x<TAB>y<TAB>w<TAB>h per line)
    tracks/<seq>/         its boxes as a rosbag2 bag of fetrack_ros/msg/Track (RViz / Foxglove)
    report.md, report.json, success.png, precision.png
    run_config.json       the model and tracker settings the results were made with

A sequence whose ``results/<seq>.npz`` exists with the right frame count is not tracked again,
so an interrupted run resumes where it stopped (records are written atomically). Resuming with
other settings than ``run_config.json`` records is refused.
"""
from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import json
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import metrics, report
from ..data.groundtruth import write_boxes
from ..data.sequence import Sequence, SourceError
from ..messages.track import STATUS_TRACKING, status_code

TRACKS_TOPIC = "/fetrack/track"


@dataclass(frozen=True)
class ModelSpec:
    """How to build the network in any process: config name, overrides, checkpoint, device.

    With a checkpoint (or ``name`` ``"auto"``, whose default checkpoint is the packaged model) the
    network comes from :func:`~fetrack_ros.model.loading.load_inference_model`, as in the node:
    ``"auto"`` builds the architecture the checkpoint stores, a config name (``vim_s``, ``vim_t``)
    must fit it; overrides are limited to ``depth`` and ``scan_backend``. A config name without a
    checkpoint builds that network with any ``overrides`` and random weights (seeded: smoke tests
    and benchmarks).
    """

    name: str = "auto"
    checkpoint: str | None = None
    overrides: tuple[tuple[str, object], ...] = ()
    device: str = "cpu"

    def __post_init__(self) -> None:
        extra = sorted(set(dict(self.overrides)) - {"depth", "scan_backend"})
        if extra and (self.name == "auto" or self.checkpoint is not None):
            raise ValueError(f"a network built for a checkpoint takes its architecture from it: it cannot "
                             f"override {extra}")

    def build(self):
        if self.name == "auto" or self.checkpoint is not None:
            from ..model.loading import load_inference_model
            overrides = dict(self.overrides)
            return load_inference_model(self.name, self.checkpoint, depth=overrides.get("depth", 0),
                                        device=self.device, scan_backend=overrides.get("scan_backend", "auto")).model
        import torch

        from ..model import build_model
        # Seeded so that runs with random weights are reproducible in every process.
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = build_model(self.name, **dict(self.overrides))
        return model.to(self.device).eval()


@dataclass
class SequenceRun:
    """What the tracker produced on one sequence; frame 0 is the initialisation frame.

    ``boxes`` (N, 4) float64 px; ``confidence`` (N,) float64 (1.0 at frame 0); ``status`` (N,)
    uint8 Track status codes; ``template_updated`` (N,) bool; ``num_events`` (N,) int64 (0 when
    the source gives rendered event frames); ``stamps_ns`` (N,) int64; ``frame_seconds`` (N-1,)
    wall time of each ``Tracker.track`` call.
    """

    name: str
    boxes: np.ndarray
    confidence: np.ndarray
    status: np.ndarray
    template_updated: np.ndarray
    num_events: np.ndarray
    stamps_ns: np.ndarray
    frame_seconds: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "SequenceRun":
        with np.load(path) as data:
            fields = {f.name: data[f.name] for f in dataclasses.fields(cls)}
        fields["name"] = str(fields["name"])
        return cls(**fields)


def _event_frame(frame, height: int, width: int) -> tuple[np.ndarray, int]:
    """The frame's event frame (rendered from its events at the RGB size if it has none) and its
    number of events (0 when the source gives only rendered frames)."""
    num_events = 0 if frame.events is None else len(frame.events)
    if frame.event_frame is not None:
        return frame.event_frame, num_events
    if frame.events is not None:
        from ..events import render_ahu
        return render_ahu(frame.events, height, width), num_events
    raise SourceError(f"frame {frame.index} has neither an event frame nor events")


def track_sequence(tracker, sequence: Sequence, init_box=None,
                   on_frame: Callable[[int], None] | None = None) -> SequenceRun:
    """Initialize on frame 0 (``init_box``, else its ground truth) and track every later frame."""
    n = len(sequence)
    boxes = np.zeros((n, 4))
    confidence = np.ones(n)
    status = np.full(n, STATUS_TRACKING, np.uint8)
    template_updated = np.zeros(n, bool)
    num_events = np.zeros(n, np.int64)
    stamps = np.zeros(n, np.int64)
    seconds = np.zeros(max(n - 1, 0))
    count = 0
    for frame in sequence.frames():
        i = frame.index
        event_frame, num_events[i] = _event_frame(frame, *frame.rgb.shape[:2])
        stamps[i] = frame.stamp_ns
        if i == 0:
            box = init_box if init_box is not None else frame.gt_xywh
            if box is None:
                raise SourceError(f"sequence {sequence.name}: no initial box (no ground truth for frame 0)")
            if not (box[2] > 0 and box[3] > 0):
                raise SourceError(f"sequence {sequence.name}: frame 0 box {list(box)} has no area; "
                                  "cannot initialize")
            tracker.initialize(frame.rgb, event_frame, box)
            boxes[0] = box
        else:
            start = time.perf_counter()
            result = tracker.track(frame.rgb, event_frame)
            seconds[i - 1] = time.perf_counter() - start
            boxes[i] = result.box
            confidence[i] = result.confidence
            status[i] = status_code(result.status)
            template_updated[i] = result.template_updated
        count += 1
        if on_frame is not None:
            on_frame(1)
    if count != n:
        raise SourceError(f"sequence {sequence.name}: {count} frames read, {n} expected")
    problems = getattr(sequence, "input_problems", None)
    if problems:  # damaged or impossible input data: the figures stand, but the reader should know
        listed = ", ".join(f"{reason} {amount}" for reason, amount in problems.items())
        print(f"warning: sequence {sequence.name}: its input data had problems: {listed}", file=sys.stderr)
    return SequenceRun(sequence.name, boxes, confidence, status, template_updated, num_events, stamps, seconds)


def write_tracks_bag(path: Path, run: SequenceRun, storage: str = "mcap") -> Path:
    """The run's boxes as Track messages (one per frame, image stamps) in a new bag at ``path``.

    Written in a scratch folder first and moved into place, so a bag at ``path`` is complete.
    """
    from ..data.bagwriter import BagWriter
    scratch = path.parent / f".partial-{path.name}"
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    with BagWriter(scratch / path.name, storage) as writer:  # rosbags names the data file after the folder
        for i in range(len(run)):
            writer.write_track(TRACKS_TOPIC, int(run.stamps_ns[i]), run.boxes[i], status=int(run.status[i]),
                               confidence=float(run.confidence[i]), template_updated=bool(run.template_updated[i]),
                               num_events=int(run.num_events[i]))
    if path.exists():
        shutil.rmtree(path)
    (scratch / path.name).rename(path)
    scratch.rmdir()
    return path


@dataclass(frozen=True)
class RunOptions:
    out_dir: Path
    model: ModelSpec = ModelSpec()
    params: object = None          # fetrack_ros.tracking.TrackerParams or None for defaults
    write_bags: bool = True
    bag_storage: str = "mcap"
    torch_threads: int | None = None


def _paths(out_dir: Path, name: str) -> dict[str, Path]:
    return {"record": out_dir / "results" / f"{name}.npz", "text": out_dir / "results" / f"{name}.txt",
            "bag": out_dir / "tracks" / name}


def _finished(out_dir: Path, sequence: Sequence) -> SequenceRun | None:
    path = _paths(out_dir, sequence.name)["record"]
    if not path.is_file():
        return None
    try:
        run = SequenceRun.load(path)
    except Exception:
        return None  # unreadable leftovers are tracked again
    return run if len(run) == len(sequence) else None


CONFIG_FILE = "run_config.json"


def run_config(options: RunOptions) -> dict:
    """What decides the boxes: model (device excluded: it changes speed, not results) and params."""
    from ..tracking import TrackerParams
    model = {k: v for k, v in dataclasses.asdict(options.model).items() if k != "device"}
    params = dataclasses.asdict(options.params if options.params is not None else TrackerParams())
    return json.loads(json.dumps({"model": model, "params": params}))  # tuples -> lists, as read back


def _check_config(out_dir: Path, options: RunOptions, resume: bool) -> None:
    path = out_dir / CONFIG_FILE
    config = run_config(options)
    if resume and path.is_file():
        old = json.loads(path.read_text())
        if old != config:
            changed = sorted(f"{part}.{key}" for part in config for key in
                             set(config[part]) | set(old.get(part, {}))
                             if config[part].get(key) != old.get(part, {}).get(key))
            raise ValueError(f"{out_dir} holds results made with other settings (changed: {', '.join(changed)}); "
                             f"use another output folder, or disable resuming to replace them")
    path.write_text(json.dumps(config, indent=1))


# -- worker side (one tracker per process) -------------------------------------------------
_WORKER: dict = {}


def _init_worker(options: RunOptions, progress_queue) -> None:
    import torch
    if options.torch_threads:
        torch.set_num_threads(options.torch_threads)
    from ..tracking import Tracker
    _WORKER["tracker"] = Tracker(options.model.build(), options.params)
    _WORKER["options"] = options
    _WORKER["queue"] = progress_queue


def _run_one(sequence: Sequence) -> str:
    options: RunOptions = _WORKER["options"]
    queue = _WORKER["queue"]
    run = track_sequence(_WORKER["tracker"], sequence, on_frame=(lambda k: queue.put(k)) if queue else None)
    save_run(options.out_dir, run, options.write_bags, options.bag_storage)
    return sequence.name


def save_run(out_dir: Path, run: SequenceRun, write_bags: bool = True, bag_storage: str = "mcap") -> None:
    """``results/<seq>.txt``, ``tracks/<seq>/`` (when ``write_bags``) and ``results/<seq>.npz`` of a run."""
    paths = _paths(Path(out_dir), run.name)
    paths["record"].parent.mkdir(parents=True, exist_ok=True)
    write_boxes(paths["text"], run.boxes)
    if write_bags:
        paths["bag"].parent.mkdir(parents=True, exist_ok=True)
        write_tracks_bag(paths["bag"], run, bag_storage)
    run.save(paths["record"])  # last: its presence marks the sequence as done


def run_evaluation(sequences: Iterable[Sequence], options: RunOptions, *, jobs: int = 1, resume: bool = True,
                   progress: bool = True, title: str = "Tracking evaluation", label: str = "fetrack",
                   log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    """Track every sequence (skipping finished ones when ``resume``), then score and report.

    Returns ``{"summary": metrics.summarize(...) or None, "report": paths or None, "runs": {name: SequenceRun},
    "tracked": [names tracked now], "resumed": [names reused]}``. Sequences without ground truth are
    tracked but not scored.
    """
    sequences = list(sequences)
    names = [s.name for s in sequences]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"sequence names must be unique in one run (they name the result files): {duplicates}")
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = dataclasses.replace(options, out_dir=out_dir)
    _check_config(out_dir, options, resume)
    runs: dict[str, SequenceRun] = {}
    if resume:
        for s in sequences:
            done = _finished(out_dir, s)
            if done is not None:
                runs[s.name] = done
    todo = [s for s in sequences if s.name not in runs]
    resumed = list(runs)
    if resumed:
        log(f"resuming: {len(resumed)} of {len(sequences)} sequences already tracked in {out_dir / 'results'}")
    from tqdm import tqdm
    bar = tqdm(total=sum(len(s) for s in todo), unit="frame", desc="tracking", dynamic_ncols=True,
               disable=not (progress and todo))
    jobs = max(1, min(int(jobs), len(todo) or 1))
    try:
        if todo and jobs == 1:
            _init_worker(options, None)
            for s in todo:
                _WORKER["queue"] = _BarQueue(bar, s.name)
                _run_one(s)
        elif todo:
            threads = options.torch_threads or max(1, (os.cpu_count() or 1) // jobs)
            options = dataclasses.replace(options, torch_threads=threads)
            context = multiprocessing.get_context("spawn")  # no fork of a process holding torch threads
            with context.Manager() as manager:
                queue = manager.Queue()
                with futures.ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                                 initargs=(options, queue)) as pool:
                    pending = {pool.submit(_run_one, s) for s in todo}
                    while pending:
                        finished, pending = futures.wait(pending, timeout=0.2)
                        while not queue.empty():
                            bar.update(queue.get())
                        for f in finished:
                            f.result()  # re-raise a worker's error here
    finally:
        bar.close()
        _WORKER.clear()
    for s in todo:
        runs[s.name] = SequenceRun.load(_paths(out_dir, s.name)["record"])

    meta = {"model": dataclasses.asdict(options.model),
            "params": dataclasses.asdict(options.params) if options.params is not None else "defaults",
            "resumed_sequences": resumed}
    summary, paths = score_runs(sequences, runs, out_dir, meta, title=title, label=label, log=log)
    return {"summary": summary, "report": paths, "runs": runs, "tracked": [s.name for s in todo],
            "resumed": resumed}


def score_runs(sequences: list[Sequence], runs: dict[str, SequenceRun], out_dir: Path, meta: dict, *,
               title: str = "Tracking evaluation", label: str = "fetrack",
               log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> tuple[dict | None, dict | None]:
    """Score the runs of the sequences that have ground truth and write the report into ``out_dir``.

    FPS comes from each run's ``frame_seconds``. Returns ``(metrics.summarize(...), report paths)``,
    or ``(None, None)`` when no sequence has ground truth.
    """
    scored = {s.name: metrics.evaluate_sequence(runs[s.name].boxes, s.gt_xywh)
              for s in sequences if s.gt_xywh is not None}
    unscored = [s.name for s in sequences if s.gt_xywh is None]
    if unscored:
        log(f"no ground truth (tracked, not scored): {', '.join(unscored)}")
    if not scored:
        return None, None
    fps = {name: metrics.fps(runs[name].frame_seconds) for name in scored if runs[name].frame_seconds.size}
    all_seconds = np.concatenate([runs[n].frame_seconds for n in scored])
    overall_fps = metrics.fps(all_seconds) if all_seconds.size else None
    paths = report.write_report(out_dir, scored, fps=fps, overall_fps=overall_fps, title=title, label=label,
                                meta=meta)
    return metrics.summarize(list(scored.values())), paths


class _BarQueue:
    """In-process stand-in for the progress queue of the worker processes."""

    def __init__(self, bar, label: str):
        self.bar = bar
        bar.set_postfix_str(label, refresh=False)

    def put(self, frames: int) -> None:
        self.bar.update(frames)
