"""A small real validation set (one DAVIS346 recording, hand-checked boxes) and a paired model-vs-CSRT check.

The recording is the DAVIS346 street scene (APS frames + DVS events) shipped as
``tests/data/test_data.aedat4`` in the ``aedat`` 2.3.0 sdist on PyPI (MIT). Its boxes are in
``bench/real_set/annotations.json``; ``bench/real_set/README.md`` says how they were made and what
the set cannot tell.

    python -m bench.real_set build --out runs/real_set
    python -m bench.real_set eval --out runs/real_set [--checkpoint resource/default_model.pt]

``build`` finds the recording in the cache folder (default ``.cache/real_set/``), else fetches it
with pip (``pip download`` of the sdist; its Rust build fails without a toolchain and network for
crates, but pip keeps the unpacked sdist), checks its sha256, and writes one COESOT-layout sequence
folder per target: ``<seq>/<seq>_aps/frame<N>.png`` (the target's frames only), ``<seq>/<seq>.aedat4``
(the recording cut to those frames and their events) and ``<seq>/groundtruth.txt``, plus
``list.txt``. :func:`fetrack_ros.data.datasets.open_dataset` reads it with
``events="aedat4"``, so the event frames are rendered from the real events as in ``fetrack eval``.

``eval`` tracks every sequence with the model (one torch thread) and with OpenCV CSRT
(:func:`fetrack_ros.evaluation.baselines.track_csrt`), both on the same frames from the same first box,
and writes ``reports/real_set.json`` and ``reports/real_set.md``: per-sequence SR (AUC) and PR@20,
the means with bootstrap intervals over sequences, and the paired difference model - CSRT with
its bootstrap interval.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
ANNOTATIONS = REPO_ROOT / "bench" / "real_set" / "annotations.json"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "real_set"
RECORDING_NAME = "test_data.aedat4"
PACKAGE, VERSION = "aedat", "2.3.0"
PATH_IN_SDIST = "tests/data/test_data.aedat4"
DATASET = "coesot"          # the folder layout written: <seq>/<seq>_aps, <seq>/<seq>.aedat4, groundtruth.txt
SENSOR_WH = (346, 260)
#: Events kept before a sequence's first frame when the recording has no earlier frame (one frame period).
LEAD_US = 40_000


class RealSetError(RuntimeError):
    """The set cannot be built or read; ``str()`` says what to do."""


# -- annotations -------------------------------------------------------------------------------
def load_annotations(path: str | Path = ANNOTATIONS) -> dict:
    """The annotation file, checked: every sequence has one box per frame stamp, stamps rise and are
    frames of the recording, boxes have area and lie in the 346x260 frame, names are unique."""
    path = Path(path)
    data = json.loads(path.read_text())
    check_annotations(data, str(path))
    return data


def check_annotations(data: dict, where: str = "annotations") -> None:
    recording = data.get("recording") or {}
    sha = str(recording.get("sha256", ""))
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise RealSetError(f"{where}: recording.sha256 must be 64 lower-case hex digits, got {sha!r}")
    stamps = list(recording.get("frame_stamps_us") or [])
    if not stamps or any(b <= a for a, b in zip(stamps, stamps[1:])):
        raise RealSetError(f"{where}: recording.frame_stamps_us must be a rising list of frame times")
    known = set(stamps)
    names = [s.get("name") for s in data.get("sequences", [])]
    if not names:
        raise RealSetError(f"{where}: no sequences")
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise RealSetError(f"{where}: sequence names must be unique non-empty strings, got {names}")
    width, height = SENSOR_WH
    for seq in data["sequences"]:
        name, seq_stamps, boxes = seq["name"], list(seq["frame_stamps_us"]), np.asarray(seq["boxes_xywh"], float)
        if len(seq_stamps) < 2:
            raise RealSetError(f"{where}: sequence {name} has {len(seq_stamps)} frame(s); at least 2 are needed")
        if boxes.shape != (len(seq_stamps), 4):
            raise RealSetError(f"{where}: sequence {name} has {len(seq_stamps)} frame stamps but boxes of shape "
                               f"{boxes.shape}; expected one [x, y, w, h] per frame")
        missing = [t for t in seq_stamps if t not in known]
        if missing:
            raise RealSetError(f"{where}: sequence {name}: frame stamps {missing[:3]} are not frames of the recording")
        index = [stamps.index(t) for t in seq_stamps]
        if index != list(range(index[0], index[0] + len(index))):
            raise RealSetError(f"{where}: sequence {name}: its frames must be consecutive frames of the recording")
        if not np.isfinite(boxes).all() or (boxes[:, 2:] <= 0).any():
            raise RealSetError(f"{where}: sequence {name}: every box needs a finite positive width and height")
        if (boxes[:, 0] < 0).any() or (boxes[:, 1] < 0).any() or (boxes[:, 0] + boxes[:, 2] > width).any() \
                or (boxes[:, 1] + boxes[:, 3] > height).any():
            raise RealSetError(f"{where}: sequence {name}: a box leaves the {width}x{height} frame")


def frame_indices(data: dict, seq: dict) -> list[int]:
    """Recording frame numbers of a sequence's frames."""
    stamps = data["recording"]["frame_stamps_us"]
    return [stamps.index(t) for t in seq["frame_stamps_us"]]


# -- the recording -----------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_recording(path: Path, sha256: str) -> Path:
    """``path`` if its sha256 is ``sha256``; else :class:`RealSetError`."""
    path = Path(path)
    if not path.is_file():
        raise RealSetError(f"recording not found: {path}")
    actual = sha256_of(path)
    if actual != sha256:
        raise RealSetError(f"{path} has sha256 {actual}, not the annotated recording's {sha256}: the boxes "
                           f"belong to another file")
    return path


def cached_recording(cache: Path, sha256: str) -> Path | None:
    """The verified recording in ``cache``, or None when it is not there (a wrong file is an error)."""
    path = Path(cache) / RECORDING_NAME
    return verify_recording(path, sha256) if path.is_file() else None


def fetch_recording(cache: Path, sha256: str, log=lambda s: print(s, file=sys.stderr)) -> Path:
    """The recording in ``cache`` (verified), fetched with ``pip download`` of the aedat sdist when missing.

    pip unpacks the sdist into its temporary folder (set to a scratch folder inside the cache here)
    and then fails to build it; ``--no-clean`` keeps the unpacked files. If pip does build it (a
    machine with Rust and network for crates), the sdist archive in the download folder is read.
    """
    cache = Path(cache)
    found = cached_recording(cache, sha256)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="fetch-", dir=cache))
    try:
        downloads, tmp = scratch / "download", scratch / "tmp"
        tmp.mkdir(parents=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", PACKAGE, "--no-clean",
                   f"{PACKAGE}=={VERSION}", "-d", str(downloads)]
        log(f"fetching {PATH_IN_SDIST} of the {PACKAGE} {VERSION} sdist from PyPI (pip download; its Rust build "
            f"is expected to fail, the unpacked sdist is used)")
        env = dict(os.environ, TMPDIR=str(tmp), PIP_DISABLE_PIP_VERSION_CHECK="1")
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        source = _find_in_sdist(downloads, tmp)
        if source is None:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
            raise RealSetError(f"could not fetch {RECORDING_NAME}: pip download of {PACKAGE}=={VERSION} brought no "
                               f"sdist (offline, or PyPI unreachable?). Put the file in {cache} by hand "
                               f"(sha256 {sha256}) or pass --recording PATH. pip said:\n{tail}")
        target = cache / RECORDING_NAME
        partial = cache / (RECORDING_NAME + ".partial")
        shutil.copyfile(source, partial)
        verify_recording(partial, sha256)
        license_file = source.parents[2] / "LICENSE"
        if license_file.is_file():
            shutil.copyfile(license_file, cache / f"{PACKAGE}-{VERSION}-LICENSE")
        partial.replace(target)
        return target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _find_in_sdist(downloads: Path, tmp: Path) -> Path | None:
    for path in sorted(tmp.rglob(RECORDING_NAME)):
        if path.as_posix().endswith(PATH_IN_SDIST):
            return path
    for archive in sorted(downloads.glob(f"{PACKAGE}-{VERSION}.tar.gz")) if downloads.is_dir() else []:
        with tarfile.open(archive) as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("/" + PATH_IN_SDIST) and m.isfile()), None)
            if member is not None:
                out = tmp / "from-archive" / PATH_IN_SDIST
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                # the license sits three levels above tests/data/<file> in the sdist, as pip unpacks it
                lic = next((m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")), None)
                if lic is not None:
                    with tar.extractfile(lic) as src, open(tmp / "from-archive" / "LICENSE", "wb") as dst:
                        shutil.copyfileobj(src, dst)
                return out
    return None


def read_aps_frames(path: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(stamps_us (N,) int64, images)`` of an aedat4 recording's frame stream (dv-processing)."""
    from fetrack_ros.events.aedat4 import _dv
    recording = _dv().io.MonoCameraRecording(str(path))
    stamps, images = [], []
    while recording.isRunning():
        frame = recording.getNextFrame()
        if frame is None:
            break
        stamps.append(int(frame.timestamp))
        images.append(np.array(frame.image))
    return np.asarray(stamps, np.int64), images


# -- the dataset folder ------------------------------------------------------------------------
def write_layout(out: Path, recording: Path, data: dict, max_frames: int | None = None,
                 names: list[str] | None = None) -> list[str]:
    """Write the set as a COESOT-layout dataset folder under ``out``; returns the sequence names.

    Each sequence gets only its annotated frames (the first ``max_frames`` of them when given: tiny
    sets for tests), a recording cut to those frames with the events from the frame before its first
    frame (or ``LEAD_US`` before it) to its last frame, and its boxes. ``names`` picks sequences.
    """
    from fetrack_ros.data.groundtruth import write_boxes
    from fetrack_ros.data.synthetic_folders import write_recording
    from fetrack_ros.events import read_aedat4_events, read_aedat4_frame_times
    import cv2

    out = Path(out)
    stamps_us, images = read_aps_frames(recording)
    annotated = np.asarray(data["recording"]["frame_stamps_us"], np.int64)
    if not np.array_equal(stamps_us, annotated) or not np.array_equal(read_aedat4_frame_times(recording),
                                                                       stamps_us * 1000):
        raise RealSetError(f"{recording}: its frame times are not the annotated ones")
    events, _ = read_aedat4_events(recording)
    chosen = [s for s in data["sequences"] if names is None or s["name"] in names]
    if names is not None and len(chosen) != len(set(names)):
        unknown = sorted(set(names) - {s["name"] for s in data["sequences"]})
        raise RealSetError(f"unknown sequence name(s) {unknown}")
    written = []
    for seq in chosen:
        index = frame_indices(data, seq)
        boxes = np.asarray(seq["boxes_xywh"], np.float64)
        if max_frames is not None:
            index, boxes = index[:max_frames], boxes[:max_frames]
        name = seq["name"]
        seq_dir = out / name
        if seq_dir.exists():
            shutil.rmtree(seq_dir)
        aps = seq_dir / f"{name}_aps"
        aps.mkdir(parents=True)
        for k, i in enumerate(index):
            if not cv2.imwrite(str(aps / f"frame{k:04d}.png"), images[i]):
                raise OSError(f"cv2 could not write {aps / f'frame{k:04d}.png'}")
        start_us = int(stamps_us[index[0] - 1]) if index[0] > 0 else int(stamps_us[index[0]]) - LEAD_US
        t = events["t"] // 1000
        kept = events[(t >= start_us) & (t <= int(stamps_us[index[-1]]))]
        rgb = np.stack([cv2.cvtColor(_gray(images[i]), cv2.COLOR_GRAY2RGB) for i in index])
        write_recording(seq_dir / f"{name}.aedat4", rgb, stamps_us[index].tolist(), kept)
        write_boxes(seq_dir / "groundtruth.txt", boxes)
        written.append(name)
    (out / "list.txt").write_text("".join(n + "\n" for n in written))
    source = {k: data["recording"][k] for k in ("file", "sha256", "license", "license_text_holder", "source")}
    (out / "SOURCE.json").write_text(json.dumps({"recording": source, "sequences": written,
                                                 "max_frames": max_frames}, indent=1) + "\n")
    return written


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else image[..., 0]


def open_set(out: Path) -> list:
    """The dataset folder ``write_layout`` wrote, as FolderSequences with events rendered from the recordings."""
    from fetrack_ros.data.datasets import open_dataset
    return open_dataset(out, DATASET, events="aedat4")


def build(out: Path, cache: Path = DEFAULT_CACHE, recording: Path | None = None, annotations: Path = ANNOTATIONS,
          log=lambda s: print(s, file=sys.stderr)) -> list[str]:
    data = load_annotations(annotations)
    sha = data["recording"]["sha256"]
    path = verify_recording(recording, sha) if recording is not None else fetch_recording(cache, sha, log)
    names = write_layout(out, path, data)
    log(f"wrote {len(names)} sequences ({sum(len(s['boxes_xywh']) for s in data['sequences'])} frames) to {out}")
    return names


# -- the paired comparison ---------------------------------------------------------------------
def compare(model_results: dict, csrt_results: dict, model_label: str = "model") -> dict:
    """Per-sequence and mean SR/PR@20 of both trackers and the paired difference model - CSRT.

    ``*_results``: ``{sequence: metrics.evaluate_sequence(...)}`` over the same sequences. Means and
    their intervals come from :func:`metrics.summarize`; the paired intervals are
    :func:`metrics.bootstrap_interval` of the per-sequence differences.
    """
    from fetrack_ros.evaluation import metrics
    names = list(model_results)
    if sorted(names) != sorted(csrt_results):
        raise ValueError(f"the two trackers were scored on different sequences: {sorted(names)} vs "
                         f"{sorted(csrt_results)}")
    result = {"sequences": [], "summary": {}, "paired": metrics.paired_differences(model_results, csrt_results)}
    ours = metrics.sequence_scores([model_results[n] for n in names])
    base = metrics.sequence_scores([csrt_results[n] for n in names])
    for k, name in enumerate(names):
        result["sequences"].append({"name": name, "frames": int(model_results[name]["num_frames"]),
                                    model_label: {"sr": float(ours["auc"][k]), "pr20": float(ours["precision_20"][k])},
                                    "csrt": {"sr": float(base["auc"][k]), "pr20": float(base["precision_20"][k])}})
    for label, results in ((model_label, model_results), ("csrt", csrt_results)):
        s = metrics.summarize([results[n] for n in names])
        result["summary"][label] = {"sr": s["auc"], "sr_ci95": list(s["auc_ci95"]), "pr20": s["precision_20"],
                                    "pr20_ci95": list(s["precision_20_ci95"])}
    result["num_sequences"] = len(names)
    result["num_frames"] = int(sum(model_results[n]["num_frames"] for n in names))
    return result


def run_pair(sequences: list, tracker, log=lambda s: print(s, file=sys.stderr)) -> dict:
    """Track each sequence with ``tracker`` (a :class:`fetrack_ros.tracking.Tracker`) and with CSRT on the
    same frames, both from the first ground-truth box. Returns boxes, scores and seconds per tracker."""
    from fetrack_ros.data.sequence import FrameList
    from fetrack_ros.evaluation import metrics
    from fetrack_ros.evaluation.baselines import track_csrt
    from fetrack_ros.evaluation.run import track_sequence
    out = {"model": {}, "csrt": {}, "boxes": {}, "seconds": {"model": [], "csrt": [], "read": 0.0}}
    for seq in sequences:
        started = time.perf_counter()
        frames = list(seq.frames())
        out["seconds"]["read"] += time.perf_counter() - started
        gt = seq.gt_xywh
        run = track_sequence(tracker, FrameList(seq.name, frames))
        csrt_boxes, csrt_seconds = track_csrt(frames)
        out["model"][seq.name] = metrics.evaluate_sequence(run.boxes, gt)
        out["csrt"][seq.name] = metrics.evaluate_sequence(csrt_boxes, gt)
        out["boxes"][seq.name] = {"model": run.boxes, "csrt": csrt_boxes}
        out["seconds"]["model"].append(run.frame_seconds)
        out["seconds"]["csrt"].append(csrt_seconds)
        log(f"  {seq.name}: {len(frames)} frames, {sum(len(f.events) for f in frames if f.events is not None)} events")
    return out


def load_tracker(checkpoint: str, params: dict | None = None):
    """The Tracker with the network the checkpoint describes (its stored config), on the CPU, with
    the tracker settings the checkpoint recommends; ``params``: TrackerParams changes that win
    over those (``{"size_update_rate": 1.0}`` undoes the packaged model's recommendation)."""
    from fetrack_ros.model.loading import load_inference_model
    from fetrack_ros.tracking import Tracker
    from fetrack_ros.tracking.params import with_recommended
    loaded = load_inference_model("auto", checkpoint, device="cpu")
    return Tracker(loaded.model, with_recommended(loaded.tracker_settings, params))


def markdown(report: dict) -> str:
    c, rec = report["comparison"], report["recording"]
    lines = [f"# Real validation set: {report['model_label']} vs OpenCV CSRT", "",
             f"Recording: `{rec['file']}` (sha256 `{rec['sha256'][:16]}...`, {rec['license']}, from the "
             f"{rec['source']['package']} {rec['source']['version']} sdist), {c['num_sequences']} sequences, "
             f"{c['num_frames']} frames. Checkpoint: `{report['checkpoint']}` (sha256 `{report['checkpoint_sha256'][:16]}...`), "
             f"{report['torch_threads']} torch thread{params_note(report.get('tracker_params'))}. Events rendered from the recording "
             f"({report['window']}). Same frames and first box for both trackers.", "",
             "| sequence | frames | model SR | model PR@20 | CSRT SR | CSRT PR@20 | SR diff |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k, s in enumerate(c["sequences"]):
        m, b = s[report["model_label"]], s["csrt"]
        lines.append(f"| {s['name']} | {s['frames']} | {m['sr']:.1f} | {m['pr20']:.1f} | {b['sr']:.1f} | {b['pr20']:.1f} "
                     f"| {c['paired']['sr']['per_sequence'][k]:+.1f} |")
    lines.append("")
    lines.append("| tracker | SR (95% interval) | PR@20 (95% interval) |")
    lines.append("| --- | --- | --- |")
    for label in (report["model_label"], "csrt"):
        s = c["summary"][label]
        lines.append(f"| {label} | {s['sr']:.1f} ({s['sr_ci95'][0]:.1f} to {s['sr_ci95'][1]:.1f}) | "
                     f"{s['pr20']:.1f} ({s['pr20_ci95'][0]:.1f} to {s['pr20_ci95'][1]:.1f}) |")
    p = c["paired"]
    lines += ["", f"Paired difference {report['model_label']} - CSRT over the {c['num_sequences']} sequences: "
              f"SR {p['sr']['mean']:+.1f} (95% interval {p['sr']['ci95'][0]:+.1f} to {p['sr']['ci95'][1]:+.1f}), "
              f"PR@20 {p['pr20']['mean']:+.1f} ({p['pr20']['ci95'][0]:+.1f} to {p['pr20']['ci95'][1]:+.1f}).", "",
              f"Wall time: {report['wall_seconds']['total']:.1f} s in all (model tracking "
              f"{report['wall_seconds']['model']:.1f} s, CSRT {report['wall_seconds']['csrt']:.2f} s, reading and "
              f"rendering {report['wall_seconds']['read']:.1f} s).", "",
              "One recording, a few targets, few frames: the intervals are wide (bootstrap over "
              f"{c['num_sequences']} sequences), and sequences of the same scene are not independent. "
              "See bench/real_set/README.md.", ""]
    return "\n".join(lines)


def params_note(params: dict | None) -> str:
    """``", tracker params size_update_rate=0.3"`` (the settings that differ from the defaults),
    or nothing for the defaults."""
    return ", tracker params " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else ""


def evaluate(out: Path, checkpoint: str, report_dir: Path, cache: Path = DEFAULT_CACHE, recording: Path | None = None,
             log=lambda s: print(s, file=sys.stderr), params: dict | None = None) -> dict:
    import torch
    started = time.perf_counter()
    torch.set_num_threads(1)
    data = load_annotations()
    if not (Path(out) / "list.txt").is_file():
        build(out, cache, recording, log=log)
    sequences = open_set(out)
    tracker = load_tracker(checkpoint, params)
    from fetrack_ros.tracking.params import changed_fields
    log(f"tracking {len(sequences)} sequences with {checkpoint} and CSRT")
    runs = run_pair(sequences, tracker, log)
    comparison = compare(runs["model"], runs["csrt"])
    from fetrack_ros.data.groundtruth import write_boxes
    for name, boxes in runs["boxes"].items():
        for label, b in boxes.items():
            write_boxes(Path(out) / "results" / label / f"{name}.txt", b)
    window = sequences[0].window
    report = {
        "model_label": "model", "checkpoint": str(checkpoint), "checkpoint_sha256": sha256_of(Path(checkpoint)),
        "tracker_params": changed_fields(tracker.params), "torch_threads": torch.get_num_threads(),
        "window": f"{window.kind} policy, first window {window.duration_ns / 1e6:g} ms",
        "recording": {k: data["recording"][k] for k in ("file", "sha256", "license", "source")},
        "comparison": comparison,
        "wall_seconds": {"total": time.perf_counter() - started,
                         "model": float(sum(s.sum() for s in runs["seconds"]["model"])),
                         "csrt": float(sum(s.sum() for s in runs["seconds"]["csrt"])),
                         "read": runs["seconds"]["read"]},
        "dataset_folder": str(out),
    }
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "real_set.json").write_text(json.dumps(report, indent=1) + "\n")
    (report_dir / "real_set.md").write_text(markdown(report))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.real_set", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "eval"):
        p = sub.add_parser(name)
        p.add_argument("--out", type=Path, required=True, help="dataset folder to write / read")
        p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the fetched recording is kept")
        p.add_argument("--recording", type=Path, help="use this copy of test_data.aedat4 (sha256 checked)")
        if name == "eval":
            p.add_argument("--checkpoint", default=str(REPO_ROOT / "resource" / "default_model.pt"))
            p.add_argument("--report-dir", type=Path, default=REPO_ROOT / "reports")
            p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                           help="a TrackerParams field for the model's tracker, e.g. size_update_rate=0.3 (repeatable)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.out, args.cache, args.recording)
            return 0
        from fetrack_ros.tracking.params import parse_assignments
        report = evaluate(args.out, args.checkpoint, args.report_dir, args.cache, args.recording,
                          params=parse_assignments(args.param))
    except (RealSetError, ValueError) as exc:
        print(f"real_set: error: {exc}", file=sys.stderr)
        return 2
    print(markdown(report))
    print(f"report: {Path(args.report_dir) / 'real_set.md'}, {Path(args.report_dir) / 'real_set.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
