"""A model decision: two checkpoints side by side on held-out data, paired by sequence.

    python -m bench.compare_models --candidate runs/default_model_s11/checkpoint_ep0010.pt \
        [--candidate runs/default_model_s11/checkpoint_ep0012.pt ...] \
        [--baseline resource/default_model.pt] [--sequences 20] [--no-real] [--ablations] \
        [--candidate-param size_update_rate=0.3] [--baseline-param NAME=VALUE]

Several ``--candidate`` checkpoints are judged in one pass, one report each against the baseline:
the frames are simulated and the baseline and CSRT tracked once, so N checkpoints of a run cost
N + 2 trackers' time instead of 3N.

A decision may be about tracker settings too: ``--candidate-param`` / ``--baseline-param`` set
TrackerParams fields for one side (the same checkpoint on both sides compares settings alone).
Each side starts from the settings its checkpoint recommends (the packaged model:
``size_update_rate`` 0.3; training checkpoints: none), and the report names each side's settings:
to judge a new checkpoint as it would ship, give it the same settings.

1. Held-out synthetic sequences (never drawn in training; half with degraded RGB), six sets:
   ``make demo``'s own (plain, seeds from 1,000,000: what a newcomer sees first); plain
   (seeds from 2,000,000); DAVIS346-like (the simulator's APS camera, natural textures,
   ego-motion and DAVIS event noise, seeds from 3,000,000); DAVIS346-like with small fast
   targets (10-34 px, 40-200 px/s, half the objects still in the world, seeds from 4,000,000: the
   real set's targets are 13-34 px); and DAVIS346-like with elongated targets (seeds from
   8,000,000; the first half wide, w/h 2-4, the second tall, 0.25-0.5: cars, vans, people); and
   DAVIS346-like under cast shade fixed in the world (seeds from 10,000,000: targets darken and
   brighten as they move through it, as the real set's dark car coming out of the trees' shadow).
   Both models and OpenCV CSRT track the same simulated frames;
   SR/PR@20 of each, the paired difference candidate - baseline and candidate - CSRT with their
   bootstrap 95 % intervals. ``--ablations`` adds each model with the events blanked ("RGB only")
   and with the RGB grey ("events only"): what each input carries alone.
2. The real set (``bench/real_set``: a real DAVIS346 recording, hand-checked boxes): each model next
   to OpenCV CSRT on the same frames (the README's rule: every model decision reports it).

How to read it: a paired interval is over sequences, for one pair of checkpoints; it leaves out how
much a training run's checkpoints differ among themselves. On ``make demo``'s set, stage 11's
epochs 11 and 13 (50 steps either side of epoch 12, then the packaged model, at lr 1e-4) differ from it by
-4.0 (-7.0 to -1.4) and +2.4 (-0.7 to +7.4): differences of a few points between single
checkpoints are training noise, so judge a run by several of its checkpoints (docs/model_card.md, "Stage 20").

Writes ``reports/compare_models.{json,md}`` (with several candidates, the JSON holds the list of
their reports). One torch thread; ~14 min for 5 x 20 sequences of 60 frames on one free core (six sets: ~17 min), and
about a third of that for each further candidate.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAIN_SEED, DAVIS_SEED, SMALL_FAST_SEED, ELONGATED_SEED, SHADE_SEED = 2_000_000, 3_000_000, 4_000_000, 8_000_000, 10_000_000
#: The simulator's DAVIS346 options at full strength: every sequence is DAVIS-like.
DAVIS_SIM = {"aps": {"prob": 1.0}, "natural_texture_prob": 0.5, "natural_sprite_prob": 0.3, "ego_motion_prob": 0.4,
             "world_static_prob": 0.3, "davis_dvs": {"prob": 1.0}}
#: DAVIS-like with small, fast targets, half of them still in the world while the camera moves.
SMALL_FAST_SIM = {**DAVIS_SIM, "target_size_px": [10.0, 34.0], "target_speed_px_s": [40.0, 200.0],
                  "ego_motion_prob": 0.5, "world_static_prob": 0.5}
#: DAVIS-like with elongated targets, the first half wide (w/h 2-4: cars, vans), the second tall
#: (0.25-0.5: people), beyond the 0.5-2 of the simulator's default (the packaged model's training).
ELONGATED_SIMS = ({**DAVIS_SIM, "target_aspect": [2.0, 4.0]}, {**DAVIS_SIM, "target_aspect": [0.25, 0.5]})
#: DAVIS-like under cast shade fixed in the world (the same scenes as without it, seed for seed).
SHADE_SIM = {**DAVIS_SIM, "shadow_prob": 1.0}
#: The set ``make demo`` tracks (at its default 20 x 60 frames).
DEMO_SET = "make demo"
#: The label of the classical baseline in every result.
CSRT = "csrt"


def held_out_sets(num_sequences: int, num_frames: int) -> dict:
    """``{set name: [SyntheticSequence]}``: the six held-out synthetic benchmarks."""
    from fetrack_ros.simulation.simulator import (HELD_OUT_SEED_START, SimConfig, SyntheticSequence,
                                                  benchmark_sequences)

    def config(sim: dict) -> SimConfig:
        return SimConfig.from_dict({"num_frames": num_frames, **sim})

    sets = {DEMO_SET: (HELD_OUT_SEED_START, {}), "synthetic": (PLAIN_SEED, {}),
            "synthetic DAVIS-like": (DAVIS_SEED, DAVIS_SIM), "DAVIS-like small fast": (SMALL_FAST_SEED, SMALL_FAST_SIM),
            "DAVIS-like shade": (SHADE_SEED, SHADE_SIM)}
    out = {name: benchmark_sequences(num_sequences, seed, config(sim)) for name, (seed, sim) in sets.items()}
    # one benchmark list, so that degraded RGB alternates over the whole set; its second half tall
    wide, tall = (config(sim) for sim in ELONGATED_SIMS)
    sequences = benchmark_sequences(num_sequences, ELONGATED_SEED, wide)
    first_tall = num_sequences - num_sequences // 2
    out["DAVIS-like elongated"] = sequences[:first_tall] + [
        SyntheticSequence(s.seed, tall.replace(condition=s.config.condition)) for s in sequences[first_tall:]]
    return out


def track_all(sequences: list, trackers: dict, log, ablations: bool = False) -> dict:
    """``{label: {sequence: evaluate_sequence(...)}}``: every tracker, and CSRT (label :data:`CSRT`),
    on the same simulated frames; with ``ablations`` also every tracker on each of
    :data:`~fetrack_ros.evaluation.ablation.ABLATIONS` of them (label ``"<tracker>, <ablation>"``)."""
    from fetrack_ros.data.sequence import FrameList
    from fetrack_ros.evaluation import metrics
    from fetrack_ros.evaluation.ablation import ABLATIONS
    from fetrack_ros.evaluation.baselines import track_csrt
    from fetrack_ros.evaluation.run import track_sequence
    inputs = {"": lambda frame: frame, **(ABLATIONS if ablations else {})}
    results = {}
    for seq in sequences:
        frames = list(seq.frames())   # simulated once, tracked by all
        for label, tracker in trackers.items():
            for ablation, change in inputs.items():
                run = track_sequence(tracker, FrameList(seq.name, [change(frame) for frame in frames]))
                key = f"{label}, {ablation}" if ablation else label
                results.setdefault(key, {})[seq.name] = metrics.evaluate_sequence(run.boxes, seq.gt_xywh)
        results.setdefault(CSRT, {})[seq.name] = metrics.evaluate_sequence(track_csrt(frames)[0], seq.gt_xywh)
        log(f"  {seq.name}: " + ", ".join(
            f"{label} {100 * float(per_seq[seq.name]['success_curve'].mean()):.1f}" for label, per_seq in results.items()))
    return results


def summary_rows(results: dict, degraded: dict) -> dict:
    """``{label: {"all": (SR, lo, hi, PR), "degraded": ...}}`` from per-sequence results."""
    from fetrack_ros.evaluation import metrics
    out = {}
    for label, per_seq in results.items():
        out[label] = {}
        for subset, keep in (("all", lambda n: True), ("degraded", lambda n: degraded[n])):
            chosen = [r for n, r in per_seq.items() if keep(n)]
            if chosen:
                s = metrics.summarize(chosen)
                out[label][subset] = {"sr": s["auc"], "sr_ci95": list(s["auc_ci95"]), "pr20": s["precision_20"]}
    return out


def compare(candidate: str, baseline: str, num_sequences: int, num_frames: int, real: bool,
            log=lambda s: print(s, file=sys.stderr), ablations: bool = False,
            params: dict | None = None) -> dict:
    """The report of one candidate against the baseline: :func:`compare_many` with one candidate."""
    return compare_many([candidate], baseline, num_sequences, num_frames, real, log, ablations, params)[0]


def compare_many(candidates: list[str], baseline: str, num_sequences: int, num_frames: int, real: bool,
                 log=lambda s: print(s, file=sys.stderr), ablations: bool = False,
                 params: dict | None = None) -> list[dict]:
    """One report per candidate, each against the baseline as :func:`compare` writes it, from one
    tracking pass: the frames are simulated, and the baseline and CSRT tracked, once for all the
    candidates (judging N checkpoints of a run costs N + 2 trackers' time, not 3N). ``params``:
    ``{"candidate": {field: value}, "baseline": {...}}``, TrackerParams changes per side (the same
    for every candidate), over the settings each checkpoint recommends (a report's
    ``tracker_params`` gives each side's settings that differ from the defaults)."""
    import torch

    from bench import real_set
    from fetrack_ros.evaluation import metrics
    from fetrack_ros.tracking.params import changed_fields
    torch.set_num_threads(1)
    params = {label: dict((params or {}).get(label) or {}) for label in ("candidate", "baseline")}
    labels = ["candidate"] if len(candidates) == 1 else [f"candidate {k + 1}" for k in range(len(candidates))]
    trackers = {label: real_set.load_tracker(path, params["candidate"]) for label, path in zip(labels, candidates)}
    trackers["baseline"] = real_set.load_tracker(baseline, params["baseline"])
    reports = [{"candidate": path, "baseline": baseline, "sets": {}, "real": {},
                "tracker_params": {"candidate": changed_fields(trackers[label].params),
                                   "baseline": changed_fields(trackers["baseline"].params)}}
               for label, path in zip(labels, candidates)]
    for report in reports:
        for line in settings_warning(report)[:1]:
            log(line.replace("**", ""))
    for name, sequences in held_out_sets(num_sequences, num_frames).items():
        started = time.perf_counter()
        log(f"{name}: {len(sequences)} sequences x {num_frames} frames")
        tracked = track_all(sequences, trackers, log, ablations)
        degraded = {s.name: s.degraded for s in sequences}
        seconds = time.perf_counter() - started
        for label, report in zip(labels, reports):
            results = _one_candidate(tracked, label, labels)
            report["sets"][name] = {
                "summary": summary_rows(results, degraded),
                "paired": metrics.paired_differences(results["candidate"], results["baseline"]),
                "paired_degraded": metrics.paired_differences(results["candidate"], results["baseline"],
                                                              [n for n in degraded if degraded[n]]),
                "paired_csrt": metrics.paired_differences(results["candidate"], results[CSRT]),
                "seconds": seconds}
    if real:
        out = REPO_ROOT / "runs" / "real_set"
        def real_comparison(checkpoint: str, side: str, folder: str) -> dict:
            return real_set.evaluate(out, checkpoint, REPO_ROOT / "reports" / folder, log=log,
                                     params=params[side])["comparison"]
        baseline_real = real_comparison(baseline, "baseline", "real_set_baseline")
        for k, report in enumerate(reports):
            folder = "real_set_candidate" if len(reports) == 1 else f"real_set_candidate_{k + 1}"
            report["real"] = {"candidate": real_comparison(report["candidate"], "candidate", folder),
                              "baseline": baseline_real}
    return reports


def _one_candidate(tracked: dict, label: str, labels: list[str]) -> dict:
    """``tracked`` (:func:`track_all`'s labels) as one candidate's results: its rows (and its
    ablation rows) renamed to ``"candidate"``, the other candidates' left out."""
    out = {}
    for key, rows in tracked.items():
        tracker = key.partition(", ")[0]
        if tracker == label:
            out["candidate" + key[len(label):]] = rows
        elif tracker not in labels:   # the baseline and CSRT rows
            out[key] = rows
    return out


def settings_warning(report: dict) -> list[str]:
    """A warning (and a blank line) when two different checkpoints track with different tracker
    settings: the differences then mix weights and settings. ``[]`` otherwise."""
    params = report.get("tracker_params", {})
    if report["candidate"] == report["baseline"] or params.get("candidate") == params.get("baseline"):
        return []
    return ["**The two checkpoints track with different tracker settings** (a checkpoint's own recommendation or "
            "`--candidate-param`/`--baseline-param`): the differences below mix weights and settings. To judge "
            "the weights alone, give both sides the same settings.", ""]


def markdown(report: dict) -> str:
    from bench.real_set import params_note
    params = report.get("tracker_params", {})
    lines = ["# Model comparison", "",
             f"Candidate: `{report['candidate']}`{params_note(params.get('candidate'))}; "
             f"baseline: `{report['baseline']}`{params_note(params.get('baseline'))}.", "",
             *settings_warning(report), "| set | candidate SR (95%) / PR@20 | baseline SR (95%) / PR@20 | paired SR difference (95%) "
             "| degraded-RGB half, paired | CSRT SR / PR@20 | candidate - CSRT, paired |", "|---|---|---|---|---|---|---|"]
    for name, s in report["sets"].items():
        c, b, k = (s["summary"][label]["all"] for label in ("candidate", "baseline", CSRT))
        p, pd, pk = s["paired"]["sr"], s["paired_degraded"]["sr"], s["paired_csrt"]["sr"]
        lines.append(f"| {name} | {c['sr']:.1f} ({c['sr_ci95'][0]:.1f}-{c['sr_ci95'][1]:.1f}) / {c['pr20']:.1f} "
                     f"| {b['sr']:.1f} ({b['sr_ci95'][0]:.1f}-{b['sr_ci95'][1]:.1f}) / {b['pr20']:.1f} "
                     f"| {p['mean']:+.1f} ({p['ci95'][0]:+.1f} to {p['ci95'][1]:+.1f}) "
                     f"| {pd['mean']:+.1f} ({pd['ci95'][0]:+.1f} to {pd['ci95'][1]:+.1f}) "
                     f"| {k['sr']:.1f} / {k['pr20']:.1f} | {pk['mean']:+.1f} ({pk['ci95'][0]:+.1f} to {pk['ci95'][1]:+.1f}) |")
    ablated = [label for label in next(iter(report["sets"].values()))["summary"] if ", " in label]
    if ablated:
        lines += ["", "What each input carries alone (SR on the same frames, events blanked or RGB grey):", "",
                  "| set | " + " | ".join(["candidate", "baseline", *ablated]) + " |", "|---" * (len(ablated) + 3) + "|"]
        for name, s in report["sets"].items():
            lines.append(f"| {name} | " + " | ".join(f"{s['summary'][label]['all']['sr']:.1f}"
                                                      for label in ["candidate", "baseline", *ablated]) + " |")
    if report["real"]:
        lines += ["", "Real set (one DAVIS346 recording, bench/real_set), each model next to OpenCV CSRT on the same frames:",
                  "", "| model | SR (95%) / PR@20 | CSRT SR / PR@20 | paired SR difference vs CSRT (95%) |",
                  "|---|---|---|---|"]
        for label, c in report["real"].items():
            m, k, p = c["summary"]["model"], c["summary"]["csrt"], c["paired"]["sr"]
            lines.append(f"| {label} | {m['sr']:.1f} ({m['sr_ci95'][0]:.1f}-{m['sr_ci95'][1]:.1f}) / {m['pr20']:.1f} "
                         f"| {k['sr']:.1f} / {k['pr20']:.1f} | {p['mean']:+.1f} ({p['ci95'][0]:+.1f} to {p['ci95'][1]:+.1f}) |")
        seqs = [s["name"] for s in report["real"]["candidate"]["sequences"]]
        lines += ["", "Per real sequence (SR): " + "; ".join(
            f"{name} {report['real']['candidate']['sequences'][k]['model']['sr']:.1f} vs "
            f"{report['real']['baseline']['sequences'][k]['model']['sr']:.1f}" for k, name in enumerate(seqs))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_models", description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", required=True, action="append",
                        help="checkpoint to judge; repeat it to judge several in one pass (one report each)")
    parser.add_argument("--baseline", default=str(REPO_ROOT / "resource" / "default_model.pt"),
                        help="checkpoint to compare with (default: the packaged model)")
    parser.add_argument("--sequences", type=int, default=20, help="held-out sequences per synthetic set")
    parser.add_argument("--frames", type=int, default=60, help="frames per synthetic sequence")
    parser.add_argument("--no-real", action="store_true", help="skip the real set")
    parser.add_argument("--ablations", action="store_true",
                        help="also track each synthetic set with the events blanked and with the RGB grey (3x the time)")
    for side in ("candidate", "baseline"):
        parser.add_argument(f"--{side}-param", action="append", default=[], metavar="NAME=VALUE",
                            help=f"a TrackerParams field for the {side}'s tracker (repeatable)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "reports", help="report folder")
    args = parser.parse_args(argv)
    if args.sequences < 2:
        parser.error(f"--sequences must be at least 2 (got {args.sequences}): every other sequence has "
                     "degraded RGB, and the report pairs that half too")
    from fetrack_ros.tracking.params import parse_assignments
    try:
        params = {side: parse_assignments(getattr(args, f"{side}_param"), f"--{side}-param")
                  for side in ("candidate", "baseline")}
    except ValueError as exc:
        parser.error(str(exc))
    reports = compare_many(args.candidate, args.baseline, args.sequences, args.frames, not args.no_real,
                           ablations=args.ablations, params=params)
    args.out.mkdir(parents=True, exist_ok=True)
    # one candidate: its report; several: the list of their reports, in the order given
    saved = reports[0] if len(reports) == 1 else reports
    (args.out / "compare_models.json").write_text(json.dumps(saved, indent=1) + "\n")
    text = "\n".join(markdown(report) for report in reports)
    (args.out / "compare_models.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
