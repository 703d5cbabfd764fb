"""Per-frame tracker overhead outside the network forward: checks, crops, normalization, decoding.

The tracker is split into ``prepare`` (input checks, search crops of both modalities, one
transfer, normalization) and ``complete`` (Hann window, box decoding, map-back, clip, counters).
Both are timed with fixed network outputs whose peak sits at the crop centre with a quarter-crop
size, so the tracked box stays put and every repetition does the same work; decoding cost does
not depend on the map values. Target: prepare + complete <= 3 ms per frame on this CPU.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from bench.timing import median_seconds
from fetrack_ros.model import build_model
from fetrack_ros.tracking import Tracker, TrackerParams
from fetrack_ros.tracking.crop import crop_geometry, crop_patch
from fetrack_ros.tracking.decode import clip_box, decode_box, hann2d, map_box_back
from fetrack_ros.tracking.normalize import PatchNormalizer
from fetrack_ros.tracking.stillness import is_still

TARGET_MS = 3.0
RESOLUTIONS = ((346, 260), (1280, 720))   # (W, H): DAVIS346, HD


def _stationary_outputs(n: int = 16) -> dict[str, torch.Tensor]:
    score = torch.full((1, 1, n, n), 0.05)
    score[0, 0, n // 2, n // 2] = 0.9
    return {"score_map": score, "size_map": torch.full((1, 2, n, n), 0.25),
            "offset_map": torch.zeros((1, 2, n, n))}


def _frames(width: int, height: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    events = np.full((height, width, 3), 255, np.uint8)
    mask = rng.random((height, width)) < 0.05
    events[mask] = (220, 30, 30)
    return rgb, events


def _percentile_ms(fn, q: float, calls: int = 300) -> float:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return float(np.percentile(samples, q)) * 1e3


def run() -> dict:
    torch.manual_seed(0)
    tracker = Tracker(build_model("vim_s", depth=2), TrackerParams(template_update_threshold=1.0))
    outputs = _stationary_outputs()
    normalize = PatchNormalizer(torch.device("cpu"))
    window = hann2d(16)
    rows, notes = [], []
    for width, height in RESOLUTIONS:
        rgb, events = _frames(width, height)
        side = 0.2 * height                       # a target a fifth of the image height
        box = [width / 2 - side / 2, height / 2 - side / 2, side, side]
        tracker.initialize(rgb, events, box)

        def prepare():
            return tracker.prepare(rgb, events)

        def frame():
            tracker.complete(tracker.prepare(rgb, events), outputs)

        def decode():   # the core of complete(): window, decode, one host copy, map back, clip
            box_n, _, peak = decode_box(outputs["score_map"], outputs["size_map"], outputs["offset_map"], window)
            *px, _ = torch.cat([box_n * 256 / 1.2, peak.reshape(1)]).tolist()
            clip_box(map_box_back(px, box, 256, 1.2), (height, width), 10)

        t_prepare = median_seconds(prepare, warmup=5, repeats=100)
        t_decode = median_seconds(decode, warmup=5, repeats=100)
        t_frame = median_seconds(frame, warmup=5, repeats=100)
        half = np.ascontiguousarray(events[::2, ::2])
        t_resize = median_seconds(lambda: tracker.complete(tracker.prepare(rgb, half), outputs), warmup=5, repeats=50)

        def template():   # what a template update does: two template crops, one transfer
            geo = crop_geometry(box, tracker.params.template_factor, tracker.template_size, (height, width))
            normalize(crop_patch(rgb, geo, tracker.template_size), crop_patch(events, geo, tracker.template_size))

        t_template = median_seconds(template, warmup=5, repeats=50)
        # density 1.0: both boxes count as quiet, so the whole frame is scanned too (the most work)
        t_still = median_seconds(lambda: is_still(events, box, box, 1.0), warmup=5, repeats=100)
        geo = crop_geometry(box, tracker.params.search_factor, tracker.search_size, (height, width))
        patches = (crop_patch(rgb, geo, tracker.search_size), crop_patch(events, geo, tracker.search_size))
        stacked = torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2)
        t_table = median_seconds(lambda: normalize(*patches), warmup=5, repeats=100)
        t_elementwise = median_seconds(lambda: normalize._arithmetic(stacked), warmup=5, repeats=100)
        crop = int(np.ceil(side * tracker.params.search_factor))
        for stage, seconds in (("prepare (checks, 2 crops, normalize)", t_prepare),
                               ("decode, map back, clip", t_decode),
                               ("per-frame overhead (prepare + complete)", t_frame),
                               ("per-frame overhead, event frame at half size", t_resize),
                               ("template update crop (when it happens)", t_template),
                               ("still-target check, worst case (still_event_density > 0)", t_still),
                               ("normalize 2 search patches: table (CPU path)", t_table),
                               ("normalize 2 search patches: torch elementwise (baseline)", t_elementwise)):
            rows.append({"image": f"{width}x{height}", "search_crop_px": crop, "stage": stage,
                         "median_ms": seconds * 1e3})
        verdict = "met" if t_frame * 1e3 <= TARGET_MS else "MISSED"
        notes.append(f"{width}x{height}: overhead {t_frame * 1e3:.2f} ms per frame = "
                     f"{t_frame * 1e3 / TARGET_MS:.2f} x the {TARGET_MS} ms target ({verdict}); "
                     f"table normalization {t_table / t_elementwise:.2f} x the time of torch elementwise (median)")
    notes.append(f"normalize tails (90th percentile of 300 calls, last resolution): table "
                 f"{_percentile_ms(lambda: normalize(*patches), 90):.2f} ms, torch elementwise "
                 f"{_percentile_ms(lambda: normalize._arithmetic(stacked), 90):.2f} ms")
    notes.append("medians of 50-100 runs after warm-up; "
                 f"torch threads {torch.get_num_threads()}; timed on a CPU shared with other jobs, so noisy")
    return {"title": "Tracker overhead outside the network forward", "rows": rows, "notes": notes}
